"""WARC files that lie, through the real `tracker ingest`: every record whose content encoding
a crawler may write is read, and every file that is no WARC, or whose lengths lie, ends as one
clear rejection naming it, never a traceback or a silent nothing."""

from __future__ import annotations

import base64
import gzip
import random

import brotli
import pytest

from tests.proc import run_tracker
from tests.test_containers import DATED, RESPONSE, record, snapshots
from tracker.containers import read_warc_record


def br_http(body: bytes, *, chunked: bool = False) -> bytes:
    """An HTTP response whose body is brotli-compressed (`Content-Encoding: br`)."""
    packed = brotli.compress(body)
    headers = "Content-Type: text/html; charset=utf-8\r\nContent-Encoding: br\r\n"
    if chunked:
        half = len(packed) // 2
        packed = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n"
                          for p in (packed[:half], packed[half:])) + b"0\r\n\r\n"
        headers += "Transfer-Encoding: chunked\r\n"
    return f"HTTP/1.1 200 OK\r\n{headers}\r\n".encode() + packed


def page(day: str) -> bytes:
    return DATED.replace("10 December 2025", day).encode()


@pytest.mark.parametrize("member", [True, False], ids=["warc.gz", "warc"])
def test_brotli_pages_are_read_and_the_records_after_them_too(tmp_path, member):
    """warcio's own `br` hook fails on the `brotli` package: a crawl's brotli page was
    reported as corrupt WARC data and every record after it was lost."""
    large = page("14 December 2025").replace(  # (2.8 MB that compress ~1000×: brotli holds
        b"</body>", b"<!--" + b"<tr><td>x</td></tr>" * 150_000 + b"--></body>")  # output back)
    bomb = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: br\r\n\r\n" + \
        brotli.compress(b"<html><body>USD" + b" " * (64 << 20))
    parts = [
        record("response", "https://timesca.com/a", br_http(page("11 December 2025")), RESPONSE,
               member=member),
        record("response", "https://timesca.com/b", br_http(page("12 December 2025"),
               chunked=True), RESPONSE, member=member),
        record("response", "https://timesca.com/bomb", bomb, RESPONSE, member=member),
        record("resource", "https://timesca.com/c", page("13 December 2025"), "text/html",
               member=member),
        record("response", "https://timesca.com/large", br_http(large), RESPONSE, member=member),
    ]
    path = tmp_path / f"crawl.warc{'.gz' if member else ''}"
    path.write_bytes(b"".join(parts))
    db = tmp_path / "t.duckdb"
    run = run_tracker("ingest", "--db", db, path)
    assert run.code == 0, run.stderr
    assert "Traceback" not in run.stderr and "corrupt" not in run.stderr
    rows = snapshots(db)
    assert sorted((r[2], str(r[3]), r[1]) for r in rows) == [
        ("https://timesca.com/a", "2025-12-11", "ingested"),
        ("https://timesca.com/b", "2025-12-12", "ingested"),
        ("https://timesca.com/c", "2025-12-13", "ingested"),
        ("https://timesca.com/large", "2025-12-14", "ingested"),
    ]
    assert run.peak_mb < 400  # the bomb is not inflated past the size limit
    one = read_warc_record(parts[1] if member else gzip.compress(parts[1]))
    assert one.payload == page("12 December 2025")


def test_a_file_that_is_no_warc_or_lies_about_its_lengths_is_one_clear_rejection(tmp_path):
    good = record("response", "https://timesca.com/", page("11 December 2025"), "text/html",
                  member=False)
    huge = good.replace(f"Content-Length: {len(page('11 December 2025'))}".encode(),
                        b"Content-Length: 99999999999999999999")
    files = {
        "empty.warc.gz": b"",
        "blank.warc": b"\r\n\r\n",
        "page.warc.gz": page("11 December 2025"),  # an HTML page under a WARC name
        "text.warc.gz": gzip.compress(b"hello, this is no crawl\n" * 50),
        "huge-length.warc": huge,
        "huge-length.warc.gz": gzip.compress(huge),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    db = tmp_path / "t.duckdb"
    resource = record("resource", "https://timesca.com/", page("11 December 2025"), "text/html")
    (tmp_path / "empty-member-first.warc.gz").write_bytes(gzip.compress(b"") + resource)
    (tmp_path / "empty-members-first.warc.gz").write_bytes(  # (over 4 KB of them)
        gzip.compress(b"", mtime=0) * 300 + record(
            "resource", "https://timesca.com/b", page("12 December 2025"), "text/html"))
    run = run_tracker("ingest", "--db", db, *(tmp_path / n for n in files),
                      tmp_path / "empty-member-first.warc.gz",  # (WARCs all the same)
                      tmp_path / "empty-members-first.warc.gz")
    assert run.code == 1
    assert "Traceback" not in run.stderr and "WARNING" not in run.stderr, run.stderr
    assert sorted((r[0].split("#")[0], r[1]) for r in snapshots(db)) == [
        (str(tmp_path / "empty-member-first.warc.gz"), "ingested"),
        (str(tmp_path / "empty-members-first.warc.gz"), "ingested")]
    reasons = {line.split(": ", 2)[1].rsplit("/", 1)[-1].split("#")[0]: line.split(": ", 2)[2]
               for line in run.lines if line.startswith("rejected: ")}
    assert set(reasons) == set(files), run.stderr
    assert reasons["empty.warc.gz"].startswith("is an empty WARC file")
    assert reasons["blank.warc"].startswith("is an empty WARC file")
    assert reasons["page.warc.gz"].startswith("is not a WARC file: it begins with '<html")
    assert reasons["text.warc.gz"].startswith("is not a WARC file: it begins with 'hello, this")
    assert reasons["huge-length.warc"].startswith("corrupt WARC data at offset 0")
    assert reasons["huge-length.warc.gz"].startswith("corrupt WARC data at offset 0")
    assert "skipped" not in run.lines[-1]  # no line of a page counted as a skipped record
    with pytest.raises(ValueError, match="WARC record"):
        read_warc_record(gzip.compress(huge))


def test_lying_lengths_and_a_whole_file_gzip_are_reported_by_the_tracker_alone(tmp_path):
    """warcio's own `WARNING: Record not followed by newline…` lines (page bytes in them)
    never reach stderr; a `.warc.gz` compressed as a whole is named for what it is, with the
    command that repairs it (the quick scan used to hand warcio an offset inside the gzip
    stream: "corrupt WARC data ('NoneType' object is not subscriptable)")."""
    def records(name: str, delta: int = 0) -> list[bytes]:
        """Three records of pages of their own; the second's Content-Length off by `delta`."""
        days = [page(f"1{i} December 2025") + f"<!-- {name} -->".encode() for i in range(3)]
        plain = [record("resource", f"https://timesca.com/{i}", day, "text/html", member=False)
                 for i, day in enumerate(days)]
        n = len(days[1])
        plain[1] = plain[1].replace(f"Content-Length: {n}".encode(),
                                    f"Content-Length: {n + delta}".encode())
        return plain

    files = {
        "whole.warc.gz": gzip.compress(b"".join(records("whole"))),
        "long.warc": b"".join(records("long", 40)),
        "short.warc": b"".join(records("short", -40)),
        "long.warc.gz": b"".join(map(gzip.compress, records("long-gz", 40))),
        "short.warc.gz": b"".join(map(gzip.compress, records("short-gz", -40))),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    run = run_tracker("ingest", "--db", tmp_path / "t.duckdb", *(tmp_path / n for n in files))
    assert run.code == 1 and "Traceback" not in run.stderr
    assert all(line.startswith(("rejected: ", "warning: ", "ingested ")) for line in run.lines), \
        run.stderr
    rejected = {line.split(": ", 2)[1].rsplit("/", 1)[-1]: line.split(": ", 2)[2]
                for line in run.lines if line.startswith("rejected: ")}
    assert sorted(k.split("#")[0] for k in rejected) == sorted(files), run.stderr
    assert rejected["whole.warc.gz#0"].startswith(
        "the records after the one at offset 0 share its gzip member")
    assert "warcio recompress" in rejected["whole.warc.gz#0"]
    assert all(int(k.split("#")[1]) >= 0 for k in rejected)
    sources = {r[0].rsplit("/", 1)[-1] for r in snapshots(tmp_path / "t.duckdb")}
    assert {f"{name}#0" for name in files} <= sources  # the record before the lie is kept


def test_an_mhtml_header_with_a_million_parameters_is_refused_at_once(tmp_path):
    """The email parser reads a Content-Type's parameters in quadratic time: 5 MB of `; a=1`
    took minutes (past this test's time limit); a header that long is refused from its
    length. A saved page beside it, its HTML part in base64 with its padding cut, is read."""
    html = page("11 December 2025")
    hostile = (b"MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=B"
               + b"; a=1" * 1_000_000 + b"\r\n\r\n--B\r\nContent-Type: text/html\r\n\r\n"
               + html + b"\r\n--B--\r\n")
    saved = (b"MIME-Version: 1.0\r\nDate: Thu, 11 Dec 2025 08:00:00 +0000\r\nContent-Type: "
             b"multipart/related; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/html\r\n"
             b"Content-Transfer-Encoding: base64\r\n\r\n"
             + base64.encodebytes(html).rstrip(b"=\n") + b"\r\n--B--\r\n")
    (tmp_path / "hostile.mhtml").write_bytes(hostile)
    (tmp_path / "saved.mht").write_bytes(saved)
    run = run_tracker("ingest", "--db", tmp_path / "t.duckdb", tmp_path, timeout=60)
    assert run.code == 1
    assert run.lines[0] == (
        f"rejected: {tmp_path / 'hostile.mhtml'}: is not a readable MHTML file (a Content-Type "
        "header of 5,000,043 bytes at offset 19; a saved page's are a line); save the page again")
    assert [(r[1], str(r[3])) for r in snapshots(tmp_path / "t.duckdb")] == [
        ("ingested", "2025-12-11")]


def test_a_page_whose_content_encoding_is_cut_or_corrupt_is_rejected_not_dropped(tmp_path):
    """warcio gives up on a broken Content-Encoding in silence (a body cut short inflates to
    its first bytes, a corrupt one comes out still compressed): such a page was skipped as
    "no ticker", never reported. Each is a rejection saying why; the next record is read."""
    body = page("11 December 2025") * 3
    packed = gzip.compress(body, 1)
    corrupt = packed[:len(packed) // 2] + b"\xff" * 30 + packed[len(packed) // 2 + 30:]

    def response(uri: str, data: bytes, encoding: str) -> bytes:
        http = (f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: {encoding}"
                "\r\n\r\n").encode() + data
        return record("response", f"https://timesca.com/{uri}", http, RESPONSE)

    parts = [response("cut", packed[:-200], "gzip"), response("corrupt", corrupt, "gzip"),
             response("zstd", b"(\xb5/\xfd" + packed, "zstd"),
             response("plain", body, "gzip"),  # sent unencoded despite its header: read as is
             response("good", gzip.compress(page("12 December 2025")), "gzip")]
    path = tmp_path / "crawl.warc.gz"
    path.write_bytes(b"".join(parts))
    run = run_tracker("ingest", "--db", tmp_path / "t.duckdb", path)
    at = [sum(map(len, parts[:i])) for i in range(len(parts))]
    assert run.code == 1 and run.lines[:3] == [
        f"rejected: {path}#{at[0]}: its gzip Content-Encoding data ends before its end (cut "
        "short or corrupt); re-crawl the page",
        f"rejected: {path}#{at[1]}: its gzip Content-Encoding data is corrupt; re-crawl the page",
        f"rejected: {path}#{at[2]}: its Content-Encoding 'zstd' is not one the tracker reads "
        "(gzip, deflate, br); save the page again without it",
    ], run.stderr
    assert sorted((r[2], r[1]) for r in snapshots(tmp_path / "t.duckdb")) == [
        ("https://timesca.com/good", "ingested"), ("https://timesca.com/plain", "ingested")]
    with pytest.raises(ValueError, match="ends before its end"):
        read_warc_record(parts[0])


def test_reparse_never_loses_a_page_whose_container_file_has_moved(tmp_path):
    """Only a WARC record's or MHTML part's payload is kept, not the headers that declared its
    charset: once the file had moved, `reparse` read a windows-1251 page as UTF-8 and turned
    it from ingested into rejected (its quotes gone, exit 0). The declaration is kept with the
    snapshot now: the page reparses the same without its file."""
    cyrillic = page("11 December 2025").decode().replace("\u2022", "&bull;").replace(
        "<body>", "<body><p>Курс валют</p>").encode("windows-1251")
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=windows-1251\r\n\r\n" + cyrillic
    warc = tmp_path / "crawl.warc.gz"
    warc.write_bytes(record("response", "https://timesca.com/", http, RESPONSE))
    mhtml = tmp_path / "saved.mhtml"
    mhtml.write_bytes(b"MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=B\r\n\r\n"
                      b"--B\r\nContent-Type: text/html; charset=windows-1251\r\n\r\n"
                      + cyrillic.replace(b"11 December", b"12 December") + b"\r\n--B--\r\n")
    db = tmp_path / "t.duckdb"
    assert run_tracker("ingest", "--db", db, warc, mhtml).code == 0
    before = snapshots(db)
    assert [r[1] for r in before] == ["ingested", "ingested"]
    away = tmp_path / "away"
    away.mkdir()
    for f in (warc, mhtml):
        f.rename(away / f.name)
    run = run_tracker("reparse", "--db", db)  # (the declaration is kept with the snapshot)
    assert run.code == 0 and run.lines == [
        "reparsed: 2 ingested, 0 rejected, 0 changed, 0 with missing or damaged raw bytes "
        "(kept as they were, not parsed)"], run.stderr
    assert snapshots(db) == before


def test_odd_dates_and_offsets_are_no_reason_to_lose_records_or_raise_alarms(tmp_path):
    """A WARC-Date with no UTC time (year 1 at +01:00) made the record and every one after
    it "corrupt WARC data"; an MHTML `Date:` with a 20-digit year made the file unreadable;
    a record's offset (`crawl.warc#20251210`) was read as a date in the file name, and each
    page there was reported as disagreeing with it."""
    odd = record("resource", "https://timesca.com/a", page("11 December 2025"), "text/html",
                 date="0001-01-01T00:00:00+01:00", member=False)
    filler_for = 20251210 - len(odd)  # the next record starts at offset 20251210
    size = filler_for - 400
    for _ in range(20):  # (the block's length changes its header's length)
        filler = record("resource", "https://timesca.com/logo.png", b"x" * size, "image/png",
                        member=False)
        if len(filler) == filler_for:
            break
        size += filler_for - len(filler)
    assert len(odd) + len(filler) == 20251210
    dated = record("resource", "https://timesca.com/b", page("12 December 2025"), "text/html",
                   date="2025-12-12T08:00:00Z", member=False)
    warc = tmp_path / "crawl.warc"
    warc.write_bytes(odd + filler + dated)
    mhtml = tmp_path / "saved.mhtml"
    mhtml.write_bytes(b"MIME-Version: 1.0\r\nDate: Thu, 01 Jan 99999999999999999999 00:00:00 "
                      b"+0000\r\nContent-Type: text/html\r\n\r\n" + page("13 December 2025"))
    run = run_tracker("ingest", "--db", tmp_path / "t.duckdb", warc, mhtml)
    assert run.code == 0, run.stderr
    assert "warning" not in run.stderr and "filename" not in run.stderr, run.stderr
    rows = {r[0].rsplit("/", 1)[-1]: r for r in snapshots(tmp_path / "t.duckdb")}
    assert sorted(rows) == ["crawl.warc#0", "crawl.warc#20251210", "saved.mhtml"]
    assert all(r[1] == "ingested" and r[4] == "header" for r in rows.values())
    assert rows["crawl.warc#0"][5] is None  # (no UTC time: no capture time, the header's date)


def test_a_body_corrupt_far_into_it_is_one_line_not_warcios_own(tmp_path):
    """warcio printed its decompressor's error on stderr for every block read after a
    failure ("Error -3 while decompressing data", ten lines for this page)."""
    body = page("11 December 2025") + random.Random(1).randbytes(200_000).hex().encode()
    packed = bytearray(gzip.compress(body, 1))
    packed[len(packed) * 3 // 4 : len(packed) * 3 // 4 + 30] = b"\xff" * 30
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n\r\n"
    path = tmp_path / "crawl.warc.gz"
    path.write_bytes(record("response", "https://timesca.com/", http + bytes(packed), RESPONSE))
    run = run_tracker("ingest", "--db", tmp_path / "t.duckdb", path)
    assert run.code == 1 and run.lines == [
        f"rejected: {path}#0: its gzip Content-Encoding data ends before its end (cut short or "
        "corrupt); re-crawl the page", run.lines[-1]]
    assert run.lines[-1].startswith("ingested 0, already present 0, rejected 1")
