"""Hostile servers against the network side: answers a careless client would choke on
(headers in odd bytes, refusals with unreadable waits), through the real client and commands."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import signal
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from urllib.parse import quote

import pytest

from tracker.archives.commoncrawl import CommonCrawl
from tracker.archives.spool import one_run
from tracker.archives.wayback import Wayback
from tracker.errors import FetchError, RefusedError
from tracker.fetch import fetch as fetch_page
from tracker.http import Client, check_url, retry_after
from tracker.ingest import ingest
from tracker.store import Store

from .fakearchive import FakeArchive, serving
from .fakebanks import FakeBanks
from .proc import run_tracker
from .test_fetch import Route, Site, reply, running_site
from .test_official_fetch import WEEK, fetch, runs, week_rates


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with running_site(monkeypatch) as s:
        yield s


@pytest.fixture
def archive_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeArchive]:
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with serving(FakeArchive()) as served:
        yield served


def raw(head: bytes, body: bytes = b"") -> Route:
    """An answer written byte for byte, header values in any bytes a server cares to send."""
    def route(h: BaseHTTPRequestHandler) -> None:
        h.wfile.write(head + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        h.close_connection = True
    return route


@pytest.mark.parametrize("value", ["\u00b2", "\u00b9\u00b3", "\u0663"])
def test_retry_after_in_digits_float_cannot_read_is_not_a_number_of_seconds(value):
    assert retry_after(value) is None


@pytest.mark.parametrize("value", [b"\xb2", b"\xb9\xb3"])
def test_a_429_whose_retry_after_is_a_latin1_digit_backs_off_then_gives_up(site, value):
    """Latin-1 "²" is a digit to `str.isdigit` but not to `float`: once a crash (ValueError)."""
    site.routes["/busy"] = raw(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: " + value)
    with Client(backoff=0.01, max_refusals=2) as client, pytest.raises(
            RefusedError, match="HTTP 429 Too Many Requests: refused 2 times in a row"):
        client.get(site.url("/busy"), max_bytes=100)
    assert site.hits["/busy"] == 2


@pytest.mark.parametrize(("field", "value", "words"), [
    ("offset", "9" * 5000, "index line's offset '9999"),  # int() raised: a traceback
    ("offset", "9" * 25, "index line's offset '9999"),  # past int64: "database failed"
    ("length", "9" * 19, "index line's length '9999"),
    ("length", "0", "index line's length '0' is not a number of at most 15 digits above 0"),
])
def test_a_common_crawl_index_line_with_an_absurd_number_is_a_planning_failure(
        archive_server, tmp_path, field, value, words):
    row = archive_server.add_record("CC-MAIN-2025-49", "20251201100000", "https://timesca.com/",
                                    b"<html>\xe2\x80\xa2 KGS/USD = 0.01144 0%</html>")
    row[field] = value
    db = tmp_path / "t.duckdb"
    run = run_tracker("backfill", "--db", db, "--source", "commoncrawl", "--cc-index-url",
                      archive_server.base, "--cc-data-url", archive_server.base,
                      "--max-rate", 600)
    assert run.code == 3, run.stderr
    assert "Traceback" not in run.stderr and "database" not in run.stderr.split("\n", 1)[1]
    [error] = [line for line in run.lines if line.startswith("error: ")]
    assert error.startswith("error: planning failed, nothing queued: http://127.0.0.1:")
    assert words in error and "(line 1)" in error
    assert not archive_server.hits("/crawl-data/")
    with Store.open(db, read_only=True) as store:
        assert store.backfill_rows().num_rows == 0


@pytest.mark.parametrize("original", ["https://timesca.com/новости/", "https://timesca.com/a b"])
def test_a_capture_listed_with_a_non_ascii_address_is_fetched(archive_server, tmp_path, original):
    """The CDX API lists addresses as crawled; once such a capture failed for good with "percent-
    encode them (copy the address from the browser's address bar)", advice nobody can follow."""
    body = b"<html>\xe2\x80\xa2 KGS/USD = 0.01144 0%<br>10 December 2025</html>"
    archive_server.add("20251210100000", original, body)
    db = tmp_path / "t.duckdb"
    run = run_tracker("backfill", "--db", db, "--wayback-url", archive_server.base,
                      "--max-rate", 600)
    assert run.code == 0, run.stderr
    with Store.open(db, read_only=True) as store:
        [(source, url)] = store.con.execute("SELECT source, original_url FROM snapshots").fetchall()
    assert url == original and source.isascii()
    assert source == f"{archive_server.base}/web/20251210100000id_/{quote(original, safe=':/')}"


@pytest.mark.parametrize("head", [
    b"HTTP/1.1 302 Found\r\nLocation: /" + b"a" * 200_000,
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Padding: " + b"b" * 200_000,
])
def test_headers_over_the_limit_are_one_clear_failure_not_a_retried_connection_error(site, head):
    """Once "connection failed (Receive buffer too long) (3 attempts)": retried as if the
    network had failed, and a backfill counted it towards "the archive is not answering"."""
    site.routes["/huge"] = raw(head)
    with Client(backoff=0.01) as client, pytest.raises(FetchError) as info:
        client.get(site.url("/huge"), max_bytes=1000)
    assert info.value.reason == ("the answer's headers are over 100 KB (a redirect to a huge "
                                 "address, or not an HTTP server); not retried")
    assert site.hits["/huge"] == 1


@pytest.mark.parametrize(("encoding", "ctype"), [
    ("windows-1251", "text/html; charset=windows-1251"),
    ("utf-8", "text/html; charset=x-unknown-to-anyone"),  # ignored, as browsers do
])
def test_a_live_page_in_the_charset_its_content_type_names_is_read_in_it(site, tmp_path,
                                                                         encoding, ctype):
    """The header's charset was lost (only the media type was kept), so a windows-1251 page
    was rejected as "not UTF-8 text ...; no charset is declared" though the server said so."""
    text = "<html><body>Курсы валют • KGS/USD = 0.01144 0% 10 December 2025</body></html>"
    site.routes["/1251"] = lambda h: reply(h, 200, text.encode(encoding), ctype)
    page = fetch_page(site.url("/1251"), timeout=5, retries=0)
    summary = ingest([page.as_input()], db_path=tmp_path / "t.duckdb")
    [outcome] = summary.outcomes
    assert outcome.status == "ingested", outcome.reason
    assert page.content_type == "text/html"
    with Store.open(tmp_path / "t.duckdb", read_only=True) as store:
        assert store.con.execute("SELECT rate_text FROM quotes").fetchall() == [("0.01144",)]


def test_a_second_ctrl_c_stops_at_once_with_the_documented_exit_status(archive_server, tmp_path):
    """The second signal aborts without waiting; it once ended in click's "Aborted!" with exit
    1 (which the README gives to rejected captures), not 3 (stopped, the queue ready)."""
    body = b"<html>\xe2\x80\xa2 KGS/USD = 0.01144 0%<br>10 December 2025</html>"
    archive_server.add("20251210100000", "https://timesca.com/", body, replay="stall")
    db = tmp_path / "t.duckdb"
    command = [sys.executable, "-m", "tracker", "backfill", "--db", str(db), "--wayback-url",
               archive_server.base, "--max-rate", "600", "--timeout", "60"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "no_proxy": "127.0.0.1,localhost"})
    for _ in range(300):  # stop it while the capture's answer stalls
        if archive_server.hits("/web/"):
            break
        time.sleep(0.1)
    child.send_signal(signal.SIGINT)
    time.sleep(0.05)  # two signals at once are one to Python's handler
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=30)
    assert child.returncode == 3, stderr
    assert "Traceback" not in stderr and "Aborted!" not in stderr
    assert "run the same command again" in stderr


def test_the_progress_line_counts_only_the_requests_of_its_own_phase(archive_server, tmp_path):
    """The index's requests were divided by the fetching phase's time: a plan that failed after
    three quick index requests printed "0/0 captures fetched; ... 69224.5 requests/min" under
    --max-rate 600, as if the rate limit had been broken."""
    row = archive_server.add_record("CC-MAIN-2025-49", "20251201100000", "https://timesca.com/",
                                    b"<html>\xe2\x80\xa2 KGS/USD = 0.01144 0%</html>")
    row["offset"] = "-1"
    run = run_tracker("backfill", "--db", tmp_path / "t.duckdb", "--source", "commoncrawl",
                      "--cc-index-url", archive_server.base, "--cc-data-url",
                      archive_server.base, "--max-rate", 600)
    assert run.code == 3, run.stderr
    [progress] = [line for line in run.lines if line.startswith("backfill: 0/0 captures")]
    assert progress.endswith("(0 fetch failures); 0.0 requests/min; ETA -"), progress


@pytest.mark.parametrize("body", [b"[[1" + b"1" * 5000 + b"]]", b"[" * 100_000])
def test_a_cdx_answer_json_cannot_hold_is_one_reason_not_a_traceback(site, body):
    """json.loads raises ValueError (int() past 4300 digits) and RecursionError, not only
    JSONDecodeError; both once ended `tracker backfill` in a traceback."""
    with Client() as client:
        archive = Wayback(client, site.url(""))
        ask = archive.search_url("timesca.com/")
        site.routes[ask.removeprefix(site.url(""))] = lambda h: reply(h, 200, body,
                                                                      "application/json")
        with pytest.raises(FetchError, match="CDX answer is JSON that is not rows of fields"):
            next(archive.pages("timesca.com/"))


@pytest.mark.parametrize("ask", ["collinfo", "page count", "index page"])
def test_a_common_crawl_answer_nested_too_deep_is_one_reason_not_a_traceback(site, ask):
    """json.loads raises RecursionError on arrays nested 100,000 deep: once a traceback."""
    deep = b"[" * 100_000 + b"\n"
    with Client() as client:
        cc = CommonCrawl(client, site.url(""), site.url(""))
        crawl = "CC-MAIN-2025-49"
        path = {"collinfo": "/collinfo.json", "page count": cc.query_url(crawl, "timesca.com/"),
                "index page": cc.query_url(crawl, "timesca.com/", page=0)}[ask]
        site.routes[path.removeprefix(site.url(""))] = lambda h: reply(h, 200, deep,
                                                                       "application/json")
        call = {"collinfo": cc.crawls, "page count": lambda: cc.page_count(crawl, "timesca.com/"),
                "index page": lambda: cc.page(crawl, "timesca.com/", 0)}[ask]
        with pytest.raises(FetchError) as info:
            call()
    assert "\n" not in str(info.value) and len(str(info.value)) < 400


@pytest.mark.parametrize("url", ["http://127.0.0.1:1/\nfoo", "http://127.0.0.1:1/a\tb",
                                 "http://127.0.0.1:1/\x1b[31m", "http://127.0.0.1:1/\x7f"])
def test_an_address_with_a_control_character_is_a_usage_error_naming_it(tmp_path, url):
    """urlsplit drops a newline or a tab without a word and httpx refuses an escape on every
    request: such a --wayback-url was accepted and each request failed (exit 1 or 3, not 2)."""
    with pytest.raises(FetchError, match="contains a control character"):
        check_url(url)
    run = run_tracker("backfill", "--db", tmp_path / "t.duckdb", "--wayback-url", url)
    assert run.code == 2, run.stderr
    assert "--wayback-url" in run.stderr and "contains a control character" in run.stderr
    assert "\x1b" not in run.stderr and not (tmp_path / "t.duckdb").exists()


class TitledError(FakeBanks):
    """NBT's error page, titled with a terminal escape (set the window title)."""

    def _nbt(self, path: str, query: dict[str, str], wrong: bool) -> bytes:
        return b"<html><head><title>Down \x1b]0;pwned\x07 now</title></head></html>"


def test_server_text_reaches_the_runs_table_with_its_control_characters_visible(site, db_path):
    """A reason phrase or a page title is the server's text: stored raw, `tracker status`
    (which prints `runs.error` as it is) sent its escapes to the terminal."""
    site.routes["/odd"] = raw(b"HTTP/1.1 404 Not\x1b]0;pwned\x07Found")
    with Client() as client, pytest.raises(FetchError) as info:
        client.get(site.url("/odd"), max_bytes=100)
    assert info.value.reason == "HTTP 404 Not\u241b]0;pwned\u2407Found"
    with TitledError(week_rates(), today=WEEK[-1] + dt.timedelta(days=7)) as banks:
        done = fetch(banks, db_path, "--currency", "TJS", end=WEEK[0])
    assert done.code == 1, done.stderr
    error = runs(db_path).iloc[-1]["error"]
    assert "titled 'Down \u241b]0;pwned\u2407 now'" in error and "\x1b" not in error
    status = run_tracker("status", "--db", db_path)
    assert "\x1b" not in status.stdout + status.stderr


def test_a_second_backfill_of_the_same_database_waits_its_turn_with_exit_3(archive_server,
                                                                           tmp_path):
    """Two runs over one queue (a scheduled backfill and one by hand) fetched the same
    captures twice, each at the whole --max-rate, and took each other's spooled copies for
    lost ("left planned after a timeout", exit 1)."""
    archive_server.add("20251210100000", "https://timesca.com/",
                       b"<html>\xe2\x80\xa2 KGS/USD = 0.01144 0%<br>10 December 2025</html>")
    db = tmp_path / "t.duckdb"
    args = ("backfill", "--db", db, "--wayback-url", archive_server.base, "--max-rate", 600)
    with one_run(db):  # what a run in progress holds
        run = run_tracker(*args)
    assert run.code == 3, run.stderr
    assert "error: another backfill (`tracker backfill`, or `tracker schedule --backfill`) is " \
           f"working through the queue of {db}" in run.stderr
    assert archive_server.log == []
    assert run_tracker(*args).code == 0  # its turn now
    assert archive_server.hits("/web/") == 1


@pytest.mark.parametrize(("head", "words"), [
    (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: -1", "bad Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: " + b"9" * 5000, "bad Content-Length"),
    (b"SMTP ready", "illegal status line"),
])
def test_an_answer_that_is_not_http_is_named_so_not_a_failed_connection(site, head, words):
    """Once "connection failed (bad Content-Length)": the connection was fine, the answer
    was not HTTP."""
    site.routes["/odd"] = raw(head)
    with Client(retries=0) as client, pytest.raises(FetchError) as info:
        client.get(site.url("/odd"), max_bytes=1000)
    assert info.value.reason.startswith("the answer is not valid HTTP (") and words in \
        info.value.reason and info.value.reason.endswith("(1 attempt)")


@pytest.mark.parametrize(("coding", "body"), [
    ("deflate", zlib.compress(b"<html>\xe2\x80\xa2 KGS/USD = 0.01144 0%</html>")),
    ("gzip, gzip", gzip.compress(gzip.compress(b"<html>\xe2\x80\xa2 KGS/USD = 0.01144 0%</html>",
                                               mtime=0), mtime=0)),
    ("br", b"\x1b\x2f\x00\x00"),
], ids=["deflate", "gzip-twice", "br"])  # (ids: each pytest-xdist worker collects the same)
def test_a_page_compressed_though_asked_as_it_is_says_so(site, coding, body):
    """Sent with "Accept-Encoding: identity", such a body was kept and ingest rejected it as
    "binary content, not a page (NUL byte ...); ingest the page's text or HTML"."""
    site.routes["/zip"] = lambda h: reply(h, 200, body, "text/html", {"Content-Encoding": coding})
    with pytest.raises(FetchError) as info:
        fetch_page(site.url("/zip"), timeout=5, retries=0)
    assert info.value.reason == (f"the answer is compressed (Content-Encoding: {coding}) though "
                                 "it was asked for as it is (identity); not read")


def test_a_page_in_one_gzip_layer_is_still_read(site, tmp_path):
    page = b"<html>\xe2\x80\xa2 KGS/USD = 0.01144 0%<br>10 December 2025</html>"
    site.routes["/gz"] = lambda h: reply(h, 200, gzip.compress(page), "text/html",
                                         {"Content-Encoding": "gzip"})
    got = fetch_page(site.url("/gz"), timeout=5, retries=0)
    [outcome] = ingest([got.as_input()], db_path=tmp_path / "t.duckdb").outcomes
    assert outcome.status == "ingested", outcome.reason



@pytest.mark.parametrize("coding", ["none", "UTF-8", "text", "identity, none"])
@pytest.mark.parametrize("charset", ["base64", "rot13", "no-such-charset"])
def test_bogus_encoding_labels_are_ignored_as_browsers_do(site, tmp_path, coding, charset):
    """Servers send `Content-Encoding: none` or `UTF-8` and charset labels that name no text
    encoding: the body is the page all the same, read by its own declaration or as UTF-8."""
    page = b"<html>\xe2\x80\xa2 KGS/USD = 0.01144 0%<br>10 December 2025</html>"
    site.routes["/odd"] = lambda h: reply(h, 200, page, f"text/html; charset={charset}",
                                          {"Content-Encoding": coding})
    got = fetch_page(site.url("/odd"), timeout=5, retries=0)
    [outcome] = ingest([got.as_input()], db_path=tmp_path / "t.duckdb").outcomes
    assert outcome.status == "ingested", outcome.reason


def test_an_index_or_bank_answer_compressed_though_asked_as_it_is_says_so(site):
    """Only a page's one gzip layer is read (by ingest); XML, JSON and CDX parsers were given
    the gzip bytes and said "not well-formed XML (... line 1, column 0)"."""
    xml = b"<?xml version='1.0'?><rates><date>01.12.2025</date></rates>"
    site.routes["/rates"] = lambda h: reply(h, 200, gzip.compress(xml), "text/xml",
                                            {"Content-Encoding": "gzip"})
    with Client(retries=0) as client, pytest.raises(FetchError, match=r"the answer is "
                                                    r"compressed \(Content-Encoding: gzip\)"):
        client.get(site.url("/rates"), max_bytes=10_000)


def test_a_spool_folder_that_cannot_be_locked_is_one_clear_reason(tmp_path, monkeypatch):
    """Some network and FUSE file systems have no locks (ENOLCK, EOPNOTSUPP): once an
    'unexpected OSError' and a traceback on every backfill."""
    import errno
    import fcntl

    from tracker.errors import StoreError

    def no_locks(*_args):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with pytest.raises(StoreError, match=r"spool folder .* cannot be locked \(No locks "
                                         r"available\); keep the database on a local disk"):
        with one_run(tmp_path / "t.duckdb"):
            pass


def test_a_source_offset_must_be_ascii_digits():
    """`int('²')` raised for a source ending in `#²` (each input's source is looked at)."""
    from tracker.containers import warc_source

    assert warc_source("crawl.warc.gz#12345") == ("crawl.warc.gz", 12345)
    assert warc_source("crawl.warc.gz#\u00b2") is None and warc_source("crawl.warc#\u0663") is None
