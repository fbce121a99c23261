"""Sources → parse → store: the one ingest path used by the CLI, the scheduler and uploads.

Every input ends as exactly one outcome: `ingested`, `present` (same bytes seen before) or
`rejected` (with its reason). Content that cannot be parsed is still kept and recorded as a
rejected snapshot, so a better parser (`tracker reparse`) can recover it.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import os
import stat
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .dates import archive_timestamp, choose_capture_date, date_from_name
from .errors import ParseError, SourceError
from .models import DateEvidence, IngestOutcome, IngestSummary, ParsedPage
from .parse import PARSER_VERSION, parse
from .raw import compress
from .store import QuoteRow, SnapshotRow, Store, default_db_path, utcnow

SNAPSHOT_SUFFIXES = (".txt", ".html", ".htm")
MAX_BYTES = 5 * 1024 * 1024
BATCH_SIZE = 1000
_GZIP_MAGIC = b"\x1f\x8b"

Progress = Callable[[IngestOutcome], None]


@dataclass(frozen=True)
class RawInput:
    """One thing to ingest: a file to read, or bytes already in hand (upload, fetch)."""

    source: str
    path: Path | None = None
    data: bytes | None = None
    captured_at: dt.datetime | None = None  # UTC, when the tracker fetched the page
    captured_at_source: str | None = None  # "fetched" or "archive"


@dataclass(frozen=True)
class Discovery:
    """What a list of paths expands to."""

    inputs: tuple[RawInput, ...]
    errors: tuple[tuple[str, str], ...]  # (path, reason) for paths that cannot be inputs
    skipped: tuple[str, ...]  # files in folders that are not snapshot files


def is_snapshot_name(name: str) -> bool:
    lower = name.lower()
    if lower.endswith(".gz"):
        lower = lower[:-3]
    return lower.endswith(SNAPSHOT_SUFFIXES)


def discover(paths: Iterable[str | Path]) -> Discovery:
    """Expand files and folders (recursively, following links once) into inputs.

    A file named explicitly is always an input; inside folders only snapshot files
    (`.txt`, `.html`, `.htm`, optionally `.gz`) are, the rest is listed as skipped.
    """
    inputs: list[RawInput] = []
    errors: list[tuple[str, str]] = []
    skipped: list[str] = []
    for given in paths:
        path = Path(given)
        try:
            st = path.stat()
        except FileNotFoundError:
            errors.append((str(given), "no such file or folder; check the path"))
            continue
        except OSError as exc:
            errors.append((str(given), f"cannot be read ({exc.strerror or exc})"))
            continue
        if stat.S_ISDIR(st.st_mode):
            for found, reason in _walk(path):
                if reason == "input":
                    inputs.append(RawInput(source=str(found), path=found))
                elif reason == "skipped":
                    skipped.append(str(found))
                else:
                    errors.append((str(found), reason))
        else:
            inputs.append(RawInput(source=str(given), path=path))
    return Discovery(tuple(inputs), tuple(errors), tuple(skipped))


def _walk(root: Path) -> Iterator[tuple[Path, str]]:
    visited: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            st = folder.stat()
            key = (st.st_dev, st.st_ino)
            if key in visited:
                continue  # a symlink loop or a folder linked twice
            visited.add(key)
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            yield folder, f"folder cannot be read ({exc.strerror or exc})"
            continue
        subfolders = []
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError:
                is_dir = False
            if is_dir:
                subfolders.append(Path(entry.path))
            elif is_snapshot_name(entry.name):
                yield Path(entry.path), "input"
            elif not entry.name.startswith("."):
                yield Path(entry.path), "skipped"
        stack.extend(reversed(subfolders))


def read_input(item: RawInput, max_bytes: int = MAX_BYTES) -> bytes:
    """The input's content, decompressed if gzip, never more than `max_bytes` of it."""
    if item.data is not None:
        data = item.data
        if len(data) > max_bytes:
            raise SourceError(_too_large(len(data), max_bytes), item.source)
    else:
        assert item.path is not None
        try:
            with open(item.path, "rb") as fh:
                st = os.fstat(fh.fileno())
                if stat.S_ISDIR(st.st_mode):
                    raise SourceError("is a folder, not a file", item.source)
                if st.st_size > max_bytes:
                    raise SourceError(_too_large(st.st_size, max_bytes), item.source)
                data = fh.read(max_bytes + 1)
        except IsADirectoryError:
            raise SourceError("is a folder, not a file", item.source) from None
        except OSError as exc:
            raise SourceError(f"cannot be read ({exc.strerror or exc})", item.source) from None
        if len(data) > max_bytes:
            raise SourceError(_too_large(len(data), max_bytes), item.source)
    if data.startswith(_GZIP_MAGIC):
        data = _gunzip(data, max_bytes, item.source)
    return data


def _too_large(size: int, limit: int) -> str:
    return (
        f"is {size:,} bytes, over the {limit:,}-byte limit for one snapshot; "
        "is it really a page snapshot? (raise the limit with --max-bytes)"
    )


def _gunzip(data: bytes, max_bytes: int, source: str) -> bytes:
    out = bytearray()
    rest = data
    try:
        while rest:  # a .gz may hold several members
            d = zlib.decompressobj(wbits=31)
            out += d.decompress(rest, max_bytes + 1 - len(out))
            if len(out) > max_bytes or d.unconsumed_tail:
                raise SourceError(
                    f"decompresses to more than the {max_bytes:,}-byte limit", source
                )
            if not d.eof:
                raise SourceError("gzip data is truncated; re-download or re-compress it", source)
            rest = d.unused_data.lstrip(b"\x00")
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise SourceError(f"corrupt gzip data ({exc}); re-compress the file", source) from None
    return bytes(out)


def evidence_for(item: RawInput, page: ParsedPage | None, user_date: dt.date | None) -> DateEvidence:
    """Every date the input carries: header, fetch/archive time, file name, the user's."""
    captured_at, at_source = item.captured_at, item.captured_at_source
    if captured_at is None:
        stamp = archive_timestamp(item.source)
        if stamp is not None:
            captured_at, at_source = stamp, "archive"
    name_date, name_stamp = date_from_name(item.source.split("?")[0].rstrip("/"))
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
        date_note=chosen.disagreement if page else None,
        content_type=page.meta.content_type if page else None,
        size_bytes=len(data),
        listing=page.meta.listing.text if page and page.meta.listing else None,
        title=page.meta.title if page else None,
        warnings=page.warnings if page else (),
    )
    quotes = [
        QuoteRow(
            snapshot_id=snapshot_id,
            position=i,
            currency=q.currency,
            quote_currency=q.quote_currency,
            rate_text=q.rate_text,
            rate_decimals=q.rate_decimals,
            change_text=q.change_text,
            change_decimals=q.change_decimals,
        )
        for i, q in enumerate(page.quotes if page else ())
    ]
    return snap, quotes


def parse_content(data: bytes, source: str) -> tuple[ParsedPage | None, ParseError | None]:
    try:
        return parse(data, source=source), None
    except ParseError as exc:
        return None, exc


def ingest(
    inputs: Iterable[RawInput],
    *,
    db_path: Path | str | None = None,
    captured_on: dt.date | None = None,
    max_bytes: int = MAX_BYTES,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
    store: Store | None = None,
    workers: int = 2,
) -> IngestSummary:
    """Ingest inputs idempotently; each batch of snapshots is committed atomically.

    Pass `store` to reuse an open writable store; otherwise the database is opened
    for the run and closed after it.
    """
    db = Path(db_path) if db_path is not None else default_db_path()
    if store is None:
        with Store.open(db) as opened:
            return ingest(
                inputs, db_path=db, captured_on=captured_on,
                max_bytes=max_bytes, batch_size=batch_size, progress=progress,
                store=opened, workers=workers,
            )
    outcomes: list[IngestOutcome] = []
    seen: set[str] = set()

    def report(outcome: IngestOutcome) -> None:
        outcomes.append(outcome)
        if progress is not None:
            progress(outcome)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for batch in _chunks(inputs, batch_size):
            _ingest_batch(batch, store, captured_on, max_bytes, pool, seen, report)
    return IngestSummary(outcomes=tuple(outcomes))


_Loaded = tuple[bytes | None, str | None, bytes | None, SourceError | None]


def _load(item: RawInput, max_bytes: int) -> _Loaded:
    """Read, hash and compress: the GIL-free part of ingest, run on worker threads."""
    try:
        data = read_input(item, max_bytes)
    except SourceError as exc:
        return None, None, None, exc
    return data, hashlib.sha256(data).hexdigest(), compress(data), None


def _ingest_batch(
    batch: Sequence[RawInput],
    store: Store,
    user_date: dt.date | None,
    max_bytes: int,
    pool: ThreadPoolExecutor,
    seen: set[str],
    report: Progress,
) -> None:
    loaded = list(pool.map(lambda item: _load(item, max_bytes), batch))
    existing = store.existing_ids([sid for _, sid, _, _ in loaded if sid and sid not in seen])
    fresh: list[tuple[RawInput, bytes, str]] = []
    raw: list[tuple[str, bytes]] = []
    results: list[IngestOutcome | None] = []
    input_errors: list[tuple[str, str]] = []
    for item, (data, sid, blob, err) in zip(batch, loaded, strict=True):
        if err is not None:
            input_errors.append((item.source, err.reason))
            results.append(IngestOutcome(item.source, "rejected", reason=err.reason))
        elif sid in seen or sid in existing:
            results.append(IngestOutcome(item.source, "present", snapshot_id=sid))
        else:
            seen.add(sid)
            fresh.append((item, data, sid))
            raw.append((sid, blob))
            results.append(None)

    now = utcnow()
    snaps: list[SnapshotRow] = []
    quotes: list[QuoteRow] = []
    for item, data, sid in fresh:
        page, error = parse_content(data, item.source)
        snap, rows = build_rows(sid, item, data, page, error, user_date=user_date, ingested_at=now)
        snaps.append(snap)
        quotes.extend(rows)
    try:
        store.add_snapshots(snaps, quotes, raw)
    except BaseException:
        seen.difference_update(sid for _, _, sid in fresh)
        raise
    store.record_input_errors(input_errors)
    if user_date is not None:
        store.date_undated([o.snapshot_id for o in results if o and o.status == "present"], user_date)

    fresh_outcomes = iter(
        IngestOutcome(
            s.source,
            s.status,
            snapshot_id=s.snapshot_id,
            reason=s.reason,
            captured_on=s.captured_on,
            date_source=s.date_source,
        )
        for s in snaps
    )
    for outcome in results:
        report(outcome if outcome is not None else next(fresh_outcomes))


def _chunks(items: Iterable[RawInput], size: int) -> Iterator[list[RawInput]]:
    batch: list[RawInput] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def ingest_paths(
    paths: Iterable[str | Path],
    *,
    db_path: Path | str | None = None,
    progress: Progress | None = None,
    **options: object,
) -> IngestSummary:
    """`tracker ingest PATH...` as a function: expand the paths, ingest, record bad paths."""
    found = discover(paths)
    with Store.open(db_path) as store:
        summary = ingest(found.inputs, store=store, progress=progress, **options)  # type: ignore[arg-type]
        store.record_input_errors(list(found.errors))
    errors = tuple(IngestOutcome(src, "rejected", reason=why) for src, why in found.errors)
    if progress is not None:
        for outcome in errors:
            progress(outcome)
    return IngestSummary(outcomes=summary.outcomes + errors, skipped=found.skipped)


def reparse(
    *,
    db_path: Path | str | None = None,
    progress: Callable[[str, str], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> dict[str, int]:
    """Rebuild every snapshot's quotes and dates from its kept raw bytes with today's parser.

    Date evidence that is not in the bytes (fetch time, file name, user date) is kept from
    the stored row. Returns counts of snapshots by their new status, plus `missing_raw`.
    """
    counts = {"ingested": 0, "rejected": 0, "missing_raw": 0, "changed": 0}
    with Store.open(db_path) as store:
        ids = store.snapshot_ids()
        for start in range(0, len(ids), batch_size):
            old_rows = store.snapshot_rows(ids[start : start + batch_size])
            snaps: list[SnapshotRow] = []
            quotes: list[QuoteRow] = []
            for old in old_rows:
                try:
                    data = store.load_raw(old.snapshot_id)
                except Exception as exc:
                    counts["missing_raw"] += 1
                    if progress:
                        progress(old.source, f"kept as it was: {exc}")
                    continue
                item = RawInput(
                    source=old.source,
                    path=None if "://" in old.source else Path(old.source),
                    captured_at=old.captured_at,
                    captured_at_source=old.captured_at_source,
                )
                page, error = parse_content(data, old.source)
                snap, rows = build_rows(
                    old.snapshot_id, item, data, page, error,
                    user_date=old.user_date, ingested_at=old.ingested_at,
                )
                if (snap.status, snap.captured_on, snap.reason) != (
                    old.status, old.captured_on, old.reason
                ):
                    counts["changed"] += 1
                counts[snap.status] += 1
                snaps.append(snap)
                quotes.extend(rows)
                if progress:
                    progress(old.source, snap.status)
            store.replace_snapshots(snaps, quotes)
    return counts
