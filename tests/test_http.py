"""The polite client (`tracker.http`) against real loopback servers: deadlines, stop requests,
the rate limit, refusals with `Retry-After`. Fetch-specific failures are in test_fetch.py."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pandas as pd
import pytest

from tracker.store import Store

from .test_fetch import Route, Site, running_site
from .test_schedule import finish, read, tracker, wait_for


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with running_site(monkeypatch) as s:
        yield s


def finished_runs(store: Store) -> list[pd.DataFrame]:
    """[the runs] once there are some and all have finished, else []."""
    runs = store.runs()
    return [runs] if len(runs) and runs["finished"].notna().all() else []


def trickle(site: Site) -> Route:
    """The status line, then header bytes one every 0.1 s: every read is quick, the whole never
    ends (until the test lets it go)."""
    def route(h: BaseHTTPRequestHandler) -> None:
        h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Slow: ")
        try:
            while not site.release.wait(0.1):
                h.wfile.write(b"a")
                h.wfile.flush()
        except OSError:
            pass  # the client hung up: expected
        h.close_connection = True
    return route


def test_a_server_trickling_its_headers_cannot_stretch_the_time_limit(site, db_path):
    """`--timeout 1` bounds each attempt as a whole: 3 attempts (2 retries) and the backoff
    between them, not minutes of one header byte at a time."""
    site.routes["/trickle"] = trickle(site)
    url = site.url("/trickle")
    proc = tracker("schedule", "--db", db_path, "--url", url, "--every", "1h", "--timeout", "1")
    try:
        [runs] = wait_for(lambda: read(db_path, finished_runs), what="the fetch run")
    finally:
        rc, stderr = finish(proc, signal.SIGTERM)
    assert rc == 0 and "Traceback" not in stderr, stderr
    errors = read(db_path, lambda s: dict(zip(*s.input_errors()[["source", "reason"]].T.values,
                                              strict=True)))
    assert errors[url] == "fetch failed: timed out after 1 s waiting for the answer (3 attempts)"
    assert runs.iloc[0]["rejected"] == 1 and site.hits["/trickle"] == 3


def test_sigterm_stops_a_fetch_in_progress_promptly(site, db_path):
    """A scheduler stopping (SIGTERM) does not wait out a long `--timeout` on a trickling site;
    the page is left for the next run, not recorded as failed."""
    site.routes["/trickle"] = trickle(site)
    url = site.url("/trickle")
    proc = tracker("schedule", "--db", db_path, "--url", url, "--every", "1h", "--timeout", "600")
    try:
        wait_for(lambda: site.hits["/trickle"], what="the fetch to start")
        time.sleep(0.5)  # well into the trickle
    finally:
        sent = time.monotonic()
        rc, stderr = finish(proc, signal.SIGTERM)
    assert time.monotonic() - sent < 60  # (the time limit is 600 s)
    assert rc == 0 and "Traceback" not in stderr, stderr
    runs = read(db_path, lambda s: s.runs())
    assert "stopped: 1 page(s) left for the next run" in runs.iloc[0]["error"]
    assert read(db_path, lambda s: len(s.input_errors())) == 0 and site.hits["/trickle"] == 1
