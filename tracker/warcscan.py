"""Go through a WARC file at close to the speed of reading (`.warc`) or inflating (`.warc.gz`)
it, deciding the records that are plainly no snapshot from their headers.

A crawl is mostly other sites' pages, images and requests; warcio reads ~10–18 MB/s, so a
1 GB crawl took a minute. Here a `.warc.gz` goes through fastwarc (a maintained reader whose
inflating and header parsing are compiled: ~5× warcio) and a `.warc` is read header by
header, each block skipped by its Content-Length without being read unless it is a page.
A record is decided here only when its headers say it is no snapshot (a request, an image,
…) or when it is a page whose bytes, neither chunked nor content-encoded, hold no `USD`;
every other record (a page that may carry the ticker) is read with warcio, which undoes HTTP
chunking and content encoding, and decided by `containers.decide`. The first thing out of
the ordinary (a cut or corrupt record, a header this module does not read) hands the rest
of the file, from the last record seen on, to warcio, whose messages name the offset.
A `.warc.gz` cannot be skipped faster than it inflates (a gzip member has no length).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastwarc.warc import ArchiveIterator as FastIterator

from . import containers as C
from .errors import SourceError

_HEAD_MAX = 64 * 1024  # a WARC or HTTP header block longer than this is left to warcio
_PLAIN_ENCODINGS = ("", "identity")
_USD = re.compile(b"USD")  # (the regex engine's literal search: 1.6× `bytes in` here)
_FIELDS = re.compile(rb"(?:[!-9;-~]++:[\t -~\x80-\xff]*+\r\n)*+")  # header lines, nothing odd
_WARC_FIELDS = re.compile(rb"\r\n(content-length|content-type|warc-type|warc-target-uri):([^\r]*+)",
                          re.IGNORECASE)  # (the ones the scan reads; after _FIELDS passed)
_HTTP_FIELDS = re.compile(rb"\r\n(content-type|transfer-encoding|content-encoding):([^\r]*+)",
                          re.IGNORECASE)
_NEED_URI = ("response", "request", "revisit")  # (warcio fails on one without WARC-Target-URI)
_WARC_LINES = (b"WARC/1.0\r\n", b"WARC/1.1\r\n")


def fast_scan(path: str | Path, max_bytes: int,
              snapshots: list[tuple[int, C.WarcPayload]], skipped: list[str]) -> int:
    """Decide the records of `path` that can be decided quickly, in order, into `snapshots`
    and `skipped`; returns the offset from which warcio must go on (the last record seen,
    or where something was out of the ordinary)."""
    name = str(path)
    records = _gz_records(path, max_bytes) if name.lower().endswith(".gz") else \
        _plain_records(path, max_bytes)
    unfiled: list[tuple[int, str | None]] = []  # the last two records seen
    try:
        for offset, why in records:
            unfiled.append((offset, why))
            if len(unfiled) > 2:
                _file(name, unfiled.pop(0), max_bytes, snapshots, skipped)
    except (_OutOfTheOrdinary, SourceError, OSError, ValueError, EOFError):
        pass  # (fastwarc raises OSError on a corrupt gzip member)
    # warcio reads the last two records seen again, and what follows: after a whole record,
    # as when it reads the file from its start, so its messages are the same
    return unfiled[0][0] if unfiled else 0


class _OutOfTheOrdinary(Exception):
    """Something this module leaves to warcio, from the last record seen on."""


def _file(name: str, decided: tuple[int, str | None], max_bytes: int,
          snapshots: list[tuple[int, C.WarcPayload]], skipped: list[str]) -> None:
    """File one record: skipped with its reason, or read with warcio and decided there."""
    offset, why = decided
    if why is not None:
        skipped.append(f"{name}#{offset} ({why})")
        return
    rec = C.warc_record_at(name, offset, max_bytes, f"{name}#{offset}")
    if not rec.complete:
        raise _OutOfTheOrdinary()
    C.decide(name, offset, rec, max_bytes, snapshots, skipped)


def _record_why(warc: dict[bytes, bytes], http: Any, payload: Any,
                max_bytes: int) -> str | None:
    """Why a record is no snapshot, from its WARC headers (`_header_block`'s); None when
    warcio must read it to tell. `http()` is the HTTP header block of a response (its bytes
    with where they start and stop); `payload(n, skip)` is where up to n bytes of the payload,
    `skip` bytes into the block, are (bytes, start, stop): called only for a page."""
    rec_type = _text(warc.get(b"warc-type"))
    if not rec_type or (rec_type in _NEED_URI and b"warc-target-uri" not in warc):
        raise _OutOfTheOrdinary()  # (warcio's call)
    if rec_type not in C._SNAPSHOT_TYPES:
        return f"{rec_type} record"
    encodings, skip = None, 0
    if rec_type == "response":
        if not (_text(warc.get(b"content-type")).startswith("application/http")
                and _text(warc.get(b"warc-target-uri")).startswith(("http:", "https:"))):
            return None  # (a DNS or other non-HTTP response: warcio's call)
        buf, start, stop = http()
        if not buf.startswith(b"HTTP/", start):
            return None
        fields, skip = _header_block(buf, start, stop, _HTTP_FIELDS)
        skip -= start
        content_type = fields.get(b"content-type")
        encodings = (_text(fields.get(b"transfer-encoding")).lower(),
                     _text(fields.get(b"content-encoding")).lower())
    else:
        content_type = warc.get(b"content-type")
    kind = _text(content_type).split(";")[0].strip().lower()
    if kind not in C._PAGE_TYPES:
        return _text(content_type) if content_type is not None else "no content type"
    if encodings is not None and (encodings[0] not in _PLAIN_ENCODINGS
                                  or encodings[1] not in _PLAIN_ENCODINGS):
        return None  # chunked or compressed: warcio undoes that
    data, start, stop = payload(max_bytes + 1, skip)
    if stop - start > max_bytes or _USD.search(data, start, stop) or (  # (UTF-16: NULs)
            data.find(b"\x00", start, stop) != -1
            and any(data.find(usd, start, stop) != -1 for usd in C._USD)):
        return None
    return "no ticker"


def _gz_records(path: str | Path, max_bytes: int) -> Iterator[tuple[int, str | None]]:
    """(offset, why it is no snapshot or None) of each record of a `.warc.gz`: fastwarc
    inflates and splits the records, their header blocks are read here as in a `.warc`."""

    def http() -> tuple[bytes, int, int]:
        record.parse_http()
        head = record.http_headers.__getstate__()[0]  # (as written)
        return head, 0, len(head)

    def payload(n: int, skip: int) -> tuple[bytes, int, int]:
        data = record.reader.read(n)  # (after the HTTP header block: `skip` is read)
        return data, 0, len(data)

    with open(path, "rb") as fh:
        for record in FastIterator(fh, parse_http=False):
            head = record.headers.__getstate__()[0]  # (the header block as it was written)
            if not head.startswith(_WARC_LINES):
                raise _OutOfTheOrdinary()
            warc, _ = _header_block(head, 0, len(head), _WARC_FIELDS)
            yield record.stream_pos, _record_why(warc, http, payload, max_bytes)


class _Window:
    """Bytes of a file by offset, served from one large read where they fall inside it:
    `hold(at, n)` is where `buf` holds the file's bytes from `at` on (n of them, or to the
    end of the file). A block that is skipped is never read, unless it is in a window."""

    SIZE = 1 << 20

    def __init__(self, fd: int) -> None:
        self.fd, self.start, self.buf = fd, 0, b""
        self.size = os.fstat(fd).st_size

    def hold(self, at: int, n: int) -> int:
        n = min(n, self.size - at)
        if not (self.start <= at and at + n <= self.start + len(self.buf)):
            self.start, self.buf = at, os.pread(self.fd, max(n, self.SIZE), at)
            if len(self.buf) < n:
                raise _OutOfTheOrdinary()  # the file shrank while read
        return at - self.start


def _plain_records(path: str | Path, max_bytes: int) -> Iterator[tuple[int, str | None]]:
    """The same for an uncompressed `.warc`: each header block read where it lies, each block
    skipped by its Content-Length unless it is a page, whose payload is searched in place."""

    def http() -> tuple[bytes, int, int]:
        i = win.hold(block_at, min(length, _HEAD_MAX))
        return win.buf, i, i + min(length, _HEAD_MAX)

    def payload(n: int, skip: int) -> tuple[bytes, int, int]:
        i = win.hold(block_at + skip, min(n, length - skip))
        return win.buf, i, i + length - skip

    with open(path, "rb", buffering=0) as fh:
        win = _Window(fh.fileno())
        offset = 0
        while offset < win.size:
            i = win.hold(offset, _HEAD_MAX)
            if not win.buf.startswith(_WARC_LINES, i):
                if not win.buf[i : i + _HEAD_MAX].strip(b"\r\n\x00 "):
                    return  # padding at the end
                raise _OutOfTheOrdinary()
            warc, body_at = _header_block(win.buf, i, i + _HEAD_MAX, _WARC_FIELDS)
            try:
                length = int(warc.get(b"content-length", b""))
            except ValueError:
                raise _OutOfTheOrdinary() from None
            block_at = offset + body_at - i
            end = block_at + length + 4
            if length < 0 or end > win.size:
                raise _OutOfTheOrdinary()  # cut short: warcio reports it
            yield offset, _record_why(warc, http, payload, max_bytes)
            if not win.buf.startswith(b"\r\n\r\n", win.hold(end - 4, 4)):
                raise _OutOfTheOrdinary()
            offset = end


def _header_block(buf: bytes, start: int, stop: int,
                  wanted: re.Pattern[bytes]) -> tuple[dict[bytes, bytes], int]:
    """({lower-case name: first value} of the `wanted` headers of the block at `start`,
    where the block after the headers starts); only headers of the plainest form pass."""
    end = buf.find(b"\r\n\r\n", start, stop)
    if end == -1:
        raise _OutOfTheOrdinary()
    first = buf.find(b"\r\n", start, end + 2)
    if buf.find(b"\n", start, first) != -1 or not _FIELDS.fullmatch(buf, first + 2, end + 2):
        raise _OutOfTheOrdinary()  # folded, odd or damaged headers: warcio reads them
    fields: dict[bytes, bytes] = {}
    for match in wanted.finditer(buf, first, end):
        fields.setdefault(match[1].lower(), match[2])
    return fields, end + 4


def _text(value: bytes | None) -> str:
    """A header's value as the scan compares it (as warcio would print it)."""
    return "" if value is None else value.decode("utf-8", "replace").strip()
