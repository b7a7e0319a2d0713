"""Process the notebooks for the docs and write README.md from `nbs/index.ipynb`, without Quarto.

`nbdev_readme` renders the README with Quarto, which cannot be installed everywhere. This does the same job with nbdev's own
notebook processors (`nbdev.serve.proc_nbs`, the step `nbdev_docs` runs before Quarto) and `jupyter nbconvert --to markdown`.

    python tools/docs.py           # rebuild _proc/ and README.md
    python tools/docs.py --check   # exit 1 if README.md is not what index.ipynb produces
"""
import argparse, re, subprocess, sys, tempfile
import yaml
from pathlib import Path
from nbdev.config import get_config
from nbdev.serve import proc_nbs

def front_matter_to_markdown(md: str) -> str:
    "Turn Quarto's YAML front matter (title, description) into a Markdown title and quote, as `nbdev_readme` shows them."
    m = re.match(r'\s*---\n(.*?)\n---\n', md, re.S)
    if not m: return md
    meta = yaml.safe_load(m.group(1)) or {}
    head = f"# {meta.get('title', '')}\n\n"
    if meta.get('description'): head += f"> {meta['description']}\n"
    return head + md[m.end():]

def readme_text() -> str:
    "The README that `nbs/index.ipynb` produces."
    cfg = get_config()
    cache = proc_nbs(force=True, n_workers=0)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, '-m', 'jupyter', 'nbconvert', '--to', 'markdown', '--log-level', 'ERROR',
                        str(cache/cfg.readme_nb), '--output-dir', tmp, '--output', 'README'], check=True)
        md = (Path(tmp)/'README.md').read_text()
    md = md.replace('\r\n', '\n')
    md = front_matter_to_markdown(md)
    return re.sub(r'\n{3,}', '\n\n', md).strip() + '\n'

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--check', action='store_true', help='fail if README.md is out of date instead of writing it')
    args = parser.parse_args()
    readme = get_config().config_path/'README.md'
    text = readme_text()
    if args.check:
        if not readme.exists() or readme.read_text() != text:
            sys.exit('README.md is not what nbs/index.ipynb produces: run `python tools/docs.py` and commit README.md.')
        print('README.md is up to date; notebooks processed for the docs in _proc/.')
    else:
        readme.write_text(text)
        print(f'wrote {readme}')

if __name__ == '__main__': main()
