"""How long each chapter takes to run top to bottom as a reader runs it in Jupyter: a kernel per notebook (`jupyter nbconvert
--execute`, outputs to a temporary folder, the notebooks untouched), TINYIMAGENET_TEST unset and no Tiny ImageNet in the data
folder, so every chapter runs at the test scale and says so. The data folder is a fresh one shared by the chapters, so the first
chapter that needs a set also makes it, as on a reader's first run. One CSV row per chapter, with the load average before and after.

    python benchmarks/chapter_times.py --out nbs/study/chapter_times.csv    # the README's table reads this file
    python benchmarks/chapter_times.py --out nbs/study/chapter_times.csv --only 04_unet.ipynb --update  # measure one again

The real scale needs Tiny ImageNet (and, to finish in reasonable time, a GPU): not measured by this script."""
import argparse, csv, io, os, platform, subprocess, sys, tempfile, time
from datetime import datetime, timezone
from pathlib import Path

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', type=Path, required=True, help='the CSV to write (never overwritten)')
    p.add_argument('--only', help='comma-separated notebook names (default: every chapter in nbs/)')
    p.add_argument('--update', action='store_true', help="replace these chapters' rows in --out, keeping the others")
    args = p.parse_args()
    if args.out.exists() and not args.update: sys.exit(f'{args.out} exists: pass another --out, or --update')
    nbs = Path(__file__).resolve().parent.parent/'nbs'
    chapters = [nbs/n for n in args.only.split(',')] if args.only else sorted(nbs.glob('[0-9]*.ipynb'))
    env = {k: v for k, v in os.environ.items() if k not in ('TINYIMAGENET_TEST', 'IN_TEST', 'TINYIMAGENET_DATA')}
    rows = list(csv.DictReader(open(args.out))) if args.update and args.out.exists() else []
    rows = [r for r in rows if r['chapter'] not in {nb.stem for nb in chapters}]
    with tempfile.TemporaryDirectory() as tmp:
        env.update(TINYIMAGENET_DATA=str(Path(tmp)/'data'), OMP_NUM_THREADS='1')
        for nb in chapters:
            load, start = os.getloadavg()[0], time.perf_counter()
            done = subprocess.run(['jupyter', 'nbconvert', '--to', 'notebook', '--execute', '--output-dir', tmp,
                                   '--ExecutePreprocessor.timeout=1800', str(nb)], env=env, cwd=nbs, capture_output=True, text=True)
            seconds = time.perf_counter() - start
            row = dict(chapter=nb.stem, scale='test', seconds=round(seconds), ok=done.returncode == 0, load_before=round(load, 2),
                       load_after=round(os.getloadavg()[0], 2), cores=os.cpu_count(), machine=platform.machine(),
                       date=datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M'))
            rows.append(row)
            print(row if done.returncode == 0 else {**row, 'error': done.stderr[-2000:]}, flush=True)
    rows.sort(key=lambda r: r['chapter'])
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader(); writer.writerows(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f'.{args.out.name}.tmp')
    tmp.write_text(text.getvalue()); os.replace(tmp, args.out)

if __name__ == '__main__': main()
