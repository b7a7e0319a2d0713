"""Training speed of the seed's network (`get_model()`) with the full pipeline, on synthetic data resident on the device.

Each step takes a batch of uint8 images already on the device, augments it there (`preprocess_and_trivial_augment`), and trains
`get_model()` on it through the same `fit_recipe` that `tinyimagenet train` runs: AdamW, one-cycle, bf16 autocast on CUDA,
channels_last, optionally torch.compile. Epoch 0 is a warm-up (cuDNN autotuning, compilation); epoch 1 (`--steps` batches) is
timed. Prints training images/s and the projected wall time of 25 epochs of 100,000 images (Tiny ImageNet's training set).
Target on one H100: 17,000 images/s or more, i.e. 25 epochs in 150 s or less.

    python benchmarks/bench_gpu_train.py                      # GPU if there is one
    python benchmarks/bench_gpu_train.py --compile
    python benchmarks/bench_gpu_train.py --steps 2 --bs 8 --width 0.25   # a slow sanity check on a CPU

No figures are recorded here yet: no GPU was available to the session that wrote this script; the CPU run only checks that it works.
"""
import argparse, time

import torch

from tinyimagenet.data import DataLoaders, DeviceDataLoader, default_device, preprocess_and_trivial_augment
from tinyimagenet.learner import Callback
from tinyimagenet.preact_resnet import fit_recipe

class TrainTimerCB(Callback):
    "Wall time of each training phase, the device synchronized at both ends."
    order = 100
    def __init__(self): self.times = []
    def before_epoch(self, learn):
        if learn.training:
            if torch.cuda.is_available(): torch.cuda.synchronize()
            self.start = time.perf_counter()
    def after_epoch(self, learn):
        if learn.training:
            if torch.cuda.is_available(): torch.cuda.synchronize()
            self.times.append(time.perf_counter() - self.start)

def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--steps', type=int, default=50, help='timed training steps (default: %(default)s)')
    parser.add_argument('--bs', type=int, default=512, help='batch size (default: %(default)s)')
    parser.add_argument('--width', type=float, default=1., help="multiplies get_model()'s channel counts (default: %(default)s)")
    parser.add_argument('--compile', action='store_true', help='torch.compile the network (epoch 0 then includes compilation)')
    parser.add_argument('--no-amp', action='store_true', help='no bf16 autocast (it is on by default on CUDA, off elsewhere)')
    parser.add_argument('--no-channels-last', action='store_true', help='keep the default NCHW memory format')
    args = parser.parse_args()

    device = default_device()
    if device.type == 'cuda': torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick the fastest kernels once
    n = args.steps * args.bs
    x = torch.randint(0, 256, (n, 3, 64, 64), dtype=torch.uint8, device=device)  # resident: no host-to-device copies per step
    y = torch.randint(0, 200, (n,), device=device)
    augment = lambda xb, yb: (preprocess_and_trivial_augment(xb), yb)
    dls = DataLoaders(DeviceDataLoader(x, y, args.bs, shuffle=True, drop_last=True, batch_tfm=augment, device=device),
                      DeviceDataLoader(x[:args.bs], y[:args.bs], args.bs, device=device), classes=[f'c{i}' for i in range(200)])
    timer = TrainTimerCB()
    fit_recipe('seed', dls, n_epochs=2, width=args.width, amp=device.type == 'cuda' and not args.no_amp,
               compile=args.compile, channels_last=not args.no_channels_last, extra_cbs=[timer])
    ips = args.steps * args.bs / timer.times[1]
    name = torch.cuda.get_device_name(device) if device.type == 'cuda' else f'{device.type} ({torch.get_num_threads()} threads)'
    print(f'device: {name}; width {args.width}, bs {args.bs}, {args.steps} timed steps, compile={args.compile}, '
          f'amp={device.type == "cuda" and not args.no_amp}, channels_last={not args.no_channels_last}')
    print(f'training: {ips:,.0f} images/s; 25 epochs x 100,000 images would take {25 * 100_000 / ips:,.0f} s')

if __name__ == '__main__': main()
