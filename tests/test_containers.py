"""WARC and MHTML files: snapshots inside containers, through the real `tracker` command."""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import uuid

import pytest

from tests.conftest import REPO
from tests.proc import run_tracker
from tests.tickers import FIVE
from tracker import warcscan
from tracker.containers import _scan_with_warcio, read_warc_record, scan_warc
from tracker.layouts import render_layout
from tracker.prepare import MAX_BYTES
from tracker.store import Store

DATED = render_layout(FIVE, "html-marquee", copies=2, body=["Filler prose of our own."]).replace(
    "</marquee></div>", "</marquee></div><div>10 December 2025</div>")
UNDATED = render_layout(FIVE, "one-line", copies=2, body=["More filler prose."])
CYRILLIC = render_layout(FIVE, "html-list", copies=2, body=["Курс валют в Бишкеке."]).replace(
    '<meta charset="utf-8">', "")


def _record_id(kind: str, uri: str, block: bytes) -> str:
    """Of one length and the same in every process (`hash()` is neither: a test that places a
    record at an exact offset failed now and then)."""
    return str(uuid.UUID(bytes=hashlib.sha256(repr((kind, uri, block)).encode()).digest()[:16]))


def record(kind: str, uri: str, block: bytes, content_type: str, date: str = "2025-12-11T08:30:00Z",
           member: bool = True) -> bytes:
    """One WARC/1.1 record (as crawlers write: one gzip member each)."""
    head = (
        f"WARC/1.1\r\nWARC-Type: {kind}\r\nWARC-Record-ID: <urn:uuid:{_record_id(kind, uri, block)}>"
        f"\r\nWARC-Date: {date}\r\nWARC-Target-URI: {uri}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(block)}\r\n\r\n"
    ).encode()
    raw = head + block + b"\r\n\r\n"
    return gzip.compress(raw) if member else raw


def http(body: bytes, content_type: str, *, chunked: bool = False, gzipped: bool = False) -> bytes:
    headers = [f"Content-Type: {content_type}"]
    if gzipped:
        body = gzip.compress(body)
        headers.append("Content-Encoding: gzip")
    if chunked:
        half = len(body) // 2
        body = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in (body[:half], body[half:]))
        body += b"0\r\n\r\n"
        headers.append("Transfer-Encoding: chunked")
    else:
        headers.append(f"Content-Length: {len(body)}")
    return ("HTTP/1.1 200 OK\r\n" + "\r\n".join(headers) + "\r\n\r\n").encode() + body


RESPONSE = "application/http; msgtype=response"


def crawl(member: bool = True) -> list[bytes]:
    return [
        record("warcinfo", "", b"software: a crawler\r\n", "application/warc-fields", member=member),
        record("request", "https://timesca.com/", b"GET / HTTP/1.1\r\nHost: timesca.com\r\n\r\n",
               "application/http; msgtype=request", member=member),
        record("response", "https://timesca.com/", http(DATED.encode(), "text/html; charset=utf-8",
               chunked=True, gzipped=True), RESPONSE, member=member),
        record("response", "https://timesca.com/robots.txt", http(b"User-agent: *\n", "text/plain"),
               RESPONSE, member=member),
        record("response", "https://timesca.com/logo.png", http(b"\x89PNG\r\n\x1a\n", "image/png"),
               RESPONSE, member=member),
        record("response", "https://other.example/", http(b"<html><body><p>Other site, USD "
               b"prices.</p></body></html>", "text/html"), RESPONSE, member=member),
        record("resource", "https://timesca.com/copy.txt", UNDATED.encode(), "text/plain",
               date="2025-12-12T09:00:00Z", member=member),
        record("response", "https://timesca.com/ru", http(CYRILLIC.encode("windows-1251"),
               "text/html; charset=windows-1251"), RESPONSE, member=member),
        record("metadata", "https://timesca.com/", b"outlinks: none\r\n", "application/warc-fields",
               member=member),
    ]


def snapshots(db):
    with Store.open(db, read_only=True) as store:
        return store.con.execute(
            "SELECT source, status, original_url, captured_on, date_source, captured_at, "
            "captured_at_source, reason FROM snapshots ORDER BY source").fetchall()


def test_one_record_as_a_range_request_returns_it():
    member = crawl()[2]
    rec = read_warc_record(member)
    assert rec.payload == DATED.encode()  # chunking and gzip content-encoding undone
    assert (rec.url, rec.date.isoformat(), rec.charset) == (
        "https://timesca.com/", "2025-12-11T08:30:00", "utf-8")
    assert rec.headers["WARC-Type"] == "response" and rec.is_page and rec.complete
    with pytest.raises(ValueError, match="not a WARC record"):
        read_warc_record(b"GET / HTTP/1.1\r\n\r\n")


@pytest.mark.parametrize("member", [True, False], ids=["warc.gz", "warc"])
def test_a_crawl_ingests_its_pages_and_skips_the_rest(tmp_path, member):
    parts = crawl(member)
    path = tmp_path / ("crawl.warc.gz" if member else "crawl.warc")
    path.write_bytes(b"".join(parts))
    db = tmp_path / "t.duckdb"
    run = run_tracker("ingest", "--db", db, path)
    assert run.code == 0, run.stderr
    offsets = [sum(map(len, parts[:i])) for i in range(len(parts))]
    rows = snapshots(db)
    assert [(r[0], r[1], r[2]) for r in rows] == sorted([
        (f"{path}#{offsets[2]}", "ingested", "https://timesca.com/"),
        (f"{path}#{offsets[6]}", "ingested", "https://timesca.com/copy.txt"),
        (f"{path}#{offsets[7]}", "ingested", "https://timesca.com/ru"),
    ])
    by_url = {r[2]: r for r in rows}
    dated, undated = by_url["https://timesca.com/"], by_url["https://timesca.com/copy.txt"]
    assert (str(dated[3]), dated[4], dated[6]) == ("2025-12-10", "header", "archive")
    assert (str(undated[3]), undated[4], str(undated[5])) == (
        "2025-12-12", "archive", "2025-12-12 09:00:00")
    assert "skipped 6 non-snapshot" in run.stderr + run.stdout
    again = run_tracker("ingest", "--db", db, path)
    assert again.code == 0 and snapshots(db) == rows
    reparsed = run_tracker("reparse", "--db", db)  # the HTTP header's charset is read again
    assert "3 ingested, 0 rejected, 0 changed" in reparsed.stdout + reparsed.stderr
    with Store.open(db, read_only=True) as store:
        assert store.load_raw(store.snapshot_ids()[0]) in (
            DATED.encode(), UNDATED.encode(), CYRILLIC.encode("windows-1251"))


def test_a_truncated_crawl_keeps_the_records_before_the_cut(tmp_path):
    parts = crawl()
    cut_at = sum(map(len, parts[:6]))
    path = tmp_path / "cut.warc.gz"
    path.write_bytes(b"".join(parts[:6]) + parts[6][: len(parts[6]) // 2])
    db = tmp_path / "t.duckdb"
    run = run_tracker("ingest", "--db", db, path)
    assert run.code == 1
    assert f"{path}#{cut_at}: the WARC file is cut short: the record at offset {cut_at}" in run.stderr
    assert [r[2] for r in snapshots(db)] == ["https://timesca.com/"]


def test_a_corrupt_gzip_member_is_reported(tmp_path):
    parts = crawl()
    broken = bytearray(parts[3])
    broken[20:40] = b"\x00" * 20
    path = tmp_path / "bad.warc.gz"
    path.write_bytes(b"".join(parts[:3]) + bytes(broken) + b"".join(parts[4:]))
    db = tmp_path / "t.duckdb"
    run = run_tracker("ingest", "--db", db, path)
    assert run.code == 1
    at = sum(map(len, parts[:3]))
    assert f"{path}#{at}" in run.stderr and "WARC" in run.stderr
    assert [r[2] for r in snapshots(db)] == ["https://timesca.com/"]


def mhtml(html_part: str | None) -> bytes:
    parts = ['--B\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n'
             'Content-Location: https://timesca.com/logo.png\r\n\r\niVBORw0KGgo=\r\n']
    if html_part is not None:
        parts.insert(0, '--B\r\nContent-Type: text/html; charset="windows-1251"\r\n'
                     'Content-Transfer-Encoding: quoted-printable\r\n'
                     'Content-Location: https://timesca.com/ru\r\n\r\n' + html_part + "\r\n")
    return (
        "From: <Saved by Blink>\r\nSnapshot-Content-Location: https://timesca.com/ru\r\n"
        "Subject: The Times of Central Asia\r\nDate: Thu, 11 Dec 2025 10:15:00 -0000\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/related; type=\"text/html\"; "
        "boundary=\"B\"\r\n\r\n" + "".join(parts) + "--B--\r\n"
    ).encode("ascii")


def test_an_mhtml_file_is_one_snapshot_and_one_without_html_is_refused(tmp_path):
    import quopri

    body = quopri.encodestring(CYRILLIC.encode("windows-1251")).decode("ascii")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "page.mhtml").write_bytes(mhtml(body))
    (tmp_path / "in" / "images.mht").write_bytes(mhtml(None))
    db = tmp_path / "t.duckdb"
    run = run_tracker("ingest", "--db", db, tmp_path / "in")
    assert run.code == 1
    assert "images.mht: MHTML file without an HTML part" in run.stderr
    [row] = snapshots(db)
    assert (row[1], row[2], str(row[3]), row[4]) == (
        "ingested", "https://timesca.com/ru", "2025-12-11", "archive")


def test_reparse_turns_the_old_parsers_rejections_into_data(tmp_path):
    """A database written by the previous parser (version 1, run from git) gains the pages it
    rejected: a saved page, a one-line copy, a windows-1251 page."""
    old = tmp_path / "old"
    old.mkdir()
    archive = subprocess.run(["git", "-C", REPO, "archive", "e93b0bf", "tracker"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", old], input=archive, check=True)
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "saved.html").write_text(render_layout(FIVE, "saved-page"), encoding="utf-8")
    (pages / "copy.txt").write_text(render_layout(FIVE, "one-line"), encoding="utf-8")
    (pages / "ru.html").write_bytes(render_layout(FIVE, "html-list").replace(
        '<meta charset="utf-8">', '<meta charset="windows-1251">').replace(
        "</main>", "<p>Курс</p></main>").encode("windows-1251"))
    (pages / "lines.txt").write_text(render_layout(FIVE, "lines"), encoding="utf-8")
    db = tmp_path / "t.duckdb"
    first = run_tracker("ingest", "--db", db, pages, cwd=old)
    assert first.code == 1 and first.stderr.count("rejected:") == 3, first.stderr
    run = run_tracker("reparse", "--db", db)
    assert run.code == 0, run.stderr
    assert "4 ingested, 0 rejected, 3 changed" in run.stdout + run.stderr
    with Store.open(db, read_only=True) as store:
        assert store.con.execute(
            "SELECT count(*), min(parser_version) FROM snapshots WHERE status = 'ingested'"
        ).fetchone() == (4, "2")


@pytest.mark.parametrize("window", [None, 97], ids=["one-read", "reads-split-records"])
@pytest.mark.parametrize("limit", [MAX_BYTES, 60], ids=["pages-under-limit", "pages-over"])
@pytest.mark.parametrize("member", [True, False], ids=["warc.gz", "warc"])
def test_the_quick_scan_decides_every_record_as_warcio_alone_does(tmp_path, monkeypatch,
                                                                    member, limit, window):
    """Whole, cut anywhere, padded, with a corrupt byte, or with a record damaged before it
    was written (each gzip member whole, a header of it not): the same snapshots, skipped
    records (with their reasons) and error (with its offset) as reading every record with
    warcio; whatever the size limit of a page, and wherever the reads of a `.warc` fall."""
    if window:  # (each read as short as can be: a record spans many)
        monkeypatch.setattr(warcscan._Window, "SIZE", window)
        monkeypatch.setattr(warcscan, "_HEAD_MAX", 300)
    records = crawl(member)
    whole = b"".join(records)
    intact = tmp_path / f"whole.warc{'.gz' if member else ''}"
    intact.write_bytes(whole)  # the quick scan decides all records but the last two itself:
    assert warcscan.fast_scan(intact, limit, [], []) == len(whole) - len(b"".join(records[-2:]))
    variants = [whole, whole + b"\r\n\r\n", whole + b"junk"]
    variants += [whole[:cut] for cut in range(0, len(whole), max(1, len(whole) // 40))]
    variants += [whole[:at] + b"\x00" + whole[at + 1:] for at in range(5, len(whole), 211)]
    plain = crawl(member=False)
    for k, rec in enumerate(plain[1:4], start=1):  # a request, responses: headers damaged
        for at, byte in ((at, b"\x00X\r"[at % 3:][:1]) for at in range(0, 400, 7)):
            damaged = [*plain[:k], rec[:at] + byte + rec[at + 1:], *plain[k + 1:]]
            variants.append(b"".join(gzip.compress(r) if member else r for r in damaged))
    for i, data in enumerate(variants):
        path = tmp_path / f"v{i}.warc{'.gz' if member else ''}"
        path.write_bytes(data)
        assert scan_warc(path, limit) == _scan_with_warcio(path, limit, 0, [], []), i
