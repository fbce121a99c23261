"""Fetching pages from a real loopback HTTP server: good pages, and every way a fetch fails."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tracker import __version__
from tracker.errors import FetchError
from tracker.fetch import USER_AGENT, fetch
from tracker.jobs import fetch_once
from tracker.read import to_frame
from tracker.store import Store
from tracker.synthetic import TickerEntry, render_html, render_text

DAY = dt.date(2025, 12, 10)
RATES = {"KGS": "0.01144", "KZT": "0.00193", "TJS": "0.10811", "UZS": "0.00008", "TMT": "0.28490"}
LIMIT = 64 * 1024


def snapshot(day: dt.date | None = DAY, kgs: str = "0.01144", html: bool = False) -> bytes:
    """A small page: 5 ticker lines × 2 copies, the header date line, one paragraph."""
    entries = [TickerEntry(c, kgs if c == "KGS" else r, "0") for c, r in RATES.items()]
    render = render_html if html else render_text
    return render(entries, day=day, copies=2, body=["Freight news."]).encode()


Route = Callable[[BaseHTTPRequestHandler], None]


class Site:
    """A loopback web server whose pages are functions; it counts hits and keeps User-Agents."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.agents: list[str | None] = []
        self.release = threading.Event()  # lets slow handlers go at teardown
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.hits[self.path] += 1
                site.agents.append(self.headers.get("User-Agent"))
                route = site.routes.get(self.path)
                if route is None:
                    reply(self, 404, b"not here", "text/plain")
                else:
                    route(self)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"


def reply(h: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str | None,
          extra: dict[str, str] | None = None) -> None:
    h.send_response(status)
    if ctype:
        h.send_header("Content-Type", ctype)
    h.send_header("Content-Length", str(len(body)))
    for key, value in (extra or {}).items():
        h.send_header(key, value)
    h.end_headers()
    h.wfile.write(body)


def page(body: bytes, ctype: str = "text/plain; charset=utf-8") -> Route:
    return lambda h: reply(h, 200, body, ctype)


def status(code: int) -> Route:
    return lambda h: reply(h, code, b"<html><body>Server error</body></html>", "text/html")


def redirect(target: str) -> Route:
    return lambda h: reply(h, 302, b"", "text/plain", {"Location": target})


def flaky(site: Site, path: str, body: bytes) -> Route:
    """500 the first time, the page afterwards."""
    return lambda h: (status(500) if site.hits[path] == 1 else page(body))(h)


def slow(site: Site, seconds: float, body: bytes) -> Route:
    def route(h: BaseHTTPRequestHandler) -> None:
        site.release.wait(seconds)
        reply(h, 200, body, "text/plain")
    return route


def drip(site: Site, seconds: float) -> Route:
    """Headers at once, then the body a few bytes at a time: each read is quick, the whole not."""
    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/plain")
        h.end_headers()
        end = time.monotonic() + seconds
        while time.monotonic() < end and not site.release.is_set():
            h.wfile.write(b"....")
            h.wfile.flush()
            site.release.wait(0.05)
    return route


def endless(h: BaseHTTPRequestHandler) -> None:
    """A body with no Content-Length that goes on past any limit."""
    h.send_response(200)
    h.send_header("Content-Type", "text/html")
    h.end_headers()
    try:
        for _ in range(4 * LIMIT // 4096):
            h.wfile.write(b"x" * 4096)
    except OSError:
        pass  # the client stopped reading: exactly what is expected


@contextmanager
def running_site(monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """A started `Site`, shut down (its slow handlers let go) on the way out."""
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    s = Site()
    s.thread.start()
    try:
        yield s
    finally:
        s.release.set()
        s.server.shutdown()
        s.server.server_close()


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with running_site(monkeypatch) as s:
        yield s


QUICK = {"timeout": 0.5, "retries": 1, "backoff": 0.05, "max_bytes": LIMIT}


def test_good_pages_arrive_byte_exact_with_an_honest_user_agent(site):
    text, markup = snapshot(), snapshot(html=True)
    site.routes.update({"/text": page(text), "/html": page(markup, "text/html"),
                        "/moved": redirect("/html")})
    got = fetch(site.url("/text"), **QUICK)
    assert (got.status, got.content_type, got.body) == (200, "text/plain", text)
    assert abs(got.fetched_at - dt.datetime.now(dt.UTC).replace(tzinfo=None)) < dt.timedelta(
        minutes=1
    )
    moved = fetch(site.url("/moved"), **QUICK)
    assert moved.body == markup and moved.final_url == site.url("/html")
    assert moved.url == site.url("/moved")  # the snapshot's source is what was asked for
    assert set(site.agents) == {USER_AGENT}
    assert USER_AGENT.startswith(f"tracker/{__version__} (+")


@pytest.mark.parametrize(
    ("path", "route", "reason", "hits"),
    [
        ("/500", status(500), "HTTP 500 Internal Server Error (2 attempts)", 2),
        ("/404", status(404), "HTTP 404 Not Found", 1),  # 4xx: asking again will not help
        ("/204", lambda h: reply(h, 204, b"", "text/html"), "HTTP 204", 1),
        ("/image", page(b"\x89PNG....", "image/png"), "non-HTML body (Content-Type image/png)", 1),
        ("/untyped", page(b"hello", None), "non-HTML body (Content-Type missing)", 1),
        ("/declared-big", page(b"x" * (LIMIT + 1), "text/html"),
         f"body is {LIMIT + 1:,} bytes, over the {LIMIT:,}-byte limit", 1),
        ("/endless", endless, f"body is more than {LIMIT:,} bytes, over the", 1),
        ("/loop", redirect("/loop"), "more than 5 redirects", 6),  # 5 followed, then no more
        ("/ftp", redirect("ftp://127.0.0.1/x"), "only http and https redirects are followed", 1),
        ("/badloc", redirect("http://[::1/x"), "redirect not followed: Invalid URL in location", 1),
    ],
)
def test_each_failure_has_its_reason(site, path, route, reason, hits):
    site.routes[path] = route
    with pytest.raises(FetchError) as info:
        fetch(site.url(path), **QUICK)
    assert reason in info.value.reason
    assert info.value.source == site.url(path)
    assert site.hits[path] == hits


def test_timeouts_are_retried_then_reported(site):
    site.routes["/slow"] = slow(site, 3, snapshot())
    site.routes["/drip"] = drip(site, 3)
    for path in ("/slow", "/drip"):
        with pytest.raises(FetchError) as info:
            fetch(site.url(path), **QUICK)
        assert "timed out after 0.5 s" in info.value.reason and "(2 attempts)" in info.value.reason
        assert site.hits[path] == 2


def test_a_transient_failure_is_retried_with_backoff(site):
    site.routes["/flaky"] = flaky(site, "/flaky", snapshot())
    assert fetch(site.url("/flaky"), **QUICK).body == snapshot()
    assert site.hits["/flaky"] == 2


def test_a_stop_request_cuts_the_backoff_short(site):
    stop = threading.Event()

    def fail_then_stop(h: BaseHTTPRequestHandler) -> None:
        status(500)(h)
        stop.set()  # e.g. SIGTERM while the answer is on its way

    site.routes["/500"] = fail_then_stop
    with pytest.raises(FetchError, match="not retried: stopping"):
        fetch(site.url("/500"), timeout=0.5, retries=5, backoff=30, stop=stop)
    assert site.hits["/500"] == 1


@pytest.mark.parametrize(("url", "reason"), [
    ("file:///etc/passwd", "only http:// and https://"),
    ("ftp://127.0.0.1/x", "only http:// and https://"),
    ("timesca.com", "has no scheme; only http:// and https://"),
    ("javascript:alert(1)", "only http:// and https://"),
    ("http:///nohost", "has no host name"),
    ("http://127.0.0.1:99999/", "is not a valid address"),
    ("http://[::1/", "is not a valid address"),
    ("http://127.0.0.1/курс", "non-ASCII"),
])
def test_only_well_formed_http_and_https_addresses_are_fetched(url, reason):
    with pytest.raises(FetchError) as info:
        fetch(url, **QUICK)
    assert reason in info.value.reason


def test_fetch_run_ingests_good_pages_and_records_every_failure(site, db_path):
    text, markup, spam = snapshot(), snapshot(day=None, html=True), b"<html><p>Buy now</p></html>"
    site.routes.update({
        "/text": page(text), "/html": page(markup, "text/html"),
        "/noticker": page(spam, "text/html"), "/500": status(500),
        "/slow": slow(site, 3, text), "/big": endless, "/image": page(b"GIF89a", "image/gif"),
    })
    failing = ["/500", "/slow", "/big", "/image"]
    urls = [site.url(p) for p in ["/text", "/html", "/noticker", *failing]]
    options = {k: v for k, v in QUICK.items() if k != "max_bytes"}

    report = fetch_once(db_path, urls, max_bytes=LIMIT, **options)
    assert (report.files_seen, report.ingested, report.present, report.rejected) == (7, 2, 0, 5)

    with Store.open(db_path, read_only=True) as store:
        snaps = to_frame(store.snapshots()).set_index("source")
        raw = {src: store.load_raw(sid) for src, sid in snaps["snapshot_id"].items()}
        errors = dict(zip(to_frame(store.input_errors())["source"], to_frame(store.input_errors())["reason"],
                          strict=True))
        runs = to_frame(store.runs())
    assert set(snaps.index) == {site.url("/text"), site.url("/html"), site.url("/noticker")}
    # the raw response is kept, for the rejected page too
    assert raw == {site.url("/text"): text, site.url("/html"): markup, site.url("/noticker"): spam}
    dated = snaps.loc[site.url("/text")]
    assert (dated["captured_on"].date(), dated["date_source"]) == (DAY, "header")
    undated = snaps.loc[site.url("/html")]
    assert undated["date_source"] == "fetched"
    assert undated["captured_on"].date() == undated["captured_at"].date()  # the fetch date (UTC)
    assert snaps.loc[site.url("/noticker")]["status"] == "rejected"
    assert set(snaps["captured_at_source"]) == {"fetched"}

    assert set(errors) == {site.url(p) for p in failing}  # never data, never a silent gap
    assert errors[site.url("/500")] == "fetch failed: HTTP 500 Internal Server Error (2 attempts)"
    assert "timed out" in errors[site.url("/slow")]
    assert "limit" in errors[site.url("/big")]
    assert "non-HTML body" in errors[site.url("/image")]

    run = runs.iloc[0]
    assert (run["job"], run["files_seen"], run["ingested"], run["rejected"]) == ("fetch", 7, 2, 5)
    assert run["finished"] >= run["started"]
    assert all(site.url(p) in run["error"] for p in [*failing, "/noticker"])

    again = fetch_once(db_path, urls[:3], max_bytes=LIMIT, **options)
    assert (again.ingested, again.present, again.rejected) == (0, 2, 1)  # not hidden as present
    assert again.error_text() == f"{site.url('/noticker')}: no ticker found (expected lines " \
        "like 'KGS/USD = 0.01144 0%') (as before)"
    with Store.open(db_path, read_only=True) as store:
        assert store.counts()["snapshots"] == 3
        assert list(to_frame(store.runs())["run_id"]) == [again.run_id, report.run_id]
