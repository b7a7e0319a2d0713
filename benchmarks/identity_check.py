"""Bit-identity of the training paths across a change: fixed-seed runs of the command, every tensor of every file they write hashed.

A restructuring (issue 30: one path per job) must leave what the command computes exactly as it was. This script runs, in one
source tree, `tinyimagenet train --synthetic` (2 epochs), `evaluate` and `predict` on its model, and `tinyimagenet superres
--synthetic` (1 epoch), each with `--seed 0 --threads 1` on the CPU, and writes the SHA-256 of each tensor in model.pt, unet.pt and
both checkpoints, and the printed accuracies and predictions, to a JSON file. Run it in the tree before the change and after, and
compare (about 2 minutes a tree on the 2-core CPU):

    git worktree add /tmp/before REV
    python benchmarks/identity_check.py --tree /tmp/before --out /tmp/before.json
    python benchmarks/identity_check.py --out /tmp/after.json            # this tree
    python benchmarks/identity_check.py --compare /tmp/before.json /tmp/after.json

Each tree's files are read by that tree's own `load_state`, so a change of metadata (a field added to the files) is not a
difference; a change of any tensor's bytes, of an accuracy or of a prediction is.
"""
import argparse, json, os, subprocess, sys, tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

HASH = r'''
import hashlib, json, sys, torch
from tinyimagenet.files import load_state
def leaves(node, where=''):
    if isinstance(node, torch.Tensor): yield where, node
    elif isinstance(node, dict):
        for k, v in node.items(): yield from leaves(v, f'{where}/{k}')
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node): yield from leaves(v, f'{where}/{i}')
out = {}
for path, kind in zip(sys.argv[1::2], sys.argv[2::2]):
    state = load_state(path, kind)
    out[path.split('/runs/')[-1] + ' ' + kind] = {k: hashlib.sha256(t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()).hexdigest()[:16] + f' {t.dtype} {tuple(t.shape)}'
                                     for k, t in leaves(state)}
print(json.dumps(out))
'''

def run(tree:Path, *args) -> str:
    "`tinyimagenet ARGS` with `tree`'s library first on the path; its output, or exit naming the command."
    env = {**os.environ, 'PYTHONPATH': str(tree), 'OMP_NUM_THREADS': '1', 'CUDA_VISIBLE_DEVICES': ''}
    p = subprocess.run([sys.executable, '-c', 'import sys; from tinyimagenet.cli import main; sys.exit(main(sys.argv[1:]))', *args],
                       cwd=tree, env=env, capture_output=True, text=True)
    if p.returncode: sys.exit(f'tinyimagenet {" ".join(args)} failed in {tree} (exit {p.returncode}):\n{p.stderr[-2000:]}')
    return p.stdout

def record(tree:Path) -> dict:
    work = Path(tempfile.mkdtemp())
    data, runs = work/'data', work/'runs'
    data.mkdir()
    common = ['--synthetic', '--data', str(data), '--seed', '0', '--threads', '1', '--device', 'cpu']
    run(tree, 'train', '--epochs', '2', '--out', str(runs/'train'), *common)
    run(tree, 'superres', '--epochs', '1', '--out', str(runs/'superres'), *common)
    model = runs/'train'/'model.pt'
    evaluated = run(tree, 'evaluate', str(model), '--synthetic', '--data', str(data), '--threads', '1', '--device', 'cpu')
    pictures = sorted((data).rglob('*.JPEG'))[:3]
    predicted = run(tree, 'predict', str(model), *map(str, pictures), '--json', '--threads', '1', '--device', 'cpu')
    files = [(runs/'train'/'model.pt', 'model'), (runs/'train'/'checkpoint.pt', 'checkpoint'),
             (runs/'superres'/'unet.pt', 'unet'), (runs/'superres'/'checkpoint.pt', 'checkpoint')]
    env = {**os.environ, 'PYTHONPATH': str(tree)}
    hashed = subprocess.run([sys.executable, '-c', HASH, *[str(a) for f in files for a in f]], cwd=tree, env=env, capture_output=True, text=True)
    if hashed.returncode: sys.exit(f'reading the files in {tree} failed:\n{hashed.stderr[-2000:]}')
    rev = subprocess.run(['git', 'describe', '--always', '--dirty'], cwd=tree, capture_output=True, text=True).stdout.strip()
    same = lambda text: text.replace(str(work), '<work>')  # the runs' own folder, which differs from run to run
    return dict(tree=str(tree), revision=rev, tensors=json.loads(hashed.stdout), evaluate=same(evaluated).strip().splitlines(),
                predict=json.loads(same(predicted)))

def compare(a:dict, b:dict) -> list:
    "Every difference between two records, as lines; none when the runs are bit-identical."
    diffs = [f'{name}: {a[name]} != {b[name]}' for name in ('evaluate', 'predict') if a[name] != b[name]]
    for f in sorted(set(a['tensors']) | set(b['tensors'])):
        ta, tb = a['tensors'].get(f, {}), b['tensors'].get(f, {})
        diffs += [f'{f} {k}: {ta.get(k)} != {tb.get(k)}' for k in sorted(set(ta) | set(tb)) if ta.get(k) != tb.get(k)]
    return diffs

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--tree', type=Path, default=HERE, help='the source tree to run (default: this one)')
    p.add_argument('--out', type=Path, help='write the record here')
    p.add_argument('--compare', type=Path, nargs=2, metavar=('BEFORE', 'AFTER'), help='compare two records instead')
    args = p.parse_args()
    if args.compare:
        a, b = (json.loads(f.read_text()) for f in args.compare)
        diffs = compare(a, b)
        n = sum(len(v) for v in a['tensors'].values())
        print(f"{a['revision']} against {b['revision']}: {n} tensors in {len(a['tensors'])} files, evaluate and predict: "
              + ('bit-identical' if not diffs else f'{len(diffs)} differences'))
        print('\n'.join(diffs[:50]))
        sys.exit(1 if diffs else 0)
    rec = record(args.tree.resolve())
    text = json.dumps(rec, indent=1)
    if args.out: args.out.write_text(text)
    print(f"{rec['revision']}: {sum(len(v) for v in rec['tensors'].values())} tensors hashed; evaluate: {rec['evaluate']}")
