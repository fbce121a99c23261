"""`tracker dashboard` as a user runs it: a real process, a real loopback HTTP server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from dashboards import ids as I


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
