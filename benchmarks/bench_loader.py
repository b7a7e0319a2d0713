"""Steady-state training batches from `get_imagenet_dls` on the full-size synthetic set, and the memory they take.

What a training loop on the CPU would see: the shuffled, memory-mapped uint8 cache gathered into batches of 512 (by the loader's
prefetching thread, or on the "device" with `--resident`), each augmented with `preprocess_and_trivial_augment` (or another
preprocessor) into normalized floats. Prints images/s over whole batches after a warm-up, the same run's figure for the seed's
per-image PIL pipeline (`bench_augment.py`'s, on 8,192 synthetic images) and the ratio, and the process's anonymous resident memory
(what it holds beyond the file-backed, shared pages of the memory-mapped cache) before and during the epoch.
Targets (issues 3 and 10): 5x the seed's per-image pipeline in the same run, and no more than 2 GB resident above the memory-mapped cache.

The synthetic set (200 classes, 500 train + 50 val per class) is built once by `bench_cache.py` or here; it is not Tiny ImageNet.

    python benchmarks/bench_loader.py [--batches 60] [--augment trivial|basic|none] [--threads N] [--resident] [--no-seed]
"""
import argparse, os, time
import torch
from bench_augment import seed_images_per_s, synthetic_images
from tinyimagenet.augment import preprocess_and_augment, preprocess_and_trivial_augment
from tinyimagenet.core import data_dir
from tinyimagenet.data import get_imagenet_dls, make_synthetic_tiny_imagenet, preprocess

def rss_gb():
    "Anonymous and file-backed resident memory of this process, in GB, from /proc/self/status."
    fields = dict(line.split(':', 1) for line in open('/proc/self/status'))
    return tuple(int(fields[k].split()[0]) / 2**20 for k in ('RssAnon', 'RssFile'))

if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batches', type=int, default=60, help='timed batches after 5 warm-up batches')
    parser.add_argument('--augment', choices=('trivial', 'basic', 'none'), default='trivial')
    parser.add_argument('--threads', type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument('--resident', action='store_true', help='gather on the "device" (here the CPU) instead of in the prefetching thread')
    parser.add_argument('--no-seed', action='store_true', help="skip the seed's pipeline (no ratio)")
    args = parser.parse_args()
    if args.threads: torch.set_num_threads(args.threads)
    pre = {'trivial': preprocess_and_trivial_augment, 'basic': preprocess_and_augment, 'none': preprocess}[args.augment]
    root = make_synthetic_tiny_imagenet(data_dir()/'synthetic-200x500', n_classes=200, train_per_class=500, val_per_class=50)
    anon0, file0 = rss_gb()
    dls = get_imagenet_dls(bs=512, training_preprocessor=pre, path=root, device='cpu', resident=args.resident)
    print(f"{torch.get_num_threads()} torch threads; {len(dls.train.x):,} training images (synthetic, not Tiny ImageNet), bs 512, "
          f"{args.augment} augmentation, CPU, {'resident' if args.resident else 'host-gathered with prefetching'}; "
          f'load average before: {os.getloadavg()[0]:.1f}')
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
    if not args.no_seed:
        seed = seed_images_per_s(synthetic_images(8192), 512, 3)
        print(f"the seed's PIL pipeline in this run: {seed:,.0f} images/s; the loader is {n/secs/seed:.1f}x that")
    print(f'resident memory: anonymous {anon0:.2f} GB at start, peak {peak_anon:.2f} GB during the epoch '
          f'(+{peak_anon - anon0:.2f} GB); file-backed (memory-mapped cache pages, shared) {file:.2f} GB')
    print(f'load average after: {os.getloadavg()[0]:.1f}')
