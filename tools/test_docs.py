"""Tests of `tools/docs.py`: its Pandoc anchors and cell options, folded cells, and the browser check on tiny sites.

    python tools/test_docs.py     # from the repository root; needs Chromium, as `python tools/docs.py --html DIR --check` does

A clean page must pass the check; a page rendered from an unprocessed notebook, with a missing image, a leaked `#| hide` cell, a
directive nbdev does not see, a link to a missing anchor and page, and a script that logs an error, must fail naming each; so must
the source of a cell that writes prose (`Markdown(f"..."`), while a `code-fold` cell's source folds away under its output.
"""
import base64, sys, tempfile, time, traceback
from pathlib import Path
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from fastcore.test import test_eq, test_fail
from execnb.nbio import read_nb, write_nb
from nbdev.processors import FilterDefaults
import docs

def test_pandoc_id():
    "The examples of Pandoc's manual (Extension: auto_identifiers), and show_doc's headings."
    for text, ident in [('Heading identifiers in HTML', 'heading-identifiers-in-html'), ("Maître d'hôtel", 'maître-dhôtel'),
                        ('Dogs?--in my house?', 'dogs--in-my-house'), ('HTML, S5, or RTF?', 'html-s5-or-rtf'),
                        ('3. Applications', 'applications'), ('33', 'section'),
                        ('Learner.fit', 'learner.fit'), ('get_imagenet_dls', 'get_imagenet_dls'), ('_gather', 'gather')]:
        test_eq(docs.pandoc_id(text), ident)

def test_local_href():
    names = {'00_core.ipynb': 'core.html', 'core.html': 'core.html', 'benchmarks.md': 'benchmarks.html'}
    site = 'https://example.github.io/proj'
    for href, local in [('https://example.github.io/proj/core.html#to_device', 'core.html#to_device'),
                        ('https://example.github.io/proj/', 'index.html'), ('https://example.github.io/proj', 'index.html'),
                        ('00_core.ipynb#is_test_run', 'core.html#is_test_run'), ('./benchmarks.md', 'benchmarks.html'),
                        ('#here', '#here'), ('https://github.com/x/y', 'https://github.com/x/y'), ('other.html', 'other.html')]:
        test_eq(docs.local_href(href, names, site), local)

def test_markdown_html():
    "Headings get Pandoc's anchors, numbered when repeated as Pandoc numbers them; links to the docs site become local."
    context = docs.PageContext(names={'core.html': 'core.html'}, site_url='https://example.github.io/proj')
    body = docs.markdown_html('## Ssim\n\n### ssim\n\n## A `main`\n\n[x](https://example.github.io/proj/core.html#x)', context)
    test_eq(context.toc, [('ssim', 'Ssim'), ('a-main', 'A main')])
    assert '<h3 id="ssim-1">' in body and '<a href="core.html#x">' in body, body

def test_cell_options():
    nb = new_notebook(cells=[new_code_cell('#| include: false\nsetup()'), new_code_cell('#| echo: false\n#| output: asis\nshow()'),
                             new_code_cell('#| output: false\nquiet()', outputs=[new_output('stream', text='noise')]),
                             new_code_cell('plain()')])
    cells = docs.apply_cell_options(nb).cells
    test_eq([c.source for c in cells], ['show()', 'quiet()', 'plain()'])
    test_eq(cells[0].metadata.transient, {'remove_source': True})
    test_eq(cells[0].metadata.tags, ['asis'])
    test_eq(cells[1].outputs, [])
    test_eq('transient' in cells[2].metadata, False)

PNG = base64.b64encode(bytes.fromhex(  # a 1x1 red PNG
    '89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc000000301010018dd8db0'
    '0000000049454e44ae426082')).decode()

def notebook(*cells):
    nb = new_notebook(cells=list(cells))
    nb.metadata.kernelspec = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
    return nb

def tiny_site(root: Path):
    "Two source notebooks in `root/nbs`: `page` (a hidden cell, figures, a formula, links) and `other` (a section to link to)."
    nbs = root/'nbs'; nbs.mkdir()
    page = notebook(
        new_markdown_cell('# A page\n\n> What the check looks at.'),
        new_code_cell("#| hide\nsecret_setup = 'only for the tests'"),
        new_markdown_cell('## Plots\n\nSee [the next section](#a-formula) and [the other page](other.ipynb#a-section).'),
        new_code_cell('x = 1 + 1\nplot(x)', execution_count=1, outputs=[new_output('display_data', data={'image/png': PNG, 'text/plain': '<Figure>'})]),
        new_markdown_cell('## A formula\n\nThe area is $\\pi r^2$.\n\n![a chart beside the notebook](chart.png)'),
    )
    (nbs/'chart.png').write_bytes(base64.b64decode(PNG))
    other = notebook(new_markdown_cell('# Other'), new_markdown_cell('## A section\n\nText.'))
    nbformat.write(page, nbs/'page.ipynb'); nbformat.write(other, nbs/'other.ipynb')
    return nbs

def process(nbs: Path, proc: Path):
    "What `nbdev.serve.proc_nbs` does to each notebook: nbdev's processors."
    proc.mkdir()
    for src in nbs.glob('*.ipynb'): process_one(src, proc/src.name)

def process_one(src: Path, dest: Path):
    nb = read_nb(src); FilterDefaults()(nb); write_nb(nb, dest)

def test_clean_site_passes():
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp); nbs = tiny_site(root); process(nbs, root/'proc')
        pages = [docs.Page(nbs/n, root/'proc'/n) for n in ('page.ipynb', 'other.ipynb')]
        test_eq([(p.name, p.title, p.description) for p in pages],
                [('page.html', 'A page', 'What the check looks at.'), ('other.html', 'Other', '')])
        docs.build_site(root/'site', pages, 'https://example.github.io/proj')
        html = (root/'site/page.html').read_text()
        assert 'secret_setup' not in html and 'other.html#a-section' in html
        test_eq(html.count(f'src="data:image/png;base64,{PNG}"'), 2)  # the output's figure and the Markdown's file, inside the page
        test_eq(html.count('src="data:image/svg+xml;base64,'), 1)  # the formula
        assert 'src="http' not in html and 'href="http' not in html.split('<main>')[0]  # nothing fetched from the web
        test_eq(docs.check_site(root/'site', pages), [])

def test_broken_page_fails_naming_each_problem():
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp); nbs = tiny_site(root)
        broken = notebook(
            new_markdown_cell('# Broken\n\n![a chart](no-such-chart.png)\n\n[gone](other.ipynb#no-such-section), [missing](missing.ipynb)'),
            new_code_cell("#| hide\nsecret_setup = 'only for the tests'"),
            new_code_cell('# a comment first, so neither nbdev nor Quarto sees the directive\n#| export\ndef f(): pass'),
            new_code_cell('warn()', execution_count=2, outputs=[new_output(
                'display_data', data={'text/html': '<script>console.error("from the page")</script>', 'text/plain': ''})]),
        )
        nbformat.write(broken, nbs/'broken.ipynb')
        process(nbs, root/'proc')
        # rendered from the notebook itself, as if nbdev's processing had been skipped: the hidden cell leaks
        pages = [docs.Page(nbs/'broken.ipynb', nbs/'broken.ipynb'), docs.Page(nbs/'other.ipynb', root/'proc/other.ipynb')]
        docs.build_site(root/'site', pages, 'https://example.github.io/proj')
        problems = docs.check_site(root/'site', pages)
        expected = ['broken.html: image does not load: no-such-chart.png',
                    "broken.html: shows the source of a hidden cell: \"secret_setup = 'only for the tests'\"",
                    "broken.html: raw directive on the page: '#| export'",
                    'broken.html: console error: from the page',
                    'broken.html: links to other.html#no-such-section, which has no such anchor',
                    'broken.html: links to missing.ipynb, which is not a page of the site']
        for e in expected: assert e in problems, f'{e!r} not among the problems found: {problems}'
        test_eq(len([p for p in problems if 'ERR_FILE_NOT_FOUND' in p]), 1)  # the image's failed load, logged by the browser
        test_eq(len(problems), len(expected) + 1)

def test_readme_shows_prose_not_machinery():
    "The README keeps what the notebook shows: outputs and prose, not hidden cells, `echo: false` sources or directives."
    index = notebook(
        new_markdown_cell('# Proj\n\n> A summary.'), new_markdown_cell('Introduction.'),
        new_code_cell("#| hide\nsecret_setup = 'only for the tests'"),
        new_code_cell("#| echo: false\nMarkdown(table_of_chapters())", execution_count=1,
                      outputs=[new_output('execute_result', data={'text/markdown': '| chapter |\n|---|\n| one |', 'text/plain': ''}, execution_count=1)]),
        new_code_cell('# a comment first, so neither nbdev nor Quarto sees the directive\n#| export\ndef f(): pass'),
        new_code_cell('shown_to_readers = 1'))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp); nbformat.write(index, root/'index.ipynb'); process_one(root/'index.ipynb', root/'proc.ipynb')
        text = docs.readme_text(root/'proc.ipynb')
        assert '| one |' in text and 'shown_to_readers = 1' in text and 'Introduction.' in text, text
        for leak in ('secret_setup', 'table_of_chapters', '#| echo'): assert leak not in text, (leak, text)
        test_eq(docs.readme_problems(text, root/'index.ipynb'), ["README.md shows a cell directive: '#| export'"])  # nbdev does not see it either
        # made from the notebook itself, as if nbdev's processing had been skipped: each kind of leak is named
        raw = docs.readme_text(root/'index.ipynb') + '\n::: {.callout-note}\nA note.\n:::\n'
        problems = docs.readme_problems(raw, root/'index.ipynb')
        for e in ["README.md shows the source of a hidden cell: \"secret_setup = 'only for the tests'\"",
                  "README.md shows Quarto syntax: '::: {.callout-note}'"]:
            assert e in problems, f'{e!r} not among {problems}'

def test_folded_and_prose_cells():
    "A `code-fold` cell's source is in a closed <details>, its output shown; a prose template on a page is named, hidden it is not."
    page = notebook(
        new_markdown_cell('# Prose\n\n> Cells that write prose.'),
        new_code_cell('#| code-fold: true\ntest_eq(1 + 1, 2)\nprint("checked")', execution_count=1,
                      outputs=[new_output('stream', text='checked')]),
        new_code_cell('Markdown(f"""The answer is {40 + 2}.""")', execution_count=2,
                      outputs=[new_output('execute_result', data={'text/markdown': 'The answer is 42.', 'text/plain': ''}, execution_count=2)]),
        new_code_cell("#| echo: false\nMarkdown(f'Hidden: {1}.')", execution_count=3,
                      outputs=[new_output('execute_result', data={'text/markdown': 'Hidden: 1.', 'text/plain': ''}, execution_count=3)]))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp); nbs = root/'nbs'; nbs.mkdir()
        nbformat.write(page, nbs/'prose.ipynb'); process(nbs, root/'proc')
        pages = [docs.Page(nbs/'prose.ipynb', root/'proc'/'prose.ipynb')]
        docs.build_site(root/'site', pages, 'https://example.github.io/proj')
        html = (root/'site'/'prose.html').read_text()
        folded = html[html.index('<details class="code-fold"><summary>Code</summary>'):]
        assert 'test_eq' in folded[:folded.index('</details>')] and 'checked' in folded[folded.index('</details>'):], html
        test_eq(html.count('<details'), 1)
        problems = docs.check_site(root/'site', pages)
        test_eq(problems, ["prose.html: shows the source of a cell that writes prose (mark it #| echo: false): 'Markdown(f\"\"\"The answer is {40 + 2}.\"\"\")'"])

def test_stale_outputs():
    "Stored outputs that the code no longer produces are named; those it does produce pass, whatever their execution counts."
    with tempfile.TemporaryDirectory() as tmp:
        nb = Path(tmp)/'index.ipynb'
        out = lambda text: [new_output('stream', name='stdout', text=text)]
        (Path(tmp)/'lines.txt').write_text('one\ntwo\n')  # read from the notebook's folder, as index.ipynb reads the chapters
        nbformat.write(notebook(new_code_cell("print(len(open('lines.txt').readlines()))", execution_count=7, outputs=out('2\n')),
                                new_code_cell('print(2 + 2)', outputs=out('4\n'))), nb)
        test_eq(docs.stale_outputs(nb), [])
        (Path(tmp)/'lines.txt').write_text('one\ntwo\nthree\n')  # the code's input changed since the outputs were stored
        problems = docs.stale_outputs(nb)
        test_eq(len(problems), 1)
        assert "print(len(open('lines.txt')" in problems[0] and 'run the notebook again' in problems[0], problems

def test_sidebar_files():
    with tempfile.TemporaryDirectory() as tmp:
        nbs = Path(tmp)
        for f in ('index.ipynb', 'a.ipynb', 'b.md'): (nbs/f).write_text('')
        (nbs/'sidebar.yml').write_text('website:\n  sidebar:\n    contents:\n      - index.ipynb\n'
                                       '      - section: Part\n        contents: [a.ipynb, {href: b.md, text: B}]\n')
        test_eq([f.name for f in docs.sidebar_files(nbs)], ['index.ipynb', 'a.ipynb', 'b.md'])
        (nbs/'sidebar.yml').write_text('website:\n  sidebar:\n    contents: [index.ipynb, gone.ipynb]\n')
        test_fail(lambda: docs.sidebar_files(nbs), contains='gone.ipynb')

def test_links_only_to_documented_names():
    from nbdev.doclinks import NbdevLookup
    docs.documented_links_only()
    site = 'https://tinyimagenet.github.io/tinyimagenet'
    link = NbdevLookup().link_line
    test_eq(link('`data_dir` and `Learner.fit()`'), f'[`data_dir`]({site}/core.html#data_dir) and [`Learner.fit()`]({site}/learner.html#learner.fit)')
    test_eq(link('`_say_test_scale` and `tinyimagenet.core._say_test_scale`'), '`_say_test_scale` and `tinyimagenet.core._say_test_scale`')  # private
    test_eq(link('`check_writable`'), '`check_writable`')  # exported for the other modules (#| exporti), not in __all__: not documented
    import tinyimagenet.core as core
    test_eq(('_say_test_scale' in dir(core), 'check_writable' in dir(core), 'check_writable' in core.__all__, 'data_dir' in core.__all__), (True, True, False, True))  # what the lines above assume

if __name__ == '__main__':
    tests = [f for name, f in list(globals().items()) if name.startswith('test_') and callable(f) and name not in ('test_eq', 'test_fail')]
    failed = 0
    for t in tests:
        start = time.monotonic()
        try: t(); print(f'ok      {t.__name__} ({time.monotonic() - start:.1f} s)')
        except Exception:
            failed += 1; print(f'FAILED  {t.__name__}'); traceback.print_exc()
    print(f'tools/test_docs.py: {len(tests) - failed} passed, {failed} failed')
    sys.exit(1 if failed else 0)
