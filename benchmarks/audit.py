"""Re-run of the bad-input and fault audit of issue 12, rebuilt from the issue's text.

Issue 12 reported an audit of 81 bad inputs and faults on the library and the command line (54 clear or correct,
15 unclear, 8 silently wrong, 1 data lost, 3 crashes) but its list of cases is not in the repository, so its tally
could not be re-run. This script rebuilds the 81 cases from what the issue names: every failing case it lists, a case
for each thing it says holds (zip safety, resumed downloads over HTTP on 127.0.0.1, cache rebuilds, kill -9 during
checkpoint writes, bit-identical resume, crafted pickles at every entry point that loads a file), and the bad values
of every flag of every command (a case per flag group, each trying several values). Each case runs in a temp dir of
its own on a tiny synthetic set; the trained model, checkpoint and UNet it needs are made once, with the smallest
settings, and shared.

Each case states what a careful user expects and is classified automatically (the worst of its tries counts):
  clear           the right result, or a refusal with exit 2 (usage) or 1 (handled) whose last stderr line names the
                  thing and says what to do, with no traceback
  unclear         refused, but with exit 3 ("unexpected"), the wrong exit code, several lines, or a last line that
                  does not name the thing or say what to do; or refused where it should have worked
  silently wrong  exit 0 with a wrong result, bad input accepted, or code run from a crafted file
  lost            a file that must survive (a run, a model, a cache, a partial download, /dev/null) changed or gone
  crash           a traceback, a hang past the timeout, or an exit code other than 0-3 (kills excepted where planned)

Usage: OMP_NUM_THREADS=1 TINYIMAGENET_TEST=1 python benchmarks/audit.py [--only NAME_OR_GLOB...] [--list] [--keep] [-v]
A full run takes 10 to 26 minutes on a 2-core CPU (one process at a time; most of it is Python and torch starting up; the longer figure on a machine busy with other work).
Exits 1 if any case is silently wrong, lost or a crash. Some cases need root (mknod, read-only and tmpfs mounts in a
private mount namespace); without it those tries use a fallback or are skipped, and the line says so.
Relies on: tinyimagenet.data.make_synthetic_tiny_imagenet, tiny_imagenet, TinyImageNet; tinyimagenet.files.save_state,
load_state; tinyimagenet.classify.load_model; tinyimagenet.unet.load_unet; tinyimagenet.cli.main; the CLI itself.
"""
import argparse, fnmatch, hashlib, http.server, io, json, os, random, re, resource, shlex, shutil, signal, socket, stat
import subprocess, sys, tempfile, threading, time, zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image

# ---------------------------------------------------------------------------------------------------------------------
# Running things

ENTRY = [shutil.which('tinyimagenet') or sys.executable]
if ENTRY[0] == sys.executable: ENTRY += ['-c', 'import sys\nfrom tinyimagenet.cli import main\nsys.exit(main())']

# A library call in a fresh process: the library's documented errors become one line and exit 1; others a traceback.
LIB = r'''
import sys, warnings
warnings.showwarning = lambda m, c, *a, **k: print(f'warning: {c.__name__}: {m}', file=sys.stderr)
from concurrent.futures.process import BrokenProcessPool
try: exec(sys.argv[1], {'__name__': '__case__', 'args': sys.argv[2:]})
except BrokenProcessPool: raise
except (ValueError, OSError, RuntimeError) as e:
    print(f'{type(e).__name__}: {" ".join(str(e).split())}', file=sys.stderr)
    sys.exit(1)
'''

# The CLI, killed with SIGKILL at a chosen moment of the `nth` atomic write of `target` (e.g. checkpoint.pt).
# Before dying it writes the sha256 of the previous `target` to `note`, to compare with what survives; at a normal
# exit (nth 0: no kill) it writes how many times `target` was written to `note`.count.
KILL = r'''
import atexit, builtins, hashlib, os, re, signal, sys
moment, nth, target, note, *argv = sys.argv[1:]
nth, temp = int(nth), re.compile(r'(^|/)\.' + re.escape(target) + r'\.[^/]*\.tmp$')
seen = {'n': 0, 'fd': None, 'tmp': None, 'at': None}
real_open, real_os_open, real_fsync, real_replace, real_rename = builtins.open, os.open, os.fsync, os.replace, os.rename

def die():
    prev = os.path.join(os.path.dirname(seen['tmp']), target)
    digest = 'none'
    if os.path.exists(prev):
        with real_open(prev, 'rb') as f: digest = hashlib.sha256(f.read()).hexdigest()
    with real_open(note, 'w') as f: f.write(digest)
    os.kill(os.getpid(), signal.SIGKILL)

def ours(path): return isinstance(path, (str, bytes, os.PathLike)) and bool(temp.search(os.fsdecode(path)))

def created(path):
    seen['n'] += 1
    if seen['n'] != nth: return False
    seen['tmp'] = os.fsdecode(path)
    prev = os.path.join(os.path.dirname(seen['tmp']), target)
    size = os.path.getsize(prev) if os.path.exists(prev) else 4096
    seen['at'] = {'bytes10': 10, 'half': size // 2, 'all-but-one': size - 1}.get(moment)
    if moment == 'created': die()
    return True

class Killer:  # a file that dies once `at` bytes are written
    def __init__(self, f, at): self.f, self.at, self.n = f, at, 0
    def write(self, b):
        b = memoryview(b).cast('B')
        if self.n + len(b) >= self.at:
            self.f.write(b[:self.at - self.n]); self.f.flush(); die()
        self.n += len(b)
        return self.f.write(b)
    def __getattr__(self, name): return getattr(self.f, name)
    def __enter__(self): return self
    def __exit__(self, *exc): return self.f.__exit__(*exc)

def os_open(path, flags, *a, **k):
    fd = real_os_open(path, flags, *a, **k)
    if flags & os.O_CREAT and ours(path) and created(path): seen['fd'] = fd
    return fd

def open_(file, mode='r', *a, **k):
    f = real_open(file, mode, *a, **k)
    mine = (isinstance(file, int) and file == seen['fd']) or (ours(file) and any(c in mode for c in 'wxa') and created(file))
    if mine:
        seen['fd'] = f.fileno()
        if seen['at'] is not None: return Killer(f, seen['at'])
    return f

def fsync(fd):
    if moment == 'before-fsync' and fd == seen['fd'] and seen['fd'] is not None: die()
    return real_fsync(fd)

def replacer(real):
    def replace(src, dst, *a, **k):
        mine = seen['tmp'] is not None and os.fsdecode(src) == seen['tmp']
        if mine and moment == 'before-rename': die()
        out = real(src, dst, *a, **k)
        if mine and moment == 'after-rename': die()
        return out
    return replace

builtins.open, os.open, os.fsync, os.replace, os.rename = open_, os_open, fsync, replacer(real_replace), replacer(real_rename)
def count():
    with real_open(note + '.count', 'w') as f: f.write(str(seen['n']))
atexit.register(count)
from tinyimagenet.cli import main
sys.exit(main(argv))
'''

def env(**extra):
    "The environment of every command: test scale, one thread, data under the audit's folder, no way to the internet."
    e = {k: v for k, v in os.environ.items() if k not in ('TINYIMAGENET_CACHE', 'TINYIMAGENET_TRACEBACK', 'FASHION_MNIST')}
    e.update(OMP_NUM_THREADS='1', TINYIMAGENET_TEST='1', TINYIMAGENET_DATA=str(TMP/'home-data'), XDG_CACHE_HOME=str(TMP/'xdg'),
             http_proxy='http://127.0.0.1:9', https_proxy='http://127.0.0.1:9', no_proxy='127.0.0.1,localhost',
             HTTP_PROXY='http://127.0.0.1:9', HTTPS_PROXY='http://127.0.0.1:9', NO_PROXY='127.0.0.1,localhost')
    e.update({k: str(v) for k, v in extra.items()})
    return e

@dataclass
class Run:
    argv: list
    code: int  # negative: killed by that signal; None: timed out
    out: str
    err: str
    secs: float
    @property
    def label(self):
        "The command, short: the audit's helper scripts and the full path of the entry point left out."
        words = ['<python>' if a == LIB else '<killed at>' if a == KILL else 'tinyimagenet' if a == ENTRY[0] else
                 a.strip().split('\n')[0][:40] + ('...' if len(a) > 40 else '') if ' ' in a else a
                 for a in self.argv if a not in ('-c', sys.executable) or a == ENTRY[0]]
        return ' '.join(words)
    @property
    def last(self): return next((l.strip() for l in reversed(self.err.splitlines()) if l.strip()), '')
    @property
    def errors(self): return [l for l in self.err.splitlines() if l.strip() and 'warning:' not in l]

class Proc:
    "A command started now and finished later (`finish`), in a session of its own so that a timeout kills all of it."
    def __init__(self, argv, cwd, env=None, timeout=240, preexec=None):
        self.argv, self.timeout, self.start = [str(a) for a in argv], timeout, time.monotonic()
        self.p = subprocess.Popen(self.argv, cwd=cwd, env=env or ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, errors='replace', start_new_session=True, preexec_fn=preexec)
    def finish(self) -> Run:
        try: out, err = self.p.communicate(timeout=max(1, self.timeout - (time.monotonic() - self.start)))
        except subprocess.TimeoutExpired:
            os.killpg(self.p.pid, signal.SIGKILL)
            out, err = self.p.communicate()
            return Run(self.argv, None, out, err, time.monotonic() - self.start)
        return Run(self.argv, self.p.returncode, out, err, time.monotonic() - self.start)

def run(argv, cwd, **kw) -> Run: return Proc(argv, cwd, **kw).finish()
def cli(t, *args, **kw) -> Run: return run([*ENTRY, *args], t, **kw)
def lib(t, code, *args, **kw) -> Run: return run([sys.executable, '-c', LIB, code, *args], t, **kw)
def killed_cli(t, moment, nth, target, *args, **kw) -> Run:
    return run([sys.executable, '-c', KILL, moment, nth, target, t/'note', *args], t, **kw)

def umask(mask): return lambda: os.umask(mask)
def file_limit(n): return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (n, n))

ROOT_OK = os.geteuid() == 0 and shutil.which('unshare') and subprocess.run(
    ['unshare', '-m', '--propagation', 'private', 'true'], capture_output=True).returncode == 0

def mounted(mount_script, paths, argv) -> list:
    "`argv` run after `mount_script` (sh; $1, $2... are `paths`) in a private mount namespace: the mounts vanish with it."
    script = f'{mount_script} && shift {len(paths)} && exec "$@"'
    return ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script, 'sh', *map(str, paths), *map(str, argv)]

# ---------------------------------------------------------------------------------------------------------------------
# Judging

SEVERITY = ('clear', 'unclear', 'crash', 'silently wrong', 'lost')  # the worst try of a case counts
ADVICE = re.compile(r'\b(pass|use|give|run|delete|set|choose|check|try|resume|leave|free|convert|wait|call|start|report|'
                    r'download|place|pick|remove|write|keep|lower|fix|save|look|upscale|rename|resize|install|move|copy|reduce)\b', re.I)

@dataclass
class Outcome:
    verdict: str
    run: Run = None
    why: str = ''
    @property
    def code(self): return '-' if self.run is None else 'hang' if self.run.code is None else str(self.run.code)

class Skip(Exception): "This machine cannot run the case (e.g. no root for a mount)."

def mentions(line, name):
    "Whether `line` names `name` (a path, file name, word, flag or value), case-insensitively, not as part of a longer word."
    name = str(name)
    if not ('/' in name or re.search(r'\.[a-z]{2,5}$', name, re.I) or re.match(r'\w+-\w', name)):
        line = re.sub(re.escape(str(TMP)) + r'\S*', ' ', line)  # a word must not count where only a path of the audit holds it
    return re.search(r'(?<![A-Za-z0-9])' + re.escape(name) + r'(?![A-Za-z0-9])', line, re.I) is not None

def snapshot(*paths) -> dict:
    "sha256 of each file (under each folder) of `paths`, to check later that nothing changed."
    out = {}
    for p in map(Path, paths):
        for f in ([p] if not p.is_dir() else sorted(q for q in p.rglob('*') if q.is_file())):
            if f.is_char_device(): out[f] = 'char device'
            else: out[f] = hashlib.sha256(f.read_bytes()).hexdigest() if f.is_file() else None
    return out

def changed(snap) -> list:
    now = {p: ('char device' if p.is_char_device() else hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None) for p in snap}
    return [str(p) for p in snap if now[p] != snap[p]]

def broken(r):
    "A crash: a hang, a traceback, or an exit code that is none of 0, 1, 2, 3."
    if r.code is None: return Outcome('crash', r, f'no answer in {r.secs:.0f} s')
    if 'Traceback (most recent call last)' in r.err: return Outcome('crash', r, 'traceback')
    if r.code not in (0, 1, 2, 3): return Outcome('crash', r, f'exit {r.code}')

def refused(r, code, *names, keep=None, idle=()) -> Outcome:
    """Bad input: exit `code` (2 usage, 1 handled) with a last stderr line that names each of `names` and (exit 1) says
    what to do; the files of `keep` (a `snapshot`) unchanged; nothing matching `idle` in stdout (work done first)."""
    if keep and (gone := changed(keep)): return Outcome('lost', r, f'changed or gone: {", ".join(gone)}')
    if bad := broken(r): return bad
    if r.code == 0: return Outcome('silently wrong', r, 'accepted')
    if r.code == 3: return Outcome('unclear', r, 'exit 3 (unexpected error)')
    if r.code != code: return Outcome('unclear', r, f'exit {r.code}, not {code}')
    if work := [w for w in idle if w in r.out]: return Outcome('unclear', r, f'refused only after the work ({work[0]!r} printed)')
    if missing := [n for n in names if not mentions(r.last, n)]: return Outcome('unclear', r, f'does not name {", ".join(map(str, missing))}')
    if code == 1 and len(r.errors) > 1: return Outcome('unclear', r, f'{len(r.errors)} lines on stderr')
    if code == 1 and not ADVICE.search(r.last): return Outcome('unclear', r, 'says nothing to do')
    return Outcome('clear', r)

def works(r, ok=True, wrong='wrong result') -> Outcome:
    "Good input: exit 0 and `ok` (the result checked); a refusal here is unclear, a wrong result silently wrong."
    if bad := broken(r): return bad
    if r.code != 0: return Outcome('unclear', r, f'refused (exit {r.code}) where it should work')
    ok = ok() if callable(ok) else ok
    return Outcome('clear', r) if ok else Outcome('silently wrong', r, wrong)

def worst(outcomes) -> Outcome:
    outcomes = outcomes if isinstance(outcomes, list) else [outcomes]
    return max(outcomes, key=lambda o: SEVERITY.index(o.verdict))

# ---------------------------------------------------------------------------------------------------------------------
# Shared fixtures: a tiny synthetic set, one trained model and checkpoint, a post-activation model, a UNet run, pictures,
# crafted files, a zip of a tiny set in the Tiny ImageNet layout, and an HTTP server on 127.0.0.1 that serves it.

class FixtureError(Exception): pass
SMALL = ['--epochs', '1', '--width', '0.125', '--bs', '8']  # the smallest settings: 12 steps of a 1/8-width net
SYN = ['--synthetic', '--train-per-class', '10']  # 10 classes x 10 training images (2 validation each)

def need(r, what):
    if r.code != 0: raise FixtureError(f'making the {what} failed (exit {r.code}): {r.last}')
    return r

class Fixtures:
    def __init__(self, root): self.root = root
    @cached_property
    def data(self) -> Path:
        "The folder holding the synthetic set (made by the first training run)."
        return self.run.parent/'data'
    @property
    def set(self) -> Path: return self.data/'synthetic-10x10'
    @cached_property
    def run(self) -> Path:
        "--out of a finished 1-epoch run (seed 0): checkpoint.pt, model.pt, metrics."
        (self.root/'data').mkdir()
        need(cli(self.root, 'train', *SYN, *SMALL, '--seed', '0', '--data', self.root/'data', '--out', self.root/'run'), 'trained model')
        return self.root/'run'
    @property
    def model(self) -> Path: return self.run/'model.pt'
    @cached_property
    def accuracy(self) -> str:
        "What `evaluate` prints for the fixture model on its own set: 'top-1 ... top-5 ...'."
        r = need(cli(self.root, 'evaluate', self.model), 'baseline evaluation')
        return re.search(r'top-1 \S+\s+top-5 \S+', r.out)[0]
    @cached_property
    def postact(self) -> Path:
        need(cli(self.root, 'train', *SYN, *SMALL, '--model', 'postact', '--data', self.data, '--out', self.root/'postact'), 'postact model')
        return self.root/'postact'/'model.pt'
    @cached_property
    def unet_run(self) -> Path:
        need(cli(self.root, 'superres', *SYN, '--epochs', '1', '--bs', '8', '--data', self.data, '--out', self.root/'unet'), 'UNet')
        return self.root/'unet'
    @property
    def unet(self) -> Path: return self.unet_run/'unet.pt'
    @cached_property
    def other(self) -> Path:
        "A folder holding another synthetic set named like the fixture's (same size, other classes: seed 1)."
        need(lib(self.root, 'from tinyimagenet.data import make_synthetic_tiny_imagenet as m; m(args[0], 10, 10, 2, seed=1)',
                 self.root/'other'/'synthetic-10x10'), 'second set')
        return self.root/'other'
    @cached_property
    def pic(self) -> Path:
        rng = np.random.default_rng(0)
        Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(self.root/'pic.png')
        return self.root/'pic.png'
    @cached_property
    def bomb(self) -> Path:
        "A 14000x14000 one-bit PNG (a few kB): 196 megapixels, over twice PIL's limit."
        Image.new('1', (14000, 14000)).save(self.root/'bomb.png')
        return self.root/'bomb.png'
    @property
    def marker(self) -> Path: return self.root/'CODE-RAN'
    @cached_property
    def evil(self) -> Path:
        "Crafted pickles whose load would run code writing `marker`: checksummed as version 0.0.1 wrote files, plain torch.save, legacy pickle."
        code = '''
import hashlib, io, json, pickle, torch
from pathlib import Path
out, marker = Path(args[0]), args[1]
def save_state(path, state, kind):
    "A file as version 0.0.1 wrote it, which load_state still reads: a checksummed header line, then torch.save's bytes."
    buf = io.BytesIO(); torch.save(state, buf); payload = buf.getvalue()
    header = json.dumps({'kind': kind, 'sha256': hashlib.sha256(payload).hexdigest(), 'bytes': len(payload)})
    path.write_bytes(b'tinyimagenet state\\n' + header.encode() + b'\\n' + payload)
class Evil:
    def __reduce__(self): return (exec, (f"open({marker!r}, 'w').write('code ran')",))
extra = {'model': dict(recipe='preact', width=0.125, classes=['a'], data='x'), 'unet': dict(config={}),
         'checkpoint': dict(opt={}, epoch=0, n_epochs=1)}
for kind, more in extra.items(): save_state(out/f'signed-{kind}.pt', {**more, 'model': Evil()}, kind)
torch.save({'model': Evil()}, out/'plain.pt')
with open(out/'legacy.pt', 'wb') as f: pickle.dump({'model': Evil()}, f, protocol=2)
'''
        (self.root/'evil').mkdir()
        need(lib(self.root, code, self.root/'evil', self.marker), 'crafted pickles')
        return self.root/'evil'
    @cached_property
    def zip(self) -> tuple:
        "(bytes, md5) of a zip holding tiny-imagenet-200/ (a 2-class synthetic set), as the real zip is laid out."
        src = self.root/'zipsrc'/'tiny-imagenet-200'
        need(lib(self.root, 'from tinyimagenet.data import make_synthetic_tiny_imagenet as m; m(args[0], 2, 2, 1)', src), 'zip')
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as z:
            for p in sorted(src.rglob('*')):
                if 'cache' not in p.relative_to(src).parts: z.write(p, p.relative_to(src.parent).as_posix())
        data = buf.getvalue()
        return data, hashlib.md5(data).hexdigest()
    @cached_property
    def server(self) -> str:
        "Base URL of the local server (see `Handler`)."
        Handler.body = self.zip[0]
        httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        return f'http://127.0.0.1:{httpd.server_port}'

class Handler(http.server.BaseHTTPRequestHandler):
    """/range/ honours Range; /norange/ ignores it; /cut/ sends Content-Length and half the bytes; /nolen/ no Content-Length
    and half the bytes; /bad/ other bytes of the same length; /slow/ the whole file in 5 s; anything else 404."""
    body, log = b'', []
    def log_message(self, *a): pass
    def do_GET(self):
        mode, rng = self.path.strip('/').split('/')[0], self.headers.get('Range')
        Handler.log.append((self.path, rng))
        if mode not in ('range', 'norange', 'cut', 'nolen', 'bad', 'slow'): return self.send_error(404)
        body = bytes(b ^ 0x55 for b in self.body) if mode == 'bad' else self.body
        start = int(rng[6:].split('-')[0]) if rng and mode != 'norange' else 0
        if start >= len(body) and start: return self.send_error(416)
        self.send_response(206 if start else 200)
        if start: self.send_header('Content-Range', f'bytes {start}-{len(body) - 1}/{len(body)}')
        if mode != 'nolen': self.send_header('Content-Length', str(len(body) - start))
        self.end_headers()
        data = body[start:]
        if mode in ('cut', 'nolen'): data = data[:len(data) // 2]  # then the connection closes (HTTP/1.0)
        pieces = 20 if mode == 'slow' else 1
        for k in range(pieces):
            self.wfile.write(data[k*len(data)//pieces:(k + 1)*len(data)//pieces]); self.wfile.flush()
            if mode == 'slow': time.sleep(0.25)

def copy_set(dst) -> Path:
    "A copy of the fixture set, without its cache."
    return Path(shutil.copytree(fx.set, dst, ignore=shutil.ignore_patterns('cache')))

def copy_run(src, dst) -> Path: return Path(shutil.copytree(src, dst))

def train(t, *extra, data=None, out=None, **kw) -> Run:
    "`tinyimagenet train` with the smallest settings into `out` (default t/run); `extra` overrides them (argparse: last wins)."
    return cli(t, 'train', *SYN, *SMALL, '--seed', '0', '--data', data or fx.data, '--out', out or t/'run', *extra, **kw)

def superres(t, *extra, out=None, **kw) -> Run:
    return cli(t, 'superres', *SYN, '--epochs', '1', '--bs', '8', '--data', fx.data, '--out', out or t/'unet', *extra, **kw)

def flip_bytes(path, n=64, seed=0):
    "Flip (xor 0xff) `n` bytes at random places in the last 90% of `path`."
    data = bytearray(path.read_bytes())
    for i in random.Random(seed).sample(range(len(data) // 10, len(data)), n): data[i] ^= 0xFF
    path.write_bytes(bytes(data))

def device_node(t) -> Path:
    "A character device like /dev/null (1, 3) inside `t`: what an output path must never replace. None without root."
    if os.geteuid() != 0: return None
    os.mknod(t/'null', 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    return t/'null'

def first_train_image(root) -> Path:
    wnid = (root/'wnids.txt').read_text().split()[0]
    return sorted((root/'train'/wnid/'images').iterdir())[0]

CHECK_PIXELS = r'''
from pathlib import Path
import numpy as np
from PIL import Image
from tinyimagenet.data import TinyImageNet
root = Path(args[0])
ds = TinyImageNet(root, 'train')
files = [p for w in (root/'wnids.txt').read_text().split() for p in sorted((root/'train'/w/'images').iterdir(), key=lambda p: p.name)]
want = np.stack([np.asarray(Image.open(p).convert('RGB')).transpose(2, 0, 1) for p in files])
print(f'{int((ds.images.numpy() != want).any(axis=(1, 2, 3)).sum())} of {len(files)} images differ from their files')
'''

def pixels_match(r): return ' 0 of ' in f' {r.out}'

# ---------------------------------------------------------------------------------------------------------------------
# The cases, under the headings. Each takes its own empty folder `t` and returns one Outcome or a list (tries).

CASES = []
def case(group, name):
    def register(f):
        CASES.append((group, name, f))
        return f
    return register

# --- Data lost ---------------------------------------------------------------------------------------------------------
G = 'Data lost'

@case(G, 'train-rerun-default-out')
def _(t):
    "`train` again without --resume where the default --out (shared by every run) holds a run: refused before training."
    copy_run(fx.run, t/'tinyimagenet-run')
    keep = snapshot(t/'tinyimagenet-run')
    r = cli(t, 'train', *SYN, *SMALL, '--data', fx.data)
    return refused(r, 1, 'tinyimagenet-run', '--resume', '--force', keep=keep, idle=['training '])

@case(G, 'superres-rerun-same-out')
def _(t):
    "`superres` again into an --out holding a UNet run, without --resume."
    copy_run(fx.unet_run, t/'unet')
    keep = snapshot(t/'unet')
    return refused(superres(t), 1, '--resume', '--force', keep=keep, idle=['psnr'])

@case(G, 'force-then-failure-keeps-run')
def _(t):
    "--force with a problem found before training (missing data, bad device): the old run must still be there."
    copy_run(fx.run, t/'run')
    keep = snapshot(t/'run')
    return [refused(train(t, '--force', '--data', t/'missing'), 1, '--data', keep=keep),
            refused(train(t, '--force', '--device', 'bogus'), 1, '--device', keep=keep)]

# --- Silently wrong ----------------------------------------------------------------------------------------------------
G = 'Silently wrong'

@case(G, 'model-64-bytes-flipped')
def _(t):
    "A model.pt (and a unet.pt) with 64 flipped bytes: refused as damaged, not evaluated with wrong weights."
    shutil.copy(fx.model, t/'m.pt'); flip_bytes(t/'m.pt')
    shutil.copy(fx.unet, t/'u.pt'); flip_bytes(t/'u.pt')
    return [refused(cli(t, 'evaluate', t/'m.pt'), 1, 'm.pt', 'damaged'),
            refused(cli(t, 'predict', t/'m.pt', fx.pic), 1, 'm.pt', 'damaged'),
            refused(cli(t, 'upscale', t/'u.pt', fx.pic, '--out', t/'up'), 1, 'u.pt', 'damaged')]

@case(G, 'checkpoint-64-bytes-flipped')
def _(t):
    "A checkpoint.pt with 64 flipped bytes, resumed: refused as damaged."
    copy_run(fx.run, t/'run'); flip_bytes(t/'run'/'checkpoint.pt')
    keep = snapshot(t/'run'/'model.pt')
    return refused(train(t, '--resume'), 1, 'checkpoint.pt', 'damaged', keep=keep)

def resume_with(t, *change, names):
    copy_run(fx.run, t/'run')
    keep = snapshot(t/'run'/'checkpoint.pt')
    return refused(train(t, '--resume', *change), 1, *names, keep=keep)

@case(G, 'resume-other-lr')
def _(t): return resume_with(t, '--lr', '0.05', names=['lr', '0.01', '0.05'])

@case(G, 'resume-larger-bs')
def _(t): return resume_with(t, '--bs', '16', names=['bs', '8', '16'])

@case(G, 'resume-smaller-bs')
def _(t): return resume_with(t, '--bs', '4', names=['bs', '8', '4'])

@case(G, 'resume-other-augment')
def _(t): return resume_with(t, '--augment', 'none', names=['augment', 'trivial', 'none'])

@case(G, 'resume-other-settings')
def _(t):
    "Every other setting that shapes the run: epochs, recipe, width, the data (same size, other set; a bigger set); superres lr."
    tries = []
    for change, names in [(['--epochs', '2'], ['epochs', '1', '2']), (['--model', 'seed'], ['preact', 'seed']),
                          (['--width', '0.25'], ['width', '0.125', '0.25']), (['--data', fx.other/'synthetic-10x10'], ['data', fx.other/'synthetic-10x10']),
                          (['--train-per-class', '20'], ['synthetic-10x20'])]:
        shutil.rmtree(t/'run', ignore_errors=True)
        tries.append(resume_with(t, *change, names=names))
    copy_run(fx.unet_run, t/'unet')
    keep = snapshot(t/'unet'/'checkpoint.pt')
    tries.append(refused(superres(t, '--resume', '--lr', '0.01'), 1, 'lr', '0.01', '0.005', keep=keep))
    return tries

@case(G, 'cache-same-size-mtime-restored')
def _(t):
    "A source JPEG rewritten with the same size and its mtime put back (cp -p, rsync -t): the new pixels, not the cached ones."
    root = copy_set(t/'set')
    need(lib(t, CHECK_PIXELS, root), 'cache')
    p = first_train_image(root)
    st, size = p.stat(), p.stat().st_size
    buf = io.BytesIO(); Image.new('RGB', (64, 64), (255, 0, 255)).save(buf, 'JPEG', quality=5)
    assert buf.tell() <= size
    p.write_bytes(buf.getvalue().ljust(size, b'\0'))  # JPEG decoders ignore bytes after the end marker
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    r = lib(t, CHECK_PIXELS, root)
    return works(r, pixels_match(r), 'served the old pixels')

@case(G, 'duplicate-wnid')
def _(t):
    "A wnid listed twice in wnids.txt: refused naming the file and line."
    root = copy_set(t/'set')
    wnids = (root/'wnids.txt').read_text()
    (root/'wnids.txt').write_text(wnids + wnids.split()[0] + '\n')
    return refused(train(t, data=root), 1, 'wnids.txt', 'line', idle=['training '])

@case(G, 'png16-named-jpeg')
def _(t):
    "A 16-bit grayscale PNG named .JPEG among the training images: refused naming it (not saturated to wrong pixels)."
    root = copy_set(t/'set')
    p = first_train_image(root)
    Image.fromarray(np.full((64, 64), 40000, np.uint16)).save(p, format='PNG')
    return refused(train(t, data=root), 1, p.name, idle=['training '])

# --- Crashes and tracebacks where one line is due ------------------------------------------------------------------------
G = 'Crashes and tracebacks'

@case(G, 'superres-encoder-postact')
def _(t):
    "superres --encoder with a post-activation model.pt: works, or says which models do."
    r = superres(t, '--encoder', fx.postact)
    return works(r, (t/'unet'/'unet.pt').is_file(), 'no unet.pt') if r.code == 0 else refused(r, 1, '--encoder')

@case(G, 'model-given-as-checkpoint')
def _(t):
    "A model.pt where the checkpoint should be (train --resume)."
    copy_run(fx.run, t/'run')
    shutil.copy(t/'run'/'model.pt', t/'run'/'checkpoint.pt')
    return refused(train(t, '--resume'), 1, 'checkpoint.pt')

@case(G, 'width-inf-nan')
def _(t): return [refused(train(t, '--width', v), 2, '--width') for v in ('inf', 'nan', '-inf')]

@case(G, 'model-data-gone')
def _(t):
    "evaluate a model whose training set was deleted: one line pointing at --data."
    root = copy_set(t/'set')
    need(train(t, data=root), 'model on a copied set')
    shutil.rmtree(root)
    return refused(cli(t, 'evaluate', t/'run'/'model.pt'), 1, '--data')

@case(G, 'decompression-bomb')
def _(t):
    "A 196-megapixel PNG given to predict and upscale, and hidden in the training set: refused naming the file."
    root = copy_set(t/'set')
    p = first_train_image(root)
    shutil.copy(fx.bomb, p)
    return [refused(cli(t, 'predict', fx.model, fx.bomb), 1, 'bomb.png'),
            refused(cli(t, 'upscale', fx.unet, fx.bomb, '--out', t/'up'), 1, 'bomb.png'),
            refused(train(t, data=root), 1, p.name, idle=['training '])]

@case(G, 'dataset-read-only')
def _(t):
    "A set on a read-only mount (no cache yet): one line naming $TINYIMAGENET_CACHE; with it set, evaluation works."
    if not ROOT_OK: raise Skip('needs root and unshare for a read-only bind mount')
    root = copy_set(t/'set'); (t/'ro').mkdir()
    ro = lambda *argv, **kw: run(mounted('mount --bind "$1" "$2" && mount -o remount,ro,bind "$2"', [root, t/'ro'],
                                         [*ENTRY, *argv]), t, **kw)
    r = ro('evaluate', fx.model, '--data', t/'ro')
    r2 = ro('evaluate', fx.model, '--data', t/'ro', env=env(TINYIMAGENET_CACHE=t/'cache'))
    return [refused(r, 1, 'TINYIMAGENET_CACHE'), works(r2, fx.accuracy in r2.out, f'not {fx.accuracy}')]

@case(G, 'evaluate-data-other-set')
def _(t):
    "evaluate --data with a folder that lacks the model's set, or holds another set: refused, nothing downloaded."
    (t/'empty').mkdir()
    r = cli(t, 'evaluate', fx.model, '--data', t/'empty')
    downloaded = any((t/'empty').iterdir()) or 'Downloading' in r.out
    return [Outcome('silently wrong', r, 'tried to download') if downloaded else refused(r, 1, '--data'),
            refused(cli(t, 'evaluate', fx.model, '--data', fx.other), 1, 'classes', '--data')]

@case(G, 'disk-full-cache-build')
def _(t):
    "No space for the image cache (a 256 kB tmpfs as $TINYIMAGENET_CACHE; a 300 kB file-size limit): one line about disk space."
    root = copy_set(t/'set')
    tries = [refused(cli(t, 'evaluate', fx.model, '--data', root, preexec=file_limit(300_000)), 1, 'space')]
    if ROOT_OK:
        (t/'small').mkdir()
        r = run(mounted('mount -t tmpfs -o size=256k tmpfs "$1"', [t/'small'], [*ENTRY, 'evaluate', fx.model, '--data', root]),
                t, env=env(TINYIMAGENET_CACHE=t/'small'))
        tries.append(refused(r, 1, 'space', 'TINYIMAGENET_CACHE'))
    return tries

DOWNLOAD = 'from tinyimagenet.data import tiny_imagenet; print(tiny_imagenet(args[0], url=args[1], md5=args[2]))'

@case(G, 'two-downloads-one-folder')
def _(t):
    "Two processes download Tiny ImageNet into one folder: the second is told another is at it; the first finishes."
    url, md5 = fx.server + '/slow/tiny-imagenet-200.zip', fx.zip[1]
    first = Proc([sys.executable, '-c', LIB, DOWNLOAD, t/'d', url, md5], t)
    for _ in range(200):
        if (t/'d').exists() and any(p.name.startswith('tiny-imagenet-200.zip.part') for p in (t/'d').iterdir()): break
        time.sleep(0.05)
    second = lib(t, DOWNLOAD, t/'d', url, md5)
    kept = first.p.poll() is not None or part(t).is_file()  # the first one's .part, while it still downloads
    r = first.finish()
    if not kept: return Outcome('lost', second, f"the refused download deleted the other one's .part, which then failed: {r.last}")
    if second.code == 0 and r.code == 0: return Outcome('unclear', second, 'the first download ended before the second began (audit timing)')
    return [refused(second, 1, 'Another process'), works(r, extracted(t), 'not extracted')]

def download(t, mode): return lib(t, DOWNLOAD, t/'d', f'{fx.server}/{mode}/tiny-imagenet-200.zip', fx.zip[1])
def part(t) -> Path: return t/'d'/'tiny-imagenet-200.zip.part'
def extracted(t): return (t/'d'/'tiny-imagenet-200'/'wnids.txt').is_file()

@case(G, 'download-cut-no-length')
def _(t):
    "A server that sends no Content-Length and cuts the transfer: says it was cut and keeps the partial file."
    r = download(t, 'nolen')
    if not part(t).is_file() or part(t).stat().st_size != len(fx.zip[0]) // 2: return Outcome('lost', r, 'the partial file is gone')
    return refused(r, 1, 'cut', 'tiny-imagenet-200.zip.part')

@case(G, 'nan-loss-advice')
def _(t):
    "A learning rate that can only give a NaN loss (--lr 1e30) is refused before any work, naming --lr (the learner's own NaN guard is tested in its chapter)."
    return refused(train(t, '--lr', '1e30'), 2, '--lr')

@case(G, 'exit-codes')
def _(t):
    "Usage errors 2, handled errors 1, nothing at all 0 with the help."
    r = cli(t)
    return [works(r, 'usage' in r.out.lower(), 'no help'), refused(cli(t, 'frobnicate'), 2, 'frobnicate'),
            refused(cli(t, 'train', '--frobnicate'), 2, '--frobnicate'), refused(cli(t, 'evaluate'), 2, 'MODEL'),
            refused(cli(t, 'evaluate', t/'missing.pt'), 1, 'missing.pt')]

# --- Fail before the work, not after ------------------------------------------------------------------------------------
G = 'Fail before the work'

def unwritable_out(t, command, idle):
    "`command(out)` with an --out that cannot be a folder: /proc/x, and a device node like /dev/null (which must survive)."
    tries = [refused(command('/proc/x'), 1, '/proc/x', idle=idle)]
    if node := device_node(t):
        keep = snapshot(node)
        tries.append(refused(command(node), 1, str(node), keep=keep, idle=idle))
    return tries

@case(G, 'train-unwritable-out')
def _(t): return unwritable_out(t, lambda out: train(t, out=out), ['training '])

@case(G, 'superres-unwritable-out')
def _(t): return unwritable_out(t, lambda out: superres(t, out=out), ['psnr'])

@case(G, 'upscale-unwritable-out')
def _(t): return unwritable_out(t, lambda out: cli(t, 'upscale', fx.unet, fx.pic, '--out', out), [])

@case(G, 'evaluate-unwritable-per-class')
def _(t): return refused(cli(t, 'evaluate', fx.model, '--per-class', '/proc/x/per-class.csv'), 1, '/proc/x', idle=['top-1'])

# --- Leftovers -----------------------------------------------------------------------------------------------------------
G = 'Leftovers'

def children(pid) -> list:
    out = []
    for d in Path('/proc').iterdir():
        try:
            if d.name.isdigit() and int((d/'stat').read_text().rsplit(')', 1)[1].split()[1]) == pid: out.append(int(d.name))
        except (OSError, IndexError, ValueError): pass
    return out

def alive(pid) -> bool:
    try: return (Path('/proc')/str(pid)/'stat').read_text().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError: return False

def kill_when(t, code, args, ready, what) -> Outcome:
    "Run `code` (LIB), SIGKILL it once `ready()` and its worker processes exist; the workers must be gone within 5 s."
    p = Proc([sys.executable, '-c', LIB, code, *args], t)
    workers, deadline = [], time.monotonic() + 60
    while p.p.poll() is None and time.monotonic() < deadline:
        if ready() and len(workers := children(p.p.pid)) >= len(os.sched_getaffinity(0)): break  # all the workers started
        time.sleep(0.005)
    if not workers:
        r = p.finish()
        return Outcome('unclear', r, f'{what} ended before the kill (audit timing); not tested')
    os.kill(p.p.pid, signal.SIGKILL)
    r = p.finish()
    for _ in range(100):
        if not any(map(alive, workers)): return Outcome('clear', r, f'{len(workers)} workers died with the parent')
        time.sleep(0.05)
    for w in workers:
        if alive(w): os.kill(w, signal.SIGKILL)  # ours: started by the process this case started
    return Outcome('crash', r, f'{sum(map(alive, workers))} of {len(workers)} workers outlived the parent killed during {what}')

@case(G, 'kill-parent-mid-build')
def _(t):
    "kill -9 while a set is written and while its cache is built: the workers die too; the next run removes the temp files."
    root = t/'big'
    make = 'from tinyimagenet.data import make_synthetic_tiny_imagenet as m; m(args[0], 10, 600, 10)'
    temps = lambda d, pat: [p for p in d.glob(pat)] if d.is_dir() else []
    tries = [kill_when(t, make, [root], lambda: temps(t, '.big.*.tmp'), 'the writing of the set')]
    need(lib(t, make, root), 'large set')
    tries.append(Outcome('unclear', None, f'left {temps(t, ".big.*")}') if temps(t, '.big.*') else Outcome('clear'))
    load = 'from tinyimagenet.data import TinyImageNet; print(len(TinyImageNet(args[0], "train")))'
    tries.append(kill_when(t, load, [root], lambda: temps(root/'cache', '.*.tmp'), 'the cache build'))
    r = lib(t, load, root)
    left = temps(root/'cache', '.*.tmp')
    tries.append(works(r, not left and '6000' in r.out, f'left {[p.name for p in left]}'))
    return tries

@case(G, 'killed-writes-cleaned')
def _(t):
    "kill -9 mid-way through writing checkpoint.pt and model.pt: the next run (--resume) removes the temp files."
    tries = []
    for target, nth in (('checkpoint.pt', 2), ('model.pt', 1)):
        out = t/f'run-{target[:-3]}'
        killed_cli(t, 'half', nth, target, 'train', *SYN, *SMALL, '--epochs', '2', '--seed', '0', '--data', fx.data, '--out', out)
        before = [p.name for p in out.glob('.*.tmp')]
        r = train(t, '--epochs', '2', '--resume', out=out)
        left = [p.name for p in out.glob('.*.tmp')]
        tries.append(works(r, bool(before) and not left, f'temp files before {before}, after {left}'))
    return tries

# --- Quieter edges -------------------------------------------------------------------------------------------------------
G = 'Quieter edges'

@case(G, 'file-modes-follow-umask')
def _(t):
    "Files written under umask 022 are 0644, under 077 0600 (run files, cache, upscaled picture): not 0600 whatever the umask."
    tries = []
    for mask in (0o022, 0o077):
        root = copy_set(t/f'set{mask:o}')
        r = train(t, data=root, out=t/f'run{mask:o}', preexec=umask(mask))
        u = cli(t, 'upscale', fx.unet, fx.pic, '--out', t/f'up{mask:o}', preexec=umask(mask))
        files = [*(t/f'run{mask:o}').iterdir(), *(root/'cache').iterdir(), *(t/f'up{mask:o}').glob('*')]
        wrong = [f'{p.name} {stat.S_IMODE(p.stat().st_mode):o}' for p in files if stat.S_IMODE(p.stat().st_mode) != 0o666 & ~mask]
        tries += [works(r, not wrong, f'umask {mask:03o}: {", ".join(wrong)}'), works(u)]
    return tries

@case(G, 'fsync-before-rename')
def _(t):
    "save_state's file is on the disk (fsync) before it is renamed into place."
    code = '''
import os
from tinyimagenet.files import save_state
log, fsync, replace = [], os.fsync, os.replace
os.fsync = lambda fd: (log.append(('fsync', os.readlink(f'/proc/self/fd/{fd}'))), fsync(fd))[1]
os.replace = lambda a, b: (log.append(('replace', os.path.abspath(a))), replace(a, b))[1]
save_state(args[0], {'x': 1}, 'model')
first = next((k for k, (op, p) in enumerate(log) if op == 'replace'), None)
print('fsynced' if first is not None and any(op == 'fsync' and p == log[first][1] for op, p in log[:first]) else f'not fsynced: {log}')
'''
    r = lib(t, code, t/'x.pt')
    return works(r, 'fsynced' in r.out and 'not' not in r.out, r.out.strip())

@case(G, 'stray-wnid-folder-warns')
def _(t):
    "A training folder not in wnids.txt: a warning naming it."
    root = copy_set(t/'set')
    (root/'train'/'n99999999'/'images').mkdir(parents=True)
    shutil.copy(first_train_image(root), root/'train'/'n99999999'/'images'/'n99999999_0.JPEG')
    r = train(t, data=root)
    return works(r, 'n99999999' in r.err, 'no warning')

@case(G, 'empty-class-warns')
def _(t):
    "A class of wnids.txt with no training images: a warning naming it."
    root = copy_set(t/'set')
    wnid = (root/'wnids.txt').read_text().split()[0]
    for p in (root/'train'/wnid/'images').iterdir(): p.unlink()
    r = train(t, data=root)
    return works(r, wnid in r.err, 'no warning')

@case(G, 'zero-byte-model')
def _(t):
    "An empty model file: refused with a reason after the colon."
    (t/'m.pt').write_bytes(b'')
    r = cli(t, 'evaluate', t/'m.pt')
    o = refused(r, 1, 'm.pt')
    return Outcome('unclear', r, 'no reason') if o.verdict == 'clear' and not re.search(r'm\.pt[^:]*:\s*\S.{8,}', r.last) else o

@case(G, 'pickle-refusal-no-weights-only-advice')
def _(t):
    "The refusal of a crafted pickle does not repeat torch's advice to pass weights_only=False."
    tries = []
    for name in ('legacy.pt', 'plain.pt'):
        r = cli(t, 'evaluate', fx.evil/name)
        tries.append(Outcome('unclear', r, 'advises weights_only') if 'weights_only' in r.err else refused(r, 1, name))
    return tries

@case(G, 'clean-run-quiet')
def _(t):
    "upscale with good input: the picture at twice the size, and nothing on stderr (no warnings that are not the user's)."
    r = cli(t, 'upscale', fx.unet, fx.pic, '--out', t/'up')
    out = t/'up'/'pic_2x.png'
    o = works(r, lambda: out.is_file() and Image.open(out).size == (100, 80), 'wrong picture')
    return Outcome('unclear', r, 'stray stderr: ' + r.last) if o.verdict == 'clear' and r.err.strip() else o

# --- The core holds: zip safety ------------------------------------------------------------------------------------------
G = 'Core: zip safety'

def crafted_zip(t, extra, keep_valid=True, d='zip') -> Run:
    "tiny_imagenet() (no download) in t/d on a zip of the tiny set plus `extra` members ((ZipInfo or name, bytes)); md5 made to match."
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as z:
        if keep_valid:
            with zipfile.ZipFile(io.BytesIO(fx.zip[0])) as src:
                for info in src.infolist(): z.writestr(info, src.read(info))
        for info, data in extra: z.writestr(info, data)
    (t/d).mkdir()
    (t/d/'tiny-imagenet-200.zip').write_bytes(buf.getvalue())
    return lib(t, NO_DOWNLOAD, t/d, hashlib.md5(buf.getvalue()).hexdigest())

NO_DOWNLOAD = 'from tinyimagenet.data import tiny_imagenet; print(tiny_imagenet(args[0], download=False, md5=args[1]))'

def outside(t) -> list:
    "Files that an extraction left outside the folders of the zips (t/zip*)."
    return [str(p) for p in t.rglob('*') if p.is_file() and not p.relative_to(t).parts[0].startswith('zip')]

def zip_refused(t, r):
    if out := outside(t): return Outcome('silently wrong', r, f'wrote outside: {out}')
    return refused(r, 1, 'tiny-imagenet-200.zip')

@case(G, 'zip-slip-dotdot')
def _(t): return zip_refused(t, crafted_zip(t, [('tiny-imagenet-200/../../evil.txt', b'x')]))

@case(G, 'zip-absolute-path')
def _(t): return zip_refused(t, crafted_zip(t, [(str(t/'evil-absolute.txt'), b'x')]))

@case(G, 'zip-symlink-member')
def _(t):
    "A symlink member pointing out of the folder, then a file written through it: no link, nothing outside."
    link = zipfile.ZipInfo('tiny-imagenet-200/link'); link.external_attr = (stat.S_IFLNK | 0o777) << 16
    tries = []
    for d, extra in [('zip1', []), ('zip2', [('tiny-imagenet-200/link/evil.txt', b'x')])]:
        r = crafted_zip(t, [(link, str(t).encode()), *extra], d=d)
        if out := outside(t): tries.append(Outcome('silently wrong', r, f'wrote outside: {out}'))
        elif (t/d/'tiny-imagenet-200'/'link').is_symlink(): tries.append(Outcome('silently wrong', r, 'made a symlink'))
        elif r.code == 0: tries.append(works(r, (t/d/'tiny-imagenet-200'/'wnids.txt').is_file(), 'not extracted'))
        else: tries.append(refused(r, 1, 'tiny-imagenet-200.zip'))
    return tries

@case(G, 'zip-windows-paths')
def _(t):
    return [zip_refused(t, crafted_zip(t, [(name, b'x')], d=f'zip{k}'))
            for k, name in enumerate(['tiny-imagenet-200\\..\\..\\evil.txt', 'C:/evil.txt', 'C:\\evil.txt'])]

@case(G, 'zip-damaged')
def _(t):
    "A zip that is not one (random bytes with a matching md5), and a good zip with the wrong md5."
    (t/'zip').mkdir()
    junk = random.Random(0).randbytes(5000)
    (t/'zip'/'tiny-imagenet-200.zip').write_bytes(junk)
    r1 = lib(t, NO_DOWNLOAD, t/'zip', hashlib.md5(junk).hexdigest())
    (t/'zip'/'tiny-imagenet-200.zip').write_bytes(fx.zip[0])
    r2 = lib(t, NO_DOWNLOAD, t/'zip', '0' * 32)
    return [refused(r1, 1, 'tiny-imagenet-200.zip'), refused(r2, 1, 'tiny-imagenet-200.zip', 'md5')]

@case(G, 'zip-not-tiny-imagenet')
def _(t): return refused(crafted_zip(t, [('other/readme.txt', b'x')], keep_valid=False), 1, 'wnids.txt')

# --- The core holds: resumed downloads (HTTP on 127.0.0.1) ---------------------------------------------------------------
G = 'Core: downloads'

@case(G, 'download-resumes-with-range')
def _(t):
    "Half the zip left as .part: the download asks for the rest (Range), checks the md5 and extracts; a .part longer than the file starts over."
    (t/'d').mkdir(); half = len(fx.zip[0]) // 2
    part(t).write_bytes(fx.zip[0][:half])
    n = len(Handler.log)
    r = download(t, 'range')
    asked = [rng for _, rng in Handler.log[n:]]
    o = works(r, extracted(t), 'not extracted')
    if o.verdict == 'clear' and f'bytes={half}-' not in asked: o = Outcome('unclear', r, f'did not resume (Range headers {asked})')
    shutil.rmtree(t/'d'); (t/'d').mkdir()
    part(t).write_bytes(fx.zip[0] + b'more')
    r2 = download(t, 'range')
    return [o, works(r2, extracted(t), 'not extracted')]

@case(G, 'download-server-ignores-range')
def _(t):
    (t/'d').mkdir()
    part(t).write_bytes(fx.zip[0][:len(fx.zip[0]) // 2])
    r = download(t, 'norange')
    return works(r, extracted(t), 'not extracted')

@case(G, 'download-cut-then-resumed')
def _(t):
    "The connection closes before Content-Length bytes: one line saying to call again, .part kept; the next call completes."
    r = download(t, 'cut')
    if not part(t).is_file(): return Outcome('lost', r, 'the partial file is gone')
    r2 = download(t, 'range')
    return [refused(r, 1, 'tiny-imagenet-200.zip.part', 'resume'), works(r2, extracted(t), 'not extracted')]

@case(G, 'download-md5-mismatch')
def _(t):
    "Other bytes than the zip's: refused naming the md5, nothing extracted, no zip left that looks good."
    r = download(t, 'bad')
    if extracted(t) or (t/'d'/'tiny-imagenet-200.zip').exists(): return Outcome('silently wrong', r, 'kept or extracted bad bytes')
    return refused(r, 1, 'md5')

@case(G, 'download-404')
def _(t): return refused(download(t, 'missing'), 1, '404')

@case(G, 'download-unreachable')
def _(t):
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]  # a port nobody listens on
    return refused(lib(t, DOWNLOAD, t/'d', f'http://127.0.0.1:{port}/x.zip', fx.zip[1]), 1, '127.0.0.1')

# --- The core holds: cache rebuilds on damage ----------------------------------------------------------------------------
G = 'Core: cache rebuilds'

def damaged_cache(t, damage) -> Outcome:
    "Build the cache of a copy of the set, `damage(file)` each cache file, then load: the right pixels."
    root = copy_set(t/'set')
    need(lib(t, CHECK_PIXELS, root), 'cache')
    for f in (root/'cache').iterdir():
        if f.is_file() and not f.name.startswith('.'): damage(f)
    r = lib(t, CHECK_PIXELS, root)
    return works(r, pixels_match(r), r.out.strip() or 'wrong pixels')

@case(G, 'cache-truncated')
def _(t): return damaged_cache(t, lambda f: os.truncate(f, f.stat().st_size // 2))

@case(G, 'cache-header-damaged')
def _(t): return damaged_cache(t, lambda f: f.write_bytes(b'\xff' * 16 + f.read_bytes()[16:]))

@case(G, 'cache-pixels-flipped')
def _(t): return damaged_cache(t, flip_bytes)

@case(G, 'cache-source-changed')
def _(t):
    "A source JPEG replaced by another picture (new size and mtime)."
    def damage(_):
        Image.new('RGB', (64, 64), (0, 255, 0)).save(first_train_image(t/'set'), 'JPEG')
    return damaged_cache(t, damage)

# --- The core holds: atomic checkpoints (kill -9 mid-write) ----------------------------------------------------------------
G = 'Core: atomic checkpoints'

def kill_checkpoint(t, moment) -> Outcome:
    "SIGKILL at `moment` of the 2nd checkpoint write of a 2-epoch run: the 1st checkpoint intact, and --resume finishes."
    r = killed_cli(t, moment, 2, 'checkpoint.pt', 'train', *SYN, *SMALL, '--epochs', '2', '--seed', '0', '--data', fx.data, '--out', t/'run')
    if r.code != -signal.SIGKILL: return Outcome('unclear', r, f'the kill moment was not reached (exit {r.code}): audit out of date?')
    prev = (t/'note').read_text()
    now = hashlib.sha256((t/'run'/'checkpoint.pt').read_bytes()).hexdigest() if (t/'run'/'checkpoint.pt').is_file() else 'gone'
    if now != prev: return Outcome('lost', r, f'the previous checkpoint {"is gone" if now == "gone" else "changed"}')
    left = ', '.join(f'{p.stat().st_size:,} bytes' for p in (t/'run').glob('.checkpoint.pt.*'))
    o = works(train(t, '--epochs', '2', '--resume'), (t/'run'/'model.pt').is_file(), 'no model.pt')
    if o.verdict == 'clear': o.why = f'killed; previous checkpoint intact; temp file left: {left or "none"}; resumed'
    return o

for moment, what in [('created', 'temp file created, 0 bytes'), ('bytes10', 'inside the header'), ('half', 'half written'),
                     ('all-but-one', 'all but the last byte'), ('before-fsync', 'written, before fsync'), ('before-rename', 'synced, before the rename')]:
    case(G, f'kill-checkpoint-{moment}')(lambda t, moment=moment: kill_checkpoint(t, moment))

@case(G, 'bit-identical-resume')
def _(t):
    "3 epochs straight vs killed (SIGKILL) just after the first checkpoint and resumed: identical weights and history."
    need(train(t, '--epochs', '3', out=t/'a'), 'uninterrupted run')
    r = killed_cli(t, 'after-rename', 1, 'checkpoint.pt', 'train', *SYN, *SMALL, '--epochs', '3', '--seed', '0', '--data', fx.data, '--out', t/'b')
    if r.code != -signal.SIGKILL: return Outcome('unclear', r, f'not killed (exit {r.code}): audit out of date?')
    r = killed_cli(t, 'never', 0, 'checkpoint.pt', 'train', *SYN, *SMALL, '--epochs', '3', '--seed', '0', '--data', fx.data,
                   '--out', t/'b', '--resume')
    if r.code == 0 and (t/'note.count').read_text() != '2':  # else it started over (with the same seed: the same weights)
        return Outcome('silently wrong', r, f"the resumed run wrote {(t/'note.count').read_text()} checkpoints, not 2: it did not resume")
    same = '''
import torch
from tinyimagenet.files import load_state
a, b = (load_state(p, 'model')['model'] for p in args)
print('identical' if a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a) else 'different')
'''
    c = lib(t, same, t/'a'/'model.pt', t/'b'/'model.pt') if r.code == 0 else r
    history = [json.loads((t/x/'metrics.json').read_text())['history'] if (t/x/'metrics.json').is_file() else None for x in 'ab']
    o = works(r, 'identical' in c.out and history[0] == history[1], f'weights {c.out.strip()}, history {"same" if history[0] == history[1] else "different"}')
    if o.verdict == 'clear': o.why = 'killed after the first checkpoint and resumed: weights and history identical to the straight run'
    return o

# --- The core holds: crafted pickles at every entry point that loads a file ----------------------------------------------
G = 'Core: crafted pickles'

def no_code_ran(outcomes) -> list:
    "Each refusal, unless the crafted file ran its code (the marker file exists): silently wrong."
    outcomes = outcomes if isinstance(outcomes, list) else [outcomes]
    if fx.marker.exists():
        fx.marker.unlink()
        return [Outcome('silently wrong', outcomes[0].run, 'a crafted pickle ran code')]
    return outcomes

@case(G, 'pickle-evaluate')
def _(t): return no_code_ran([refused(cli(t, 'evaluate', fx.evil/n), 1, n) for n in ('signed-model.pt', 'plain.pt', 'legacy.pt')])

@case(G, 'pickle-predict')
def _(t): return no_code_ran([refused(cli(t, 'predict', fx.evil/n, fx.pic), 1, n) for n in ('signed-model.pt', 'plain.pt')])

@case(G, 'pickle-superres-encoder')
def _(t): return no_code_ran(refused(superres(t, '--encoder', fx.evil/'signed-model.pt'), 1, 'signed-model.pt'))

@case(G, 'pickle-upscale')
def _(t): return no_code_ran([refused(cli(t, 'upscale', fx.evil/n, fx.pic, '--out', t/'up'), 1, n) for n in ('signed-unet.pt', 'plain.pt')])

@case(G, 'pickle-resume')
def _(t):
    "A crafted checkpoint.pt (checksum valid) resumed by train and by superres."
    copy_run(fx.run, t/'run'); shutil.copy(fx.evil/'signed-checkpoint.pt', t/'run'/'checkpoint.pt')
    copy_run(fx.unet_run, t/'unet'); shutil.copy(fx.evil/'signed-checkpoint.pt', t/'unet'/'checkpoint.pt')
    return no_code_ran([refused(train(t, '--resume'), 1, 'checkpoint.pt'), refused(superres(t, '--resume'), 1, 'checkpoint.pt')])

@case(G, 'pickle-library-loaders')
def _(t):
    "load_state, classify.load_model and unet.load_unet on each crafted file."
    calls = [('from tinyimagenet.files import load_state as f; f(args[0], "model")', n) for n in ('signed-model.pt', 'plain.pt', 'legacy.pt')]
    calls += [('from tinyimagenet.files import load_state as f; f(args[0], "checkpoint")', 'signed-checkpoint.pt'),
              ('from tinyimagenet.classify import load_model as f; f(args[0])', 'signed-model.pt'),
              ('from tinyimagenet.unet import load_unet as f; f(args[0])', 'signed-unet.pt')]
    return no_code_ran([refused(lib(t, code, fx.evil/n), 1, n) for code, n in calls])

# --- Every flag with bad values -------------------------------------------------------------------------------------------
G = 'Flags with bad values'

def bad_numbers(t, command, flag, values, code=2):
    return [refused(command(flag, v), code, flag) for v in values]

@case(G, 'train-epochs-lr')
def _(t):
    cmd = lambda *a: train(t, *a)
    return bad_numbers(t, cmd, '--epochs', ['0', '-1', '1.5', 'abc', 'inf']) + bad_numbers(t, cmd, '--lr', ['0', '-0.1', 'nan', 'inf', 'abc'])

@case(G, 'train-bs')
def _(t):
    "--bs 0, negative, nan, text; and larger than the training set (no full batch): refused naming --bs."
    return bad_numbers(t, lambda *a: train(t, *a), '--bs', ['0', '-8', 'nan', 'abc']) + [refused(train(t, '--bs', '1000'), 1, '--bs')]

@case(G, 'train-width')
def _(t): return bad_numbers(t, lambda *a: train(t, *a), '--width', ['0', '-1', 'abc', '1e999'])

@case(G, 'train-seed')
def _(t):
    "--seed: text (usage), and numbers numpy cannot take (negative, 2**40)."
    return [refused(train(t, '--seed', 'abc'), 2, '--seed')] + [
        refused(r, r.code if r.code in (1, 2) else 1, '--seed') for r in (train(t, '--seed', '-1'), train(t, '--seed', str(2**40)))]

@case(G, 'train-per-class')
def _(t):
    return bad_numbers(t, lambda *a: train(t, *a), '--train-per-class', ['0', '-5', 'x']) + [
        refused(cli(t, 'train', '--dataset', 'tiny-imagenet', '--train-per-class', '5', '--out', t/'r'), 1, '--train-per-class')]

@case(G, 'train-choices-switches')
def _(t):
    "Unknown --model, --augment, --dataset, --compile mode; a switch given a value; --resume with --force, --compile with --no-compile."
    plain = lambda *a: cli(t, 'train', *SMALL, '--out', t/'run', *a)
    return [refused(plain('--model', 'resnet'), 2, '--model'), refused(plain('--augment', 'heavy'), 2, '--augment'),
            refused(plain('--compile', 'fast'), 2, '--compile'), refused(plain('--compile', '--no-compile'), 2, '--no-compile'),
            refused(plain('--dataset', 'imagenet'), 2, '--dataset'), refused(plain('--amp=yes'), 2, '--amp'),
            refused(plain('--resume', '--force'), 2, '--force')]

@case(G, 'train-data')
def _(t):
    "--data: missing, a file, a set without train/ (wnids.txt only)."
    (t/'file').write_text('x')
    (t/'broken').mkdir(); shutil.copy(fx.set/'wnids.txt', t/'broken'); shutil.copy(fx.set/'words.txt', t/'broken')
    return [refused(train(t, '--data', t/'missing'), 1, '--data'), refused(train(t, '--data', t/'file'), 1, t/'file'),
            refused(train(t, '--data', t/'broken'), 1, t/'broken')]

@case(G, 'device-every-command')
def _(t):
    "--device bogus for every command; and cuda:99 and meta (no such device here / not a training device) for train."
    calls = [lambda *a: train(t, *a), lambda *a: cli(t, 'evaluate', fx.model, *a), lambda *a: cli(t, 'predict', fx.model, fx.pic, *a),
             lambda *a: superres(t, *a), lambda *a: cli(t, 'upscale', fx.unet, fx.pic, '--out', t/'up', *a)]
    tries = [refused(c('--device', 'bogus'), 1, '--device') for c in calls]
    return tries + [refused(train(t, '--device', d, out=t/d), 1, '--device') for d in ('cuda:99', 'meta')]

@case(G, 'evaluate-model-bs')
def _(t):
    "evaluate MODEL: missing, a folder, a text file; --bs 0 and text; --tta given a value."
    (t/'text.pt').write_text('not a model')
    return [refused(cli(t, 'evaluate', t/'missing.pt'), 1, 'missing.pt'), refused(cli(t, 'evaluate', t), 1, str(t)),
            refused(cli(t, 'evaluate', t/'text.pt'), 1, 'text.pt'), refused(cli(t, 'evaluate', fx.model, '--bs', '0'), 2, '--bs'),
            refused(cli(t, 'evaluate', fx.model, '--bs', 'x'), 2, '--bs'), refused(cli(t, 'evaluate', fx.model, '--tta=1'), 2, '--tta')]

@case(G, 'evaluate-per-class')
def _(t):
    "--per-class: an existing folder; a device node like /dev/null (must stay a device)."
    (t/'dir').mkdir()
    tries = [refused(cli(t, 'evaluate', fx.model, '--per-class', t/'dir'), 1, t/'dir', idle=['top-1'])]
    if node := device_node(t):
        keep = snapshot(node)
        tries.append(refused(cli(t, 'evaluate', fx.model, '--per-class', node), 1, str(node), keep=keep))
    return tries

@case(G, 'predict-model-images')
def _(t):
    "predict: model missing or a UNet; pictures missing, a folder, text, truncated, none."
    (t/'text.png').write_text('not a picture')
    (t/'cut.png').write_bytes(fx.pic.read_bytes()[:200])
    p = lambda *a: cli(t, 'predict', *a)
    return [refused(p(t/'missing.pt', fx.pic), 1, 'missing.pt'), refused(p(fx.unet, fx.pic), 1, 'unet.pt'),
            refused(p(fx.model, t/'missing.png'), 1, 'missing.png'), refused(p(fx.model, t), 1, str(t)),
            refused(p(fx.model, t/'text.png'), 1, 'text.png'), refused(p(fx.model, t/'cut.png'), 1, 'cut.png'),
            refused(p(fx.model), 2, 'IMAGE')]

@case(G, 'predict-top')
def _(t):
    "--top 0, negative, nan, text (usage); --top 1000 with 10 classes gives the 10."
    r = cli(t, 'predict', fx.model, fx.pic, '--top', '1000', '--json')
    n = lambda: len(json.loads(r.out)[0]['top'])
    return bad_numbers(t, lambda *a: cli(t, 'predict', fx.model, fx.pic, *a), '--top', ['0', '-1', 'nan', 'x']) + [
        works(r, lambda: n() == 10, 'not the 10 classes')]

@case(G, 'superres-flags')
def _(t):
    "superres: bad numbers; --encoder missing, a folder, a UNet, a checkpoint; --perceptual alone; unknown --dataset; missing --data."
    s = lambda *a: superres(t, *a)
    return (bad_numbers(t, s, '--epochs', ['0', 'x']) + bad_numbers(t, s, '--bs', ['-1']) + bad_numbers(t, s, '--lr', ['nan', 'inf']) +
            [refused(s('--encoder', t/'missing.pt'), 1, 'missing.pt'), refused(s('--encoder', t), 1, '--encoder'),
             refused(s('--encoder', fx.unet), 1, 'unet.pt'), refused(s('--encoder', fx.run/'checkpoint.pt'), 1, 'checkpoint.pt'),
             refused(s('--perceptual'), 1, '--perceptual'), refused(s('--dataset', 'imagenet'), 2, '--dataset'),
             refused(s('--data', t/'missing'), 1, '--data')])

@case(G, 'upscale-flags')
def _(t):
    "upscale: model missing, a classifier, a checkpoint; pictures missing, a folder, text, two with one name; --out a file."
    (t/'text.png').write_text('not a picture'); (t/'sub').mkdir(); shutil.copy(fx.pic, t/'sub'/'pic.png'); (t/'file').write_text('x')
    u = lambda *a: cli(t, 'upscale', *a, '--out', t/'up') if '--out' not in a else cli(t, 'upscale', *a)
    return [refused(u(t/'missing.pt', fx.pic), 1, 'missing.pt'), refused(u(fx.model, fx.pic), 1, 'model.pt'),
            refused(u(fx.unet_run/'checkpoint.pt', fx.pic), 1, 'checkpoint.pt'), refused(u(fx.unet, t/'missing.png'), 1, 'missing.png'),
            refused(u(fx.unet, t), 1, str(t)), refused(u(fx.unet, fx.pic, t/'text.png'), 1, 'text.png'),
            refused(u(fx.unet, fx.pic, t/'sub'/'pic.png'), 1, 'pic.png'), refused(u(fx.unet, fx.pic, '--out', t/'file'), 1, t/'file')]

# --- Issue 23: the data layer ------------------------------------------------------------------------------------------
# Other instances of the kinds issue 23 found at the root of the data layer: pictures read sideways, non-regular files read as
# pictures, memory that follows a picture's shape, full disks, byte-order marks, variables naming files, newer files, damaged .gz.
G = 'Issue 23: data layer'

def oriented_png(path, pixels, orientation):
    "`pixels` stored as a PNG at `path` turned the way a camera with EXIF `orientation` stores them, with the tag to turn them back."
    stored = {3: np.rot90(pixels, 2), 6: np.rot90(pixels, 1), 8: np.rot90(pixels, -1)}[orientation]  # undone by 180°, 90° cw, 90° ccw
    exif = Image.Exif(); exif[0x0112] = orientation
    Image.fromarray(np.ascontiguousarray(stored)).save(path, exif=exif)
    return path

@case(G, 'exif-orientation-read-upright')
def _(t):
    "PNGs with EXIF orientation 8 and 3: predict gives what it gives for the upright picture; upscale returns the upright shape."
    upright = np.random.default_rng(5).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    Image.fromarray(upright).save(t/'upright.png')
    want = cli(t, 'predict', fx.model, t/'upright.png', '--json')
    tries = []
    for o in (8, 3):
        r = cli(t, 'predict', fx.model, oriented_png(t/f'o{o}.png', upright, o), '--json')
        tries.append(works(r, lambda: json.loads(r.out)[0]['top'] == json.loads(want.out)[0]['top'], f'orientation {o}: not read upright'))
    u = cli(t, 'upscale', fx.unet, oriented_png(t/'u8.png', upright, 8), '--out', t/'up')
    tries.append(works(u, lambda: Image.open(t/'up'/'u8_2x.png').size == (112, 80), 'upscaled on its side'))
    return tries

@case(G, 'pictures-not-regular-files')
def _(t):
    "A character device (/dev/zero) to predict, a named pipe to upscale and to predict: refused at once, naming it; no hang."
    os.mkfifo(t/'pipe.jpg')
    return [refused(cli(t, 'predict', fx.model, '/dev/zero', timeout=60), 1, '/dev/zero'),
            refused(cli(t, 'upscale', fx.unet, t/'pipe.jpg', '--out', t/'up', timeout=60), 1, 'pipe.jpg'),
            refused(cli(t, 'predict', fx.model, fx.pic, t/'pipe.jpg', timeout=60), 1, 'pipe.jpg')]

def peak_run(argv, t, cap_gb) -> tuple:
    "(Run, peak resident GB) of `argv`; killed past `cap_gb` (its RSS polled every 20 ms)."
    p, peak = Proc(argv, t), 0
    while p.p.poll() is None:
        try: rss = next((int(l.split()[1]) for l in open(f'/proc/{p.p.pid}/status') if l.startswith('VmRSS:')), 0) / 2**20
        except OSError: rss = 0
        peak = max(peak, rss)
        if rss > cap_gb: os.kill(p.p.pid, signal.SIGKILL)
        time.sleep(0.02)
    return p.finish(), peak

@case(G, 'picture-shape-memory')
def _(t):
    "predict on a 1x300,000 PNG and on a 200,000x1 one (a few kB each): classified in under 3 GB, as a small picture is."
    tries = []
    for size in ((300_000, 1), (1, 200_000)):
        Image.new('RGB', size, (30, 160, 90)).save(t/'thin.png')
        r, peak = peak_run([*ENTRY, 'predict', fx.model, t/'thin.png'], t, 3)
        tries.append(Outcome('crash', r, f'{size[0]}x{size[1]}: over 3 GB (killed)') if peak > 3 else works(r))
    return tries

@case(G, 'full-disk-other-writers')
def _(t):
    "A file-size limit (as a full disk) while evaluate writes --per-class and while upscale writes its picture: one line naming the file."
    per_class = t/'per-class.csv'
    return [refused(cli(t, 'evaluate', fx.model, '--per-class', per_class, preexec=file_limit(100)), 1, 'per-class.csv', 'space'),
            refused(cli(t, 'upscale', fx.unet, fx.pic, '--out', t/'up', preexec=file_limit(2_000)), 1, 'pic_2x.png', 'space')]

@case(G, 'byte-order-marks')
def _(t):
    "words.txt and val_annotations.txt (and wnids.txt) saved with UTF-8's byte-order mark: evaluate as on the plain set."
    root = copy_set(t/'set')
    for name in ('words.txt', 'val/val_annotations.txt', 'wnids.txt'):
        (root/name).write_bytes(b'\xef\xbb\xbf' + (root/name).read_bytes())
    r = cli(t, 'evaluate', fx.model, '--data', root)
    return works(r, lambda: fx.accuracy in r.out, f'not {fx.accuracy}')

@case(G, 'variables-naming-files')
def _(t):
    "$TINYIMAGENET_CACHE and $TINYIMAGENET_DATA naming a regular file: refused, naming the variable."
    (t/'file').write_text('x')
    return [refused(cli(t, 'evaluate', fx.model, '--data', copy_set(t/'set'), env=env(TINYIMAGENET_CACHE=t/'file')), 1, 'TINYIMAGENET_CACHE'),
            refused(cli(t, 'train', '--synthetic', '--train-per-class', '10', *SMALL, '--out', t/'run', env=env(TINYIMAGENET_DATA=t/'file')),
                    1, 'TINYIMAGENET_DATA')]

NEWER = r"""
import json, struct
from pathlib import Path
src, out = Path(args[0]), Path(args[1])
raw = src.read_bytes()
n = struct.unpack('<Q', raw[:8])[0]
def variant(name, change):
    header = json.loads(raw[8:8 + n]); change(header['__metadata__'])
    b = json.dumps(header).encode(); b += b' ' * (-(len(b) + 8) % 8)
    (out/name).write_bytes(struct.pack('<Q', len(b)) + b + raw[8 + n:])
variant('dotted.pt', lambda m: m.update(format_version='1.2'))
variant('kind.pt', lambda m: m.update(tree=m['tree'].replace('"ordered_dict"', '"frozen_ordered_dict"', 1)))
(out/'magic.pt').write_bytes(b'tinyimagenet state 3\n' + raw)
"""

@case(G, 'model-newer-format')
def _(t):
    "Model files of a newer format: a dotted version, a kind of value this version lacks, a new first line: 'newer version'."
    need(lib(t, NEWER, fx.model, t), 'newer files')
    return [refused(cli(t, 'predict', t/name, fx.pic), 1, name, 'newer') for name in ('dotted.pt', 'kind.pt', 'magic.pt')]

@case(G, 'fashion-gz-damaged')
def _(t):
    "$FASHION_MNIST holding a truncated training-labels .gz, then a test-images .gz with a damaged CRC: the file named."
    src = Path('/usr/share/datasets/fashion-mnist')
    if not all((src/f'{n}-idx{1 if "labels" in n else 3}-ubyte.gz').is_file() for n in ('train-images', 'train-labels', 't10k-images', 't10k-labels')):
        raise Skip(f'no Fashion-MNIST files in {src}')
    tries = []
    for k, (name, damage) in enumerate((('train-labels-idx1-ubyte.gz', lambda b: b[:len(b) // 2]),
                                        ('t10k-images-idx3-ubyte.gz', lambda b: b[:-8] + bytes([b[-8] ^ 1]) + b[-7:]))):
        fm, data = Path(shutil.copytree(src, t/f'fm{k}')), t/f'd{k}'
        data.mkdir()
        (fm/name).write_bytes(damage((fm/name).read_bytes()))
        r = cli(t, 'train', '--dataset', 'fashion-mnist', *SMALL, '--data', data, '--out', t/f'run{k}', env=env(FASHION_MNIST=fm))
        tries.append(refused(r, 1, name))
    return tries

# ---------------------------------------------------------------------------------------------------------------------
# Running the audit

# --- Issue 23: the command ----------------------------------------------------------------------------------------------
G = 'Issue 23: the command'

@case(G, 'writes-over-inputs')
def _(t):
    "evaluate --per-class aimed at another run's model file; upscale of a.png into a folder whose a_2x.png is also an input: refused, kept."
    copy_run(fx.run, t/'other'); shutil.copy(fx.pic, t/'a.png'); shutil.copy(fx.pic, t/'a_2x.png')
    keep = snapshot(t/'other'/'model.pt', t/'a_2x.png')
    return [refused(cli(t, 'evaluate', fx.model, '--per-class', t/'other'/'model.pt'), 1, 'model.pt', keep=keep),
            refused(cli(t, 'upscale', fx.unet, t/'a.png', t/'a_2x.png', '--out', t), 1, 'a_2x.png', keep=keep)]

@case(G, 'one-run-per-out')
def _(t):
    "A second train and a superres into the --out of a running train (even with --force): refused naming its process."
    first = Proc([*ENTRY, 'train', *SYN, '--width', '0.125', '--bs', '8', '--epochs', '50', '--data', fx.data, '--out', t/'busy'], t)
    while not (t/'busy'/'.tinyimagenet.pid').exists() and first.p.poll() is None: time.sleep(0.05)
    tries = [refused(train(t, '--force', out=t/'busy'), 1, 'in use', str(first.p.pid)), refused(superres(t, '--force', out=t/'busy'), 1, 'in use')]
    os.killpg(first.p.pid, signal.SIGKILL); first.finish()
    return tries + [works(train(t, '--force', out=t/'busy'))]  # the lock dies with its process

@case(G, 'interrupted-runs')
def _(t):
    "SIGINT to train and SIGTERM to superres once a checkpoint exists: one line naming the kept checkpoint and --resume; 130 and 143."
    tries = []
    for argv, sig, code in [(['train', *SYN, '--width', '0.125', '--bs', '8', '--epochs', '50', '--data', fx.data, '--out', t/'int'], signal.SIGINT, 130),
                            (['superres', *SYN, '--bs', '8', '--epochs', '50', '--data', fx.data, '--out', t/'term'], signal.SIGTERM, 143)]:
        p = Proc([*ENTRY, *argv], t)
        while not (Path(argv[-1])/'checkpoint.pt').exists() and p.p.poll() is None: time.sleep(0.05)
        time.sleep(0.5); p.p.send_signal(sig)
        r = p.finish()
        ok = r.code == code and len(r.errors) == 1 and 'is kept' in r.last and '--resume' in r.last
        tries.append(Outcome('clear', r) if ok else Outcome('unclear', r, f'exit {r.code}: {r.last}'))
    return tries

@case(G, 'values-out-of-range')
def _(t):
    "--lr 1e308 and --lr 11 (superres's too): refused by the parser naming --lr."
    return [refused(train(t, '--lr', '1e308'), 2, '--lr'), refused(train(t, '--lr', '11'), 2, '--lr'), refused(superres(t, '--lr', '1e308'), 2, '--lr')]

@case(G, 'out-broken-link')
def _(t):
    "--out a dangling symlink, for train and for upscale: one line saying it is a broken link."
    (t/'link').symlink_to(t/'nowhere'); (t/'link2').symlink_to(t/'nowhere2')
    return [refused(train(t, out=t/'link'), 1, 'broken link'), refused(cli(t, 'upscale', fx.unet, fx.pic, '--out', t/'link2'), 1, 'broken link')]

@case(G, 'resume-other-command')
def _(t):
    "train --resume in a superres run's folder and superres --resume in a train run's: one line naming the command that wrote it."
    copy_run(fx.unet_run, t/'unet'); copy_run(fx.run, t/'run')
    return [refused(train(t, '--resume', out=t/'unet'), 1, 'tinyimagenet superres'), refused(superres(t, '--resume', out=t/'run'), 1, 'tinyimagenet train')]

@case(G, 'data-folder-without-set')
def _(t):
    "--data an empty folder (and one with other files) for the default tiny-imagenet: refused before any download; nothing written."
    (t/'empty').mkdir(); (t/'other').mkdir(); (t/'other'/'notes.txt').write_text('x')
    tries = [refused(cli(t, 'train', '--data', d, '--out', t/f'out-{d.name}'), 1, 'wnids.txt') for d in (t/'empty', t/'other')]
    return tries + [works(Run([], 0, '', '', 0), [p.name for p in (t/'empty').iterdir()] == [] and not (t/'out-empty').exists(), 'left files behind')]

@case(G, 'closed-pipe-and-names')
def _(t):
    "predict | head -1 on 200 pictures: quiet; a picture named with a character an ASCII terminal lacks: printed escaped, exit 0."
    for i in range(200): shutil.copy(fx.pic, t/f'p{i:03d}.png')
    r = run(['bash', '-c', f'{shlex.join([*ENTRY, "predict", str(fx.model)])} {t}/p*.png | head -1'], t)
    shutil.copy(fx.pic, t/'café.png')
    a = cli(t, 'predict', fx.model, t/'café.png', env=env(PYTHONIOENCODING='ascii'))
    return [works(r, r.err.strip() == '' and r.out.count('\n') == 1, f'stderr: {r.last}'), works(a, 'caf\\xe9' in a.out, 'name not escaped')]

@case(G, 'terminal-escapes-from-files')
def _(t):
    "A checksum-valid model file whose class names carry ANSI escapes (title, clear screen): predict and interpret print them escaped."
    lib(t, 'from tinyimagenet.classify import load_model, save_model; from tinyimagenet.config import TrainConfig\n'
           'm, meta = load_model(args[0])\n'
           'words = [w + ("\\x1b]0;pwned\\x07" if i % 2 else "\\x1b[2J") for i, w in enumerate(meta["words"])]\n'
           'save_model(args[1], m, TrainConfig.from_dict(meta["config"]), meta["classes"], meta["data"], words)', fx.model, t/'evil.pt')
    p = cli(t, 'predict', t/'evil.pt', fx.pic, '--top', '10')
    i = cli(t, 'interpret', t/'evil.pt', '--out', t/'interp')
    return [works(r, '\x1b' not in r.out + r.err and '\\x1b' in r.out, 'escape reached the terminal') for r in (p, i)]

@case(G, 'failed-run-leaves-no-out')
def _(t):
    "train and superres refused after --out was checked (a missing --data set; a --bs larger than the set): no empty --out left."
    tries = []
    for r, out, name in [(train(t, data=t/'missing', out=t/'o1'), t/'o1', 'no such folder'), (train(t, '--bs', '100000', out=t/'o2'), t/'o2', '--bs')]:
        tries.append(Outcome('unclear', r, f'empty {out.name} left behind') if out.exists() else refused(r, 1, name))
    return tries

# --- Issue 31: each kind guarded at its boundary, tried with instances of its own -------------------------------------------
G = 'Issue 31: boundaries'

EDIT_STATE = ('from tinyimagenet.files import load_state, save_state\n'
              'import json\nstate = load_state(args[0], args[2])\nstate.update(json.loads(args[3]))\n'
              'save_state(args[1], state, args[2])')  # an edit with the checksum recomputed, as a deliberate editor would
FIELDS = 'from tinyimagenet.files import load_state\nimport json\nprint(json.dumps(load_state(args[0], args[1])[args[2]]))'

@case(G, 'model-metadata-edited')
def _(t):
    "Kind 4: model and UNet files whose metadata was edited (checksum recomputed): a width asking for gigabytes, a longer class list,"
    " wider UNet stages; and one edited by hand (checksum not recomputed). Each refused at once, naming the file."
    classes, words = (json.loads(need(lib(t, FIELDS, fx.model, 'model', k), k).out) for k in ('classes', 'words'))
    unet = json.loads(need(lib(t, FIELDS, fx.unet, 'unet', 'config'), 'UNet config').out)
    for name, src, kind, change in [('wide.pt', fx.model, 'model', {'width': 16.0}), ('more.pt', fx.model, 'model', {'classes': classes + ['n99999999'], 'words': words + ['extra']}),
                                    ('wide-unet.pt', fx.unet, 'unet', {'config': {**unet, 'nfs': [8 * n for n in unet['nfs']]}})]:
        need(lib(t, EDIT_STATE, src, t/name, kind, json.dumps(change)), name)
    raw = fx.model.read_bytes()
    (t/'hand.pt').write_bytes(raw.replace(b'words', b'wordz', 1))  # same length: only the checksum can tell
    tries = [refused(cli(t, 'evaluate', t/'wide.pt'), 1, 'wide.pt'), refused(cli(t, 'predict', t/'wide.pt', fx.pic), 1, 'wide.pt'),
             refused(cli(t, 'predict', t/'more.pt', fx.pic), 1, 'more.pt'), refused(cli(t, 'upscale', t/'wide-unet.pt', fx.pic, '--out', t/'up'), 1, 'wide-unet.pt'),
             refused(cli(t, 'evaluate', t/'hand.pt'), 1, 'hand.pt', 'damaged')]
    return tries + [Outcome('unclear', x.run, f'took {x.run.secs:.0f} s') for x in tries if x.run and x.run.secs > 30]

@case(G, 'wnid-is-a-path')
def _(t):
    "Kind 6: a wnid that is a path ('../..', a separator, a control character): train and evaluate --data refuse it naming wnids.txt."
    tries = []
    for k, bad in enumerate(['../../../../etc', 'n0/../../x', 'n01\x1b[2J']):
        root = copy_set(t/f'set{k}')
        wnids = (root/'wnids.txt').read_text().split()
        (root/'wnids.txt').write_text((root/'wnids.txt').read_text().replace(wnids[1], bad, 1))
        tries += [refused(train(t, data=root, out=t/f'out{k}'), 1, 'wnids.txt', 'line', idle=['training ']),
                  refused(cli(t, 'evaluate', fx.model, '--data', root), 1, 'wnids.txt')]
    return tries

@case(G, 'text-files-unbounded')
def _(t):
    "Kind 7: words.txt a link to /dev/zero, val_annotations.txt a FIFO, wnids.txt a 100 MB sparse file: refused at once, unread."
    tries = []
    for k, (name, plant) in enumerate([('words.txt', lambda p: p.symlink_to('/dev/zero')), ('val_annotations.txt', lambda p: os.mkfifo(p)),
                                       ('wnids.txt', lambda p: (p.write_text('n1\n'), os.truncate(p, 100 << 20)))]):
        root = copy_set(t/f'set{k}')
        path = next(root.rglob(name)); path.unlink(); plant(path)
        tries += [refused(train(t, data=root, out=t/f'out{k}'), 1, name, idle=['training ']),
                  refused(cli(t, 'evaluate', fx.model, '--data', root, timeout=60), 1, name)]
    return tries

@case(G, 'fashion-gzip-bomb')
def _(t):
    "Kind 7: a Fashion-MNIST file that unpacks to 1 GB of zeros (1 MB packed): refused after reading the idx file's size."
    import gzip
    (t/'fm').mkdir()
    for name in ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'):
        with gzip.open(t/'fm'/f'{name}.gz', 'wb', compresslevel=1) as f:
            for _ in range(1024): f.write(bytes(1 << 20))
    r = run([*ENTRY, 'train', '--dataset', 'fashion-mnist', *SMALL, '--out', t/'out'], t, env=env(FASHION_MNIST=t/'fm'), timeout=120)
    return refused(r, 1, 'idx', idle=['training '])

@case(G, 'sizes-bounded')
def _(t):
    "Kinds 7 and 9: --width past what a GPU holds, --bs 1 (BatchNorm needs two images), for train and superres: usage errors naming the flag."
    return [refused(train(t, '--width', '8'), 2, '--width'), refused(train(t, '--bs', '1'), 2, '--bs'), refused(superres(t, '--bs', '1'), 2, '--bs')]

PLUGIN = '\n'.join(['import sys', 'from pathlib import Path', 'name, eps, code, folder = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])',
                    "(folder/f'{name}.py').write_text(code)", "info = folder/f'{name}-0.1.dist-info'; info.mkdir()",
                    "(info/'METADATA').write_text(f'Metadata-Version: 2.1' + chr(10) + f'Name: {name}' + chr(10) + 'Version: 0.1' + chr(10))",
                    "(info/'entry_points.txt').write_text('[tinyimagenet.recipes]' + chr(10) + f'{eps} = {name}' + chr(10))"])

@case(G, 'plugins-named')
def _(t):
    "Kind 8: an installed package that fails to import, has a syntax error, declares a recipe it never registers, or declares the"
    " built-in 'postact': train names the package in one line (exit 1), or keeps the built-in with a warning naming it."
    (t/'site').mkdir()
    for name, ep, code in [('broken_nets', 'broken', 'raise ImportError("needs timm")'), ('typo_nets', 'typo', 'def build(:'),
                           ('silent_nets', 'silent', ''), ('rival_nets', 'postact', 'raise SystemExit("rival_nets must not be imported")')]:
        subprocess.run([sys.executable, '-c', PLUGIN, name, ep, code, t/'site'], check=True)
    e = env(PYTHONPATH=t/'site')
    tries = [refused(run([*ENTRY, 'train', *SYN, *SMALL, '--data', fx.data, '--model', m, '--out', t/f'o-{m}'], t, env=e), 1, pkg, idle=['training '])
             for m, pkg in (('broken', 'broken_nets'), ('typo', 'typo_nets'), ('silent', 'silent_nets'))]
    r = run([*ENTRY, 'train', *SYN, *SMALL, '--data', fx.data, '--model', 'postact', '--out', t/'o-postact'], t, env=e)
    return tries + [works(r, 'rival_nets' in r.err and 'warning' in r.err and (t/'o-postact'/'model.pt').is_file(), 'the rival was not named, or the run failed')]

@case(G, 'outputs-never-inputs')
def _(t):
    "Kind 1: an output that is an input by another name (a hard link or a link to an input picture, a file of the data set or a hard"
    " link to one, the model's own metrics): refused before any work, every input unchanged."
    root = copy_set(t/'set')
    for name in ('a.png', 'b.png'): shutil.copy(fx.pic, t/name)
    os.link(t/'a.png', t/'a_2x.png'); (t/'b_2x.png').symlink_to(t/'b.png')
    os.link(root/'val'/'val_annotations.txt', t/'annotations.txt')
    run_dir = copy_run(fx.run, t/'run')
    keep = snapshot(root, t/'a.png', t/'b.png', run_dir)
    return [refused(cli(t, 'upscale', fx.unet, t/'a.png', '--out', t), 1, 'a_2x.png', keep=keep),
            refused(cli(t, 'upscale', fx.unet, t/'b.png', '--out', t), 1, 'b_2x.png', keep=keep),
            refused(cli(t, 'evaluate', run_dir/'model.pt', '--data', root, '--per-class', root/'val'/'val_annotations.txt'), 1, 'val_annotations.txt', keep=keep),
            refused(cli(t, 'evaluate', run_dir/'model.pt', '--data', root, '--per-class', t/'annotations.txt'), 1, 'annotations.txt', keep=keep),
            refused(cli(t, 'evaluate', run_dir/'model.pt', '--data', root, '--per-class', run_dir/'metrics.csv'), 1, 'metrics.csv', keep=keep),
            refused(cli(t, 'interpret', run_dir/'model.pt', '--data', root, '--out', root/'val'), 1, '--out', keep=keep)]

@case(G, 'torchrun-variables-stray')
def _(t):
    "Kind 2: a torchrun variable left in the shell (RANK alone, GROUP_RANK alone, WORLD_SIZE without MASTER_ADDR): said in one line"
    " naming it, never a check skipped (the --out holds a run) nor the output muted."
    copy_run(fx.run, t/'run')
    keep = snapshot(t/'run')
    full = dict(RANK='0', LOCAL_RANK='0', WORLD_SIZE='2', MASTER_PORT='29500')
    return [refused(run([*ENTRY, 'train', *SYN, *SMALL, '--data', fx.data, '--out', t/'run'], t, env=env(**stray)), 1, name, keep=keep, idle=['training '])
            for stray, name in ((dict(RANK='1'), 'RANK'), (dict(GROUP_RANK='1'), 'GROUP_RANK'), (full, 'MASTER_ADDR'))]

@case(G, 'planted-in-out')
def _(t):
    "Kind 3: a link planted where a command keeps its pid file in --out (to a file of the user's), or a folder there: refused, the file"
    " the link points at unchanged; train and superres."
    (t/'victim.txt').write_text('keep me')
    keep = snapshot(t/'victim.txt')
    (t/'o1').mkdir(); (t/'o1'/'.tinyimagenet.pid').symlink_to(t/'victim.txt')
    (t/'o2').mkdir(); (t/'o2'/'.tinyimagenet.pid').mkdir()
    return [refused(train(t, out=t/'o1'), 1, '.tinyimagenet.pid', keep=keep, idle=['training ']),
            refused(superres(t, out=t/'o2'), 1, '.tinyimagenet.pid', keep=keep, idle=['training '])]

@case(G, 'outside-text-forges-lines')
def _(t):
    "Kind 5: class names with newlines and carriage returns, a picture whose name holds a newline: predict and upscale print each"
    " on its own line, escaped; --json keeps them exact."
    lib(t, 'from tinyimagenet.classify import load_model, save_model; from tinyimagenet.config import TrainConfig\n'
           'm, meta = load_model(args[0])\n'
           'words = [w + ("\\n  0.999  Forged  (n00000000)" if i % 2 else "\\rOverwritten") for i, w in enumerate(meta["words"])]\n'
           'save_model(args[1], m, TrainConfig.from_dict(meta["config"]), meta["classes"], meta["data"], words)', fx.model, t/'forged.pt')
    shutil.copy(fx.pic, t/'two\nlines.png')
    p = cli(t, 'predict', t/'forged.pt', t/'two\nlines.png', '--top', '10')
    j = cli(t, 'predict', t/'forged.pt', t/'two\nlines.png', '--top', '10', '--json')
    u = cli(t, 'upscale', fx.unet, t/'two\nlines.png', '--out', t/'up')
    return [works(p, p.out.count('\n') == 11 and '\r' not in p.out and '\\n  0.999' in p.out, 'a line forged'),
            works(j, j.code == 0 and any('\n' in c['name'] for c in json.loads(j.out)[0]['top']), 'JSON not exact'),
            works(u, u.out.count('\n') == 1 and 'two\\nlines_2x.png' in u.out, 'a line forged')]

@case(G, 'user-errors-exit-1')
def _(t):
    "Kind 9: names longer than the file system allows (--per-class, upscale --out, --out), --threads 100000, a resume whose --seed"
    " differs: one line naming the flag or file and what to do, never exit 3."
    copy_run(fx.run, t/'run')
    long = 'x' * 300
    return [refused(cli(t, 'evaluate', fx.model, '--per-class', t/f'{long}.csv'), 1, 'shorter'),
            refused(cli(t, 'upscale', fx.unet, fx.pic, '--out', t/long), 1, 'shorter'),
            refused(train(t, out=t/long), 1, 'shorter', idle=['training ']),
            refused(train(t, '--threads', '100000'), 2, '--threads'),
            refused(run([*ENTRY, 'train', *SYN, *SMALL, '--data', fx.data, '--out', t/'run', '--resume'], t), 1, '--seed', '0')]

# The CLI in a process that says its peak resident memory (MB) on stderr as it ends.
PEAK = ('import resource, sys\nfrom tinyimagenet.cli import main\ncode = main(sys.argv[1:])\n'
        'print("peak", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10, "MB", file=sys.stderr)\nsys.exit(code)')

def png_header(path, w, h) -> Path:
    "A PNG file that claims `w`x`h` pixels and holds none: only a decoder would find out."
    import struct, zlib
    chunk = lambda kind, data: struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
    path.write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) + chunk(b'IEND', b''))
    return path

@case(G, 'upscale-memory-follows-tiles')
def _(t):
    "Kind 7: upscale of a thin 1x20,000 picture and a tall 20,000x1 one (PNGs of a few kB): twice their size, in a peak memory within"
    " 150 MB of an 8x8 picture's (whole, each would be padded to 32x40,000 pixels)."
    rng, sizes = np.random.default_rng(0), {'dot': (8, 8), 'thin': (1, 20_000), 'tall': (20_000, 1)}
    for name, (h, w) in sizes.items(): Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(t/f'{name}.png')
    runs = {name: run([sys.executable, '-c', PEAK, 'upscale', fx.unet, t/f'{name}.png', '--out', t/'up'], t, timeout=300) for name in sizes}
    peak = {name: int(m[1]) if (m := re.search(r'peak (\d+) MB', r.err)) else None for name, r in runs.items()}
    def right(name):
        (h, w), out = sizes[name], t/'up'/f'{name}_2x.png'
        return out.is_file() and Image.open(out).size == (2 * w, 2 * h) and None not in (peak[name], peak['dot']) and peak[name] - peak['dot'] < 150
    return [works(r, right(name), f'peak {peak[name]} MB against {peak["dot"]} MB for 8x8, or a wrong size') for name, r in runs.items()]

@case(G, 'upscale-over-bound')
def _(t):
    "Kind 7: pictures whose headers claim more pixels than upscale takes (6,000x5,000; 5,001x5,000 after a good picture), from the"
    " command and from upscale_images: refused from the header, naming the picture, the bound and what was written."
    huge, edge = png_header(t/'huge.png', 6000, 5000), png_header(t/'edge.png', 5001, 5000)
    code = 'from tinyimagenet.unet import load_unet, upscale_images\nupscale_images(load_unet(args[0]), args[1:-1], args[-1])'
    return [refused(cli(t, 'upscale', fx.unet, huge, '--out', t/'up'), 1, 'huge.png', '25,000,000'),
            refused(cli(t, 'upscale', fx.unet, fx.pic, edge, '--out', t/'up2'), 1, 'edge.png', '25,000,000', 'pic_2x.png'),
            refused(lib(t, code, fx.unet, huge, t/'up3'), 1, 'huge.png', '25,000,000')]

@case(G, 'upscale-interrupted')
def _(t):
    "Kind 9: SIGTERM and Ctrl-C (SIGINT) to upscale once its first picture is written: exit 143 and 130, one line naming the picture it"
    " was on and every picture on the disk, each complete."
    pics = [t/f'p{i}.png' for i in range(6)]
    for i, p in enumerate(pics): Image.fromarray(np.random.default_rng(i).integers(0, 256, (256, 256, 3), dtype=np.uint8)).save(p)
    tries = []
    for sig, status in ((signal.SIGTERM, 143), (signal.SIGINT, 130)):
        out = t/f'up-{sig.name}'
        p = Proc([*ENTRY, 'upscale', fx.unet, *pics, '--out', out], t)
        while not (out/'p0_2x.png').exists() and p.p.poll() is None: time.sleep(0.02)
        p.p.send_signal(sig)
        r = p.finish()
        written = sorted(f.name for f in out.iterdir()) if out.exists() else []
        listed = [n for n in (f'p{i}_2x.png' for i in range(len(pics))) if mentions(r.last, n)]
        if r.code is None or 'Traceback (most recent' in r.err: tries.append(Outcome('crash', r, 'a hang or a traceback'))
        elif r.code != status: tries.append(Outcome('unclear', r, f'exit {r.code}, not {status}'))
        elif listed != written or not written: tries.append(Outcome('unclear', r, f'lists {listed}, wrote {written}'))
        elif any(Image.open(out/n).size != (512, 512) for n in written): tries.append(Outcome('lost', r, 'a picture half-written'))
        else: tries.append(Outcome('clear', r) if len(r.errors) == 1 else Outcome('unclear', r, f'{len(r.errors)} lines on stderr'))
    return tries

@case(G, 'generated-set-full-disk')
def _(t):
    "Kind 9: a full disk (files capped at 300 bytes) while train writes the synthetic set and superres the Fashion-MNIST one: one"
    " line naming the set and what to do, no worker's traceback, nothing left in --data, no --out made."
    tries = []
    for command, dataset, name in (('train', 'synthetic', 'synthetic-10x10'), ('superres', 'fashion-mnist', 'fashion-mnist-10')):
        data = t/f'data-{command}'; data.mkdir()
        r = cli(t, command, '--dataset', dataset, '--train-per-class', '10', '--epochs', '1', '--data', data, '--out', t/f'out-{command}',
                preexec=file_limit(300))
        o = refused(r, 1, data/name, 'free', idle=['training '])
        left = [str(p) for p in data.iterdir()] + ([str(t/f'out-{command}')] if (t/f'out-{command}').exists() else [])
        tries.append(Outcome('unclear', r, f'left {left}') if o.verdict == 'clear' and left else
                     Outcome('unclear', r, 'a traceback in the line') if o.verdict == 'clear' and 'Traceback' in r.err else o)
    return tries

def main():
    global TMP, ENV, fx
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--only', nargs='+', metavar='NAME', help='run only these cases (names, globs, or group names)')
    p.add_argument('--list', action='store_true', help='list the cases and exit')
    p.add_argument('--keep', action='store_true', help='keep the temp folder (its path is printed)')
    p.add_argument('-v', '--verbose', action='store_true', help='print every try of every case')
    a = p.parse_args()
    chosen = [c for c in CASES if not a.only or any(fnmatch.fnmatch(c[1], o) or o in (c[1], c[0]) for o in a.only)]
    if a.list:
        for group, name, f in CASES: print(f'{group:<28} {name}')
        return 0
    if not chosen: p.error(f'no case matches {a.only}; see --list')
    TMP = Path(tempfile.mkdtemp(prefix='tinyimagenet-audit-'))
    ENV, fx = env(), Fixtures(TMP/'fixtures')
    fx.root.mkdir()
    start, tally, group, skipped, errors = time.monotonic(), {v: 0 for v in SEVERITY}, None, 0, 0
    print(f'{len(chosen)} of {len(CASES)} cases; temp folder {TMP}; {"root: mounts and mknod" if ROOT_OK else "no root: fallbacks"}', flush=True)
    try:
        for k, (g, name, f) in enumerate(chosen):
            if g != group: print(f'\n## {g}', flush=True); group = g
            t = TMP/f'{k:02d}'; t.mkdir()  # no words in the path: names are looked for in the messages
            t0 = time.monotonic()
            try: tries = f(t); tries = tries if isinstance(tries, list) else [tries]
            except Skip as e: print(f'{name:<38} skipped: {e}'); skipped += 1; continue
            except FixtureError as e: tries = [Outcome('crash', None, str(e))]
            except Exception as e:  # a bug of this script, not of the library
                print(f'{name:<38} AUDIT ERROR {type(e).__name__}: {e}'); errors += 1; continue
            o = worst(tries)
            tally[o.verdict] += 1
            last = '' if o.run is None else (o.run.last or (o.run.out.strip().splitlines() or [''])[-1])
            text = '; '.join(x for x in (o.why, last) if x).replace(str(TMP), '$TMP')
            print(f'{name:<38} {o.verdict:<15} {o.code:>4}  {text[:150]}  ({time.monotonic() - t0:.0f} s)', flush=True)
            for x in tries:
                if a.verbose or (x is not o and x.verdict != 'clear'):
                    line = f'{x.run.label[-110:]}  =>  {"; ".join(w for w in (x.why, x.run.last) if w)}' if x.run else x.why
                    print(f'{"":<6}try: {x.verdict:<15} {x.code:>4}  {line}'.replace(str(TMP), '$TMP')[:260])
            if not a.keep: shutil.rmtree(t, ignore_errors=True)
    finally:
        if not a.keep: shutil.rmtree(TMP, ignore_errors=True)
        else: print(f'kept {TMP}')
    n = sum(tally.values())
    print(f'\nclear or correct {tally["clear"]}, unclear {tally["unclear"]}, silently wrong {tally["silently wrong"]}, '
          f'lost {tally["lost"]}, crash {tally["crash"]} (of {n} cases)' + (f'; {skipped} skipped' if skipped else '') +
          (f'; {errors} AUDIT ERRORS' if errors else '') + f' in {time.monotonic() - start:.0f} s')
    return 2 if errors else 1 if tally['silently wrong'] or tally['lost'] or tally['crash'] else 0

if __name__ == '__main__': sys.exit(main())
