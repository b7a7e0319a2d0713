"""Process the notebooks for the docs, write README.md from `nbs/index.ipynb`, and render the docs site offline, without Quarto.

`nbdev_readme` and `nbdev_docs` render with Quarto, which cannot be installed everywhere. This does their jobs with nbdev's own
notebook processors (`nbdev.serve.proc_nbs`, the step `nbdev_docs` runs before Quarto: hidden cells out, `show_doc` tables in)
and nbconvert: the README through `jupyter nbconvert --to markdown`, the site through nbconvert's HTML exporter ('basic'
template) inside a page of our own, doing what Quarto does with what nbdev leaves for it (front matter, `#|` cell options,
heading anchors, links between pages). The site is readable offline: no CDN, images and mathematics inside the pages.

    python tools/docs.py                          # rebuild _proc/ and README.md
    python tools/docs.py --check                  # exit 1 if README.md is not what index.ipynb produces, if index.ipynb's
                                                  # stored outputs are not what its code produces now (it is run again),
                                                  # or if the README shows its machinery: a `#|` directive, Quarto
                                                  # syntax, a hidden cell's code
    python tools/docs.py --html DIR               # also render the pages of nbs/sidebar.yml to DIR: open DIR/index.html
    python tools/docs.py --html DIR --check       # README check, then open every page in headless Chromium and exit 1 on
                                                  # a broken image, a raw `#|` directive, the source of a hidden cell
                                                  # or of a cell that writes prose (`Markdown(f'...`),
                                                  # a link to a missing page or anchor, or a console error
    python tools/docs.py --html DIR --screenshots SHOTS   # also a PNG of each page, 1200 px wide, cut every 2000 px

The browser check needs a `chromium` executable (`apt-get install chromium`); `tools/chromium.py` drives it.
"""
import argparse, base64, functools, html, importlib, io, mimetypes, posixpath, re, subprocess, sys, tempfile, time
import yaml, nbformat
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote
from jinja2 import pass_context
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from pygments.formatters import HtmlFormatter
from nbdev.config import get_config
from nbdev.process import extract_directives
from nbdev.serve import proc_nbs
from tinyimagenet.core import write_atomically

def split_front_matter(md: str) -> tuple[dict, str]:
    "Quarto's YAML front matter at the top of `md` as a dict, and the text after it."
    m = re.match(r'\s*---\n(.*?)\n---\n', md, re.S)
    if not m: return {}, md
    return yaml.safe_load(m.group(1)) or {}, md[m.end():]

def front_matter_to_markdown(md: str) -> str:
    "Turn Quarto's YAML front matter (title, description) into a Markdown title and quote, as `nbdev_readme` shows them."
    meta, body = split_front_matter(md)
    if not meta: return md
    head = f"# {meta.get('title', '')}\n\n"
    if meta.get('description'): head += f"> {meta['description']}\n"
    return head + body

def readme_text(processed: Path) -> str:
    "The README that the processed notebook `processed` (nbs/index.ipynb after nbdev's processors) produces, with Quarto's cell options honoured."
    nb = apply_cell_options(nbformat.read(processed, as_version=4))  # `echo: false` keeps a cell's source out, as on the site
    with tempfile.TemporaryDirectory() as tmp:
        nbformat.write(nb, Path(tmp)/'index.ipynb')
        subprocess.run([sys.executable, '-m', 'jupyter', 'nbconvert', '--to', 'markdown', '--log-level', 'ERROR',
                        str(Path(tmp)/'index.ipynb'), '--output-dir', tmp, '--output', 'README'], check=True)
        md = (Path(tmp)/'README.md').read_text()
    md = md.replace('\r\n', '\n')
    md = front_matter_to_markdown(md)
    return re.sub(r'\n{3,}', '\n\n', md).strip() + '\n'

def readme_problems(text: str, source: Path) -> list[str]:
    "What of the notebooks' machinery shows in README `text` made from `source`: `#|` directives, Quarto's syntax, hidden cells' code."
    problems = [f'README.md shows a cell directive: {l.strip()[:80]!r}' for l in text.splitlines() if l.lstrip().startswith('#|')]
    problems += [f'README.md shows Quarto syntax: {l.strip()[:80]!r}' for l in text.splitlines()
                 if l.lstrip().startswith(':::') or '{{<' in l or re.search(r'\{\.callout', l)]
    return problems + [f'README.md shows the source of a hidden cell: {code.splitlines()[0][:80]!r}'
                       for code in hidden_sources(source) if code in text]

def _shown_outputs(nb) -> list:
    "The text each code cell of `nb` shows: streams, and each result's Markdown, HTML or plain text (images and counters aside)."
    def text(o):
        if o.get('output_type') == 'stream': return o.get('text', '')
        data = o.get('data', {})
        return next((data[k] for k in ('text/markdown', 'text/html', 'text/plain') if k in data), '')
    return [[''.join(text(o)) for o in c.get('outputs', [])] for c in nb.cells if c.cell_type == 'code']

def stale_outputs(source: Path, timeout=600) -> list[str]:
    """Run notebook `source` again (in its folder, as a reader would) and name each code cell whose stored outputs differ from what
    its code produces now: the README is made from the stored ones, so a table of the chapters or a figure can go stale while the
    README still matches the notebook."""
    from nbconvert.preprocessors import ExecutePreprocessor
    stored = nbformat.read(source, as_version=4)
    fresh = nbformat.read(source, as_version=4)
    ExecutePreprocessor(timeout=timeout).preprocess(fresh, {'metadata': {'path': str(source.parent)}})
    code = [c for c in stored.cells if c.cell_type == 'code']
    return [f'{source.name}: the stored outputs of the cell starting {cell.source.splitlines()[0][:60]!r} are not what it produces '
            f'now: run the notebook again, then `python tools/docs.py`, and commit both'
            for cell, old, new in zip(code, _shown_outputs(stored), _shown_outputs(fresh)) if old != new]

# ## The site's pages

class DocsError(Exception): "A problem with the docs' sources that stops the build: the message says what to fix."

def sidebar_files(nbs: Path) -> list[Path]:
    "The files `nbs/sidebar.yml` lists (notebooks and Markdown), in its order; sections are flattened."
    sidebar = nbs/'sidebar.yml'
    try: contents = yaml.safe_load(sidebar.read_text())['website']['sidebar']['contents']
    except (OSError, KeyError, TypeError) as e: raise DocsError(f'{sidebar}: no website.sidebar.contents list ({e!r})')
    def walk(entries):
        for entry in entries:
            if isinstance(entry, str): yield entry
            elif isinstance(entry, dict) and 'contents' in entry: yield from walk(entry['contents'])
            elif isinstance(entry, dict) and 'href' in entry: yield entry['href']
            else: raise DocsError(f'{sidebar}: {entry!r} is neither a file nor a section with contents: fix the entry')
    files = [nbs/f for f in walk(contents)]
    if missing := [str(f) for f in files if not f.is_file()]:
        raise DocsError(f"{sidebar} lists files that do not exist: {', '.join(missing)}: fix the list or add the files")
    return files

@dataclass
class Page:
    "One page of the site: the file it comes from, that file after processing, and what its front matter says."
    source: Path      # the notebook or Markdown file in nbs/ that the page comes from
    processed: Path   # the same after nbdev's processing (_proc/)
    name: str = ''    # the page's file in the site, e.g. core.html
    title: str = ''
    description: str = ''

    def __post_init__(self):
        text = self.processed.read_text()
        if self.processed.suffix == '.ipynb':  # nbdev turns the title cell into a raw cell of front matter
            cells = nbformat.reads(text, as_version=4).cells
            text = cells[0].source if cells and cells[0].cell_type == 'raw' else ''
        meta = split_front_matter(text)[0]
        self.name = meta.get('output-file') or self.source.stem + '.html'  # nbdev names notebooks' pages; Quarto the rest
        self.title = str(meta.get('title') or self.source.stem)
        self.description = str(meta.get('description') or '')

# ## Markdown and notebooks to HTML

def pandoc_id(text: str) -> str:
    "The identifier Pandoc (so Quarto) gives a heading: what links to `page.html#anchor` must name."
    kept = ''.join(c for c in text.lower() if c.isspace() or c.isalnum() or c in '_-.')
    ident = '-'.join(kept.split())
    first_letter = next((i for i, c in enumerate(ident) if c.isalpha()), len(ident))
    return ident[first_letter:] or 'section'  # an identifier starts with a letter: `_gather` is `gather`

@functools.cache
def math_image(tex: str, display: bool) -> str:
    "An <img> of the formula `tex`, drawn by matplotlib's mathtext as SVG: no MathJax and no network."
    import matplotlib
    from matplotlib import mathtext
    from matplotlib.font_manager import FontProperties
    buf = io.BytesIO()
    try:
        with matplotlib.rc_context({'mathtext.fontset': 'cm', 'svg.fonttype': 'path', 'svg.hashsalt': 'docs'}):
            depth = mathtext.math_to_image(f'${tex}$', buf, prop=FontProperties(size=13), dpi=72, format='svg')
    except ValueError as e:  # TeX that mathtext cannot draw is shown as TeX, and said
        print(f'mathtext cannot draw ${tex}$ ({str(e).splitlines()[0]}): shown as TeX', file=sys.stderr)
        return f'<code class="tex">{html.escape(tex)}</code>'
    svg = re.sub(rb'<metadata>.*?</metadata>', b'', buf.getvalue(), flags=re.S)  # a date would change every build
    src = 'data:image/svg+xml;base64,' + base64.b64encode(svg).decode()
    style = '' if display else f' style="vertical-align:-{depth * 4 / 3:.1f}px"'  # the baseline: points to CSS pixels
    return f'<img class="math{" display" if display else ""}" alt="{html.escape(tex)}" src="{src}"{style}>'

# Pandoc's attributes after a link, `[text](url){target="_blank" style="..."}`, which `show_doc` writes for its source links
_re_link_attrs = re.compile(r'\[([^\]\n]*)\]\(([^)\s]+)\)\{([^}\n]*)\}')

@dataclass
class PageContext:
    "What one page's Markdown needs while it renders: where its files are, where links go, the anchors given so far."
    folder: Path = Path('.')  # the folder of the page's source, which relative image paths start from
    names: dict = field(default_factory=dict)  # notebook or page file -> page file, e.g. 00_core.ipynb -> core.html
    site_url: str = ''  # the docs site's address, whose links become links to the pages beside
    taken: set = field(default_factory=set)  # anchors on the page so far
    toc: list = field(default_factory=list)  # (anchor, text) of each level-2 heading

    def anchor(self, text: str) -> str:
        "Pandoc's anchor for a heading `text`, numbered as Pandoc numbers a repeated one."
        base = ident = pandoc_id(text)
        n = 0
        while ident in self.taken: n += 1; ident = f'{base}-{n}'
        self.taken.add(ident)
        return ident

class SiteRenderer(IPythonRenderer):
    "nbconvert's Markdown renderer, with Pandoc's heading anchors, links to local pages, images and formulas inside the page."
    def __init__(self, context: PageContext, **kw):
        super().__init__(escape=False, **kw)
        self.context = context

    def heading(self, text, level, **attrs):
        plain = html.unescape(re.sub(r'<[^>]+>', '', text)).strip()
        ident = self.context.anchor(plain)
        if level == 2: self.context.toc.append((ident, plain))
        return f'<h{level} id="{ident}">{text}<a class="anchor" href="#{ident}" aria-label="link to this section">#</a></h{level}>\n'

    def link(self, text, url, title=None):
        return super().link(text, local_href(url, self.context.names, self.context.site_url), title)

    def image(self, text, url, title=None):
        file = self.context.folder/unquote(url)
        if not re.match(r'[a-zA-Z][\w+.-]*:|/', url) and file.is_file():  # a missing one stays a link, for the check to report
            mime = mimetypes.guess_type(file.name)[0] or 'application/octet-stream'
            url = f'data:{mime};base64,' + base64.b64encode(file.read_bytes()).decode()
        return super().image(text, url, title)

    def inline_math(self, body): return math_image(body, display=False)
    def block_math(self, body): return f'<span class="math-display">{math_image(body, display=True)}</span>'

def markdown_html(source: str, context: PageContext, attachments=None) -> str:
    "HTML of the Markdown `source` on the page of `context` (a cell's `attachments` go inside the page)."
    source = _re_link_attrs.sub(lambda m: f'<a href="{m[2]}" {m[3]}>{m[1]}</a>', source)
    return MarkdownWithMath(renderer=SiteRenderer(context, attachments=attachments or {})).render(source)

class SiteExporter(HTMLExporter):
    "nbconvert's 'basic' HTML (cells only, no page, no scripts) with our Markdown renderer for cells and outputs alike."
    def __init__(self, context: PageContext):  # our own notebooks' code needs no sanitising, which would take long (bleach)
        super().__init__(template_name='basic', exclude_anchor_links=True, filters={'clean_html': lambda code: code})
        self.context = context

    @pass_context
    def markdown2html(self, context, source):
        return markdown_html(source, self.context, context.get('cell', {}).get('attachments', {}))

def cell_option(line: str) -> dict:
    "The Quarto option on a `#| key: value` line; {} for nbdev's own directives (`#| hide`, `#| export`), which Quarto ignores."
    try: option = yaml.safe_load(line[2:])
    except yaml.YAMLError: return {}
    return option if isinstance(option, dict) else {}

def apply_cell_options(nb):
    "Do what Quarto does with the `#|` options nbdev leaves in code cells: take them out and honour include, echo and output."
    cells = []
    for cell in nb.cells:
        if cell.cell_type == 'code':
            lines = cell.source.splitlines(keepends=True)
            options = {}
            while lines and (lines[0].startswith('#|') or not lines[0].strip()):  # nbdev too reads past blank lines
                line = lines.pop(0)
                if line.startswith('#|'): options.update(cell_option(line))
            cell.source = ''.join(lines)
            if options.get('include') is False: continue
            if options.get('echo') is False or not cell.source.strip(): cell.metadata['transient'] = {'remove_source': True}
            if options.get('output') is False: cell.outputs = []
            if options.get('output') == 'asis': cell.metadata.setdefault('tags', []).append('asis')  # shown as page text
            if options.get('code-fold') in (True, 'show'): cell.metadata.setdefault('tags', []).append('code-fold')  # see fold_inputs
        cells.append(cell)
    nb.cells = cells
    return nb

def fold_inputs(body: str) -> str:
    "Put the source of each cell tagged `code-fold` in a closed `<details>`, as Quarto's `code-fold: true` does; its outputs stay shown."
    start = '<div class="input">'
    for cell in reversed([m.end() for m in re.finditer(r'<div class="cell [^"]*celltag_code-fold[^"]*"[^>]*>\s*', body)]):
        if not body.startswith(start, cell): continue  # a cell without its source on the page
        depth, i = 0, cell
        for tag in re.finditer(r'<(/?)div\b', body[cell:]):
            depth += -1 if tag[1] else 1
            if depth == 0: i = cell + body[cell:].index('>', tag.end()) + 1; break
        body = f'{body[:cell]}<details class="code-fold"><summary>Code</summary>{body[cell:i]}</details>{body[i:]}'
    return body

def notebook_html(page: Page, context: PageContext) -> str:
    "The cells of `page`'s processed notebook as HTML, front matter out."
    nb = nbformat.read(page.processed, as_version=4)
    if nb.cells and nb.cells[0].cell_type == 'raw' and split_front_matter(nb.cells[0].source)[0]: nb.cells.pop(0)
    nb.metadata.pop('widgets', None)  # widget state would pull in require.js and the widget manager from a CDN
    return fold_inputs(SiteExporter(context).from_notebook_node(apply_cell_options(nb))[0])

def local_href(href: str, names: dict, site_url: str) -> str:
    "Where `href` points in the offline site: the docs site's URLs and links to notebooks become links to the pages beside."
    if href.startswith(site_url + '/'): href = href[len(site_url) + 1:] or 'index.html'
    elif href == site_url: href = 'index.html'
    elif re.match(r'[a-zA-Z][\w+.-]*:|#|/', href): return href  # another site, an anchor on this page, an absolute path
    path, hash_, anchor = href.partition('#')
    path = posixpath.normpath(path) if path else ''
    return names.get(path, path) + hash_ + anchor

STYLE = """
:root { --side: 250px; --accent: #2780e3; --muted: #5a6570; --code-bg: #f6f8fa;
  --mono: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #212529; }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
nav.sidebar { position: fixed; top: 0; bottom: 0; left: 0; width: var(--side); overflow-y: auto; padding: 1.2rem 1rem;
  background: #f8f9fa; border-right: 1px solid #dee2e6; font-size: 0.92rem; }
nav.sidebar .site { display: block; font-weight: 600; font-size: 1.15rem; margin-bottom: 1rem; color: #212529; }
nav.sidebar ul { list-style: none; margin: 0; padding: 0; }
nav.sidebar li { margin: 0.15rem 0; }
nav.sidebar li.current > a { font-weight: 600; color: #212529; }
nav.sidebar ul.toc { margin: 0.2rem 0 0.5rem 0.8rem; border-left: 2px solid #dee2e6; padding-left: 0.6rem; font-size: 0.85rem; }
main { margin-left: var(--side); padding: 1.5rem 2.5rem 4rem; max-width: calc(var(--side) + 1000px); }
h1.title { margin: 0.2rem 0 0.4rem; font-size: 2.2rem; }
p.description { font-size: 1.2rem; color: var(--muted); margin-top: 0; }
h1, h2, h3, h4 { line-height: 1.25; margin: 1.6rem 0 0.6rem; }
h2 { border-bottom: 1px solid #dee2e6; padding-bottom: 0.25rem; }
a.anchor { visibility: hidden; margin-left: 0.4rem; font-size: 0.8em; color: #adb5bd; }
h1:hover a.anchor, h2:hover a.anchor, h3:hover a.anchor, h4:hover a.anchor { visibility: visible; }
code { font: 0.88em/1.45 var(--mono); background: var(--code-bg); padding: 0.1em 0.25em; border-radius: 3px; }
pre { font: 0.84rem/1.45 var(--mono); overflow-x: auto; padding: 0.6rem 0.8rem; margin: 0; }
pre code { background: none; padding: 0; font-size: 1em; }
.prompt { display: none; }
.cell { margin: 0.9rem 0; }
.input_area pre, .text_cell_render pre { background: var(--code-bg); border-radius: 4px; }
details.code-fold > summary { cursor: pointer; color: var(--muted); font-size: 0.9rem; margin: 0.3rem 0; }
.output_area pre { border-left: 2px solid lightsalmon; margin-left: 0.8rem; background: none; }
.celltag_asis .output_area pre { border-left: 0; margin-left: 0; background: var(--code-bg); border-radius: 4px; }
.text_cell_render pre, .celltag_asis pre { margin: 0.8rem 0; }
.output_area img, .text_cell_render img { max-width: 100%; height: auto; }
.output_area img.math, .text_cell_render img.math, img.math { max-width: none; }
.math-display { display: block; text-align: center; overflow-x: auto; margin: 0.6rem 0; }
.output_stderr pre { background: #fff5f5; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.9rem; display: block; overflow-x: auto; }
th, td { border-bottom: 1px solid #dee2e6; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
thead th { border-bottom: 2px solid #adb5bd; }
hr { border: 0; border-top: 1px solid #dee2e6; margin: 1.5rem 0 0.5rem; }
blockquote { margin: 0.8rem 0; padding: 0.1rem 1rem; border-left: 3px solid #dee2e6; color: var(--muted); }
.ansi-red-fg { color: #c0392b; } .ansi-green-fg { color: #1e8449; } .ansi-yellow-fg { color: #b7950b; }
.ansi-blue-fg { color: #2471a3; } .ansi-magenta-fg { color: #8e44ad; } .ansi-cyan-fg { color: #148f77; } .ansi-bold { font-weight: bold; }
"""

def page_html(page: Page, pages: list, body: str, toc: list) -> str:
    "The whole HTML file of `page`: sidebar linking every page (and this one's sections), title, description and body."
    def item(p):
        sections = ''.join(f'<li><a href="#{i}">{html.escape(t)}</a></li>' for i, t in toc) if p is page else ''
        return (f'<li{" class=current" if p is page else ""}><a href="{p.name}">{html.escape(p.title)}</a>'
                + (f'<ul class="toc">{sections}</ul>' if sections else '') + '</li>')
    description = markdown_html(page.description, PageContext()).strip()
    description = re.sub(r'^<p>(.*)</p>$', r'\1', description, flags=re.S)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(page.title)} – {html.escape(pages[0].title)}</title>
<link rel="stylesheet" href="site.css"><link rel="stylesheet" href="styles.css">
</head><body>
<nav class="sidebar"><a class="site" href="{pages[0].name}">{html.escape(pages[0].title)}</a><ul>{''.join(map(item, pages))}</ul></nav>
<main>
<header><h1 class="title">{html.escape(page.title)}</h1>{f'<p class="description">{description}</p>' if description else ''}</header>
{body}
</main></body></html>
"""

def write_text(path: Path, text: str): write_atomically(path, lambda f: f.write(text.encode()))

def build_site(dest: Path, pages: list, site_url: str):
    "Render `pages` into `dest` as linked HTML pages with their stylesheets, ready to open offline."
    names = {}
    for p in pages: names[p.source.name] = names[p.name] = p.name  # links may name the notebook or the page
    for p in pages:
        context = PageContext(p.source.parent, names, site_url)
        body = (notebook_html(p, context) if p.processed.suffix == '.ipynb'
                else markdown_html(split_front_matter(p.processed.read_text())[1], context))
        write_text(dest/p.name, page_html(p, pages, body, context.toc))
    extra = (pages[0].source.parent/'styles.css')
    write_text(dest/'site.css', STYLE + HtmlFormatter(style='default').get_style_defs('.highlight'))
    write_text(dest/'styles.css', extra.read_text() if extra.exists() else '')

# ## The browser check

# What a page shows, read in the browser after it loaded
PAGE_FACTS = """(() => ({
  broken_images: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src').slice(0, 80)),
  ids: [...document.querySelectorAll('[id]')].map(e => e.id).concat([...document.querySelectorAll('a[name]')].map(a => a.name)),
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  lines: document.body.innerText.split('\\n'),
  blocks: [...document.querySelectorAll('pre')].map(p => p.innerText),
  sources: [...document.querySelectorAll('.input_area pre')].map(p => p.textContent),
  height: document.documentElement.scrollHeight,
}))()"""

# nbdev's directives that keep a cell's source off the page (nbdev.processors.rm_export)
HIDING = {'hide', 'export', 'exporti', 'default_exp'}

def hidden_sources(source: Path) -> list[str]:
    "The code of `source`'s cells that nbdev or Quarto keep off its page (directive lines out), and that no shown cell has."
    if source.suffix != '.ipynb': return []
    hidden, shown = [], []
    for cell in nbformat.read(source, as_version=4).cells:
        if cell.cell_type != 'code': continue
        directives = extract_directives(cell, remove=False)
        code = '\n'.join(l.rstrip() for l in cell.source.splitlines() if not l.lstrip().startswith('#|')).strip()
        hide = (directives.keys() & HIDING or directives.get('include:') == ['false'] or directives.get('echo:') == ['false']
                or re.search(r'^show_doc', code, re.M))  # nbdev shows what show_doc prints, not the call (clean_show_doc)
        (hidden if hide else shown).append(code)
    return [c for c in hidden if c and not any(c in s for s in shown)]

# a cell that renders prose: `Markdown(f"""...`, `display(HTML(f'...`; its output belongs on the page, its source does not
PROSE_TEMPLATE = re.compile(r'\b(?:Markdown|HTML|Latex)\(\s*(?:[rRbBuU]?[fF]|[fF][rR])?(?:"""|\'\'\'|"|\')')

def check_page(facts: dict, hidden: list[str]) -> list[str]:
    "What is wrong in one page's `facts` (broken images, raw directives, hidden code, prose templates); links are checked across pages."
    problems = [f'image does not load: {src}' for src in facts['broken_images']]
    problems += [f'raw directive on the page: {l.strip()[:80]!r}' for l in facts['lines'] if l.strip().startswith('#|')]
    blocks = ['\n'.join(l.rstrip() for l in b.splitlines()) for b in facts['blocks']]
    for code in facts['sources']:
        if template := PROSE_TEMPLATE.search(code):
            line = code[code.rfind('\n', 0, template.start()) + 1:].splitlines()[0].strip()
            problems.append(f'shows the source of a cell that writes prose (mark it #| echo: false): {line[:80]!r}')
    for code in hidden:
        if any(code in b for b in blocks): problems.append(f'shows the source of a hidden cell: {code.splitlines()[0][:80]!r}')
    return problems

def check_site(dest: Path, pages: list, screenshots: Path | None = None) -> list[str]:
    "Open every page of the site in `dest` in headless Chromium; return its problems as 'page: problem' lines."
    from chromium import Chromium
    problems, facts = [], {}
    with Chromium() as browser:
        for p in pages:
            page = browser.open(dest/p.name)
            facts[p.name] = page.evaluate(PAGE_FACTS)
            problems += [f'{p.name}: {e}' for e in page.errors + check_page(facts[p.name], hidden_sources(p.source))]
            if screenshots:
                height = facts[p.name]['height']
                for i, top in enumerate(range(0, height, browser.height)):
                    png = page.screenshot(top, min(browser.height, height - top))
                    write_atomically(screenshots/f'{Path(p.name).stem}-{i + 1}.png', lambda f: f.write(png))
            page.close()
    root = dest.resolve().as_uri() + '/'
    for name, f in facts.items():
        for link in dict.fromkeys(f['links']):
            if not link.startswith(root): continue  # another site: not ours to check offline
            target, hash_, anchor = link[len(root):].partition('#')
            target = target or name
            if target not in facts: problems.append(f'{name}: links to {target}{hash_}{anchor}, which is not a page of the site')
            elif anchor and anchor not in facts[target]['ids']:
                problems.append(f'{name}: links to {target}#{anchor}, which has no such anchor')
    return list(dict.fromkeys(problems))  # a link written twice is one problem

def unlisted_notebooks(nbs: Path, pages: list) -> list[str]:
    "Notebooks in `nbs` that the sidebar does not list: the site has no page for them."
    listed = {p.source.name for p in pages}
    return [f'{nb.name} is not in {nbs.name}/sidebar.yml: add it there, or the site has no page for it'
            for nb in sorted(nbs.glob('[0-9]*.ipynb')) if nb.name not in listed]

def documented_links_only():
    """nbdev links a backticked name to the docs of every function and class its index holds, private ones and those kept out of
    `__all__` too (`#| exporti`); the docs document only the names of `__all__`, so the others would link to an anchor no page has.
    Keep their backticks, without a link."""
    from nbdev.doclinks import NbdevLookup
    def doc(self, sym):
        res = self[sym]
        if not isinstance(res, tuple): return res
        module = importlib.import_module(res[1].removesuffix('.py').replace('/', '.'))
        top = next(part for part in sym.split('.') if part not in module.__name__.split('.'))  # `Learner.fit` is Learner's
        return res[0] if top in getattr(module, '__all__', ()) else None
    NbdevLookup.doc = doc

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--check', action='store_true', help='fail if README.md is out of date instead of writing it; '
                        'with --html, also fail on problems the browser finds on the pages')
    parser.add_argument('--html', type=Path, metavar='DIR', help='also render the pages of nbs/sidebar.yml to DIR')
    parser.add_argument('--screenshots', type=Path, metavar='DIR', help='with --html: PNGs of every page in DIR')
    args = parser.parse_args()
    if args.screenshots and not args.html: parser.error('--screenshots needs --html DIR')
    cfg = get_config()
    start = time.monotonic()
    documented_links_only()
    cache = proc_nbs(force=True, n_workers=0)
    readme, problems = cfg.config_path/'README.md', []
    text = readme_text(cache/cfg.readme_nb)
    problems += readme_problems(text, Path(cfg.nbs_path)/cfg.readme_nb)
    print(f'processed the notebooks and made the README in {time.monotonic() - start:.1f} s')
    if not args.check:
        readme.write_text(text)
        print(f'wrote {readme}')
    elif not readme.exists() or readme.read_text() != text:
        problems.append('README.md is not what nbs/index.ipynb produces: run `python tools/docs.py` and commit README.md')
    else: print('README.md is up to date; notebooks processed for the docs in _proc/')
    if args.check:
        start, stale = time.monotonic(), stale_outputs(Path(cfg.nbs_path)/cfg.readme_nb)
        problems += stale
        if not stale: print(f'{cfg.readme_nb} run again in {time.monotonic() - start:.1f} s: its outputs, and so the README, are what the code produces now')
    if args.html:
        nbs = Path(cfg.nbs_path)
        pages = [Page(f, cache/f.relative_to(nbs)) for f in sidebar_files(nbs)]
        start = time.monotonic()
        build_site(args.html, pages, f'{cfg.doc_host}{cfg.doc_baseurl}'.rstrip('/'))
        print(f'rendered {len(pages)} pages to {args.html} in {time.monotonic() - start:.1f} s: open {args.html/pages[0].name}')
        if args.check or args.screenshots:
            start = time.monotonic()
            problems += unlisted_notebooks(nbs, pages) + check_site(args.html, pages, args.screenshots)
            print(f'opened the {len(pages)} pages in headless Chromium in {time.monotonic() - start:.1f} s')
    if args.check and problems: sys.exit(f'{len(problems)} problems in the docs:\n' + '\n'.join(f'  {p}' for p in problems))
    if problems: print('\n'.join(problems))
    elif args.check and args.html:
        print('every page: images load, no raw #| directive, no hidden cell, no prose template, links and anchors resolve, no console error')

if __name__ == '__main__':
    from chromium import ChromiumError
    try: main()
    except (DocsError, ChromiumError) as e: sys.exit(f'tools/docs.py: {e}')
