"""`tracker dashboard` as a user runs it: a real process, a real loopback HTTP server."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from dashboards import ids as I
from tests.dashboard import corpus
from tests.test_schedule import drop, read, wait_for


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


def serve(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tracker", "dashboard", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_up(proc: subprocess.Popen, url: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the dashboard exited ({proc.returncode}): {proc.stderr.read()}")
        try:
            status, body = get(url)
        except OSError:
            time.sleep(0.2)
            continue
        assert status == 200
        return body
    pytest.fail(f"the dashboard did not answer on {url} within {timeout} s")


def test_dashboard_command_serves_on_loopback_without_debug(corpus_db, free_port):
    proc = serve("--db", str(corpus_db), "--port", str(free_port))
    try:
        page = wait_up(proc, f"http://127.0.0.1:{free_port}/")
        config = json.loads(re.search(r'<script id="_dash-config" type="application/json">'
                                      r"(.*?)</script>", page, re.S).group(1))
        assert config["ui"] is False  # no dev tools: debug mode is off
        layout = get(f"http://127.0.0.1:{free_port}/_dash-layout")[1]
        assert I.GRAPH in layout
        listening = {c.laddr.ip for c in psutil.Process(proc.pid).net_connections("inet")
                     if c.status == psutil.CONN_LISTEN}
        assert listening == {"127.0.0.1"}
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert f"dashboard for {corpus_db} on http://127.0.0.1:{free_port}/" in err


def test_dashboard_help_shows_the_options():
    out = subprocess.run([sys.executable, "-m", "tracker", "dashboard", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for option in ("--db", "--host", "--port", "--debug", "--refresh"):
        assert option in out
    assert "127.0.0.1" in out and "8050" in out


def test_a_bad_port_is_a_usage_error():
    proc = subprocess.run([sys.executable, "-m", "tracker", "dashboard", "--port", "0"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "--port" in proc.stderr


def schedulers(proc: subprocess.Popen) -> list[psutil.Process]:
    return [p for p in psutil.Process(proc.pid).children(recursive=True)
            if "schedule" in p.cmdline()]


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug-reloader"])
def test_the_dashboard_can_run_one_scheduler_beside_it(tmp_path, free_port, debug):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    db = tmp_path / "db" / "tracker.duckdb"
    drop(inbox, "first.txt", corpus.page_bytes(offset=1), age=10)
    proc = serve("--db", str(db), "--port", str(free_port), "--watch", str(inbox),
                 "--every", "1s", *(["--debug"] if debug else []))
    try:
        wait_up(proc, f"http://127.0.0.1:{free_port}/")
        ingested = lambda: read(db, lambda s: s.counts()["ingested"])  # noqa: E731
        wait_for(lambda: ingested() == 1, what="the first file ingested")
        drop(inbox, "second.txt", corpus.page_bytes(offset=2), age=10)
        wait_for(lambda: ingested() == 2, what="a file dropped later ingested")
        running = schedulers(proc)
        assert len(running) == 1  # one scheduler, also under the debug reloader
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=40)
    assert not running[0].is_running()  # it stopped with the dashboard
    assert "stopping the scheduler after its batch in progress" in err
    assert proc.returncode == 0, err


def test_every_without_a_source_is_a_usage_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tracker", "dashboard", "--every", "5s",
                           "--db", str(tmp_path / "x.duckdb")], capture_output=True, text=True)
    assert proc.returncode == 2 and "--every needs --watch DIR or --url URL" in proc.stderr
