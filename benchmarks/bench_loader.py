"""Steady-state training batches from `get_imagenet_dls` on the full-size synthetic set, and the memory they take.

What a training loop on the CPU would see: the shuffled, memory-mapped uint8 cache gathered into batches of 512, each augmented
with `preprocess_and_trivial_augment` (or another preprocessor) into normalized floats. Prints images/s over whole batches after a
warm-up, and the process's anonymous resident memory (what it holds beyond the file-backed, shared pages of the memory-mapped
cache) before and during the epoch. Targets (issue 3): 5x the seed's per-image pipeline (`bench_augment.py` measures that
reference) and no more than 2 GB resident above the memory-mapped cache.

The synthetic set (200 classes, 500 train + 50 val per class) is built once by `bench_cache.py` or here; it is not Tiny ImageNet.

    python benchmarks/bench_loader.py [--batches 60] [--augment trivial|basic|none] [--threads N]
"""
import argparse, time
import torch
from tinyimagenet.data import (data_dir, get_imagenet_dls, make_synthetic_tiny_imagenet, preprocess, preprocess_and_augment,
                               preprocess_and_trivial_augment)

def rss_gb():
    "Anonymous and file-backed resident memory of this process, in GB, from /proc/self/status."
    fields = dict(line.split(':', 1) for line in open('/proc/self/status'))
    return tuple(int(fields[k].split()[0]) / 2**20 for k in ('RssAnon', 'RssFile'))

if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batches', type=int, default=60, help='timed batches after 5 warm-up batches')
    parser.add_argument('--augment', choices=('trivial', 'basic', 'none'), default='trivial')
    parser.add_argument('--threads', type=int, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads: torch.set_num_threads(args.threads)
    pre = {'trivial': preprocess_and_trivial_augment, 'basic': preprocess_and_augment, 'none': preprocess}[args.augment]
    root = make_synthetic_tiny_imagenet(data_dir()/'synthetic-200x500', n_classes=200, train_per_class=500, val_per_class=50)
    anon0, file0 = rss_gb()
    dls = get_imagenet_dls(bs=512, training_preprocessor=pre, path=root, device='cpu')
    print(f"{torch.get_num_threads()} torch threads; {len(dls.train.x):,} training images "
          f'(synthetic, not Tiny ImageNet), bs 512, {args.augment} augmentation, CPU')
    it = iter(dls.train)
    for _ in range(5): next(it)
    start, n, peak_anon = time.perf_counter(), 0, 0.
    for _ in range(args.batches):
        xb, yb = next(it)
        n += len(xb)
        peak_anon = max(peak_anon, rss_gb()[0])
    secs = time.perf_counter() - start
    anon, file = rss_gb()
    print(f'training batches: {n:,} images in {secs:.2f} s = {n/secs:,.0f} images/s')
    print(f'resident memory: anonymous {anon0:.2f} GB at start, peak {peak_anon:.2f} GB during the epoch '
          f'(+{peak_anon - anon0:.2f} GB); file-backed (memory-mapped cache pages, shared) {file:.2f} GB')
