"""`tracker dashboard` as a user runs it: a real process, a real loopback HTTP server."""

from __future__ import annotations

import json
import os
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


def _auth(user: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def get_with(url: str, authorization: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": authorization} if authorization else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except urllib.error.URLError:  # not listening yet
        return 0, ""


@pytest.mark.parametrize("watch", [False, True], ids=["alone", "with-a-scheduler"])
def test_a_busy_port_is_a_clear_error_with_exit_status_3(tmp_path, free_port, watch):
    """The one line says so, and nothing before it claims a dashboard or starts a scheduler."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port))
        taken.listen()
        proc = subprocess.run([sys.executable, "-m", "tracker", "dashboard", "--db",
                               str(tmp_path / "t.duckdb"), "--port", str(free_port),
                               *(["--watch", str(tmp_path)] if watch else [])],
                              capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.splitlines() == [
        f"error: cannot listen on 127.0.0.1:{free_port}: the port is in use by another "
        "process; choose another with --port"], proc.stderr
    assert not (tmp_path / "t.duckdb.schedule.lock").exists()  # no scheduler was started


def test_requests_are_not_logged_unless_verbose(corpus_db, free_port):
    for verbose in (False, True):
        proc = serve("--db", str(corpus_db), "--port", str(free_port),
                     *(["--verbose"] if verbose else []))
        try:
            wait_up(proc, f"http://127.0.0.1:{free_port}/")
            get(f"http://127.0.0.1:{free_port}/_dash-layout")
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=10)
        assert ("GET /_dash-layout 200 OK" in err) is verbose, err
        assert "development server" not in err


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "example.org"])
def test_a_network_address_needs_read_only_or_a_password(tmp_path, free_port, host):
    proc = subprocess.run([sys.executable, "-m", "tracker", "dashboard", "--host", host,
                           "--port", str(free_port), "--db", str(tmp_path / "t.duckdb")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "reachable from the network without authentication" in proc.stderr
    assert "--read-only" in proc.stderr and "--password-file" in proc.stderr


def test_read_only_on_the_network_serves_without_upload(corpus_db, free_port):
    proc = serve("--db", str(corpus_db), "--host", "0.0.0.0", "--port", str(free_port), "--read-only")
    try:
        wait_up(proc, f"http://127.0.0.1:{free_port}/")
        layout = get(f"http://127.0.0.1:{free_port}/_dash-layout")[1]
        deps = get(f"http://127.0.0.1:{free_port}/_dash-dependencies")[1]
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert I.GRAPH in layout and f'"id":"{I.UPLOAD}"' not in layout
    assert f'"id":"{I.UPLOAD}"' not in deps  # no callback could take a file either


@pytest.mark.parametrize("content", ["", "no-colon\n", ":password\n", "user:\n"])
def test_a_malformed_password_file_is_a_usage_error(tmp_path, content):
    secret = tmp_path / "secret"
    secret.write_text(content)
    proc = subprocess.run([sys.executable, "-m", "tracker", "dashboard", "--host", "0.0.0.0",
                           "--password-file", str(secret), "--db", str(tmp_path / "t.duckdb")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "must hold one line `user:password`" in proc.stderr


def test_a_password_file_guards_every_request(corpus_db, tmp_path, free_port):
    secret = tmp_path / "secret"
    secret.write_text("analyst:s3cret:with:colons\n")
    proc = serve("--db", str(corpus_db), "--host", "0.0.0.0", "--port", str(free_port),
                 "--password-file", str(secret))
    base = f"http://127.0.0.1:{free_port}"
    good = _auth("analyst", "s3cret:with:colons")
    try:
        deadline = time.monotonic() + 30
        while get_with(base + "/", good)[0] != 200:
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.2)
        for path in ("/", "/_dash-layout", "/_dash-dependencies"):
            assert get_with(base + path)[0] == 401
            assert get_with(base + path, _auth("analyst", "wrong"))[0] == 401
            assert get_with(base + path, "Basic !!notbase64")[0] == 401
            assert get_with(base + path, good)[0] == 200
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_a_callback_request_the_page_never_sends_is_one_line_not_a_traceback(corpus_db, free_port):
    """Anyone who reaches the server can post any callback request: a wrong one is answered
    500 with no traceback in the body or on stderr, one escaped line names it, and the
    server goes on answering."""
    proc = serve("--db", str(corpus_db), "--port", str(free_port))
    base = f"http://127.0.0.1:{free_port}"
    try:
        wait_up(proc, base + "/")
        deps = json.loads(get(base + "/_dash-dependencies")[1])
        spec = next(d for d in deps if any(i["id"] == I.FINDINGS_KIND for i in d["inputs"]))
        body = {"output": spec["output"], "outputs": [], "changedPropIds": [],
                "inputs": [{**i, "value": "\x1b]0;owned\x07"} for i in spec["inputs"]],
                "state": [{**s, "value": 7} for s in spec["state"]]}
        request = urllib.request.Request(base + "/_dash-update-component",
                                         data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as answered:
            urllib.request.urlopen(request, timeout=10)
        assert answered.value.code == 500
        assert "Traceback" not in answered.value.read().decode()
        assert get(base + "/_dash-layout")[0] == 200  # still serving
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "Traceback" not in err and "\x1b" not in err
    failed = [line for line in err.splitlines() if "failed" in line]
    assert len(failed) == 1 and failed[0].startswith(
        "error: dashboard: POST /_dash-update-component failed ("), err


def test_ctrl_c_stops_the_companion_once_after_its_batch(tmp_path, free_port):
    """A terminal's Ctrl-C reaches the whole foreground process group. The companion must not
    get it besides the dashboard's SIGTERM: two signals would stop it at once, mid-batch,
    leaving its `runs` row unfinished."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(1500):
        drop(inbox, f"s{i}.txt", corpus.page_bytes(offset=i), age=60)
    db = tmp_path / "tracker.duckdb"
    log = tmp_path / "stderr.txt"
    with log.open("w") as err:
        proc = subprocess.Popen(  # its own session, as a shell gives a foreground job
            [sys.executable, "-m", "tracker", "dashboard", "--db", str(db), "--port",
             str(free_port), "--watch", str(inbox)], stdout=subprocess.DEVNULL, stderr=err,
            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            wait_up(proc, f"http://127.0.0.1:{free_port}/")
            wait_for(lambda: (read(db, lambda s: s.counts()["ingested"]) or 0) > 0,
                     what="the companion's first batch")
        finally:
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
            proc.wait(timeout=60)
    stderr = log.read_text()
    assert proc.returncode == 0, stderr
    assert "second signal" not in stderr and "scheduler stopped" in stderr, stderr
    unfinished = read(db, lambda s: s.con.execute(
        "SELECT count(*) FROM runs WHERE finished IS NULL").fetchone()[0])
    assert unfinished == 0, stderr
