"""The pre-activation study of chapter 03b on all of Fashion-MNIST: arms of `study_arms`, several seeds, one CSV row per arm, seed
and epoch (`run_study`). Arms that differ only in how they are evaluated share their training runs (`study_groups`, the column
`trained_as`): arm d is arm a's runs read with re-estimated statistics, since training-mode BatchNorm never reads the running ones.

Every run is fixed by its seed and settings, so any row can be made again: `--arms f --seed-list 1` with a file's other settings
writes that file's rows for arm f, seed 1 (all but the columns seconds, study_seconds, load_before and load_avg), and
`--out OTHER --against FILE` checks them value by value. An existing --out is never overwritten: with `--resume` its rows (of
the same settings) are kept and their runs skipped, so a stopped study goes on, and a pilot's runs count in the study. The
finished runs' rows are also written to OUT.partial.csv as they come (removed at the end), for a call that is stopped.

The two recorded regimes (chapter 03b prints each file's command):
    python benchmarks/preact_study.py --out nbs/study/preact_study.csv  # 14x14, no augmentation, 3 blocks (27 min, 2-core CPU)
    python benchmarks/preact_study.py --size 28 --augment trivial --nfs 16,16,32,64,128 --n-blocks 2,2,2,1 --bs 128 --epochs 5 \\
        --arms a,i,f --out nbs/study/preact_study_28.csv
The seed's own setting, for a GPU: `bash benchmarks/gpu_check.sh study`."""
import argparse, csv, io, multiprocessing, os, platform, queue, re, signal, sys, time
from pathlib import Path

KNOBS = dict(  # the small study's settings (nbs/study/preact_study.csv)
    seed_list='0,1,2',  # one training run per seed and group of arms
    epochs=4,       # of the one-cycle schedule
    bs=512,         # training batch size (validation: 1,000)
    size=14,        # image side: Fashion-MNIST's 28, averaged over 2x2 blocks for 14 (a quarter of the work), bicubic above 28
    augment='none', # training batches: 'none', or 'trivial' (the project's pad 4, crop, flip and TrivialAugmentWide, at `size`)
    nfs='16,16,32,64', n_blocks='1,1,1',  # widths (stem, then each stage) and blocks per stage (the last one of a stage halves the side)
    bn_images=5_000,  # un-augmented training images the re-estimated statistics come from
    n_train=0,      # if > 0: only the first n_train training images (a quick try of the script; the recorded studies use all)
    jobs=2,         # worker processes (on the CPU one thread each)
    device='cpu',   # 'cpu' or 'cuda'
    budget_s=0,     # if > 0: start no run that would end after this many seconds, judged by the runs so far (the GPU script's limit)
)

def fashion_dls(bs, size, augment='none', device='cpu', n_train=0):
    "All 60,000 Fashion-MNIST training images (shuffled, full batches) and the 10,000 test images as validation, grey as RGB."
    import torch, torch.nn.functional as F
    from tinyimagenet.augment import preprocess_and_trivial_augment
    from tinyimagenet.data import DataLoaders, DeviceDataLoader, _fashion_mnist
    def images(a):  # uint8 N x 28 x 28 -> uint8 N x 3 x size x size, normalized later by the loaders' `preprocess`
        x = torch.from_numpy(a.copy()).float().unsqueeze(1)
        if size < x.shape[-1]: x = F.adaptive_avg_pool2d(x, size)
        elif size > x.shape[-1]: x = torch.cat([F.interpolate(c, size, mode='bicubic').clamp(0, 255) for c in x.split(10_000)])
        return x.round().to(torch.uint8).expand(-1, 3, -1, -1).contiguous()
    (x, y), (tx, ty) = _fashion_mnist()
    if n_train: x, y = x[:n_train], y[:n_train]
    labels = lambda a: torch.from_numpy(a.astype('int64'))
    tfm = None if augment == 'none' else lambda xb, yb: (preprocess_and_trivial_augment(xb, size), yb)
    return DataLoaders(DeviceDataLoader(images(x), labels(y), bs, shuffle=True, drop_last=True, batch_tfm=tfm, device=device),
                       DeviceDataLoader(images(tx), labels(ty), 1_000, device=device), [str(c) for c in range(10)])

_dls = _init_error = None
def _worker_init(bs, size, augment, device, n_train):
    global _dls, _init_error
    import torch
    if device == 'cpu': torch.set_num_threads(1)
    try: _dls = fashion_dls(bs, size, augment, device, n_train)
    except Exception as e: _init_error = e  # raised by the first job: a pool whose initializer raises starts new workers forever

def _run(job):
    "One training run: the arms `group` (they share it) with one seed."
    from tinyimagenet.study import run_study, study_arms
    if _init_error is not None: raise _init_error
    group, seed, kw = job
    start = time.perf_counter()
    rows = run_study(_dls, {a: study_arms[a] for a in group}, (seed,), **kw)
    seconds = time.perf_counter() - start
    for r in rows: r['load_avg'] = round(os.getloadavg()[0], 2)  # the machine's 1-minute load as the run ends
    print(f'{"+".join(group)} seed {seed}: {seconds:.0f} s, final top-1 {rows[-1]["top1"]:.4f}', flush=True)
    return rows, seconds

def to_csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, list(dict.fromkeys(k for r in rows for k in r)), lineterminator='\n')
    writer.writeheader(); writer.writerows(rows)
    return out.getvalue().encode()

def read_csv(path) -> list:
    with open(path, newline='') as f: return list(csv.DictReader(f))

TIMING = ('seconds', 'study_seconds', 'load_before', 'load_avg')  # what differs between two runs of the same rows
def compare(rows, recorded) -> int:
    "Print whether `rows` equal `recorded`'s rows of the same arms and seeds in every column both have but the timing ones; 1 if not."
    key = lambda r: (r['arm'], int(r['seed']), int(r['epoch']))
    theirs = {key(r): r for r in recorded if (r['arm'], int(r['seed'])) in {(x['arm'], int(x['seed'])) for x in rows}}
    if len(theirs) != len(rows): print(f'{len(rows)} rows written, {len(theirs)} of them recorded'); return 1
    differ = [(key(r), k, r[k], theirs[key(r)][k]) for r in rows for k in r.keys() & theirs[key(r)].keys() - set(TIMING) if r[k] != theirs[key(r)][k]]
    for d in differ[:10]: print('differs:', *d)
    shared = len(rows[0].keys() & theirs[key(rows[0])].keys() - set(TIMING))
    print(f'{len(rows)} rows against the recorded ones, {shared} columns each (timing and load aside): '
          + (f'{len(differ)} values differ' if differ else 'every value equal'))
    return int(bool(differ))

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for k, v in KNOBS.items(): parser.add_argument(f'--{k.replace("_", "-")}', type=type(v), default=v)
    parser.add_argument('--arms', default=None, help='comma-separated arms (default: all of study_arms)')
    parser.add_argument('--out', required=True, help='the CSV file to write (never overwritten; see --resume)')
    parser.add_argument('--resume', action='store_true', help="keep --out's rows of the same settings and skip their runs")
    parser.add_argument('--against', default=None, help='a recorded file: check that its rows of these arms and seeds equal the ones written')
    args = parser.parse_args(argv)
    if args.augment not in ('none', 'trivial'): parser.error(f"--augment {args.augment!r}: use 'none' or 'trivial'")
    for flag in ('seed_list', 'nfs', 'n_blocks'):
        if not re.fullmatch(r'\d+(,\d+)*', getattr(args, flag)):
            parser.error(f"--{flag.replace('_', '-')} {getattr(args, flag)!r}: give whole numbers separated by commas, e.g. 0,1,2")
    if len(args.nfs.split(',')) != len(args.n_blocks.split(',')) + 1:
        parser.error(f'--nfs {args.nfs} --n-blocks {args.n_blocks}: --nfs needs one more width than --n-blocks has stages (the stem first)')
    if args.device == 'cpu': os.environ['OMP_NUM_THREADS'] = '1'  # inherited by the workers: one thread each
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds through the pool, which then stops its workers
    import torch
    from tinyimagenet.core import write_atomically
    from tinyimagenet.study import study_arms, study_groups
    if unknown := set(args.arms.split(',') if args.arms else ()) - set(study_arms):
        parser.error(f'--arms: no arm {", ".join(sorted(unknown))}; the arms are {", ".join(study_arms)}')
    arms = {a: study_arms[a] for a in args.arms.split(',')} if args.arms else study_arms
    seeds = [int(s) for s in args.seed_list.split(',')]
    device_name = torch.cuda.get_device_name() if args.device == 'cuda' else f'{platform.processor() or platform.machine()} CPU, {os.cpu_count()} cores'
    settings = dict(n_epochs=args.epochs, bs=args.bs, nfs=args.nfs.replace(',', '-'), n_blocks=args.n_blocks.replace(',', '-'),
                    image_size=args.size, augment=args.augment, bn_images=args.bn_images, device_name=device_name)
    kw = dict(n_epochs=args.epochs, nfs=tuple(map(int, args.nfs.split(','))), n_blocks=tuple(map(int, args.n_blocks.split(','))),
              n_images=args.bn_images)
    kept, spent = [], 0.
    if Path(args.out).exists():
        if not args.resume: parser.error(f'--out {args.out} exists: give another --out (with --against this one to compare), or --resume to add to it')
        same = dict(settings, n_train=args.n_train or 60_000)
        kept = read_csv(args.out)
        if odd := next((f'{k}={r.get(k)}' for r in kept for k, v in same.items() if str(r.get(k)) != str(v)), None):
            parser.error(f'--resume: {args.out} holds rows of other settings ({odd}): give another --out')
        spent = max((float(r['study_seconds']) for r in kept), default=0.)  # the wall time the kept rows took
    done = {(r['arm'], int(r['seed'])) for r in kept}
    jobs = [(group, seed, kw) for seed in seeds for group in study_groups(arms) if not all((a, seed) in done for a in group)]
    print(f'{len(jobs)} training runs to make, {len(kept)} rows kept from {args.out}', flush=True)
    start, rows, times, load_before = time.perf_counter(), [], [], round(os.getloadavg()[0], 2)  # what else ran as it started
    if jobs:
        with multiprocessing.get_context('spawn').Pool(min(args.jobs, len(jobs)), _worker_init,
                                                       (args.bs, args.size, args.augment, args.device, args.n_train)) as pool:
            partial = Path(args.out).with_suffix('.partial.csv')  # the runs so far, should a later one fail or the call be stopped
            finished, pending, n_running = queue.Queue(), iter(jobs[args.jobs:]), min(args.jobs, len(jobs))
            submit = lambda job: pool.apply_async(_run, (job,), callback=finished.put, error_callback=finished.put)
            for job in jobs[:args.jobs]: submit(job)
            while n_running:
                result = finished.get()
                if isinstance(result, BaseException): raise result
                rows += [dict(r, **settings, load_before=load_before) for r in result[0]]; times.append(result[1]); n_running -= 1
                write_atomically(partial, lambda f: f.write(to_csv(rows)))
                elapsed, job = time.perf_counter() - start, next(pending, None)
                if job and args.budget_s and elapsed + max(times) > args.budget_s:
                    print(f'stopping: another run would end past --budget-s {args.budget_s} ({elapsed:.0f} s spent)', flush=True)
                    job, pending = None, iter(())
                if job: submit(job); n_running += 1
    seconds = spent + time.perf_counter() - start
    rows = kept + rows
    order = list(dict.fromkeys([*(r['arm'] for r in kept), *arms]))
    rows.sort(key=lambda r: (order.index(r['arm']), int(r['seed']), int(r['epoch'])))
    for r in rows: r['study_seconds'] = round(seconds)  # the whole study's wall-clock time, with its workers (and the kept runs')
    write_atomically(args.out, lambda f: f.write(to_csv(rows)))
    if jobs: partial.unlink(missing_ok=True)
    print(f'{len(times)} training runs made, {len(rows)} rows in {seconds / 60:.1f} min with {args.jobs} workers ({device_name}): {args.out}')
    if args.against: sys.exit(compare(read_csv(args.out), read_csv(args.against)))

if __name__ == '__main__': main()
