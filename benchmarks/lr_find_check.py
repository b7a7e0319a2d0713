"""Does `lr_find`'s answer train as well as the recipe's own learning rate? For each seed: one `lr_find` sweep on a fresh network of
the recipe (its optimizer groups, the training batches `tinyimagenet train` uses), then `fit_recipe` from the same seed at the
rate it suggests; and from the same seed at the recipe's own rate. One CSV row per seed, arm and epoch; chapter 02b reads the file.

The recorded run (Fashion-MNIST, 300 training and 50 validation images per class, the small sets' defaults: width 0.25, batch 64,
5 epochs of TrivialAugment; four runs in parallel, one thread each):
    python benchmarks/lr_find_check.py --out nbs/study/lr_find_fashion.csv
`tinyimagenet lr-find --dataset fashion-mnist --seed S` then `tinyimagenet train --dataset fashion-mnist --seed S --lr LR` is the
same experiment, one arm at a time, from the command line."""
import argparse, csv, io, multiprocessing, os, platform, sys, time
from pathlib import Path

def run(job):
    "One training run: the recipe at the learning rate of `arm` (the recipe's own, or what a sweep from the same seed suggests)."
    seed, arm, model, root, data = job
    import torch
    torch.set_num_threads(1)
    import matplotlib; matplotlib.use('Agg')
    from tinyimagenet.classify import fit_recipe, get_dls, get_recipe
    from tinyimagenet.config import TrainConfig
    from tinyimagenet.diagnostics import lr_find
    config = TrainConfig.at_scale(True, model=model)  # the small sets' values, as `tinyimagenet train --dataset fashion-mnist`
    recipe, dls = get_recipe(model), get_dls(config, root, 'cpu')
    sweep = {}
    if arm != 'default':
        torch.manual_seed(seed)
        start = time.perf_counter()
        found = lr_find(recipe.build(len(dls.classes), config.width), dls, wd=recipe.wd, wd_bn_bias=recipe.wd_bn_bias, device='cpu', rule=arm)
        sweep = dict(sweep_steps=len(found.lrs), diverged=found.diverged, sweep_seconds=round(time.perf_counter() - start, 1))
    lr = recipe.lr if arm == 'default' else found.suggestion
    torch.manual_seed(seed)  # the same initial weights and batches in every arm of a seed: the comparison is paired
    start = time.perf_counter()
    learn = fit_recipe(dls, config, plot=False, device='cpu', lr=lr)
    seconds, load = time.perf_counter() - start, os.getloadavg()[0]
    return [dict(seed=seed, arm=arm, lr=lr, epoch=r['epoch'], top1=r['accuracy'], valid_loss=r['loss'], model=model,
                 epochs=config.epochs, bs=config.bs, width=config.width, augment=config.augment, data=data, n_train=len(dls.train.x),
                 n_valid=len(dls.valid.x), **{'sweep_steps': '', 'diverged': '', 'sweep_seconds': '', **sweep},
                 seconds=round(seconds, 1), load_avg=load) for r in learn.history if r['phase'] == 'eval']

def write_csv(path, rows):
    "Write `rows` to the CSV file `path` atomically."
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader(); writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f'.{path.name}.tmp')
    tmp.write_text(text.getvalue()); os.replace(tmp, path)

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', type=Path, required=True, help='the CSV to write (never overwritten)')
    p.add_argument('--seeds', default='0,1', help='comma-separated seeds (default: %(default)s)')
    p.add_argument('--arms', default='default,valley', help="comma-separated: default (the recipe's rate) and lr_find's rules, "
                   'valley or minimum/10; every seed and arm is one run, all run in parallel (default: %(default)s)')
    p.add_argument('--model', default='preact', help='the recipe (default: %(default)s)')
    p.add_argument('--train-per-class', type=int, default=300, help='Fashion-MNIST training images per class (default: %(default)s)')
    args = p.parse_args()
    if args.out.exists(): sys.exit(f'{args.out} exists: pass another --out')
    from tinyimagenet.core import data_dir
    from tinyimagenet.data import dataset_path
    root = dataset_path('fashion-mnist', data_dir(), args.train_per_class)
    seeds, arms = [int(s) for s in args.seeds.split(',')], args.arms.split(',')
    jobs = [(seed, arm, args.model, root, f'fashion-mnist-{args.train_per_class}') for seed in seeds for arm in arms]
    print(f'{len(jobs)} runs in parallel on {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}', flush=True)
    start, rows = time.perf_counter(), []
    with multiprocessing.get_context('spawn').Pool(len(jobs)) as pool:
        for done in pool.imap_unordered(run, jobs):
            rows += done
            write_csv(args.out.with_suffix('.partial.csv'), rows)  # what is finished, for a call that is stopped
    write_csv(args.out, sorted(rows, key=lambda r: (r['seed'], arms.index(r['arm']), r['epoch'])))
    args.out.with_suffix('.partial.csv').unlink()
    print(f'{args.out}: {len(rows)} rows in {time.perf_counter() - start:.0f} s')

if __name__ == '__main__': main()
