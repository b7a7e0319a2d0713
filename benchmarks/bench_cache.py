"""Benchmark of the image cache of `tinyimagenet.data` on the full-size synthetic set (200 classes, 100,000 train + 10,000 val images).

Builds the synthetic set once (or reuses it) under `data_dir()`, deletes its cache, then times
1. the first-time cache build: every JPEG decoded once, in one process per core, into the memory-mapped cache;
2. a cached reload in a fresh process: what every later training run pays at start, of which the listing of the source files
   (a `stat` each) and their fingerprint (name, size, mtime and ctime: what catches a file rewritten with its mtime put back);
Prints images/s, seconds, CPU seconds and peak resident memory.
Target (issue 3): first-time build of all 110,000 images in 60 s or less on 2 cores.

Usage: python benchmarks/bench_cache.py [--root DIR]
"""
import argparse, os, resource, shutil, subprocess, sys, time
from pathlib import Path

from tinyimagenet.core import data_dir
from tinyimagenet.data import TinyImageNet, make_synthetic_tiny_imagenet, _workers, _read_classes, _train_files, _val_files, _fingerprint

def fingerprint_s(root):
    "Seconds to list both splits' source files (a stat each) and fingerprint them, as every load does."
    start = time.perf_counter()
    wnids = _read_classes(root)[0]
    for files in (_train_files(root, wnids)[0], _val_files(root, wnids)[0]): _fingerprint(files)
    return time.perf_counter() - start

def load_both(root):
    "Load train and val; return seconds and number of images."
    start = time.perf_counter()
    n = sum(len(TinyImageNet(root, split)) for split in ('train', 'val'))
    return time.perf_counter() - start, n

def cpu_seconds():
    "CPU time of this process and its finished children (the decoding workers)."
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

def peak_rss_gb(who=resource.RUSAGE_SELF): return resource.getrusage(who).ru_maxrss / 2**20  # ru_maxrss is in KiB on Linux

if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '--reload':  # the fresh process of step 2
        secs, n = load_both(Path(sys.argv[2]))
        print(f'{secs:.3f} {n} {peak_rss_gb():.3f}')
        sys.exit()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--root', type=Path, default=data_dir()/'synthetic-200x500', help='where the full-size synthetic set lives')
    root = parser.parse_args().root
    print(f'{_workers()} worker processes, {os.cpu_count()} CPUs; load average before: {os.getloadavg()[0]:.1f}')

    start = time.perf_counter()
    made = not (root/'synthetic.json').exists()
    make_synthetic_tiny_imagenet(root, n_classes=200, train_per_class=500, val_per_class=50)
    if made: print(f'synthetic set written in {time.perf_counter() - start:.1f} s (110,000 train+val and 10,000 test JPEGs)')

    shutil.rmtree(root/'cache', ignore_errors=True)
    cpu = cpu_seconds()
    secs, n = load_both(root)
    cpu = cpu_seconds() - cpu
    print(f'first-time cache build: {n:,} images in {secs:.1f} s = {n/secs:,.0f} images/s; {cpu:.1f} CPU s, '
          f'so about {cpu/_workers():.1f} s on an otherwise idle machine')
    print(f'  peak RSS: this process {peak_rss_gb():.2f} GB (mostly cache pages, file-backed and shared), '
          f'largest worker {peak_rss_gb(resource.RUSAGE_CHILDREN):.2f} GB')

    start = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, '--reload', str(root)], capture_output=True, text=True, check=True).stdout.split()
    total = time.perf_counter() - start
    secs, n, rss = float(out[0]), int(out[1]), float(out[2])
    print(f'cached reload in a fresh process: {n:,} images in {secs:.2f} s = {n/secs:,.0f} images/s '
          f'({total:.1f} s with Python and torch start-up)')
    print(f'  peak RSS {rss:.2f} GB, mostly the memory-mapped cache pages that the checksum read (file-backed and shared)')
    print(f'  of which listing and fingerprinting the 110,000 source files: {fingerprint_s(root):.2f} s')
    print(f'load average after: {os.getloadavg()[0]:.1f}')
