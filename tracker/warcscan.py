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


def _why(rec_type: str, content_type: str | None,
         encodings: tuple[str, str] | None) -> str | None:
    """Why a record is no snapshot; None when warcio must read it to tell; "" for a plain
    page, whose payload `_why_page` reads.

    `encodings` is the HTTP (Transfer-Encoding, Content-Encoding), None for a record without
    HTTP headers."""
    if rec_type not in C._SNAPSHOT_TYPES:
        return f"{rec_type} record"
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in C._PAGE_TYPES:
        return content_type or "no content type"
    if encodings is not None and (encodings[0] not in _PLAIN_ENCODINGS
                                  or encodings[1] not in _PLAIN_ENCODINGS):
        return None  # chunked or compressed: warcio undoes that
    return ""


def _why_page(data: bytes, start: int, stop: int, max_bytes: int) -> str | None:
    """"no ticker" for a page's payload `data[start:stop]` without `USD`, else None (warcio
    reads it). Searched where it lies, not copied: this search is most of a plain scan."""
    if stop - start > max_bytes or _USD.search(data, start, stop) or (  # (UTF-16: NULs)
            data.find(b"\x00", start, stop) != -1
            and any(data.find(usd, start, stop) != -1 for usd in C._USD)):
        return None
    return "no ticker"


def _gz_records(path: str | Path, max_bytes: int) -> Iterator[tuple[int, str | None]]:
    """(offset, why it is no snapshot or None) of each record of a `.warc.gz`, by fastwarc;
    HTTP headers are parsed only in the records that may be a snapshot."""
    with open(path, "rb") as fh:
        for record in FastIterator(fh, parse_http=False):
            offset = record.stream_pos
            rec_type = record.headers.get("WARC-Type") or ""
            if rec_type not in C._SNAPSHOT_TYPES:
                yield offset, f"{rec_type} record"
                continue
            http = None
            if record.is_http:
                record.parse_http()
                http = record.http_headers
            elif rec_type == "response":
                yield offset, None  # (a DNS or other non-HTTP response: warcio's call)
                continue
            if http is None:
                why = _why(rec_type, record.headers.get("Content-Type"), None)
            else:
                why = _why(rec_type, http.get("Content-Type"), (
                    (http.get("Transfer-Encoding") or "").strip().lower(),
                    (http.get("Content-Encoding") or "").strip().lower()))
            if why == "":
                payload = record.reader.read(max_bytes + 1)
                why = _why_page(payload, 0, len(payload), max_bytes)
            yield offset, why


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
    with open(path, "rb", buffering=0) as fh:
        win = _Window(fh.fileno())
        offset = 0
        while offset < win.size:
            i = win.hold(offset, _HEAD_MAX)
            buf = win.buf
            if not buf.startswith(_WARC_LINES, i):
                if not buf[i : i + _HEAD_MAX].strip(b"\r\n\x00 "):
                    return  # padding at the end
                raise _OutOfTheOrdinary()
            warc, body_at = _header_block(buf, i, min(len(buf), i + _HEAD_MAX), _WARC_FIELDS)
            try:
                length = int(warc.get(b"content-length", b""))
            except ValueError:
                raise _OutOfTheOrdinary() from None
            block_at = offset + body_at - i
            end = block_at + length + 4
            if length < 0 or end > win.size:
                raise _OutOfTheOrdinary()  # cut short: warcio reports it
            rec_type = _text(warc.get(b"warc-type"))
            if rec_type in ("response", "request", "revisit") and b"warc-target-uri" not in warc:
                raise _OutOfTheOrdinary()  # (warcio needs one there)
            content_type = _text(warc.get(b"content-type"))
            if rec_type == "response":
                yield offset, _http_response(win, block_at, length, content_type, max_bytes)
            else:
                why = _why(rec_type, content_type if b"content-type" in warc else None, None)
                if why == "":
                    j = win.hold(block_at, min(length, max_bytes + 1))
                    why = _why_page(win.buf, j, j + length, max_bytes)
                yield offset, why
            if not win.buf.startswith(b"\r\n\r\n", win.hold(end - 4, 4)):
                raise _OutOfTheOrdinary()
            offset = end


def _http_response(win: _Window, block_at: int, length: int, content_type: str,
                   max_bytes: int) -> str | None:
    """Why a response record (of `length` bytes at `block_at`) is no snapshot, or None."""
    if not content_type.startswith("application/http"):
        return None
    i = win.hold(block_at, min(length, _HEAD_MAX))
    if not win.buf.startswith(b"HTTP/", i):
        return None
    http, payload_at = _header_block(win.buf, i, i + min(length, _HEAD_MAX), _HTTP_FIELDS)
    why = _why("response", _text(http[b"content-type"]) if b"content-type" in http else None,
               (_text(http.get(b"transfer-encoding")).lower(),
                _text(http.get(b"content-encoding")).lower()))
    if why == "":
        left = length - (payload_at - i)
        j = win.hold(block_at + payload_at - i, min(left, max_bytes + 1))
        why = _why_page(win.buf, j, j + left, max_bytes)
    return why


def _header_block(buf: bytes, start: int, stop: int,
                  wanted: re.Pattern[bytes]) -> tuple[dict[bytes, bytes], int]:
    """({lower-case name: first value} of the `wanted` headers of the block at `start`,
    where the block after the headers starts); only headers of the plainest form pass."""
    end = buf.find(b"\r\n\r\n", start, stop)
    if end == -1:
        raise _OutOfTheOrdinary()
    first = buf.find(b"\r\n", start, end + 2)
    if not _FIELDS.fullmatch(buf, first + 2, end + 2):
        raise _OutOfTheOrdinary()  # folded, odd or damaged headers: warcio reads them
    fields: dict[bytes, bytes] = {}
    for match in wanted.finditer(buf, first, end):
        fields.setdefault(match[1].lower(), match[2])
    return fields, end + 4


def _text(value: bytes | None) -> str:
    """A header's value as the scan compares it (as warcio would print it)."""
    return "" if value is None else value.decode("utf-8", "replace").strip()
