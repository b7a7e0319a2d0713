"""Seconds of `tinyimagenet train --synthetic` and `tinyimagenet superres --dataset photos` (one epoch each, small-set defaults) on
the CPU: 1 and 2 threads whose idle time spins (OpenMP's default, OMP_WAIT_POLICY=ACTIVE), 2 threads whose idle time sleeps
(OMP_WAIT_POLICY=PASSIVE), and the command's own choice (which picks by the load average), each in a fresh process, with the machine's
load average beside them: the figures behind the command's threads on a CPU. Run it on a quiet machine and on a busy one.

    python benchmarks/bench_threads.py             # each case once
    python benchmarks/bench_threads.py --repeat 3  # the median of three
"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile, time

def seconds(argv, threads=None, policy=None) -> float:
    "Wall seconds of `tinyimagenet *argv` in a new process, with `--threads threads` and `OMP_WAIT_POLICY=policy` (each None: the command's choice)."
    out = tempfile.mkdtemp(prefix='bench-threads-')
    env = {k: v for k, v in os.environ.items() if k not in ('OMP_NUM_THREADS', 'OMP_WAIT_POLICY')}
    if policy is not None: env['OMP_WAIT_POLICY'] = policy
    cmd = [sys.executable, '-m', 'tinyimagenet.cli', *argv, '--out', out, *([] if threads is None else ['--threads', str(threads)])]
    start = time.perf_counter()
    try: subprocess.run(cmd, check=True, capture_output=True, env=env)
    finally: shutil.rmtree(out, ignore_errors=True)
    return time.perf_counter() - start

def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--repeat', type=int, default=1)
    args = parser.parse_args()
    cases = {'train --synthetic, 1 epoch': ['train', '--synthetic', '--epochs', '1'],
             'superres --dataset photos, 1 epoch': ['superres', '--dataset', 'photos', '--epochs', '1']}
    for argv in cases.values(): seconds(argv, 1)  # the sets and their caches are made once, outside the timings
    print(f'bench: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the start')
    for name, argv in cases.items():
        for how, threads, policy in [('1 spinning thread', 1, 'ACTIVE'), ('2 spinning threads', 2, 'ACTIVE'),
                                     ('2 sleeping threads', 2, 'PASSIVE'), ("the command's choice", None, None)]:
            runs = [seconds(argv, threads, policy) for _ in range(args.repeat)]
            print(f'{name}: {how}: {statistics.median(runs):.1f} s (load average now {os.getloadavg()[0]:.2f})', flush=True)

if __name__ == '__main__': main()
