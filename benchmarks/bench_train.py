"""Speed of `tinyimagenet train` itself: whole epochs on a full-size synthetic set in the Tiny ImageNet layout.

The script runs the command (`tinyimagenet.cli.main(['train', ...])`), so it measures what a user runs: the same data
loaders, recipe, fast-path defaults, evaluation, BatchNorm re-estimation, checkpoints and model file. To see inside without
changing it, it wraps `classify.fit_recipe` to add two timing callbacks to the arguments the command passes it; the
BN re-estimation times are `ReestimateBNCB`'s own. The data is synthetic (coloured shapes written as 64x64 JPEGs by
`make_synthetic_tiny_imagenet`: 200 classes, 100,000 training and 10,000 validation images), not Tiny ImageNet; training
costs the same whatever the images show.

It prints training images/s (the training phase alone, the device synchronized at both ends; epoch 0, which includes
warm-up and compilation, apart), all-in seconds per epoch (training, BN re-estimation, evaluation, checkpoint), the
projected time of 25 epochs, BN re-estimation as a share of an epoch, MFU and peak device memory.

    python benchmarks/bench_train.py                    # 3 epochs of the default recipe on the fastest device here (compiled on CUDA)
    python benchmarks/bench_train.py --no-compile       # options it doesn't know go to `tinyimagenet train` unchanged
    python benchmarks/bench_train.py --tiny             # a sanity check that runs in minutes on a CPU: no speed figure
    python benchmarks/bench_train.py --prepare-only     # write the synthetic set and its image cache, timing each
    python benchmarks/bench_train.py --compile --epochs 2 --profile 20   # where 20 steady steps' time goes (no figures row)
"""
import argparse, inspect, resource, shutil, signal, statistics, sys, tempfile, time
from pathlib import Path
from unittest import mock

import torch

from tinyimagenet import classify, cli
from tinyimagenet.core import data_dir
from tinyimagenet.data import TinyImageNet, make_synthetic_tiny_imagenet
from tinyimagenet.diagnostics import summarize
from tinyimagenet.learner import Callback, model_device

# The synthetic set of each scale (n_classes, train_per_class, val_per_class), and what `--tiny` passes to the command.
scales = {'full': (200, 500, 50), 'tiny': (10, 16, 4)}
tiny_train_args = ['--width', '0.125', '--bs', '32']

# Dense bf16 tensor-core peak in TFLOP/s (without sparsity) from NVIDIA's datasheets, matched on the device name in this
# order. The H200 is the H100 SXM's chip (GH100) with more memory, so it has the same peak.
bf16_peaks = {'H100 PCIe': 756, 'H100': 989, 'H200': 989, 'A100': 312}

# The columns of the Markdown row that `--results` appends (with this header when the file is new).
results_header = ('| card | run | training images/s | all-in s/epoch | epoch 0 s | 25 epochs, projected s | BN re-estimation '
                  '| MFU | peak memory |\n|---|---|---|---|---|---|---|---|---|\n')

def sync():
    if torch.cuda.is_available(): torch.cuda.synchronize()  # device work is asynchronous: wait for it before reading a clock

class ClockCB(Callback):
    "Wall-clock time at the start and end of each epoch's phases, once the device has finished; counts the training images."
    def __init__(self, order): self.order, self.times, self.images = order, {}, {}
    def _mark(self, learn, event):
        sync()
        self.times[learn.epoch, learn.phase, event] = time.perf_counter()
    def before_epoch(self, learn): self._mark(learn, 'start')
    def after_epoch(self, learn): self._mark(learn, 'end')
    def after_batch(self, learn):
        if not learn.training: return
        self.images[learn.epoch] = self.images.get(learn.epoch, 0) + len(learn.batch[0])  # a shape: no sync
        if learn.epoch == 0 and learn.iter < 2: self._mark(learn, f'step {learn.iter}')  # where epoch 0's warm-up goes

class ProfileCB(Callback):
    "Profiles training steps [start, start + n) of epoch 1: the host and device time of each step and of making its batch."
    order = -999
    def __init__(self, n, start=10): self.n, self.start, self.prof, self.range = n, start, None, None
    def _open(self, name):
        self.range = torch.profiler.record_function(name)
        self.range.__enter__()
    def _close(self):
        if self.range is not None: self.range.__exit__(None, None, None)
        self.range = None
    def before_fit(self, learn): self.start = max(0, min(self.start, len(learn.dls.train) - self.n))  # a short epoch: earlier steps
    def before_batch(self, learn):
        if learn.training and learn.epoch == 1 and learn.iter == self.start:
            sync()
            self.t0, self.prof = time.perf_counter(), torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU,
                *([torch.profiler.ProfilerActivity.CUDA] if torch.cuda.is_available() else [])])
            self.prof.__enter__()
        if self.prof is None: return
        self._close()  # the batch is made: the loader's range ends
        self._open('bench: step')
    def after_batch(self, learn):
        if self.prof is None: return
        self._close()
        if learn.iter < self.start + self.n - 1: return self._open('bench: loader')  # until the next batch arrives
        sync()
        wall = (time.perf_counter() - self.t0) / self.n
        self.prof.__exit__(None, None, None)
        report_profile(self.prof, self.n, wall)
        self.prof = None

def report_profile(prof, n, wall):
    "Print, per step: the wall time, the device's busy time, and the host and device time of the step and of the loader."
    events, cuda = prof.events(), torch.autograd.DeviceType.CUDA
    kernels = sorted((e.time_range.start, e.time_range.end) for e in events  # not the ranges' own marks on the device timeline
                     if e.device_type == cuda and not e.name.startswith('bench: '))
    busy, end = 0, float('-inf')
    for start, stop in kernels:  # the union of the kernels' intervals: overlapping kernels count once
        busy += max(0, stop - max(start, end))
        end = max(end, stop)
    print(f'profile: {n} training steps of epoch 1: {wall * 1e3:.1f} ms each, wall clock; the device busy '
          f'{busy / 1e3 / n:.1f} ms of it ({busy / 1e6 / n / wall:.0%})', flush=True)
    host = {what: sum(e.cpu_time_total for e in events if e.name == f'bench: {what}' and e.device_type != cuda) / 1e3 / n
            for what in ('step', 'loader')}
    loader = sum(e.device_time_total for e in events if e.name == 'bench: loader' and e.device_type != cuda) / 1e3 / n
    print(f'profile: making each batch (the loader, in the training thread): host {host["loader"]:.1f} ms, device {loader:.1f} ms', flush=True)
    print(f'profile: the step itself (forward, backward, update): host {host["step"]:.1f} ms in the training thread (on CUDA '
          f'the backward pass runs in autograd\'s device thread, outside it), device {busy / 1e3 / n - loader:.1f} ms', flush=True)
    print(prof.key_averages().table(sort_by='self_device_time_total', row_limit=25, max_name_column_width=70), flush=True)

class EpochReportCB(ClockCB):
    "The last callback: at each epoch's end, prints its figures from its own times, those of `first` and `ReestimateBNCB`'s."
    order = 1000
    def __init__(self, first): super().__init__(self.order); self.first, self.epochs = first, []
    def before_fit(self, learn):
        self.bn = next((cb for cb in learn.fit_cbs if isinstance(cb, classify.ReestimateBNCB)), None)  # None: the recipe has none
    def after_epoch(self, learn):
        super().after_epoch(learn)
        if learn.training and learn.do_valid: return  # the epoch ends after its eval phase
        e, last, first = learn.epoch, self.times, self.first.times
        start = self.epochs[-1]['end'] if self.epochs else first[e, 'train', 'start']
        train_s = first[e, 'train', 'end'] - last[e, 'train', 'start']  # the batches alone, inside the other callbacks' work
        row = dict(epoch=e, end=last[e, learn.phase, 'end'], images=self.first.images[e], train_s=train_s,
                   ips=self.first.images[e] / train_s, all_in_s=last[e, learn.phase, 'end'] - start,
                   bn_s=self.bn.seconds[-1] if self.bn else 0.)  # it re-estimates once, before the epoch's evaluation
        self.epochs.append(row)
        print(f"bench: epoch {e}: training {row['ips']:,.0f} images/s ({row['images']:,} images in {train_s:.2f} s); "
              + (f"BN re-estimation {row['bn_s']:.2f} s; " if self.bn else '') + f"all-in {row['all_in_s']:.2f} s", flush=True)
        if e == 0 and (0, 'train', 'step 1') in first:  # warm-up: cuDNN's autotuning and compilation happen at a shape's first use
            steps = first[0, 'train', 'step 0'] - first[0, 'train', 'start'], first[0, 'train', 'step 1'] - first[0, 'train', 'step 0']
            eval_s = last[0, 'eval', 'end'] - last[0, 'eval', 'start'] if (0, 'eval', 'start') in last else float('nan')
            print(f'bench: epoch 0: its first training step took {steps[0]:.2f} s, the second {steps[1]:.2f} s; its evaluation {eval_s:.2f} s',
                  flush=True)

def prepare(root:Path, scale:str) -> Path:
    "Write the synthetic set of `scale` at `root` and its image cache (each only if missing), printing how long each took."
    for what, make in [('synthetic set', lambda: make_synthetic_tiny_imagenet(root, *scales[scale])),
                       ('image cache', lambda: [TinyImageNet(root, split) for split in ('train', 'val')])]:
        start = time.perf_counter()
        make()
        print(f'bench: {what} at {root}: ready in {time.perf_counter() - start:.1f} s', flush=True)
    return root

def run_command(argv, cbs) -> tuple:
    "Run `tinyimagenet train` with `argv`, adding `cbs` to its callbacks; return (exit status, fit_recipe's arguments, the Learner)."
    seen, fit_recipe = {}, classify.fit_recipe
    def with_cbs(*args, **kwargs):
        call = inspect.signature(fit_recipe).bind(*args, **kwargs)
        call.apply_defaults()
        call.arguments['extra_cbs'] = (*call.arguments['extra_cbs'], *cbs)
        seen['call'], seen['learn'] = call.arguments, fit_recipe(*call.args, **call.kwargs)
        return seen['learn']
    with mock.patch.object(classify, 'fit_recipe', with_cbs): status = cli.main(['train', *argv])
    if not status and 'learn' not in seen:
        raise RuntimeError('`tinyimagenet train` finished without calling tinyimagenet.classify.fit_recipe, so nothing was timed: '
                           'make bench_train.run_command wrap the function the command now trains with')
    return status, seen.get('call'), seen.get('learn')

def device_figures(device) -> tuple:
    "(the device's name, its dense bf16 peak in TFLOP/s or None, its peak memory in GiB or None, that memory in words)."
    if device.type != 'cuda':
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux counts it in KiB
        return f'{device.type} ({torch.get_num_threads()} threads)', None, None, f'n/a on {device.type} (this process: {rss:.2f} GiB resident at most)'
    name, gib = torch.cuda.get_device_name(device), torch.cuda.max_memory_allocated(device) / 2**30  # since the process began
    peak = next((tflops for key, tflops in bf16_peaks.items() if key in name), None)
    return name, peak, gib, f'{gib:.2f} GiB allocated ({torch.cuda.max_memory_reserved(device) / 2**30:.2f} GiB reserved by the caching allocator)'

def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], epilog='Other options go to `tinyimagenet train`.')
    parser.add_argument('--tiny', action='store_true', help='a tiny synthetic set ({} classes, {} training and {} validation images each), {}, 2 epochs: '
                        'checks the script, measures nothing worth quoting'.format(*scales['tiny'], ' '.join(tiny_train_args)))
    parser.add_argument('--epochs', type=int, help='epochs to run (default 3; 2 with --tiny); epoch 0 counts as warm-up')
    parser.add_argument('--data', type=Path, help='where the synthetic set goes (default: under tinyimagenet.core.data_dir())')
    parser.add_argument('--prepare-only', action='store_true', help='write the synthetic set and its image cache, then stop')
    parser.add_argument('--label', help='names this run in the --results row (default: eager, compiled, or compiled and the mode)')
    parser.add_argument('--results', type=Path, help='append a Markdown table row of the figures to this file')
    parser.add_argument('--profile', type=int, metavar='N', help="profile N training steps of epoch 1 and print where their time "
                        "goes; those steps are slower, so the run's figures are not quoted and no --results row is written")
    args, train_args = parser.parse_known_args()
    scale = 'tiny' if args.tiny else 'full'
    n_classes, per_class, _ = scales[scale]
    root = prepare(args.data or data_dir()/f'bench-synthetic-{n_classes}x{per_class}', scale)
    if args.prepare_only: return 0

    out = Path(tempfile.mkdtemp(prefix='bench-train-'))  # checkpoint.pt, model.pt and metrics, deleted at the end
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that a run stopped by `timeout` deletes them too
    argv = ['--data', str(root), '--out', str(out), '--epochs', str(args.epochs or (2 if args.tiny else 3)),
            *(tiny_train_args if args.tiny else []), *train_args]
    print(f'bench: tinyimagenet train {" ".join(argv)}', flush=True)
    first = ClockCB(-1000)
    report = EpochReportCB(first)
    start = time.perf_counter()
    try: status, call, learn = run_command(argv, [first, report, *([ProfileCB(args.profile)] if args.profile else [])])
    finally: shutil.rmtree(out, ignore_errors=True)
    command_s = time.perf_counter() - start
    if status: print(f'bench: tinyimagenet train failed (exit status {status})'); return status

    rows, dls, config = report.epochs, call['dls'], call['config']
    steady = rows[1:] or rows  # epoch 0 includes warm-up: cuDNN autotuning, compilation
    which = 'epoch 0 alone, warm-up included' if len(rows) == 1 else 'epoch 1' if len(rows) == 2 else f'epochs 1-{len(rows) - 1}, median'
    ips, epoch_s = statistics.median(r['ips'] for r in steady), statistics.median(r['all_in_s'] for r in steady)
    bn_s, bn_share = statistics.median(r['bn_s'] for r in steady), statistics.median(r['bn_s'] / r['all_in_s'] for r in steady)
    projected = command_s + (25 - len(rows)) * epoch_s  # what ran, plus the missing epochs at the steady rate
    model = classify.build_model(config.model, len(dls.classes), config.width)
    mflops = summarize(model, [model], xb=torch.randn(2, 3, 64, 64)).total_mflops  # forward, per image, 2 FLOPs per multiply-add
    name, peak, gib, memory = device_figures(model_device(learn.model))
    mfu = ips * 3 * mflops * 1e6 / (peak * 1e12) if peak else None  # training: forward + backward = 3x the forward FLOPs
    shown = ', '.join(f'{k}={v!r}' for k, v in config.as_dict().items())

    print(f'\nbench: {name}, torch {torch.__version__}; the {scale} synthetic set ({len(dls.classes)} classes, {len(dls.train.x):,} '
          f'training and {len(dls.valid.x):,} validation images: not Tiny ImageNet), batches of {dls.train.bs}')
    print(f'bench: fit_recipe(dls, TrainConfig({shown}))')
    print(f'training images/s ({which}): {ips:,.0f}  (epoch 0, warm-up included: {rows[0]["ips"]:,.0f})')
    print(f'all-in seconds per epoch ({which}): {epoch_s:.2f}  (epoch 0: {rows[0]["all_in_s"]:.2f})')
    print(f'projected 25 epochs, all-in: {projected:,.0f} s  (the command took {command_s:.1f} s for {len(rows)} epochs, '
          f'plus {25 - len(rows)} x {epoch_s:.2f} s)')
    print(f'BN re-estimation: {bn_s:.2f} s per epoch, {bn_share:.1%} of an epoch' if report.bn else
          f'BN re-estimation: none (the {config.model} recipe keeps the running statistics)')
    print('MFU: ' + (f"{mfu:.1%} of the card's dense bf16 peak, {peak} TFLOP/s (NVIDIA's datasheet)" if mfu is not None else
                     f'n/a (no bf16 peak known for {name})') + f'; 3 x {mflops:,.1f} MFLOPs per training image (summarize)')
    print(f'peak device memory: {memory}')

    if args.profile: print('bench: these figures include the profiled steps: not for quoting')
    if args.results and not args.profile:
        mode = config.compile
        label = args.label or ('eager' if not mode else 'compiled' if mode in (True, 'default') else f'compiled, {mode}')
        cells = [name, label, f'{ips:,.0f}', f'{epoch_s:.2f}',
                 f'{rows[0]["all_in_s"]:.2f}', f'{projected:,.0f}', f'{bn_share:.1%}' if report.bn else 'none', 'n/a' if mfu is None else f'{mfu:.1%}',
                 'n/a' if gib is None else f'{gib:.1f} GiB']
        header = '' if args.results.exists() else results_header
        with open(args.results, 'a') as f: f.write(header + '| ' + ' | '.join(cells) + ' |\n')
    return 0

if __name__ == '__main__': sys.exit(main())
