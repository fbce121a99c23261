"""The Wayback Machine: its CDX API (which captures exist) and `id_` replay (their exact bytes).

A small client of our own over the documented API rather than EDGI's `wayback` or
`cdx_toolkit`: both bring their own HTTP session (requests), so the shared rate limit, the
one-deadline-per-attempt rule and the stop event of `tracker.http` could not cover them, and
neither lets the CDX base and the replay base be a loopback test server in one option.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar
from urllib.parse import quote, urlencode

from ..errors import FetchError
from ..http import Client, Response, check_url

DEFAULT_BASE = "https://web.archive.org"
DEFAULT_RATE = 24.0  # requests per minute: what maintained clients keep to (EDGI wayback 0.5.1)
DEFAULT_FILTERS = ("statuscode:200", "mimetype:text/html")
PAGE_SIZE = 1000  # CDX rows per request
MAX_CDX_BYTES = 16 * 1024 * 1024  # one CDX page; PAGE_SIZE rows are ~200 KB
MAX_PAGES = 100_000  # a resume key that never ends is the server's bug, not a reason to loop
FIELDS = ("timestamp", "original", "mimetype", "statuscode", "digest", "length")
PAGE_TYPES = ("text/html", "text/plain", "application/xhtml+xml")
_URL_SAFE = "!#$%&'()*+,-./:;=?@[]_~"  # kept as they are; letters and digits always are


@dataclass(frozen=True)
class Capture:
    """One CDX row: a capture of `original` at `timestamp` (14 digits, UTC)."""

    timestamp: str
    original: str
    mimetype: str
    status: int | None  # None for "-" (a revisit record: no payload of its own)
    digest: str  # base32 SHA-1 of the payload: equal digests, equal bytes
    length: int | None

    @property
    def captured_at(self) -> dt.datetime:
        """The archive timestamp as naive UTC."""
        return dt.datetime.strptime(self.timestamp, "%Y%m%d%H%M%S")


def replay_url(base: str, timestamp: str, original: str) -> str:
    """The address of a capture's original bytes (no toolbar, no rewritten links). The CDX
    API lists addresses as crawled, non-ASCII and spaces included: they are percent-encoded
    (UTF-8), which the archive reads as the same address, so such a capture can be fetched."""
    return f"{base.rstrip('/')}/web/{timestamp}id_/{quote(original, safe=_URL_SAFE)}"


def _stamp(day: dt.date | str | None) -> str | None:
    return day.strftime("%Y%m%d") if isinstance(day, dt.date) else day


class Wayback:
    """The CDX API and replay of one Wayback Machine (`base`), through one polite `Client`."""

    def __init__(self, client: Client, base: str = DEFAULT_BASE, *, page_size: int = PAGE_SIZE,
                 output: str = "json") -> None:
        if output not in ("json", "text"):
            raise ValueError("output is 'json' or 'text'")
        self.client, self.base = client, check_url(base).rstrip("/")
        self.page_size, self.output = page_size, output

    def search_url(self, url: str, *, match_type: str = "prefix",
                   start: dt.date | str | None = None, end: dt.date | str | None = None,
                   filters: Sequence[str] = DEFAULT_FILTERS, resume_key: str | None = None) -> str:
        """The CDX request for one page of captures (`start`/`end`: days or timestamp prefixes)."""
        params: list[tuple[str, str]] = [("url", url), ("matchType", match_type)]
        params += [(k, v) for k, v in (("from", _stamp(start)), ("to", _stamp(end))) if v]
        params += [("filter", f) for f in filters]
        params += [("fl", ",".join(FIELDS)), ("limit", str(self.page_size)),
                   ("showResumeKey", "true")]
        if self.output == "json":
            params.append(("output", "json"))
        if resume_key is not None:
            params.append(("resumeKey", resume_key))
        return f"{self.base}/cdx/search/cdx?{urlencode(params)}"

    def captures(self, url: str, *, match_type: str = "prefix",
                 start: dt.date | str | None = None, end: dt.date | str | None = None,
                 filters: Sequence[str] = DEFAULT_FILTERS) -> Iterator[Capture]:
        """Every capture the CDX API lists for the query, page after page (resume keys)."""
        for rows, _ in self.pages(url, match_type=match_type, start=start, end=end,
                                  filters=filters):
            yield from rows

    def pages(self, url: str, *, match_type: str = "prefix",
              start: dt.date | str | None = None, end: dt.date | str | None = None,
              filters: Sequence[str] = DEFAULT_FILTERS, resume_key: str | None = None,
              ) -> Iterator[tuple[list[Capture], str | None]]:
        """The query's pages from `resume_key` on (None: the first), each with the key of the
        page after it (None after the last), so a caller can keep its place between runs."""
        key = resume_key
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            request = self.search_url(url, match_type=match_type, start=start, end=end,
                                      filters=filters, resume_key=key)
            answer = self.client.get(request, max_bytes=MAX_CDX_BYTES)
            rows, key = parse_cdx(answer.body, output=self.output, request=request)
            if key is not None and key in seen:
                raise FetchError(f"the CDX API gave the resume key {key!r} twice (a loop)", request)
            yield rows, key
            if key is None:
                return
            seen.add(key)
        raise FetchError(f"more than {MAX_PAGES} CDX pages; narrow --from/--to", url)

    def replay_url(self, capture: Capture) -> str:
        return replay_url(self.base, capture.timestamp, capture.original)

    def fetch(self, capture: Capture, *, max_bytes: int) -> Response:
        """The capture's original bytes. No redirect is followed: a redirect (a capture that
        was one, or a timestamp that is not exact) is not the capture that was planned."""
        url = self.replay_url(capture)
        got = self.client.get(url, max_bytes=max_bytes, types=PAGE_TYPES, redirects=0)
        stated = got.headers.get("memento-datetime")
        if stated:
            try:
                when = dt.datetime.strptime(stated, "%a, %d %b %Y %H:%M:%S GMT")
            except ValueError:
                raise FetchError(f"unreadable Memento-Datetime {stated!r}", url) from None
            if when != capture.captured_at:
                raise FetchError(
                    f"the archive answered with the capture of {when:%Y%m%d%H%M%S}, not "
                    f"{capture.timestamp}", url)
        return got


def parse_cdx(body: bytes, *, output: str, request: str) -> tuple[list[Capture], str | None]:
    """One CDX page as captures and the resume key for the next page (None: the last page).

    JSON: a header row of field names, the rows, then `[]` and `[key]` when there is more.
    Text: one space-separated row per line, then an empty line and the key. Anything else
    (not JSON, rows of the wrong width, a body cut off mid-row) is a `FetchError`.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FetchError(f"CDX answer is not UTF-8 (byte {exc.start})", request) from None
    rows = _json_rows(text, request) if output == "json" else _text_rows(text, request)
    key = None
    if len(rows) >= 2 and rows[-2] == []:
        last = rows[-1]
        if len(last) != 1 or not last[0]:
            raise FetchError("CDX answer ends with an empty row but no resume key", request)
        key, rows = last[0], rows[:-2]
    captures = []
    for number, row in enumerate(rows, start=1):
        captures.append(_capture(row, f"{request} (row {number})"))
    return captures, key


def _json_rows(text: str, request: str) -> list[list[str]]:
    if not text.strip():
        raise FetchError("empty CDX answer (expected JSON; cut short?)", request)
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FetchError(f"CDX answer is not valid JSON ({exc.msg} at char {exc.pos}; cut short?)",
                         request) from None
    except (ValueError, RecursionError):  # a number of over 4300 digits; arrays nested deep
        raise FetchError("CDX answer is JSON that is not rows of fields (a number too long to "
                         "read, or arrays nested too deeply)", request) from None
    if not isinstance(rows, list) or not all(
        isinstance(r, list) and all(isinstance(v, str) for v in r) for r in rows
    ):
        raise FetchError("CDX answer is not a list of rows of strings", request)
    if not rows:
        return []
    header, *rest = rows
    if header != list(FIELDS):
        raise FetchError(f"CDX answer's fields are {header}, not the {list(FIELDS)} asked for",
                         request)
    return rest


def _text_rows(text: str, request: str) -> list[list[str]]:
    if text and not text.endswith("\n"):
        raise FetchError("CDX answer does not end with a newline (cut short)", request)
    lines = text.split("\n")[:-1]
    tail: list[list[str]] = []
    if len(lines) >= 2 and lines[-2] == "":  # the resume key is the whole last line
        lines, tail = lines[:-2], [[], [lines[-1]]]
    return [line.split(" ") if line else [] for line in lines] + tail


def _capture(row: list[str], where: str) -> Capture:
    if len(row) != len(FIELDS):
        raise FetchError(f"a CDX row has {len(row)} fields, not {len(FIELDS)}: {row[:8]}", where)
    timestamp, original, mimetype, status, digest, length = row
    try:
        dt.datetime.strptime(timestamp, "%Y%m%d%H%M%S")
        if len(timestamp) != 14:
            raise ValueError
    except ValueError:
        raise FetchError(f"CDX timestamp {timestamp[:40]!r} is not 14 digits of a real time",
                         where) from None
    for name, value in (("statuscode", status), ("length", length)):
        if value != "-" and not (value.isascii() and value.isdigit() and len(value) < 12):
            raise FetchError(f"CDX {name} {value[:40]!r} is not a number or '-'", where)
    return Capture(
        timestamp=timestamp, original=original, mimetype=mimetype,
        status=None if status == "-" else int(status), digest=digest,
        length=None if length == "-" else int(length),
    )


class Timed(Protocol):
    @property
    def timestamp(self) -> str: ...

    @property
    def digest(self) -> str: ...


T = TypeVar("T", bound=Timed)


def plan(captures: Iterable[T], per_day: int, known: Iterable[str] = ()) -> list[T]:
    """At most `per_day` captures a day, spread over the day, in time order; pure.

    A capture whose digest is `known` (already fetched) or already planned is dropped: equal
    digests are equal bytes. Day by day, the capture nearest each of `per_day` evenly spaced
    moments (e.g. 06:00 and 18:00 for two) is taken.
    """
    if per_day < 1:
        raise ValueError("per_day must be at least 1")
    days: dict[str, list[T]] = defaultdict(list)
    for capture in sorted(captures, key=lambda c: c.timestamp):
        days[capture.timestamp[:8]].append(capture)
    planned = set(known)
    chosen: list[T] = []
    for day in sorted(days):
        fresh: dict[str, T] = {}
        for capture in days[day]:
            if capture.digest not in planned and capture.digest not in fresh:
                fresh[capture.digest] = capture
        picked = _spread(list(fresh.values()), per_day)
        planned.update(c.digest for c in picked)
        chosen += picked
    return chosen


def _spread(candidates: list[T], n: int) -> list[T]:
    """The candidates (of one day, in time order) nearest `n` evenly spaced moments."""
    if len(candidates) <= n:
        return candidates
    seconds = [int(c.timestamp[8:10]) * 3600 + int(c.timestamp[10:12]) * 60 + int(c.timestamp[12:14])
               for c in candidates]
    taken: set[int] = set()
    for slot in range(n):
        target = (slot + 0.5) * 86400 / n
        after = bisect.bisect_left(seconds, target)
        before = after - 1
        while before in taken:
            before -= 1
        while after in taken:
            after += 1
        if after >= len(seconds) or (before >= 0 and target - seconds[before] <= seconds[after] - target):
            taken.add(before)
        else:
            taken.add(after)
    return [candidates[i] for i in sorted(taken)]
