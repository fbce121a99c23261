"""Common Crawl: the list of crawls, each crawl's URL index, and one WARC record by range request.

The index is a pywb CDX server: `{index}/collinfo.json` lists the crawls, `{index}/{crawl}-index`
answers a query as JSON lines, in pages (`showNumPages=true`, then `page=0…n-1`), and says "no
captures" with a 404. A record is one gzip member of a WARC file under `{data}`, fetched with
`Range: bytes=offset-(offset+length-1)`; its bytes are returned exactly as served, for the WARC
reader to open.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from ..errors import FetchError
from ..http import Client, check_url

DEFAULT_INDEX = "https://index.commoncrawl.org"
DEFAULT_DATA = "https://data.commoncrawl.org"
DEFAULT_RATE = 20.0  # requests per minute; the index throttles heavy clients too
DEFAULT_FILTERS = ("status:200", "mime:text/html")
MAX_INDEX_BYTES = 16 * 1024 * 1024
MAX_PAGES = 10_000
_CRAWL_ID = re.compile(r"CC-MAIN-\d{4}-\d{2}")
_NUMBER = re.compile(r"[0-9]{1,15}")
_FIELDS = ("timestamp", "url", "mime", "status", "digest", "length", "offset", "filename")


@dataclass(frozen=True)
class Crawl:
    id: str  # CC-MAIN-YYYY-WW
    name: str


@dataclass(frozen=True)
class Record:
    """One index line: where a capture's WARC record lies."""

    timestamp: str  # 14 digits, UTC
    url: str
    mime: str
    status: int
    digest: str
    length: int
    offset: int
    filename: str

    @property
    def captured_at(self) -> dt.datetime:
        return dt.datetime.strptime(self.timestamp, "%Y%m%d%H%M%S")


def _stamp(day: dt.date | str | None) -> str | None:
    return day.strftime("%Y%m%d") if isinstance(day, dt.date) else day


class CommonCrawl:
    """The index (`index`) and the WARC files (`data`) of Common Crawl, through one `Client`."""

    def __init__(self, client: Client, index: str = DEFAULT_INDEX, data: str = DEFAULT_DATA) -> None:
        self.client = client
        self.index, self.data = check_url(index).rstrip("/"), check_url(data).rstrip("/")

    def crawls(self) -> list[Crawl]:
        """Every crawl the index serves, as `collinfo.json` lists them (newest first)."""
        url = f"{self.index}/collinfo.json"
        body = self.client.get(url, max_bytes=MAX_INDEX_BYTES).body
        try:
            items = json.loads(body)
            crawls = [Crawl(id=i["id"], name=str(i.get("name", i["id"]))) for i in items]
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            raise FetchError(f"collinfo.json is not a list of crawls with an 'id' ({exc})",
                             url) from None
        bad = [c.id for c in crawls if not isinstance(c.id, str) or not _CRAWL_ID.fullmatch(c.id)]
        if bad:
            raise FetchError(f"collinfo.json names a crawl {bad[0]!r} not like CC-MAIN-YYYY-WW", url)
        return crawls

    def query_url(self, crawl: str, url: str, *, match_type: str = "prefix",
                  start: dt.date | str | None = None, end: dt.date | str | None = None,
                  filters: Sequence[str] = DEFAULT_FILTERS, page: int | None = None) -> str:
        """The index request for one page (None: ask how many pages there are)."""
        if not _CRAWL_ID.fullmatch(crawl):
            raise FetchError("is not a crawl id like CC-MAIN-2024-10", crawl)
        params: list[tuple[str, str]] = [("url", url), ("matchType", match_type), ("output", "json")]
        params += [(k, v) for k, v in (("from", _stamp(start)), ("to", _stamp(end))) if v]
        params += [("filter", f) for f in filters]
        params += [("showNumPages", "true")] if page is None else [("page", str(page))]
        return f"{self.index}/{quote(crawl)}-index?{urlencode(params)}"

    def records(self, crawl: str, url: str, *, match_type: str = "prefix",
                start: dt.date | str | None = None, end: dt.date | str | None = None,
                filters: Sequence[str] = DEFAULT_FILTERS) -> Iterator[Record]:
        """Every index line for the query, page after page."""
        query = {"match_type": match_type, "start": start, "end": end, "filters": filters}
        for page in range(self.page_count(crawl, url, **query)):  # type: ignore[arg-type]
            yield from self.page(crawl, url, page, **query)  # type: ignore[arg-type]

    def page_count(self, crawl: str, url: str, *, match_type: str = "prefix",
                   start: dt.date | str | None = None, end: dt.date | str | None = None,
                   filters: Sequence[str] = DEFAULT_FILTERS) -> int:
        """How many index pages the query has (0: no captures)."""
        ask = self.query_url(crawl, url, match_type=match_type, start=start, end=end,
                             filters=filters)
        answer = self.client.get(ask, max_bytes=MAX_INDEX_BYTES, ok=(200, 404))
        if answer.status == 404:
            _no_captures(answer.body, ask)
            return 0
        pages = _pages(answer.body, ask)
        if pages > MAX_PAGES:
            raise FetchError(f"{pages} index pages; narrow the query", ask)
        return pages

    def page(self, crawl: str, url: str, page: int, *, match_type: str = "prefix",
             start: dt.date | str | None = None, end: dt.date | str | None = None,
             filters: Sequence[str] = DEFAULT_FILTERS) -> list[Record]:
        """The index lines of one page (0-based)."""
        request = self.query_url(crawl, url, match_type=match_type, start=start, end=end,
                                 filters=filters, page=page)
        got = self.client.get(request, max_bytes=MAX_INDEX_BYTES, ok=(200, 404))
        if got.status == 404:
            _no_captures(got.body, request)
            return []
        return parse_index(got.body, request)

    def record_url(self, record: Record) -> str:
        return f"{self.data}/{quote(record.filename)}"

    def fetch_record(self, record: Record, *, max_bytes: int) -> bytes:
        """The record's bytes (one gzip member) by range request; exactly `length` bytes or a
        `FetchError` (a server ignoring the range, a short answer)."""
        if record.length > max_bytes:
            raise FetchError(f"record is {record.length:,} bytes, over the {max_bytes:,}-byte limit",
                             self.record_url(record))
        last = record.offset + record.length - 1
        url = self.record_url(record)
        got = self.client.get(url, max_bytes=record.length, ok=(206,), redirects=0,
                              headers={"Range": f"bytes={record.offset}-{last}"})
        stated = got.headers.get("content-range", "")
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+|\*)", stated.strip())
        if match is None or (int(match[1]), int(match[2])) != (record.offset, last):
            raise FetchError(
                f"asked for bytes {record.offset}-{last}, got Content-Range {stated or 'missing'!r}",
                url)
        if len(got.body) != record.length:
            raise FetchError(f"range answer is {len(got.body):,} bytes, not the record's "
                             f"{record.length:,}", url)
        return got.body


def _pages(body: bytes, request: str) -> int:
    try:
        pages = json.loads(body)["pages"]
    except (ValueError, TypeError, KeyError, RecursionError):
        raise FetchError("the page count answer is not JSON with 'pages'", request) from None
    if not isinstance(pages, int) or pages < 0:
        raise FetchError(f"the page count {pages!r} is not a whole number", request)
    return pages


def _no_captures(body: bytes, request: str) -> None:
    """A 404 is "no captures" only when it says so; otherwise it is a missing crawl."""
    if b"No Captures found" not in body[:1000]:
        raise FetchError("HTTP 404 Not Found (no such crawl index?)", request)


def parse_index(body: bytes, request: str) -> list[Record]:
    """Index JSON lines as records; a line that is not a complete record is a `FetchError`."""
    if body and not body.endswith(b"\n"):
        raise FetchError("index answer does not end with a newline (cut short)", request)
    records = []
    for number, line in enumerate(body.splitlines(), start=1):
        where = f"{request} (line {number})"
        try:
            item = json.loads(line)
            values = {k: item[k] for k in _FIELDS}
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            raise FetchError(f"index line is not a JSON record with {', '.join(_FIELDS)} ({exc})",
                             where) from None
        if not all(isinstance(v, str) for v in values.values()) or not re.fullmatch(
                r"\d{14}", values["timestamp"]):
            raise FetchError("index line has a field of the wrong form", where)
        for name in ("status", "length", "offset"):  # int() of 5000 digits raises; a WARC
            value = values[name]                       # offset past int64 cannot be stored
            if not (_NUMBER.fullmatch(value) and (name == "offset" or int(value) > 0)):
                raise FetchError(f"index line's {name} {value[:40]!r} is not a number of at "
                                 f"most 15 digits{'' if name == 'offset' else ' above 0'}", where)
        records.append(Record(
            timestamp=values["timestamp"], url=values["url"], mime=values["mime"],
            status=int(values["status"]), digest=values["digest"], length=int(values["length"]),
            offset=int(values["offset"]), filename=values["filename"],
        ))
    return records
