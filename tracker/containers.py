"""Snapshots inside containers: WARC files (`.warc`, `.warc.gz`) and MHTML (`.mhtml`, `.mht`).

A WARC `response` or `resource` record whose payload is HTML or text and carries a ticker
is a snapshot: its bytes are the payload (HTTP chunking and content encoding undone by
warcio, a maintained reader), its source `crawl.warc.gz#OFFSET`, its target URI the
`original_url` and its WARC-Date the capture time (`archive`). Every other record is
counted and skipped. An MHTML file (a browser's "save as single file") holds one snapshot:
its first HTML part, read with the standard library's email parser.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import io
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from warcio.exceptions import ArchiveLoadFailed

from .encoding import charset_of_content_type
from .errors import NoTickerError, ParseError, SourceError
from .humane import size
from .parse import parse
from .warcdecode import Brotli, Quiet, Records, encoding_damage

WARC_SUFFIXES = (".warc", ".warc.gz")
MHTML_SUFFIXES = (".mhtml", ".mht")
_PAGE_TYPES = ("text/html", "application/xhtml+xml", "text/plain")
_SNAPSHOT_TYPES = ("response", "resource")
# what warcio raises on bytes that are no WARC (a cut header without a target URI: AttributeError;
# a Content-Length too large for an index: OverflowError)
_WARCIO_ERRORS = (ArchiveLoadFailed, OSError, EOFError, ValueError, AttributeError, TypeError,
                  IndexError, KeyError, OverflowError)
_USD = (b"USD", "USD".encode("utf-16-le"), "USD".encode("utf-16-be"))


@dataclass(frozen=True)
class WarcPayload:
    """One WARC record: its payload and what its headers say about it."""

    record_type: str
    payload: bytes
    url: str | None
    date: dt.datetime | None  # WARC-Date, naive UTC
    content_type: str | None  # of the payload: HTTP Content-Type, else the record's
    headers: dict[str, str]  # the WARC headers, then the HTTP headers (HTTP wins on a clash)
    complete: bool  # False when the record ends before its Content-Length
    damaged: str | None = None  # why its page cannot be read whole (its Content-Encoding)

    @property
    def charset(self) -> str | None:
        return charset_of_content_type(self.content_type)

    @property
    def is_page(self) -> bool:
        kind = (self.content_type or "").split(";")[0].strip().lower()
        return self.record_type in _SNAPSHOT_TYPES and kind in _PAGE_TYPES


def is_container_name(name: str) -> bool:
    return name.lower().endswith(WARC_SUFFIXES + MHTML_SUFFIXES)


def read_warc_record(data: bytes, max_bytes: int = 5 * 1024 * 1024) -> WarcPayload:
    """The first record of `data` (one gzip member or plain WARC bytes, as a Common Crawl
    range request returns). Pure; raises `ValueError` when the bytes are not a WARC record."""
    it = Records(io.BytesIO(data))
    try:
        record = next(iter(it))
    except StopIteration:
        raise ValueError("no WARC record in the bytes") from None
    except _WARCIO_ERRORS as exc:
        raise ValueError(f"not a WARC record ({_short(exc)})") from None
    try:
        rec = _payload(record, max_bytes)
    except _WARCIO_ERRORS as exc:
        raise ValueError(f"not a readable WARC record ({_short(exc)})") from None
    if rec.damaged:
        raise ValueError(f"the WARC record's page {rec.damaged}")
    return rec


def _payload(record: object, max_bytes: int) -> WarcPayload:
    rec_type = record.rec_type  # type: ignore[attr-defined]
    warc = dict(record.rec_headers.headers)  # type: ignore[attr-defined]
    http = dict(record.http_headers.headers) if record.http_headers else {}  # type: ignore[attr-defined]
    content_type = (
        record.http_headers.get_header("Content-Type") if record.http_headers  # type: ignore[attr-defined]
        else record.rec_headers.get_header("Content-Type")  # type: ignore[attr-defined]
    )
    payload, damaged = b"", None
    kind = (content_type or "").split(";")[0].strip().lower()
    if rec_type in _SNAPSHOT_TYPES and kind in _PAGE_TYPES:
        stream = record.content_stream()  # type: ignore[attr-defined]
        if (inflate := getattr(stream, "decompressor", None)) is not None:
            if isinstance(inflate, Brotli):
                inflate.limit = max_bytes + 1
            stream.decompressor = Quiet(inflate)
        payload = stream.read(max_bytes + 1)
        if len(payload) <= max_bytes:
            damaged = encoding_damage(record.http_headers, stream, payload)  # type: ignore[attr-defined]
    raw = record.raw_stream  # type: ignore[attr-defined]
    if len(payload) <= max_bytes:
        while raw.read(1 << 20):  # to the record's end, a bounded piece at a time
            pass
    if hasattr(raw, "limit"):  # warcio's reader of a block of known length
        complete = len(payload) > max_bytes or raw.limit == 0
    else:  # no such reader: the header block itself was cut short (unless it says 0)
        length = record.rec_headers.get_header("Content-Length")  # type: ignore[attr-defined]
        complete = (length or "").strip() == "0"
    return WarcPayload(
        record_type=rec_type,
        payload=payload,
        url=record.rec_headers.get_header("WARC-Target-URI"),  # type: ignore[attr-defined]
        date=_warc_date(record.rec_headers.get_header("WARC-Date")),  # type: ignore[attr-defined]
        content_type=content_type,
        headers={**warc, **http},
        complete=complete,
        damaged=damaged,
    )


def _warc_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        stamp = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        if stamp.tzinfo is not None:  # (year 1 at +01:00 has no UTC time: OverflowError)
            stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        return None
    return stamp


@dataclass(frozen=True)
class WarcScan:
    """What one WARC file holds: its snapshot records, the rest, and where reading stopped."""

    snapshots: tuple[tuple[int, WarcPayload], ...]  # (offset, record), payload bytes dropped
    skipped: tuple[str, ...]  # "path#offset (why)"
    error: tuple[str, str] | None  # (path#offset, reason) when the file is cut or corrupt


def check_warc_start(path: str | Path, source: str) -> None:
    """Refuse a file that does not begin with a WARC record (empty, or another kind of file
    under a `.warc` name), before a reader tries it: warcio would take its lines for ARC
    records and count them as skipped, saying nothing of the file."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    whole = len(head) < 4096  # (more than that of padding or empty members: the scan's call)
    if head.startswith(b"\x1f\x8b"):
        text, rest = b"", head
        try:
            while not text.strip(b"\r\n\x00 ") and rest.startswith(b"\x1f\x8b"):
                member = zlib.decompressobj(wbits=31)  # (empty members before the first record)
                text += member.decompress(rest, 64)
                rest = member.unused_data if member.eof else b""
        except zlib.error as exc:
            raise SourceError(f"corrupt gzip data at the start ({exc}); re-download or "
                              "re-write the file", source) from None
        head = text
    if not head.strip(b"\r\n\x00 "):
        if not whole:
            return
        raise SourceError("is an empty WARC file (no record at all); was the crawl cut off?",
                          source)
    if not head.lstrip(b"\r\n").startswith(b"WARC/"):
        shown = head.lstrip()[:24].decode("utf-8", "replace")
        raise SourceError(f"is not a WARC file: it begins with '{shown}', not 'WARC/1.0'; "
                          "ingest it under a name that says what it is", source)


def scan_warc(path: str | Path, max_bytes: int) -> WarcScan:
    """Every record of a WARC file, in one forward pass; payloads are not kept (each
    snapshot record is read again at its offset when it is ingested).

    `warcscan` goes through the file at close to the speed of reading or inflating it and
    decides the records that are plainly no snapshot; the records that may be one, and the
    file's last record and anything after it, are read here with warcio."""
    from .warcscan import fast_scan  # (it needs this module's decisions)

    snapshots: list[tuple[int, WarcPayload]] = []
    skipped: list[str] = []
    resume = fast_scan(path, max_bytes, snapshots, skipped)
    return _scan_with_warcio(path, max_bytes, resume, snapshots, skipped)


def _scan_with_warcio(path: str | Path, max_bytes: int, start: int,
                      snapshots: list[tuple[int, WarcPayload]], skipped: list[str]) -> WarcScan:
    """The records from offset `start` on, read with warcio (`start` is a record's start)."""
    error = None
    name = str(path)
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        fh.seek(start)
        it = Records(fh)
        end = start
        try:
            for record in it:
                rec = _payload(record, max_bytes)
                offset = it.get_record_offset()  # (reads the record to its end: asked after)
                if not rec.complete:
                    error = (f"{name}#{offset}", _cut(offset))
                    break
                decide(name, offset, rec, max_bytes, snapshots, skipped)
                end = offset  # (the record's length is known once the next one starts)
            else:
                if snapshots or skipped:
                    end = it.get_record_offset() + it.get_record_length()
                if end < size and _more_than_padding(fh, end):
                    error = (f"{name}#{end}", _cut(end))
        except _WARCIO_ERRORS as exc:
            at = max(0, getattr(it, "offset", end))
            why = f"corrupt WARC data at offset {at} ({_short(exc)})"
            if "non-chunked gzip" in str(exc):  # (warcio's words for it)
                at, why = end, (f"the records after the one at offset {end} share its gzip "
                                "member (the file was gzip-compressed as a whole), so they cannot "
                                "be read one by one; run `warcio recompress` on the file (or "
                                "gunzip it) and ingest the result")
            else:
                why += "; the records before it were read; re-download or re-write the file"
            error = (f"{name}#{at}", why)
    return WarcScan(tuple(snapshots), tuple(skipped), error)


def decide(name: str, offset: int, rec: WarcPayload, max_bytes: int,
           snapshots: list[tuple[int, WarcPayload]], skipped: list[str]) -> None:
    """File a complete record as a snapshot or as skipped (with why)."""
    why = _not_a_snapshot(rec, max_bytes)
    if why:
        skipped.append(f"{name}#{offset} ({why})")
    else:
        snapshots.append((offset, _without_payload(rec)))


def _more_than_padding(fh: io.BufferedReader, end: int) -> bool:
    fh.seek(end)
    return bool(fh.read(4096).strip(b"\r\n\x00 "))


def _cut(offset: int) -> str:
    return (f"the WARC file is cut short: the record at offset {offset} is incomplete; "
            "the records before it were read; re-download or re-write the file")


def _not_a_snapshot(rec: WarcPayload, max_bytes: int) -> str | None:
    if rec.record_type not in _SNAPSHOT_TYPES:
        return f"{rec.record_type} record"
    if not rec.is_page:
        return f"{rec.content_type or 'no content type'}"
    if rec.damaged:
        return None  # a snapshot all the same: rejected with the reason when it is read
    if len(rec.payload) > max_bytes:
        return f"payload over the limit of {size(max_bytes)}"
    if not any(usd in rec.payload for usd in _USD):  # memory speed: most pages stop here
        return "no ticker"
    try:
        parse(rec.payload, charset=rec.charset)
    except NoTickerError:
        return "no ticker"
    except ParseError:
        return None  # a snapshot all the same: ingested as rejected, with the reason
    return None


def _without_payload(rec: WarcPayload) -> WarcPayload:
    return WarcPayload(rec.record_type, b"", rec.url, rec.date, rec.content_type, {}, True)


def warc_record_at(path: str | Path, offset: int, max_bytes: int, source: str) -> WarcPayload:
    """The record at `offset` of a WARC file."""
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            return _payload(next(iter(Records(fh))), max_bytes)
    except (StopIteration, *_WARCIO_ERRORS) as exc:
        raise SourceError(f"WARC record cannot be read ({_short(exc)})", source) from None


def warc_source(source: str) -> tuple[str, int] | None:
    """(path, offset) of a source named `crawl.warc.gz#12345`, else None."""
    path, sep, offset = source.rpartition("#")
    if sep and offset.isascii() and offset.isdigit() and path.lower().endswith(WARC_SUFFIXES):
        return path, int(offset)
    return None


def read_warc_at(path: str | Path, offset: int, max_bytes: int, source: str) -> bytes:
    """The payload of the record at `offset` of a WARC file."""
    rec = warc_record_at(path, offset, max_bytes, source)
    if not rec.complete:
        raise SourceError(_cut(offset), source)
    if rec.damaged:
        raise SourceError(rec.damaged, source)
    if len(rec.payload) > max_bytes:
        raise SourceError(f"payload over the limit of {size(max_bytes)}", source)
    return rec.payload


@dataclass(frozen=True)
class MhtmlPage:
    """The HTML part of an MHTML file and what its headers say."""

    html: bytes
    charset: str | None
    url: str | None
    date: dt.datetime | None


# a Content-Type header with its folded lines: the email parser reads its parameters in time
# quadratic in their number (1 MB of `; a=1`: minutes), so a long one is refused first
_CONTENT_TYPE = re.compile(rb"^content-type:[^\r\n]*+(?:\r?\n[ \t][^\r\n]*+)*+",
                           re.IGNORECASE | re.MULTILINE)
_MAX_CONTENT_TYPE = 4096  # bytes (a browser writes a hundred or so)


def read_mhtml(data: bytes, source: str) -> MhtmlPage:
    """The first `text/html` part of an MHTML file (base64 or quoted-printable undone)."""
    for m in _CONTENT_TYPE.finditer(data):
        if m.end() - m.start() > _MAX_CONTENT_TYPE:
            raise SourceError(
                f"is not a readable MHTML file (a Content-Type header of {m.end() - m.start():,} "
                f"bytes at offset {m.start()}; a saved page's are a line); save the page again",
                source)
    try:
        message = email.message_from_bytes(data, policy=email.policy.compat32)
        parts: Iterator[email.message.Message] = message.walk()
        for part in parts:
            if part.get_content_type() in ("text/html", "application/xhtml+xml"):
                payload = part.get_payload(decode=True)  # a leaf part: bytes or None
                payload = payload if isinstance(payload, bytes) else b""
                url = part.get("Content-Location") or message.get("Snapshot-Content-Location")
                return MhtmlPage(payload, part.get_content_charset(), url,
                                 _mail_date(message.get("Date")))
    except Exception as exc:  # the email parser is lenient; anything it raises is bad input
        raise SourceError(f"is not a readable MHTML file ({_short(exc)})", source) from None
    raise SourceError(
        "MHTML file without an HTML part (nothing to read a ticker from); "
        "save the page again as 'Webpage, Single File' or as HTML",
        source,
    )


def _mail_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        stamp = email.utils.parsedate_to_datetime(str(value))
        if stamp.tzinfo is not None:
            stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
    except (TypeError, ValueError, OverflowError):  # (a year of 20 digits: OverflowError)
        return None
    return stamp


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:120]
