"""Go through a WARC file at close to the speed of reading (`.warc`) or inflating (`.warc.gz`)
it, deciding the records that are plainly no snapshot from their headers.

A crawl is mostly other sites' pages, images and requests; warcio reads ~10–50 MB/s, so a
1 GB crawl took a minute. Here a `.warc.gz` is inflated and split into records by fastwarc
(maintained, compiled, as fast as ISA-L's inflate) and a `.warc` is read in large windows,
each block skipped by its Content-Length unless it is a page. In both, every header block is
read here, as written, by one strict pattern: anything but the plainest headers (folded,
odd, damaged, or that warcio would read otherwise) is left to warcio.
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
_LINES = rb")\r\n(?:[!-9;-~]++:[\t -~\x80-\xff]*+\r\n)*+\r\n"  # header lines, nothing odd
_WARC_BLOCK = re.compile(rb"(WARC/1\.[01]" + _LINES)  # (group 1: the first line)
_HTTP_BLOCK = re.compile(rb"(HTTP/[^\r\n]*+" + _LINES)
_WARC_FIELDS = re.compile(rb"\r\n(content-length|content-type|warc-type|warc-target-uri):([^\r]*+)",
                          re.IGNORECASE)  # (the ones the scan reads, in a block that passed)
_HTTP_FIELDS = re.compile(rb"\r\n(content-type|transfer-encoding|content-encoding):([^\r]*+)",
                          re.IGNORECASE)
_HTTP_URIS = (b"http:", b"https:")  # (warcio reads HTTP headers only after those)
_NEED_URI = ("response", "request", "revisit")  # (warcio fails on one without WARC-Target-URI)


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
                was, why = unfiled[0]
                if why is None:  # (should warcio fail on it, it reads it again, from here)
                    _read(name, was, max_bytes, snapshots, skipped)
                else:
                    skipped.append(f"{name}#{was} ({why})")
                del unfiled[0]
    except (_OutOfTheOrdinary, SourceError, OSError, ValueError, EOFError):
        pass  # (fastwarc raises OSError on a corrupt gzip member)
    # warcio reads the last two records seen again, and what follows: after a whole record,
    # as when it reads the file from its start, so its messages are the same
    return unfiled[0][0] if unfiled else 0


class _OutOfTheOrdinary(Exception):
    """Something this module leaves to warcio, from the last record seen on."""


def _read(name: str, offset: int, max_bytes: int,
          snapshots: list[tuple[int, C.WarcPayload]], skipped: list[str]) -> None:
    """Read one record with warcio and file it as a snapshot or skipped (with why)."""
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
        if not (warc.get(b"content-type", b"").lstrip().startswith(b"application/http")
                and warc.get(b"warc-target-uri", b"").lstrip().startswith(_HTTP_URIS)):
            return None  # (a DNS or other non-HTTP response: warcio's call)
        buf, start, stop = http()
        if (read := _header_block(buf, start, stop, _HTTP_BLOCK, _HTTP_FIELDS)) is None:
            return None  # (not HTTP, or not plainly: warcio's call)
        fields, skip = read[0], read[1] - start
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
            if record.stream_pos and os.pread(fh.fileno(), 2, record.stream_pos) != b"\x1f\x8b":
                raise _OutOfTheOrdinary()  # records sharing a gzip member: warcio says so
            head = record.headers.__getstate__()[0]  # (the header block as it was written)
            if (read := _header_block(head, 0, len(head), _WARC_BLOCK, _WARC_FIELDS)) is None:
                raise _OutOfTheOrdinary()
            yield record.stream_pos, _record_why(read[0], http, payload, max_bytes)


class _Window:
    """Bytes of a file by offset, served from one large read where they fall inside it:
    `hold(at, n)` is where `buf` holds the file's bytes from `at` on (n of them, or to the
    end of the file). Read into one reused buffer (no new memory per read), the next window
    asked of the kernel ahead (a cold file is read while this one is gone through); a block
    that is skipped is never read, unless it lies in a window."""

    SIZE = 4 << 20

    def __init__(self, fh: Any) -> None:
        self.fh, self.start, self.buf = fh, 0, bytearray()
        self.size = os.fstat(fh.fileno()).st_size
        self.ahead = getattr(os, "posix_fadvise", None)  # (not on every system)
        if self.ahead:
            self.ahead(fh.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)

    def hold(self, at: int, n: int) -> int:
        n = min(n, self.size - at)
        if not (self.start <= at and at + n <= self.start + len(self.buf)):
            if len(self.buf) < max(n, self.SIZE):
                self.buf = bytearray(max(n, self.SIZE))
            self.fh.seek(at)
            got = self.fh.readinto(self.buf)
            if got < len(self.buf):
                del self.buf[got:]  # (the end of the file)
            self.start = at
            if got < n:
                raise _OutOfTheOrdinary()  # the file shrank while read
            if self.ahead:
                self.ahead(self.fh.fileno(), at + got, self.SIZE, os.POSIX_FADV_WILLNEED)
        return at - self.start


def _plain_records(path: str | Path, max_bytes: int) -> Iterator[tuple[int, str | None]]:
    """The same for an uncompressed `.warc`: each header block read where it lies, each block
    skipped by its Content-Length unless it is a page, whose payload is searched in place."""

    def http() -> tuple[bytearray, int, int]:
        i = win.hold(block_at, min(length, _HEAD_MAX))
        return win.buf, i, i + min(length, _HEAD_MAX)

    def payload(n: int, skip: int) -> tuple[bytearray, int, int]:
        if length - skip >= n:
            return win.buf, 0, length - skip  # (over the limit: only its size is asked)
        i = win.hold(block_at + skip, length - skip)
        return win.buf, i, i + length - skip

    with open(path, "rb", buffering=0) as fh:
        win = _Window(fh)
        offset = 0
        while offset < win.size:
            i = win.hold(offset, _HEAD_MAX)
            read = _header_block(win.buf, i, i + _HEAD_MAX, _WARC_BLOCK, _WARC_FIELDS)
            if read is None:
                if not win.buf[i : i + _HEAD_MAX].strip(b"\r\n\x00 "):
                    return  # padding at the end
                raise _OutOfTheOrdinary()
            warc, body_at = read
            try:
                length = int(warc.get(b"content-length", b""))
            except ValueError:
                raise _OutOfTheOrdinary() from None
            block_at = offset + body_at - i
            end = block_at + length + 4
            if length < 0 or end > win.size:
                raise _OutOfTheOrdinary()  # cut short: warcio reports it
            yield offset, _record_why(warc, http, payload, max_bytes)
            if not win.buf.startswith(b"\r\n\r\n", end - 4 - win.start if win.start <= end - 4
                                      and end <= win.start + len(win.buf)
                                      else win.hold(end - 4, 4)):
                raise _OutOfTheOrdinary()
            offset = end


def _header_block(buf: bytes | bytearray, start: int, stop: int, block: re.Pattern[bytes],
                  wanted: re.Pattern[bytes]) -> tuple[dict[bytes, bytes], int] | None:
    """({lower-case name: first value} of the `wanted` headers of the header block at
    `start`, where the block after it starts), or None when it is not of the plainest form
    (folded, odd or damaged headers, no end before `stop`): warcio reads those."""
    whole = block.match(buf, start, stop)
    if whole is None:
        return None
    return {name.lower(): value for name, value in  # (the first of a name wins)
            reversed(wanted.findall(buf, whole.end(1), whole.end() - 2))}, whole.end()


def _text(value: bytes | None) -> str:
    """A header's value as the scan compares it (as warcio would print it)."""
    return "" if value is None else value.decode("utf-8", "replace").strip()
