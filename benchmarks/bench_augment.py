"""Augmentation speed: the seed's per-image PIL pipeline against the batch preprocessors of `tinyimagenet.augment` (and `preprocess` of `tinyimagenet.data`).

Prints images/s, measured in the same run, for
(a) the seed's pipeline: per image with PIL (convert RGB, Pad(4, mean colour), RandomCrop(64), RandomHorizontalFlip,
    TrivialAugmentWide(fill=mean colour), PILToTensor, ConvertImageDtype, Normalize) in a DataLoader, one worker per core;
(b) `preprocess`, `preprocess_and_augment`, `preprocess_and_trivial_augment` on uint8 batches on the CPU;
(c) the same three on the GPU, when there is one.
Each figure is the best of a few repeats (other processes on the machine only ever slow a repeat down).
The images are synthetic (colour gradients and noise, decoded once), not Tiny ImageNet: the cost of these operations
does not depend on what the images show.

    python benchmarks/bench_augment.py [--bs 512] [--n-images 8192] [--repeats 3] [--threads N]
"""
import argparse, os, platform, time
import torch
from PIL import Image
from torchvision import transforms as T
from tinyimagenet.augment import preprocess_and_augment, preprocess_and_trivial_augment
from tinyimagenet.data import channel_mean as mean, channel_std as std, preprocess


def synthetic_images(n, seed=0):
    "`n` uint8 RGB 64×64 images: a random colour gradient each, plus noise."
    g = torch.Generator().manual_seed(seed)
    ramp = torch.linspace(0, 1, 64)
    a, b = torch.rand(2, n, 3, 1, 1, generator=g)
    imgs = 255 * (a * ramp.view(1, 1, 1, -1) + b * ramp.view(1, 1, -1, 1)) / 2 + 20 * torch.randn(n, 3, 64, 64, generator=g)
    return imgs.clamp(0, 255).to(torch.uint8)


def to_rgb(img): return img.convert('RGB')

class PILImages(torch.utils.data.Dataset):
    "Decoded PIL images through a per-image transform, as the seed's dataset served them."
    def __init__(self, images, tfm): self.images, self.tfm = [Image.fromarray(i.permute(1, 2, 0).numpy()) for i in images], tfm
    def __len__(self): return len(self.images)
    def __getitem__(self, i): return self.tfm(self.images[i])

def seed_images_per_s(images, bs, repeats):
    "Steady-state images/s of the seed's PIL pipeline: epochs after the first, workers kept alive between them."
    fill = tuple(round(255 * m) for m in mean.tolist())
    tfm = T.Compose([T.Lambda(to_rgb), T.Pad(4, fill=fill), T.RandomCrop(64), T.RandomHorizontalFlip(),
                     T.TrivialAugmentWide(fill=fill), T.PILToTensor(), T.ConvertImageDtype(torch.float),
                     T.Normalize(mean.tolist(), std.tolist())])
    dl = torch.utils.data.DataLoader(PILImages(images, tfm), batch_size=bs, shuffle=True, num_workers=os.cpu_count(),
                                     persistent_workers=True)
    best = 0.
    for epoch in range(repeats + 1):
        start = time.perf_counter()
        n = sum(len(xb) for xb in dl)
        if epoch: best = max(best, n / (time.perf_counter() - start))  # epoch 0 starts the workers
    return best

def batch_images_per_s(f, images, bs, repeats, device):
    "Best images/s of `f` over `repeats` passes over `images` in batches of `bs`, already on `device`."
    images = images.to(device)
    batches = images[:len(images) // bs * bs].split(bs)
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    for xb in batches[:2]: f(xb)  # warm up: allocator, kernels
    sync()
    best = 0.
    for _ in range(repeats):
        start = time.perf_counter()
        for xb in batches: f(xb)
        sync()
        best = max(best, len(batches) * bs / (time.perf_counter() - start))
    return best

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--bs', type=int, default=512)
    parser.add_argument('--n-images', type=int, default=8192)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, help="torch CPU threads for the batch preprocessors (default: torch's choice); "
                        'on a busy machine 1 can beat 2')
    args = parser.parse_args()
    if args.threads: torch.set_num_threads(args.threads)
    images = synthetic_images(args.n_images)
    print(f'{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, '
          f'{torch.get_num_threads()} torch threads; load average before: {os.getloadavg()[0]:.1f}')
    print(f'synthetic 64×64 images (not Tiny ImageNet), {args.n_images} of them, batch size {args.bs}, best of {args.repeats}')
    seed = seed_images_per_s(images, args.bs, args.repeats)
    print(f"{'seed: PIL per image, DataLoader with ' + str(os.cpu_count()) + ' workers':<60}{seed:>12,.0f} images/s")
    devices = [torch.device('cpu')] + ([torch.device('cuda')] if torch.cuda.is_available() else [])
    for device in devices:
        name = torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'
        for f in (preprocess, preprocess_and_augment, preprocess_and_trivial_augment):
            ips = batch_images_per_s(f, images, args.bs, args.repeats, device)
            print(f'{f.__name__ + " on " + name:<60}{ips:>12,.0f} images/s  ({ips / seed:.1f}x the seed)')
    print(f'load average after: {os.getloadavg()[0]:.1f} (other processes on the machine slow every figure down)')

if __name__ == '__main__': main()
