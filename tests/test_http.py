"""The polite client (`tracker.http`) against real loopback servers: deadlines, stop requests,
the rate limit, refusals with `Retry-After`. Fetch-specific failures are in test_fetch.py."""

from __future__ import annotations

import email.utils
import itertools
import signal
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import httpx
import pandas as pd
import pytest

from tracker.errors import FetchError, RefusedError
from tracker.fetch import fetch
from tracker.http import Client, retry_after
from tracker.read import to_frame
from tracker.store import Store

from .fakearchive import FakeArchive, serving
from .test_fetch import Route, Site, drip, running_site
from .test_schedule import finish, read, tracker, wait_for


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with running_site(monkeypatch) as s:
        yield s


def finished_runs(store: Store) -> list[pd.DataFrame]:
    """[the runs] once there are some and all have finished, else []."""
    runs = to_frame(store.runs())
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
    errors = read(db_path, lambda s: dict(zip(*to_frame(s.input_errors())[["source", "reason"]].T.values,
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
    runs = read(db_path, lambda s: to_frame(s.runs()))
    assert "stopped: 1 page left for the next run" in runs.iloc[0]["error"]
    assert read(db_path, lambda s: len(s.input_errors())) == 0 and site.hits["/trickle"] == 1


# -- politeness, against the fake archive --------------------------------------------------

@pytest.fixture
def archive(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeArchive]:
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with serving(FakeArchive()) as served:
        served.add("20251210083000", "https://timesca.com/", b"<html>page</html>")
        yield served


def gaps(archive: FakeArchive) -> list[float]:
    times = [t for t, _ in archive.log]
    return [b - a for a, b in itertools.pairwise(times)]


def test_the_rate_limit_holds_across_threads(archive):
    """120 requests a minute is one every 0.5 s, whoever asks: 4 threads × 3 requests."""
    url = f"{archive.base}/web/20251210083000id_/https://timesca.com/"
    with Client(rate=120) as client:
        threads = [threading.Thread(target=lambda: [client.get(url, max_bytes=1000)
                                                    for _ in range(3)]) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(archive.log) == 12 and client.requests == 12
    assert archive.most_in_window(1.0) <= 3  # 2, and one for arrival jitter; unlimited: 12
    assert archive.most_in_window(3.0) <= 7


@pytest.mark.parametrize(("status", "header"), [(429, "1"), (429, "date"), (503, "1")])
def test_retry_after_is_waited_out_in_seconds_or_as_an_http_date(archive, status, header):
    archive.faults.refuse, archive.faults.refuse_status = 2, status
    archive.faults.retry_after = (
        email.utils.formatdate(time.time() + 2, usegmt=True) if header == "date" else header)
    url = f"{archive.base}/web/20251210083000id_/https://timesca.com/"
    with Client(backoff=0.01) as client:
        assert client.get(url, max_bytes=1000).body == b"<html>page</html>"
    assert len(archive.log) == 3
    if header == "date":  # a moment at least 1 s ahead (whole seconds): nothing before it
        assert archive.log[-1][0] - archive.log[0][0] >= 0.9
    else:
        assert all(gap >= 0.9 for gap in gaps(archive))  # asked to wait: never at once


def test_a_429_without_retry_after_backs_off_and_holds_the_whole_client(archive):
    archive.faults.refuse, archive.faults.retry_after = 1, None
    url = f"{archive.base}/web/20251210083000id_/https://timesca.com/"
    with Client(backoff=0.5, rate=6000) as client:
        assert client.get(url, max_bytes=1000).status == 200
    assert len(archive.log) == 2 and gaps(archive)[0] >= 0.35  # 0.5 s ± 25%


def test_a_refusal_storm_ends_with_a_clear_error_after_a_few_tries(archive):
    archive.faults.refuse, archive.faults.retry_after = 100, "0"
    url = f"{archive.base}/cdx/search/cdx?url=timesca.com"
    with Client(max_refusals=3) as client, pytest.raises(RefusedError) as info:
        client.get(url, max_bytes=1000)
    assert info.value.reason == ("HTTP 429 Too Many Requests: refused 3 times in a row; stopped "
                                 "asking (wait a while, then run the same command again)")
    assert info.value.source == url and len(archive.log) == 3


def test_a_retry_after_longer_than_the_client_waits_is_an_error_at_once(archive):
    archive.faults.refuse, archive.faults.retry_after = 100, "7200"
    with Client() as client, pytest.raises(RefusedError, match="asked to wait 7200 s, more than"):
        client.get(f"{archive.base}/", max_bytes=1000)
    assert len(archive.log) == 1


@pytest.mark.parametrize("where", ["retry-after", "rate-limit", "stalled answer"])
def test_a_stop_request_ends_any_wait_promptly(archive, where):
    url = f"{archive.base}/web/20251210083000id_/https://timesca.com/"
    if where == "retry-after":
        archive.faults.refuse, archive.faults.retry_after = 5, "300"
    if where == "stalled answer":
        archive.faults.stall = 300
    stop = threading.Event()
    with Client(rate=1, timeout=300, stop=stop) as client:
        if where == "rate-limit":
            client.get(url, max_bytes=1000)  # the next slot is a minute away
        threading.Timer(0.3, stop.set).start()
        started = time.monotonic()
        with pytest.raises(FetchError, match="stopping"):
            client.get(url, max_bytes=1000)
    assert time.monotonic() - started < 30  # (the waits are 60 and 300 s)


def test_a_stalled_server_times_out_per_attempt(archive):
    archive.faults.stall = 30
    with Client(timeout=0.5, retries=1, backoff=0.01) as client, pytest.raises(FetchError) as info:
        client.get(f"{archive.base}/", max_bytes=1000)
    assert info.value.reason == "timed out after 0.5 s waiting for the answer (2 attempts)"


def test_a_range_answer_is_only_accepted_with_the_status_asked_for(archive):
    """`ok` names the statuses that count as an answer; others say what was expected."""
    with Client() as client, pytest.raises(FetchError, match="HTTP 200 OK: only HTTP 206 is"):
        client.get(f"{archive.base}/web/20251210083000id_/https://timesca.com/",
                   max_bytes=1000, ok=(206,))


@pytest.mark.parametrize(("value", "seconds"), [
    ("120", 120.0), (" 5 ", 5.0), ("soon", None), ("-3", None), (None, None),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past: no wait
])
def test_retry_after_values(value, seconds):
    assert retry_after(value) == seconds


@pytest.fixture
def unanswered() -> Iterator[str]:
    """An address whose connects hang: a listening socket with a full accept queue drops SYNs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    queued = [socket.socket() for _ in range(4)]
    for s in queued:
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
    yield f"http://127.0.0.1:{port}/"
    for s in [*queued, server]:
        s.close()


def test_connecting_is_bounded_by_the_deadline_and_cut_short_by_a_stop(unanswered, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with Client(timeout=0.5, retries=0) as client, pytest.raises(FetchError) as info:
        client.get(unanswered, max_bytes=10)
    assert info.value.reason == "timed out after 0.5 s connecting (1 attempt)"
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    with Client(timeout=300, stop=stop) as client, pytest.raises(FetchError, match="stopping"):
        client.get(unanswered, max_bytes=10)
    assert time.monotonic() - started < 30  # (the time limit is 300 s)


def test_the_transport_is_swappable(archive):
    """Any httpx transport carries the requests (the deadline is then checked between chunks)."""
    url = f"{archive.base}/web/20251210083000id_/https://timesca.com/"
    with Client(transport=httpx.HTTPTransport(retries=0)) as client:
        assert client.get(url, max_bytes=1000).body == b"<html>page</html>"
    assert len(archive.log) == 1


def test_a_stop_request_ends_a_body_download_in_progress(site):
    site.routes["/drip"] = drip(site, 120)  # a few bytes every 0.05 s: no read ever waits long
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    with pytest.raises(FetchError, match="not fetched: stopping"):
        fetch(site.url("/drip"), timeout=300, stop=stop)
    assert time.monotonic() - started < 30 and site.hits["/drip"] == 1
