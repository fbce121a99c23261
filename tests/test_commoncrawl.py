"""The Common Crawl client against the fake archive: crawls, paged index queries, range fetches
of single WARC records byte for byte, and every broken answer as a reason naming the request."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.archives.commoncrawl import CommonCrawl, Crawl, Record, parse_index
from tracker.errors import FetchError
from tracker.http import Client

from .fakearchive import FakeArchive, serving

CRAWL = "CC-MAIN-2025-50"
PAGE = b"<html><body>KGS/USD = 0.01144 0%</body></html>"


@pytest.fixture
def archive(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeArchive]:
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with serving(FakeArchive()) as served:
        yield served


def client(archive: FakeArchive) -> CommonCrawl:
    return CommonCrawl(Client(timeout=2, retries=1, backoff=0.01), archive.base, archive.base)


def stock(archive: FakeArchive) -> list[dict[str, str]]:
    rows = [archive.add_record(CRAWL, f"202512{d:02d}080000", f"https://timesca.com/p{d}",
                               PAGE + str(d).encode()) for d in range(1, 8)]
    archive.add_record("CC-MAIN-2025-47", "20251120080000", "https://timesca.com/", PAGE)
    archive.add_record(CRAWL, "20251203090000", "https://example.com/", b"elsewhere")
    return rows


def test_crawls_index_pages_and_records_arrive_byte_exact(archive):
    rows = stock(archive)
    cc = client(archive)
    assert cc.crawls() == [Crawl("CC-MAIN-2025-47", "CC-MAIN-2025-47 Index"),
                           Crawl(CRAWL, f"{CRAWL} Index")]
    got = list(cc.records(CRAWL, "timesca.com/"))
    assert [r.url for r in got] == [r["url"] for r in rows]  # 7 lines over 3 pages of 3
    assert archive.hits(f"/{CRAWL}-index") == 1 + 3
    first = got[0]
    assert first == Record(timestamp="20251201080000", url="https://timesca.com/p1",
                           mime="text/html", status=200, digest=rows[0]["digest"],
                           length=int(rows[0]["length"]), offset=0, filename=rows[0]["filename"])
    warc = archive.warcs[first.filename]
    for record in got:
        data = cc.fetch_record(record, max_bytes=1 << 20)
        assert data == warc[record.offset:record.offset + record.length]
        assert gzip.decompress(data).startswith(b"WARC/1.0\r\nWARC-Type: response\r\n")
    assert list(cc.records(CRAWL, "timesca.com/", start="20251205")) == got[4:]


def test_no_captures_is_an_empty_answer_but_a_missing_crawl_is_an_error(archive):
    stock(archive)
    cc = client(archive)
    assert list(cc.records(CRAWL, "nothing.example/")) == []
    with pytest.raises(FetchError, match="HTTP 404 Not Found"):
        list(cc.records("CC-MAIN-1999-01", "timesca.com/"))
    with pytest.raises(FetchError, match="not a crawl id"):
        cc.query_url("../etc", "timesca.com/")


def test_a_cut_index_page_is_an_error_naming_the_request(archive):
    stock(archive)
    archive.faults.cdx = "cut"
    with pytest.raises(FetchError) as info:
        list(client(archive).records(CRAWL, "timesca.com/"))
    assert "cut short" in info.value.reason or "not a JSON record" in info.value.reason
    assert info.value.source.startswith(f"{archive.base}/{CRAWL}-index?url=timesca.com")


@pytest.mark.parametrize(("fault", "reason"), [
    ("ignore", "HTTP 200 OK: only HTTP 206 is expected"),
    ("short", "got Content-Range"),
])
def test_a_range_answer_must_be_exactly_the_record(archive, fault, reason):
    stock(archive)
    cc = client(archive)
    record = next(iter(cc.records(CRAWL, "timesca.com/")))
    archive.faults.range = fault
    with pytest.raises(FetchError, match=reason) as info:
        cc.fetch_record(record, max_bytes=1 << 20)
    assert info.value.source == f"{archive.base}/{record.filename}"


def test_a_record_over_the_size_limit_is_not_fetched(archive):
    stock(archive)
    cc = client(archive)
    record = next(iter(cc.records(CRAWL, "timesca.com/")))
    before = len(archive.log)
    with pytest.raises(FetchError, match="over the 10-byte limit"):
        cc.fetch_record(record, max_bytes=10)
    assert len(archive.log) == before


lines = st.lists(st.one_of(
    st.sampled_from(['{"timestamp": "20251210083000", "url": "u", "mime": "m", "status": "200", '
                     '"digest": "D", "length": "10", "offset": "0", "filename": "f"}',
                     '{"timestamp": "2025", "url": "u"}', "[]", "{", '"x"', "",
                     '{"timestamp": 1, "url": "u", "mime": "m", "status": "200", "digest": "D", '
                     '"length": "10", "offset": "0", "filename": "f"}']),
    st.text(max_size=30)), max_size=5)


@given(lines, st.booleans())
def test_any_index_answer_gives_records_or_a_one_line_reason(rows, newline):
    body = "\n".join(rows).encode() + (b"\n" if newline else b"")
    try:
        records = parse_index(body, "http://index/CC-MAIN-2025-50-index")
    except FetchError as exc:
        assert exc.source.startswith("http://index/CC-MAIN-2025-50-index")
        assert "\n" not in exc.reason
    else:
        assert all(isinstance(r.offset, int) and len(r.timestamp) == 14 for r in records)
