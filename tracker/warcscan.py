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


def _quick(rec_type: str, content_type: str | None, encodings: tuple[str, str] | None,
           read: Any, max_bytes: int) -> str | None:
    """Why a record is no snapshot, or None when warcio must read it to tell.

    `encodings` is the HTTP (Transfer-Encoding, Content-Encoding), None for a record without
    HTTP headers; `read(n)` reads up to n bytes of the payload (the HTTP body)."""
    if rec_type not in C._SNAPSHOT_TYPES:
        return f"{rec_type} record"
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in C._PAGE_TYPES:
        return content_type or "no content type"
    if encodings is not None and (encodings[0] not in _PLAIN_ENCODINGS
                                  or encodings[1] not in _PLAIN_ENCODINGS):
        return None  # chunked or compressed: warcio undoes that
    payload = read(max_bytes + 1)
    if len(payload) > max_bytes or _USD.search(payload) or (  # (UTF-16 only where NULs are)
            b"\x00" in payload and any(usd in payload for usd in C._USD)):
        return None
    return "no ticker"


def _gz_records(path: str | Path, max_bytes: int) -> Iterator[tuple[int, str | None]]:
    """(offset, why it is no snapshot or None) of each record of a `.warc.gz`, by fastwarc."""
    with open(path, "rb") as fh:
        for record in FastIterator(fh, parse_http=True):
            offset = record.stream_pos
            headers = record.headers
            rec_type = headers.get("WARC-Type") or ""
            http = record.http_headers if record.is_http else None
            if rec_type == "response" and http is None:
                yield offset, None  # (a DNS or other non-HTTP response: warcio's call)
                continue
            content_type = http.get("Content-Type") if http is not None else \
                headers.get("Content-Type")
            encodings = None if http is None else (
                (http.get("Transfer-Encoding") or "").strip().lower(),
                (http.get("Content-Encoding") or "").strip().lower())
            yield offset, _quick(rec_type, content_type, encodings, record.reader.read, max_bytes)


class _Window:
    """Bytes of a file by offset, served from one large read where they fall inside it."""

    SIZE = 1 << 20

    def __init__(self, fh: Any) -> None:
        self.fh, self.start, self.buf = fh, 0, b""
        self.size = fh.seek(0, 2)

    def read(self, at: int, n: int) -> bytes:
        if not (self.start <= at and at + n <= self.start + len(self.buf)):
            self.fh.seek(at)
            self.start, self.buf = at, self.fh.read(max(n, self.SIZE))
        return self.buf[at - self.start : at - self.start + n]


def _plain_records(path: str | Path, max_bytes: int) -> Iterator[tuple[int, str | None]]:
    """The same for an uncompressed `.warc`: each header block read, each block skipped by
    its Content-Length unless it is a page."""
    with open(path, "rb") as fh:
        win = _Window(fh)
        offset = 0
        while offset < win.size:
            head = win.read(offset, _HEAD_MAX)
            if not head.startswith((b"WARC/1.0\r\n", b"WARC/1.1\r\n")):
                if not head.strip(b"\r\n\x00 "):
                    return  # padding at the end
                raise _OutOfTheOrdinary()
            warc, body_at = _header_block(head)
            try:
                length = int(warc.get("content-length", ""))
            except ValueError:
                raise _OutOfTheOrdinary() from None
            block_at = offset + body_at
            end = block_at + length + 4
            if length < 0 or end > win.size:
                raise _OutOfTheOrdinary()  # cut short: warcio reports it
            rec_type = warc.get("warc-type", "")
            if rec_type in ("response", "request", "revisit") and "warc-target-uri" not in warc:
                raise _OutOfTheOrdinary()  # (warcio needs one there)
            if rec_type not in C._SNAPSHOT_TYPES:
                yield offset, f"{rec_type} record"
            elif rec_type == "resource":
                yield offset, _quick(rec_type, warc.get("content-type"), None,
                                     lambda n, a=block_at, k=length: win.read(a, min(n, k)),
                                     max_bytes)
            elif not warc.get("content-type", "").startswith("application/http") or \
                    not (block_head := win.read(block_at, min(length, _HEAD_MAX))).startswith(
                        b"HTTP/"):
                yield offset, None
            else:
                http, payload_at = _header_block(block_head)
                yield offset, _quick(
                    rec_type, http.get("content-type"),
                    (http.get("transfer-encoding", "").strip().lower(),
                     http.get("content-encoding", "").strip().lower()),
                    lambda n, a=block_at + payload_at, k=length - payload_at: win.read(a, min(n, k)),
                    max_bytes)
            if win.read(end - 4, 4) != b"\r\n\r\n":
                raise _OutOfTheOrdinary()
            offset = end


def _header_block(head: bytes) -> tuple[dict[str, str], int]:
    """({lower-case name: first value}, where the block after the headers starts)."""
    end = head.find(b"\r\n\r\n")
    if end == -1:
        raise _OutOfTheOrdinary()
    first = head.find(b"\r\n")
    if not _FIELDS.fullmatch(head, first + 2, end + 2):
        raise _OutOfTheOrdinary()  # folded, odd or damaged headers: warcio reads them
    fields: dict[str, str] = {}
    for line in head[first + 2 : end].decode("utf-8", "replace").split("\r\n"):
        key, _, value = line.partition(":")
        fields.setdefault(key.lower(), value.strip())
    return fields, end + 4
