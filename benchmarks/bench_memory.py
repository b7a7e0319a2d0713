"""Peak memory of `tinyimagenet predict`, on many small pictures and on one picture of a hostile shape (issue 23).

Writes, in a temporary folder, a model file (an untrained network of the `preact` recipe, 10 classes, `--width`: its weights do not
change the memory), 2,000 small JPEGs (80x60) and one PNG of 1x1,000,000 pixels (about 4 kB), then runs in fresh processes
1. `tinyimagenet predict MODEL` on the 2,000 pictures, and on the one tall-and-thin picture;
2. the data layer alone on that picture (and, as a baseline, a process that only imports what it uses): `read_picture(path)` followed by what `to_input` does (shorter side resized to 64, then the
   centre crop), and `read_picture(path, square=64)` followed by the same (its centre square first, so the resize works on 1x1 pixel).
Prints each one's peak resident memory (`ru_maxrss` of the finished process, from `os.wait4`) and seconds. A process that grows past
`--cap-gb` is killed (RSS polled every 20 ms), and its line says so: the point is to show growth, not to exhaust the machine.

Usage: OMP_NUM_THREADS=1 python benchmarks/bench_memory.py [--width 1] [--cap-gb 6] [--n 2000]
"""
import argparse, os, platform, signal, subprocess, sys, tempfile, time
from pathlib import Path

import numpy as np
from PIL import Image

LIBRARY = r'''
import sys
import torchvision.transforms.functional as TF
from tinyimagenet.data import read_picture
path, square = sys.argv[1], (int(sys.argv[2]) or None)
x = read_picture(path, square=square)
x = TF.center_crop(TF.resize(x, 64, antialias=True), 64)
print(tuple(x.shape))
'''

def rss_kib(pid) -> int:
    "Resident memory of the running process `pid` in KiB (0 once it is gone)."
    try:
        with open(f'/proc/{pid}/status') as f: return next((int(l.split()[1]) for l in f if l.startswith('VmRSS:')), 0)
    except OSError: return 0

def measure(argv, cap_kib) -> tuple:
    "(peak resident memory in GB, seconds, exit status, last line of output) of `argv` run to its end, or killed past `cap_kib`."
    start, killed = time.perf_counter(), False
    with tempfile.TemporaryFile('w+') as log:  # its output, read at the end (a pipe could fill and stall it)
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, text=True)
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid: break
            if rss_kib(p.pid) > cap_kib: os.kill(p.pid, signal.SIGKILL); killed = True
            time.sleep(0.02)
        p.returncode = os.waitstatus_to_exitcode(status)  # so that Popen does not wait for it again
        log.seek(0)
        lines = [l for l in log.read().splitlines() if l.strip()]
    return usage.ru_maxrss / 2**20, time.perf_counter() - start, 'killed at the cap' if killed else f'exit {p.returncode}', (lines or [''])[-1]

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--width', type=float, default=1., help='width of the network (1: the full-size one)')
    ap.add_argument('--cap-gb', type=float, default=6., help='kill a run whose resident memory passes this')
    ap.add_argument('--n', type=int, default=2000, help='how many small pictures')
    a = ap.parse_args()
    import torch
    from tinyimagenet.classify import build_model, save_model
    from tinyimagenet.config import TrainConfig
    entry = [sys.executable, '-c', 'import sys\nfrom tinyimagenet.cli import main\nsys.exit(main())']
    cap = int(a.cap_gb * 2**20)
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        torch.manual_seed(0)
        config = TrainConfig(width=a.width)
        model = save_model(d/'model.pt', build_model(config.model, 10, a.width), config, [f'n{i:08d}' for i in range(10)], d)
        rng = np.random.default_rng(0)
        (d/'pics').mkdir()
        small = [d/'pics'/f'{i}.jpg' for i in range(a.n)]
        for p in small: Image.fromarray(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)).save(p, quality=90)
        thin = d/'thin.png'
        Image.new('RGB', (1_000_000, 1), (200, 120, 40)).save(thin)
        print(f'{platform.node()}: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}; '
              f'network width {a.width:g}; {thin.name} is {thin.stat().st_size/1e3:.1f} kB; cap {a.cap_gb:g} GB')
        runs = [(f'predict, {a.n:,} pictures of 80x60', [*entry, 'predict', model, *small]),
                ('predict, one 1x1,000,000 PNG', [*entry, 'predict', model, thin]),
                ('baseline: importing torchvision and data', [sys.executable, '-c', 'import torchvision, tinyimagenet.data']),
                ('read_picture + resize, 1x1,000,000 PNG', [sys.executable, '-c', LIBRARY, thin, '0']),
                ('read_picture(square=64) + resize, same', [sys.executable, '-c', LIBRARY, thin, '64'])]
        for what, argv in runs:
            gb, secs, status, last = measure([str(x) for x in argv], cap)
            print(f'{what:<42} peak {gb:6.2f} GB  {secs:6.1f} s  {status:<18} {last[:70]}', flush=True)

if __name__ == '__main__': main()
