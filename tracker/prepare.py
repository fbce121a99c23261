"""Turning inputs into store rows: read, hash, parse, date.

Pure of the database, light to import.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import stat
import zlib
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from pathlib import Path

from .containers import (
    MHTML_SUFFIXES,
    WARC_SUFFIXES,
    check_warc_start,
    read_mhtml,
    read_warc_at,
    scan_warc,
    warc_record_at,
    warc_source,
)
from .dates import archive_timestamp, choose_capture_date, date_from_name
from .errors import ParseError, SourceError
from .headerline import unread_header
from .humane import size
from .models import DateEvidence, ParsedPage
from .names import storable
from .parse import PARSER_VERSION, parse
from .rows import QuoteRow, SnapshotRow

MAX_BYTES = 5 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class RawInput:
    """One thing to ingest: a file to read, or bytes already in hand (upload, fetch)."""

    source: str
    path: str | Path | None = None
    data: bytes | None = None
    captured_at: dt.datetime | None = None  # UTC, when the tracker fetched the page
    captured_at_source: str | None = None  # "fetched" or "archive"
    original_url: str | None = None  # the page's address (fetched URL, WARC-Target-URI)
    charset: str | None = None  # what a container or HTTP header declares for the bytes
    warc_offset: int | None = None  # a record of the WARC file at `path`
    mhtml: bool = False  # the HTML part of the MHTML file at `path`

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", storable(self.source))  # any name can be stored


def read_input(item: RawInput, max_bytes: int = MAX_BYTES) -> bytes:
    """The input's content, decompressed if gzip, never more than `max_bytes` of it."""
    if item.data is not None:
        data = item.data
        if len(data) > max_bytes:
            raise SourceError(_too_large(len(data), max_bytes), item.source)
    elif item.warc_offset is not None:
        assert item.path is not None
        return read_warc_at(item.path, item.warc_offset, max_bytes, item.source)
    else:
        assert item.path is not None
        data = _read_file(item.path, max_bytes, item.source)
        if item.mhtml:
            return read_mhtml(data, item.source).html
    if data.startswith(_GZIP_MAGIC):
        data = _gunzip(data, max_bytes, item.source)
    return data


def container_inputs(
    path: str | Path, max_bytes: int = MAX_BYTES
) -> tuple[list[RawInput], list[str], list[tuple[str, str]]]:
    """The snapshots inside a WARC or MHTML file: (inputs, skipped records, errors).

    A WARC is scanned once, front to back; its snapshot records are read again at their
    offsets when ingested. An MHTML file is one snapshot, its HTML part.
    """
    name = str(path)
    lower = name.lower()
    try:
        if lower.endswith(WARC_SUFFIXES):
            check_warc_start(path, name)
            scan = scan_warc(path, max_bytes)
            inputs = [
                RawInput(source=f"{name}#{offset}", path=path, warc_offset=offset,
                         captured_at=rec.date, captured_at_source="archive" if rec.date else None,
                         original_url=rec.url, charset=rec.charset)
                for offset, rec in scan.snapshots
            ]
            return inputs, list(scan.skipped), [scan.error] if scan.error else []
        assert lower.endswith(MHTML_SUFFIXES)
        page = read_mhtml(_read_file(path, max_bytes, name), name)
    except SourceError as exc:
        return [], [], [(name, exc.reason)]
    except OSError as exc:
        return [], [], [(name, f"cannot be read ({exc.strerror or exc})")]
    return [RawInput(source=name, path=path, mhtml=True, captured_at=page.date,
                     captured_at_source="archive" if page.date else None,
                     original_url=page.url, charset=page.charset)], [], []


@dataclass(frozen=True)
class Declared:
    """What `tracker reparse` knows of the charset declared for a snapshot's bytes."""

    charset: str | None  # to parse with
    record: str | None  # to keep in `declared_charset` ('' none declared, None not known)
    unknown: str | None = None  # why the snapshot must be kept as it was, not parsed


def reparse_charset(source: str, snapshot_id: str, recorded: str | None) -> Declared:
    """The charset declared for a snapshot's bytes by its container or HTTP header.

    Kept with the snapshot since schema version 9. A WARC or MHTML snapshot ingested before
    has it only in its container, read again at its `source` path: relative to the folder
    ingested from, so from elsewhere it is not found (or another file is); a fetched page's or
    a capture's HTTP header is gone. Then `unknown` says why, and a snapshot that cannot be
    read without the declaration is kept as it was (a page in a legacy encoding would turn
    into a rejection); one that can (UTF-8, its own `<meta>`) is parsed as any other.
    """
    if recorded is not None:
        return Declared(recorded or None, recorded)
    found = warc_source(source)
    if "://" in source:  # a fetched page or an archive's capture: its HTTP header is gone
        return Declared(None, None, "the charset its HTTP answer declared was not kept "
                        "(ingested before schema version 9); re-fetching it would tell")
    if found is None and not source.lower().endswith(MHTML_SUFFIXES):
        return Declared(None, None)  # a file ingested before: nothing outside it declared one
    path = found[0] if found else source
    try:
        if found is not None:
            rec = warc_record_at(found[0], found[1], MAX_BYTES, source)
            payload, charset = rec.payload, rec.charset
        else:
            page = read_mhtml(_read_file(source, MAX_BYTES, source), source)
            payload, charset = page.html, page.charset
    except SourceError as exc:
        why = exc.reason
    except OSError as exc:
        why = f"cannot be read ({exc.strerror or exc})"
    else:
        if hashlib.sha256(payload).hexdigest() == snapshot_id:
            return Declared(charset, charset or "")
        why = "holds other bytes than were ingested"
    return Declared(None, None, (
        f"the charset its container declared was not kept (ingested before schema version 9) "
        f"and {path} {why}, looked for from {os.getcwd()}; run `tracker reparse` from the "
        "folder it was ingested from"))


def _read_file(path: str | Path, max_bytes: int, source: str) -> bytes:
    """At most `max_bytes` + 1 bytes of a file: one `os.read` of the size `fstat` gives.

    (A buffered `read(max_bytes + 1)` allocates the whole limit first: 5× slower per page.)
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except IsADirectoryError:
        raise SourceError("is a folder, not a file", source) from None
    except OSError as exc:
        raise SourceError(f"cannot be read ({exc.strerror or exc})", source) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise SourceError("is a folder, not a file", source)
        if st.st_size > max_bytes:
            raise SourceError(_too_large(st.st_size, max_bytes), source)
        want = st.st_size + 1
        data = os.read(fd, want)
        if len(data) == want or not stat.S_ISREG(st.st_mode):
            # grown since fstat, or a pipe or device: read on to the end or past the limit
            parts = [data]
            size = len(data)
            while size <= max_bytes:
                part = os.read(fd, max_bytes + 1 - size)
                if not part:
                    break
                parts.append(part)
                size += len(part)
            data = b"".join(parts)
    except OSError as exc:
        raise SourceError(f"cannot be read ({exc.strerror or exc})", source) from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise SourceError(_too_large(len(data), max_bytes), source)
    return data


def _too_large(n_bytes: int, limit: int) -> str:
    return (
        f"is {size(n_bytes)} ({n_bytes:,} bytes), over the limit of {size(limit)} for one snapshot; "
        "is it really a page snapshot? (raise the limit with --max-bytes)"
    )


_ZEROS = re.compile(rb"\x00*")  # padding some tools leave between gzip members
_FIRST_FEED = 256


def _gunzip(data: bytes, max_bytes: int, source: str) -> bytes:
    """Every gzip member's output, at most `max_bytes` of it, in time linear in `data`.

    Each member is fed in chunks that start small and double, so the bytes zlib copies past a
    member's end (its `unused_data`) stay proportional to the member: a file of a million
    empty members costs what a file of one does per byte, never the square of its size.
    """
    out = bytearray()
    view = memoryview(data)
    pos = 0
    try:
        while (pos := _ZEROS.match(data, pos).end()) < len(data):  # type: ignore[union-attr]
            member = zlib.decompressobj(wbits=31)
            feed = _FIRST_FEED
            while not member.eof:
                if pos >= len(data):
                    raise SourceError("gzip data is truncated; re-download or re-compress it", source)
                chunk = view[pos : pos + feed]
                out += member.decompress(chunk, max_bytes + 1 - len(out))
                if len(out) > max_bytes or member.unconsumed_tail:
                    raise SourceError(
                        f"decompresses to more than the limit of {size(max_bytes)}", source
                    )
                pos += len(chunk) - len(member.unused_data)
                feed *= 2
    except zlib.error as exc:
        raise SourceError(f"corrupt gzip data ({exc}); re-compress the file", source) from None
    return bytes(out)


def evidence_for(item: RawInput, page: ParsedPage | None, user_date: dt.date | None) -> DateEvidence:
    """Every date the input carries: header, fetch/archive time, file name, the user's."""
    captured_at, at_source = item.captured_at, item.captured_at_source
    if captured_at is None:
        stamp = archive_timestamp(item.source)
        if stamp is not None:
            captured_at, at_source = stamp, "archive"
    found = warc_source(item.source)  # (a record's offset, `crawl.warc#20251210`, is no date)
    name = found[0] if found is not None else item.source.split("?")[0].rstrip("/")
    name_date, name_stamp = date_from_name(name)
    if captured_at is None and name_stamp is not None:
        captured_at, at_source = name_stamp, "archive"
    return DateEvidence(
        header=page.header_date if page else None,
        captured_at=captured_at,
        captured_at_source=at_source,
        filename=name_date,
        user=user_date,
    )


def build_rows(
    snapshot_id: str,
    item: RawInput,
    data: bytes,
    page: ParsedPage | None,
    error: ParseError | None,
    *,
    user_date: dt.date | None,
    ingested_at: dt.datetime,
) -> tuple[SnapshotRow, list[QuoteRow]]:
    """The store rows for one parsed (or rejected) snapshot."""
    evidence = evidence_for(item, page, user_date)
    chosen = choose_capture_date(evidence)
    notes = [n for n in (chosen.disagreement if page else None, unread_header(data, page)) if n]
    snap = SnapshotRow(
        snapshot_id=snapshot_id,
        source=item.source,
        captured_on=chosen.captured_on if page else None,
        date_source=chosen.date_source if page else "none",
        captured_at=evidence.captured_at,
        captured_at_source=evidence.captured_at_source,
        ingested_at=ingested_at,
        status="ingested" if page else "rejected",
        reason=error.reason if error else None,
        ticker_copies=page.ticker_copies if page else None,
        copies_agree=page.copies_agree if page else None,
        parser_version=PARSER_VERSION,
        header_date=evidence.header,
        filename_date=evidence.filename,
        user_date=user_date,
        date_note="; ".join(notes) or None,
        content_type=page.meta.content_type if page else None,
        size_bytes=len(data),
        listing=page.meta.listing.text if page and page.meta.listing else None,
        title=page.meta.title if page else None,
        original_url=item.original_url or (item.source if "://" in item.source else None),
        declared_charset=item.charset or "",
        warnings=page.warnings if page else (),
    )
    quotes = [
        QuoteRow(snapshot_id, i, q.currency, q.quote_currency, q.rate_text, q.rate_decimals,
                 q.change_text, q.change_decimals)
        for i, q in enumerate(page.quotes if page else ())
    ]
    return snap, quotes


def parse_content(
    data: bytes, source: str, charset: str | None = None
) -> tuple[ParsedPage | None, ParseError | None]:
    try:
        return parse(data, source=source, charset=charset), None
    except ParseError as exc:
        return None, exc


@dataclass(frozen=True)
class PreparedChunk:
    """A chunk of inputs ready for the store, in input order.

    `sources`, `snapshot_ids` and `errors` have one entry per input (an input that could not
    be read has no id and an error); `snapshots`, `quotes` (that snapshot's quote rows) and
    `contents` (the bytes as read) one per readable input. A snapshot the store had before
    the chunk was prepared is not parsed again: its row is None, its quotes empty. Contents
    are compressed by the store step: those of snapshots it has not seen before, and of
    stored ones whose kept raw bytes turn out lost or damaged.
    """

    sources: list[str]
    snapshot_ids: list[str | None]
    errors: list[str | None]
    snapshots: list[SnapshotRow | None]
    quotes: list[list[QuoteRow]]
    contents: list[bytes]


def prepare_many(
    items: Sequence[RawInput],
    max_bytes: int,
    user_date: dt.date | None,
    ingested_at: dt.datetime,
    known: Callable[[list[str]], Container[str]] | None = None,
) -> PreparedChunk:
    """Read, hash, parse and date a chunk of inputs.

    `known(ids)`, when given, tells which of the chunk's snapshot ids the store already has:
    those are not parsed (re-ingesting a folder costs reading and hashing it).
    """
    ids: list[str | None] = []
    errors: list[str | None] = []
    datas: list[bytes] = []
    for item in items:
        try:
            data = read_input(item, max_bytes)
        except SourceError as exc:
            ids.append(None)
            errors.append(exc.reason)
            continue
        ids.append(hashlib.sha256(data).hexdigest())
        errors.append(None)
        datas.append(data)
    readable = [(item, sid) for item, sid in zip(items, ids, strict=True) if sid is not None]
    stored = known([sid for _, sid in readable]) if known is not None and readable else ()
    snaps: list[SnapshotRow | None] = []
    quotes: list[list[QuoteRow]] = []
    contents: list[bytes] = []
    for (item, sid), data in zip(readable, datas, strict=True):
        if sid in stored:
            snaps.append(None)
            quotes.append([])
            contents.append(data)  # to restore its kept raw bytes, should they be damaged
            continue
        page, error = parse_content(data, item.source, item.charset)
        snap, rows = build_rows(
            sid, item, data, page, error, user_date=user_date, ingested_at=ingested_at
        )
        snaps.append(snap)
        quotes.append(rows)
        contents.append(data)
    return PreparedChunk(
        sources=[i.source for i in items],
        snapshot_ids=ids,
        errors=errors,
        snapshots=snaps,
        quotes=quotes,
        contents=contents,
    )
