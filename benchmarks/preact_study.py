"""The pre-activation study of chapter 03 on all of Fashion-MNIST: every arm of `study_arms`, several seeds, one CSV row per
arm, seed and epoch (`run_study`). Arms that differ only in how they are evaluated share their training runs (`study_groups`, the
column `trained_as`): arm d is arm a's runs read with re-estimated statistics, since training-mode BatchNorm never reads the running
ones. Usage: `python benchmarks/preact_study.py` (27 minutes on the project's 2-core CPU, 2026-12-03)."""
import argparse, csv, io, multiprocessing, os, platform, signal, sys, tempfile, time
from pathlib import Path

KNOBS = dict(
    seeds=3,        # training runs per arm: seeds 0, 1, ...
    epochs=4,       # of the one-cycle schedule
    bs=512,         # training batch size (validation: 1,000)
    size=14,        # image side: the 28x28 images averaged over 2x2 blocks, a quarter of the work
    nfs='16,16,32,64', n_blocks='1,1,1',  # widths (stem, then each stage; the first stage keeps 16: one unused 1x1 conv) and blocks per stage
    bn_images=5_000,  # un-augmented training images the re-estimated statistics come from
    jobs=2,         # worker processes, one thread each
)

def fashion_dls(bs, size, device='cpu'):
    "All 60,000 Fashion-MNIST training images (shuffled, full batches) and the 10,000 test images as validation, grey as RGB."
    import torch, torch.nn.functional as F
    from tinyimagenet.data import DataLoaders, DeviceDataLoader, _fashion_mnist
    def images(a):  # uint8 N x 28 x 28 -> uint8 N x 3 x size x size, normalized later by the loaders' `preprocess`
        x = torch.from_numpy(a.copy()).float().unsqueeze(1)
        if size != x.shape[-1]: x = F.adaptive_avg_pool2d(x, size)
        return x.round().to(torch.uint8).expand(-1, 3, -1, -1).contiguous()
    (x, y), (tx, ty) = _fashion_mnist()
    labels = lambda a: torch.from_numpy(a.astype('int64'))
    return DataLoaders(DeviceDataLoader(images(x), labels(y), bs, shuffle=True, drop_last=True, device=device),
                       DeviceDataLoader(images(tx), labels(ty), 1_000, device=device), [str(c) for c in range(10)])

_dls = None
def _worker_init(bs, size):
    global _dls
    import torch
    torch.set_num_threads(1)
    _dls = fashion_dls(bs, size)

def _run(job):
    "One training run: the arms `group` (they share it) with one seed."
    from tinyimagenet.preact_resnet import run_study, study_arms
    group, seed, kw = job
    start = time.perf_counter()
    rows = run_study(_dls, {a: study_arms[a] for a in group}, (seed,), **kw)
    print(f'{"+".join(group)} seed {seed}: {time.perf_counter() - start:.0f} s, final top-1 {rows[-1]["top1"]:.4f}', flush=True)
    return rows

def to_csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, list(rows[0]), lineterminator='\n')
    writer.writeheader(); writer.writerows(rows)
    return out.getvalue().encode()

def main():
    parser = argparse.ArgumentParser(description=__doc__)
    for k, v in KNOBS.items(): parser.add_argument(f'--{k.replace("_", "-")}', type=type(v), default=v)
    parser.add_argument('--arms', default=None, help='comma-separated arms (default: all of study_arms)')
    parser.add_argument('--out', default=str(Path(__file__).parents[1]/'nbs/study/preact_study.csv'))
    args = parser.parse_args()
    os.environ['OMP_NUM_THREADS'] = '1'  # inherited by the workers: one thread each, two workers on two cores
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds through the pool, which then stops its workers
    from tinyimagenet.core import write_atomically
    from tinyimagenet.preact_resnet import study_arms, study_groups
    arms = {a: study_arms[a] for a in args.arms.split(',')} if args.arms else study_arms
    kw = dict(n_epochs=args.epochs, nfs=tuple(map(int, args.nfs.split(','))), n_blocks=tuple(map(int, args.n_blocks.split(','))),
              n_images=args.bn_images)
    jobs = [(group, seed, kw) for seed in range(args.seeds) for group in study_groups(arms)]
    start = time.perf_counter()
    with multiprocessing.get_context('spawn').Pool(args.jobs, _worker_init, (args.bs, args.size)) as pool:
        rows, partial = [], Path(tempfile.gettempdir())/'preact_study.partial.csv'  # the runs so far, should a later one fail
        for result in pool.imap_unordered(_run, jobs):
            rows += result
            write_atomically(partial, lambda f: f.write(to_csv(rows)))
    seconds = time.perf_counter() - start
    order = list(arms)
    rows.sort(key=lambda r: (order.index(r['arm']), r['seed'], r['epoch']))
    for r in rows: r['study_seconds'] = round(seconds)  # the whole study's wall-clock time, with its workers
    write_atomically(args.out, lambda f: f.write(to_csv(rows)))
    print(f'{len(jobs)} training runs, {len(rows)} rows in {seconds / 60:.1f} min with {args.jobs} workers '
          f'({platform.node()}, {os.cpu_count()} cores): {args.out}')

if __name__ == '__main__': main()
