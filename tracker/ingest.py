"""Sources → parse → store: the one ingest path used by the CLI, the scheduler and uploads.

Every input ends as exactly one outcome: `ingested`, `present` (the same bytes were ingested
before) or `rejected` (with its reason, also when the same bytes were rejected before).
Content that cannot be parsed is still kept and recorded as a rejected snapshot, so a better
parser (`tracker reparse`) can recover it.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from .models import IngestOutcome, IngestSummary
from .prepare import (
    MAX_BYTES,
    PreparedChunk,
    RawInput,
    build_rows,
    evidence_for,
    parse_content,
    prepare_many,
    read_input,
)
from .rows import QuoteRow, SnapshotRow, quote_table, snapshot_table
from .store import Store, default_db_path, utcnow

SNAPSHOT_SUFFIXES = (".txt", ".html", ".htm")
BATCH_SIZE = 1000
POOL_THRESHOLD = 500  # below this, worker processes cost more than they save
_CHUNK = 200
__all__ = [
    "MAX_BYTES", "Discovery", "RawInput", "build_rows", "discover", "evidence_for", "ingest",
    "ingest_paths", "parse_content", "read_input", "reparse",
]

Progress = Callable[[IngestOutcome], None]


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


def ingest(
    inputs: Iterable[RawInput],
    *,
    db_path: Path | str | None = None,
    captured_on: dt.date | None = None,
    max_bytes: int = MAX_BYTES,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
    store: Store | None = None,
    workers: int = os.cpu_count() or 1,
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
    seen: dict[str, str | None] = {}  # stored this run → its rejection reason, None if ingested

    def report(outcome: IngestOutcome) -> None:
        outcomes.append(outcome)
        if progress is not None:
            progress(outcome)

    items = list(inputs)
    now = utcnow()
    step = max(1, min(_CHUNK, batch_size))
    chunks = [items[i : i + step] for i in range(0, len(items), step)]
    if workers > 1 and len(items) >= POOL_THRESHOLD:
        # spawn: the parent holds a DuckDB connection and threads; workers need neither
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            results = pool.map(
                prepare_many, chunks, repeat(max_bytes), repeat(captured_on), repeat(now)
            )
            _store_all(results, store, captured_on, seen, report, batch_size)
    else:
        results = (prepare_many(c, max_bytes, captured_on, now) for c in chunks)
        _store_all(results, store, captured_on, seen, report, batch_size)
    return IngestSummary(outcomes=tuple(outcomes))


def _store_all(
    results: Iterable[PreparedChunk],
    store: Store,
    user_date: dt.date | None,
    seen: dict[str, str | None],
    report: Progress,
    batch_size: int,
) -> None:
    pending: list[PreparedChunk] = []
    size = 0
    for chunk in results:
        pending.append(chunk)
        size += len(chunk.sources)
        if size >= batch_size:
            _store_batch(pending, store, user_date, seen, report)
            pending, size = [], 0
    if pending:
        _store_batch(pending, store, user_date, seen, report)


def _store_batch(
    chunks: Sequence[PreparedChunk],
    store: Store,
    user_date: dt.date | None,
    seen: dict[str, str | None],
    report: Progress,
) -> None:
    """Write one batch of prepared chunks in one transaction and report each input's fate.

    Bytes stored before are `present` when they were ingested, and `rejected` again, with
    the recorded reason, when they were rejected: a rejection never passes for data.
    """
    snaps = pa.concat_tables([c.snapshots for c in chunks])
    blobs = [b for c in chunks for b in c.blobs]
    ids: list[str] = snaps.column("snapshot_id").to_pylist()
    existing = store.known_snapshots([sid for sid in ids if sid not in seen])
    keep: list[bool] = []
    fresh: set[str] = set()
    for sid in ids:
        new = sid not in seen and sid not in existing and sid not in fresh
        keep.append(new)
        if new:
            fresh.add(sid)
    fresh_snaps = snaps.filter(pa.array(keep, pa.bool_()))
    quotes = pa.concat_tables([c.quotes for c in chunks])
    fresh_quotes = quotes.filter(
        pc.is_in(quotes.column("snapshot_id"), value_set=pa.array(list(fresh), pa.string()))
    )
    raw = [(sid, b) for sid, b, k in zip(ids, blobs, keep, strict=True) if k]
    store.add_snapshots(fresh_snaps, fresh_quotes, raw)
    for sid, status, reason in zip(
        *fresh_snaps.select(["snapshot_id", "status", "reason"]).to_pydict().values(), strict=True
    ):
        seen[sid] = (reason or "") if status == "rejected" else None
    store.record_input_errors(
        [(src, err) for c in chunks for src, err in zip(c.sources, c.errors, strict=True) if err]
    )
    if user_date is not None:
        store.date_undated([sid for sid, k in zip(ids, keep, strict=True) if not k], user_date)

    columns = ["status", "reason", "captured_on", "date_source", "date_note", "warnings", "ingested_at"]
    written = iter(fresh_snaps.select(columns).to_pylist())
    kept = iter(keep)
    for chunk in chunks:
        for source, sid, err in zip(chunk.sources, chunk.snapshot_ids, chunk.errors, strict=True):
            if err is not None:
                report(IngestOutcome(source, "rejected", reason=err))
            elif next(kept):
                row = next(written)
                report(IngestOutcome(source, row["status"], snapshot_id=sid, reason=row["reason"],
                                     captured_on=row["captured_on"], date_source=row["date_source"],
                                     warnings=_warnings(row)))
            else:
                known = existing.get(sid, seen.get(sid))
                if known is None:
                    report(IngestOutcome(source, "present", snapshot_id=sid))
                else:
                    report(IngestOutcome(source, "rejected", snapshot_id=sid,
                                         reason=f"{known} (as before)"))


def _warnings(row: dict) -> tuple[str, ...]:
    """What a person should hear about a snapshot that was kept as it is."""
    notes = list(row["warnings"] or ())
    if row["date_note"]:
        notes.append(f"dates disagree: {row['date_note']} (the header date is kept)")
    day = row["captured_on"]
    if day is not None and day > row["ingested_at"].date() + dt.timedelta(days=1):
        notes.append(
            f"capture date {day.isoformat()} is in the future; kept, and `tracker check` "
            "reports it as future_date"
        )
    return tuple(notes)


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
            store.replace_snapshots(snapshot_table(snaps), quote_table(quotes))
    return counts
