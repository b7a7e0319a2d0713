"""Headless Chromium, driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`).

The pipe protocol is JSON messages ending in a NUL byte, written to the browser's fd 3 and read from its fd 4, so no WebSocket
library or browser-automation package is needed: only a `chromium` executable (Debian: `apt-get install chromium`).

    with Chromium() as browser:
        page = browser.open(Path('site/index.html'))   # load the page, wait for its load event
        page.evaluate('document.title')                # run JavaScript in it, get the value back
        page.errors                                    # console errors, uncaught exceptions, failed loads
        png = page.screenshot()                        # the top of the page, as PNG bytes
"""
import base64, fcntl, json, os, select, shutil, subprocess, tempfile, time
from pathlib import Path

EXECUTABLES = ('chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable')

class ChromiumError(RuntimeError): "The browser is missing, died, did not answer, or refused a DevTools call."

def find_chromium() -> str:
    "The path of a Chromium executable on `$PATH`, or an error that says how to install one."
    for name in EXECUTABLES:
        if path := shutil.which(name): return path
    raise ChromiumError(f"no Chromium found on PATH (looked for {', '.join(EXECUTABLES)}): "
                            "install it, e.g. `apt-get install chromium` on Debian")

class Chromium:
    "One headless browser; `open` loads pages in it one after another."
    def __init__(self, width=1200, height=2000, timeout=30.0):
        self.width, self.height, self.timeout = width, height, timeout
        self._next_id, self._buffer, self._events = 0, b'', []

    def __enter__(self):
        exe = find_chromium()
        self._profile = tempfile.TemporaryDirectory(prefix='chromium-')
        self._log = open(Path(self._profile.name)/'stderr.log', 'w+b')
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        def give_pipes():  # in the child: the protocol's fds 3 and 4, by way of high fds so neither clobbers the other
            a, b = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3); os.dup2(b, 4)
        args = [exe, '--headless', '--remote-debugging-pipe', f'--user-data-dir={self._profile.name}',
                '--no-first-run', '--no-default-browser-check', '--disable-gpu', '--disable-extensions',
                '--disable-background-networking', '--disable-component-update', '--hide-scrollbars', '--mute-audio',
                f'--window-size={self.width},{self.height}', 'about:blank']
        if os.geteuid() == 0: args.insert(1, '--no-sandbox')  # Chromium refuses to run as root with its sandbox
        self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                                      preexec_fn=give_pipes, close_fds=False)
        os.close(to_browser_r); os.close(from_browser_w)
        return self

    def __exit__(self, *exc):
        try: self.send('Browser.close')
        except Exception: pass
        try: self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired: self._proc.kill(); self._proc.wait()
        os.close(self._to_browser); os.close(self._from_browser)
        self._log.close(); self._profile.cleanup()

    def _died(self, what) -> ChromiumError:
        self._log.seek(0)
        tail = self._log.read().decode(errors='replace').strip().splitlines()[-5:]
        return ChromiumError(f'Chromium {what}; its last words: ' + ' | '.join(tail))

    def _read_message(self, deadline) -> dict:
        while b'\0' not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise self._died(f'did not answer within {self.timeout:.0f} s')
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk: raise self._died('closed the DevTools pipe')
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b'\0', 1)
        return json.loads(message)

    def send(self, method, session=None, **params) -> dict:
        "Call DevTools `method` (in the page `session`, else on the browser) and return its result."
        self._next_id += 1
        message = {'id': self._next_id, 'method': method, 'params': params}
        if session: message['sessionId'] = session
        os.write(self._to_browser, json.dumps(message).encode() + b'\0')
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get('id') != self._next_id: self._events.append(reply); continue
            if 'error' in reply: raise ChromiumError(f"DevTools {method}: {reply['error'].get('message')}")
            return reply['result']

    def wait_for(self, event, session) -> dict:
        "Read messages until `event` arrives for `session`, keeping the others."
        deadline = time.monotonic() + self.timeout
        seen = 0
        while True:
            for message in self._events[seen:]:
                if message.get('method') == event and message.get('sessionId') == session: return message
            seen = len(self._events)
            self._events.append(self._read_message(deadline))

    def open(self, path: Path) -> 'Page':
        "Load the file `path` in a new tab and wait for its load event."
        target = self.send('Target.createTarget', url='about:blank')['targetId']
        session = self.send('Target.attachToTarget', targetId=target, flatten=True)['sessionId']
        for domain in ('Page', 'Runtime', 'Log', 'Network'): self.send(f'{domain}.enable', session)
        self.send('Emulation.setDeviceMetricsOverride', session, width=self.width, height=self.height,
                  deviceScaleFactor=1, mobile=False)
        self._events.clear()
        self.send('Page.navigate', session, url=Path(path).resolve().as_uri())
        self.wait_for('Page.loadEventFired', session)
        return Page(self, session, target)

class Page:
    "A loaded page: evaluate JavaScript in it, read what went wrong while loading, take screenshots."
    def __init__(self, browser, session, target): self.browser, self.session, self.target = browser, session, target

    def evaluate(self, expression):
        "The value of the JavaScript `expression` in the page (JSON-serialisable values only)."
        reply = self.browser.send('Runtime.evaluate', self.session, expression=expression, returnByValue=True)
        if 'exceptionDetails' in reply:
            raise ChromiumError(f"JavaScript failed: {reply['exceptionDetails'].get('exception', {}).get('description')}")
        return reply['result'].get('value')

    @property
    def errors(self) -> list:
        "Console errors, uncaught exceptions, failed loads and requests that left the machine, one line each."
        out = []
        for m in self.browser._events:
            if m.get('sessionId') != self.session: continue
            method, params = m.get('method'), m.get('params', {})
            if method == 'Runtime.consoleAPICalled' and params['type'] in ('error', 'assert'):
                out.append('console error: ' + ' '.join(str(a.get('value', a.get('description', ''))) for a in params['args']))
            elif method == 'Runtime.exceptionThrown':
                details = params['exceptionDetails']
                out.append('uncaught exception: ' + details.get('exception', {}).get('description', details.get('text', '')))
            elif method == 'Log.entryAdded' and params['entry']['level'] == 'error':
                entry = params['entry']
                out.append(f"console error: {entry['text']}" + (f" ({entry['url'][:100]})" if entry.get('url') else ''))
            elif method == 'Network.requestWillBeSent' and not params['request']['url'].startswith(('file:', 'data:', 'about:')):
                out.append(f"fetches {params['request']['url'][:100]} from the network (pages must work offline)")
        return out

    def screenshot(self, top=0, height=None) -> bytes:
        "A PNG of the page from `top`, `height` pixels tall (the window's height by default)."
        clip = dict(x=0, y=top, width=self.browser.width, height=height or self.browser.height, scale=1)
        data = self.browser.send('Page.captureScreenshot', self.session, format='png', clip=clip, captureBeyondViewport=True)['data']
        return base64.b64decode(data)

    def close(self): self.browser.send('Target.closeTarget', targetId=self.target)
