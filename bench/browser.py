"""The dashboard measured in a real Chromium driving the real server (`tracker dashboard`).

An in-page probe (installed before any script of the page runs, through the DevTools
protocol) checks on every animation frame whether the movements chart has drawn its series,
and records `performance.now()` then: *first chart painted* is that time, from the start of
navigation. An interaction is started from the page itself (a click dispatched in JS, its
time noted) and ends on the first frame whose chart shows the new state. The payload is the
bytes the page received (`performance` resource entries: the page, its scripts and every
callback response), and separately the largest callback response (the figure).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")

PROBE = """
window.__probe = {painted: null, done: null, t0: null, want: null};
(function loop() {
  const gd = document.querySelector('#movements-graph .js-plotly-plot');
  const p = window.__probe;
  if (gd && gd.data && gd._fullLayout) {
    const series = gd.data.filter(t => t.meta && t.meta.role === 'series').length;
    const meta = gd.layout.meta || {};
    if ((series || (meta.empty && !meta.loading)) && p.painted === null) {
      p.painted = performance.now();  // the chart, or the empty database's message
    }
    if (p.want && p.done === null && p.want(gd)) { p.done = performance.now(); }
  }
  requestAnimationFrame(loop);
})();
"""

# (name, JS that starts the interaction, JS predicate on the graph `gd` that ends it)
INTERACTIONS = (
    ("view: change between captures",
     "document.querySelector(\"#view input[value='change']\").click()",
     "gd => gd.layout.meta && gd.layout.meta.view === 'change'"),
    ("range: 1M button",
     "[...document.querySelectorAll('#movements-graph .rangeselector .button')]"
     ".find(b => b.textContent === '1M').dispatchEvent(new MouseEvent('click', {bubbles: true}))",
     "gd => gd.layout.meta && gd.layout.meta.visible !== null"),
    ("currency: untick KGS",
     "document.querySelector(\"#currencies input[value='KGS']\").click()",
     "gd => !gd.data.some(t => t.meta && t.meta.role === 'series' && t.meta.label === 'KGS')"),
    ("a click on a finding (table row)",
     "document.querySelector(\"#findings-table td[data-dash-column='kind']\").click()",
     "gd => gd.data.some(t => t.meta && t.meta.role === 'selection')"),
)

PAYLOAD = """
const entries = performance.getEntriesByType('resource');
const nav = performance.getEntriesByType('navigation')[0];
const size = e => e.encodedBodySize || e.transferSize || 0;
const callbacks = entries.filter(e => e.name.includes('_dash-update-component'));
return {total: entries.reduce((a, e) => a + size(e), 0) + (nav ? size(nav) : 0),
        largest: Math.max(0, ...callbacks.map(size)), callbacks: callbacks.length};
"""


@dataclass
class Result:
    first_paint_s: float
    payload_bytes: int
    largest_response_bytes: int
    interactions: dict[str, float] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(db: Path, port: int) -> subprocess.Popen[bytes]:
    """The real command, as a user starts it; returns once it answers."""
    tracker = Path(sys.executable).with_name("tracker")
    proc = subprocess.Popen([str(tracker), "dashboard", "--db", str(db), "--port", str(port),
                             "--refresh", "3600"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
            return proc
        except OSError:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else "died"
                raise RuntimeError(err) from None
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("the dashboard did not answer within 60 s")


def browser(width: int = 1400, height: int = 1000):  # type: ignore[no-untyped-def]
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options

    options = Options()
    if CHROMIUM.exists():
        options.binary_location = str(CHROMIUM)
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--no-first-run", f"--window-size={width},{height}",
                f"--user-data-dir={tempfile.mkdtemp(prefix='bench-chromium-')}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PROBE})
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
    return driver


def wait(driver, script: str, timeout: float = 60.0) -> object:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value is not None:
            return value
        time.sleep(0.02)
    raise TimeoutError(f"timed out waiting for: {script}")


def measure(db: Path, *, interactions: bool = True, settle: float = 1.0) -> Result:
    """Start the server, load the page in a fresh browser, time the first chart and each
    interaction (each from a settled page), and read the payload."""
    port = free_port()
    server = serve(db, port)
    driver = browser()
    try:
        driver.get(f"http://127.0.0.1:{port}/")
        painted = float(wait(driver, "return window.__probe.painted"))  # type: ignore[arg-type]
        time.sleep(settle)  # let the tables and the timeline arrive
        payload = driver.execute_script(PAYLOAD)
        result = Result(painted / 1000, int(payload["total"]), int(payload["largest"]))
        for name, start, done in INTERACTIONS if interactions else ():
            driver.execute_script(f"const p = window.__probe; p.done = null; p.want = {done};"
                                  f"p.t0 = performance.now(); {start};")
            end = float(wait(driver, "return window.__probe.done"))  # type: ignore[arg-type]
            t0 = float(driver.execute_script("return window.__probe.t0"))
            result.interactions[name] = (end - t0) / 1000
            time.sleep(settle)
        return result
    finally:
        driver.quit()
        server.terminate()
        server.wait(timeout=20)
