"""A web archive as `tracker backfill` uses it: its index lists captures as queue items, and a
queued capture comes back as an ingest input with the archive's provenance (source: its archive
address; captured_at: the archive's time, `archive`; original_url: the page's address)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..containers import read_warc_record
from ..errors import SourceError, UsageError
from ..http import Client
from ..prepare import RawInput
from ..store.backfillqueue import QueueItem
from . import commoncrawl, wayback

if TYPE_CHECKING:
    from ..backfill import Options

CRAWL_MARGIN = dt.timedelta(days=60)  # a crawl's pages may be this far from its week


class ArchiveSource:
    """One archive's index and fetch, behind the same two calls."""

    def __init__(self, options: Options, client: Client) -> None:
        self.options, self.max_bytes = options, options.max_bytes
        if options.source == "wayback":
            self.wayback = wayback.Wayback(client, options.wayback_url)
        else:
            self.cc = commoncrawl.CommonCrawl(client, options.cc_index_url, options.cc_data_url)

    def captures(self) -> list[QueueItem]:
        """Every status-200 HTML capture the index lists for the prefixes and dates."""
        found: dict[tuple[dt.datetime, str], QueueItem] = {}
        for items, _ in self.pages(None):
            for item in items:
                found.setdefault((item.captured_at, item.original_url), item)
        return list(found.values())

    def pages(self, cursor: str | None) -> Iterator[tuple[list[QueueItem], str | None]]:
        """The index page by page from `cursor` (None: the start): each page's status-200 HTML
        captures and the cursor of the next page (None after the last). A cursor is JSON:
        Wayback, the prefix and the CDX resume key; Common Crawl, the crawls in range, the
        (crawl, prefix) pair and the page."""
        try:
            state = json.loads(cursor) if cursor is not None else None
        except ValueError:
            raise UsageError(f"unreadable backfill paging state {str(cursor)[:80]!r}") from None
        if self.options.source == "wayback":
            return self._wayback_pages(state)
        return self._cc_pages(state)

    def _wayback_pages(self, state: Any) -> Iterator[tuple[list[QueueItem], str | None]]:
        o, prefixes = self.options, sorted(set(self.options.prefixes))  # as in the query
        at, key = (state["prefix"], state["key"]) if state else (0, None)
        for n in range(at, len(prefixes)):
            pages = self.wayback.pages(prefixes[n], start=o.start, end=o.end,
                                       resume_key=key if n == at else None)
            for rows, key_after in pages:
                items = [QueueItem("wayback", c.captured_at, c.original, c.digest,
                                   self.wayback.replay_url(c))
                         for c in rows if c.status == 200 and c.mimetype.startswith("text/html")]
                if key_after is not None:
                    after: dict[str, Any] | None = {"prefix": n, "key": key_after}
                else:
                    after = {"prefix": n + 1, "key": None} if n + 1 < len(prefixes) else None
                yield items, _dump(after)

    def _cc_pages(self, state: Any) -> Iterator[tuple[list[QueueItem], str | None]]:
        o = self.options
        if state is None:
            crawls = [c.id for c in self.cc.crawls() if _crawl_in_range(c.id, o.start, o.end)]
            state = {"crawls": crawls, "at": 0, "page": 0, "pages": None}
        jobs = [(crawl, prefix) for crawl in state["crawls"] for prefix in sorted(set(o.prefixes))]
        if not jobs:
            yield [], None
        for at in range(state["at"], len(jobs)):
            crawl, prefix = jobs[at]
            here = at == state["at"]
            count = state["pages"] if here and state["pages"] is not None else \
                self.cc.page_count(crawl, prefix, start=o.start, end=o.end)
            after = {**state, "at": at + 1, "page": 0, "pages": None} if at + 1 < len(jobs) \
                else None
            if count == 0:
                yield [], _dump(after)
            for page in range(state["page"] if here else 0, count):
                items = []
                for r in self.cc.page(crawl, prefix, page, start=o.start, end=o.end):
                    if r.status == 200 and r.mime.startswith("text/html"):
                        url = f"{self.cc.record_url(r)}#offset={r.offset}&length={r.length}"
                        items.append(QueueItem("commoncrawl", r.captured_at, r.url, r.digest,
                                               url, r.filename, r.offset, r.length))
                more = {**state, "at": at, "page": page + 1, "pages": count}
                yield items, _dump(more if page + 1 < count else after)

    def fetch(self, item: QueueItem) -> RawInput:
        """The capture as an ingest input; `FetchError`/`SourceError` saying why not."""
        if item.source == "wayback":
            capture = wayback.Capture(_stamp(item.captured_at), item.original_url, "text/html",
                                      200, item.digest, None)
            got = self.wayback.fetch(capture, max_bytes=self.max_bytes)
            return RawInput(
                source=item.archive_url, data=got.body, captured_at=item.captured_at,
                captured_at_source="archive", original_url=item.original_url,
                charset=got.charset)
        assert item.filename is not None and item.offset is not None and item.length is not None
        record = commoncrawl.Record(_stamp(item.captured_at), item.original_url, "text/html", 200,
                                    item.digest, item.length, item.offset, item.filename)
        data = self.cc.fetch_record(record, max_bytes=self.max_bytes + (1 << 20))
        try:
            rec = read_warc_record(data, self.max_bytes)
        except ValueError as exc:
            raise SourceError(str(exc), item.archive_url) from None
        if not rec.is_page:
            raise SourceError(f"the record is a {rec.record_type} of {rec.content_type or 'no type'}"
                              ", not an HTML page", item.archive_url)
        if not rec.complete:
            raise SourceError("the record is cut short (truncated WARC record)", item.archive_url)
        return RawInput(
            source=item.archive_url, data=rec.payload, captured_at=rec.date or item.captured_at,
            captured_at_source="archive", original_url=rec.url or item.original_url,
            charset=rec.charset)


def _dump(state: dict[str, Any] | None) -> str | None:
    return None if state is None else json.dumps(state, sort_keys=True)


def _stamp(when: dt.datetime) -> str:
    return when.strftime("%Y%m%d%H%M%S")


def _crawl_in_range(crawl: str, start: dt.date | None, end: dt.date | None) -> bool:
    """Whether a crawl (CC-MAIN-YYYY-WW: the year and week it ran) can hold pages of the days."""
    year, week = int(crawl[8:12]), int(crawl[13:15])
    try:
        ran = dt.date.fromisocalendar(year, max(week, 1), 1)
    except ValueError:
        return True
    return (start is None or ran >= start - CRAWL_MARGIN) and (end is None or ran <= end + CRAWL_MARGIN)
