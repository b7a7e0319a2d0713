"""Training speed on the CPU in one process and in two (torchrun, gloo), at the same global batch.

Each run trains a recipe with `fit_recipe` for `--epochs` epochs on the synthetic set (written the first time) and reports the
training images/s of the last epoch's training phase (all ranks' images; epoch 0 is warm-up). The two-process run is
measured twice: with DDP's static graph (what `DeviceCB` asks for) and with a search for unused parameters every step (what it
asks for when a callback such as `FreezeCB` changes which parameters train). Every run uses all `--cores`: one process with
that many threads, or two with half as many each.

    python benchmarks/bench_ddp.py                      # preact at width 0.25, global batch 64, 10 classes x 100 images
    python benchmarks/bench_ddp.py --model seed --repeats 3
"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path

def worker(args):
    "One run (in each process under torchrun): print the last epoch's training images/s as JSON from rank 0."
    import torch, torch.distributed as dist
    from tinyimagenet.classify import fit_recipe, get_dls
    from tinyimagenet.config import TrainConfig
    from tinyimagenet.learner import Callback
    from tinyimagenet.parallel import is_main_process, world_size

    class ClockCB(Callback):
        "Wall-clock time of each training phase and the images it saw (all ranks': every rank has the same share)."
        def before_epoch(self, learn):
            if learn.training: self.start, self.images = time.perf_counter(), 0
        def after_batch(self, learn):
            if learn.training: self.images += len(learn.batch[0])
        def after_epoch(self, learn):
            if learn.training: self.rate = self.images * world_size() / (time.perf_counter() - self.start)

    class SearchUnusedCB(Callback):
        "Nothing but the flag that makes `DeviceCB` ask DDP to search for unused parameters every step."
        changes_trainable = True

    torch.manual_seed(0)
    config = TrainConfig(model=args.model, epochs=args.epochs, bs=args.bs, width=args.width, augment='none')
    dls = get_dls(config, args.data, 'cpu')
    clock = ClockCB()
    fit_recipe(dls, config, plot=False, extra_cbs=[clock, *([SearchUnusedCB()] if args.search else [])])
    if is_main_process(): print(json.dumps({'images_per_s': clock.rate}), flush=True)
    if dist.is_initialized(): dist.destroy_process_group()

def run(args, processes, search=False) -> float:
    "Training images/s of one run in `processes` processes sharing `args.cores` cores."
    env = {**os.environ, 'OMP_NUM_THREADS': str(args.cores // processes)}
    me = [__file__, '--worker', '--model', args.model, '--width', str(args.width), '--bs', str(args.bs), '--epochs', str(args.epochs),
          '--data', str(args.data), *(['--search'] if search else [])]
    launch = ([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', str(processes)] if processes > 1 else [sys.executable])
    result = subprocess.run(launch + me, capture_output=True, text=True, env=env)
    if result.returncode: sys.exit(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])['images_per_s']

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--model', default='preact'); p.add_argument('--width', type=float, default=0.25)
    p.add_argument('--bs', type=int, default=64, help='global batch size'); p.add_argument('--epochs', type=int, default=2)
    p.add_argument('--per-class', type=int, default=100, help='training images per class of the synthetic set')
    p.add_argument('--cores', type=int, default=2); p.add_argument('--repeats', type=int, default=1)
    p.add_argument('--data', type=Path); p.add_argument('--worker', action='store_true'); p.add_argument('--search', action='store_true')
    args = p.parse_args()
    if args.worker: worker(args); sys.exit()
    from tinyimagenet.data import dataset_path
    args.data = dataset_path('synthetic', Path(tempfile.gettempdir())/'bench_ddp', args.per_class)
    runs = {'1 process': (1, False), '2 processes, static graph': (2, False), '2 processes, unused-parameter search': (2, True)}
    rates = {name: [] for name in runs}
    for _ in range(args.repeats):  # interleaved: a machine whose load changes affects every kind of run alike
        for name, (processes, search) in runs.items(): rates[name].append(run(args, processes, search))
    print(f'{args.model}, width {args.width:g}, global batch {args.bs}, {args.cores} cores; training images/s of epoch {args.epochs - 1} '
          f'(best of {args.repeats}, then each run):')
    for name, r in rates.items(): print(f'  {name:38} {max(r):7.1f}   ({", ".join(f"{x:.1f}" for x in r)})')
