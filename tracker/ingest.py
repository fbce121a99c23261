"""Sources → parse → store: the one ingest path used by the CLI, the scheduler and uploads.

Every input ends as exactly one outcome: `ingested`, `present` (the same bytes were ingested
before) or `rejected` (with its reason, also when the same bytes were rejected before).
Content that cannot be parsed is still kept and recorded as a rejected snapshot, so a better
parser (`tracker reparse`) can recover it.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Container, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from .check_config import DEFAULT_FUTURE_TOLERANCE_DAYS
from .discovery import SNAPSHOT_SUFFIXES, Discovery, discover, is_snapshot_name
from .errors import (
    ArchiveError,
    DatabaseBusyError,
    DatabaseMissingError,
    DecodeError,
    StoreError,
)
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
    reparse_charset,
)
from .raw import compress_many
from .rows import QuoteRow, SnapshotRow, quote_table, snapshot_table
from .store import Store, default_db_path, default_raw_dir, utcnow, writing
from .store.rawindex import Location
from .store.writer import Lookup
from .verify import damaged_frames

# Measured with bench/bench_ingest.py (20,000 snapshots of ~20 KB, 2 cores); see bench/README.md.
BATCH_SIZE = 1000  # snapshots per transaction and raw pack: one fsync and one insert per batch
# batches queued for the store thread; two rather than one, so that a slow fsync or insert does
# not stall parsing, buys a best run of 5.5 s instead of 8.0 (median 47× grep -r instead of 57)
_IN_FLIGHT = 2
_RAMP_FROM = 200  # batch size from which a long run starts and ends with smaller batches
__all__ = [
    "MAX_BYTES", "SNAPSHOT_SUFFIXES", "Discovery", "RawInput", "build_rows", "discover",
    "evidence_for", "ingest", "ingest_paths", "is_snapshot_name", "parse_content", "read_input",
    "reparse",
]

Progress = Callable[[IngestOutcome], None]


def ingest(
    inputs: Iterable[RawInput],
    *,
    db_path: Path | str | None = None,
    captured_on: dt.date | None = None,
    max_bytes: int = MAX_BYTES,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
    store: Store | None = None,
    timeout: float | None = None,
    on_stored: Callable[[Store, list[IngestOutcome]], None] | None = None,
) -> IngestSummary:
    """Ingest inputs idempotently; each batch of snapshots is committed atomically.

    Inputs are read, parsed and dated with the database closed; it is opened writable
    (`tracker.store.writing`) only to store each prepared batch, so however slow a hostile
    input is to parse, readers in other processes wait at most one batch's write. `timeout`
    bounds each wait for the database; `on_stored(store, outcomes)` runs in each batch's write
    turn (a batch of known snapshots may need none). Pass `store` only to write through a store the caller
    holds open (then parsing happens while it is held). One process: a second thread stores
    while the first parses.
    """
    items = list(inputs)
    now = utcnow()
    target = _Target(Path(db_path) if db_path is not None else default_db_path(), store, timeout)
    target.on_stored = on_stored
    with target.lookup() as lookup:
        known = _StoredBefore(lookup)
        prepared = (
            prepare_many(items[start:end], max_bytes, captured_on, now, known)
            for start, end in _spans(len(items), batch_size)
        )
        outcomes = _store_all(prepared, target, captured_on, progress)
    return IngestSummary(outcomes=tuple(outcomes))


class _Target:
    """Where batches go: a store opened per write, or the caller's open store.

    Lookups of known snapshots (with where their raw frames are) are remembered, so a batch
    whose every input was stored before, and whose kept frames match, needs no write turn.
    """

    def __init__(self, db: Path, store: Store | None, timeout: float | None) -> None:
        self.db = store.path if store is not None else db
        self.store = store
        self.timeout = timeout
        self.answers: dict[str, str | None] = {}  # id -> rejection reason, None if ingested
        self.where: dict[str, Location] = {}
        self.raw_dir = default_raw_dir(self.db)  # the recorded one, once a lookup has read it
        self.reader = Lookup(self.db, timeout)
        self.on_stored: Callable[[Store, list[IngestOutcome]], None] | None = None

    @contextmanager
    def write(self) -> Iterator[Store]:
        if self.store is not None:
            yield self.store
        else:
            with self.reader.excluded(), writing(self.db, timeout=self.timeout) as store:
                yield store

    @contextmanager
    def lookup(self) -> Iterator[Callable[[list[str]], Container[str]]]:
        """`known(ids)` for the parsing thread: on a connection of its own when the caller
        holds a store open, else on a brief read-only one (never during a parse)."""
        if self.store is not None:
            with self.store.second_connection() as second:
                yield second.known_snapshots
            return
        try:
            yield self._known
        finally:
            self.reader.close()

    def _known(self, ids: list[str]) -> Container[str]:
        if not self.db.exists():
            return ()
        try:
            with self.reader.store() as store:
                self.raw_dir = store.raw_dir
                found = store.known_snapshots(ids)
                self.where.update(store.raw_locations(list(found)))
        except DatabaseBusyError:
            raise
        except StoreError:  # an older schema: a writable open migrates it
            with self.write() as store:
                self.raw_dir = store.raw_dir
                found = store.known_snapshots(ids)
                self.where.update(store.raw_locations(list(found)))
        self.answers.update(found)
        return found

    def known_outcomes(self, chunk: PreparedChunk, user_date: dt.date | None
                       ) -> list[IngestOutcome] | None:
        """The outcomes of a chunk that holds only snapshots stored before, whose kept raw
        frames match; None when the chunk needs a write turn."""
        if self.store is not None or user_date is not None or any(chunk.errors):
            return None
        ids = [sid for sid in chunk.snapshot_ids if sid is not None]
        if any(row is not None for row in chunk.snapshots) or not all(
                sid in self.answers and sid in self.where for sid in ids):
            return None
        kept = list({sid: (sid, self.where[sid], data)
                     for sid, data in zip(ids, chunk.contents, strict=True)}.values())
        if damaged_frames(self.raw_dir, kept):
            return None
        return [
            IngestOutcome(source, "present", snapshot_id=sid) if self.answers[sid] is None
            else IngestOutcome(source, "rejected", snapshot_id=sid,
                               reason=f"{self.answers[sid]} (as before)")
            for source, sid in zip(chunk.sources, ids, strict=True)
        ]


class _StoredBefore:
    """Which snapshot ids the store has committed, asked by the parsing thread, so that
    bytes ingested before are not parsed again.

    It stops asking after a batch in which none was known: a run of new files pays for one
    lookup (~5 ms), a re-ingested folder skips parsing until its first new batch.
    Buys: a re-ingest of 20,000 known snapshots takes 1.4–1.6 s CPU instead of 3.0–3.2
    (14× grep -r instead of 26, median of 5).
    """

    def __init__(self, lookup: Callable[[list[str]], Container[str]]) -> None:
        self._lookup = lookup
        self._asking = True

    def __call__(self, ids: list[str]) -> Container[str]:
        if not self._asking:
            return ()
        found = self._lookup(ids)
        self._asking = bool(found)
        return found


def _spans(count: int, batch_size: int) -> list[tuple[int, int]]:
    """Batch boundaries: at most `batch_size` inputs each, the middle spread evenly (no tiny
    remainder batch), and for big batches a quarter and a half of that at both ends of a long
    run, so the store thread starts sooner and the batch it stores after the last one is
    parsed is short (the pipeline fills and drains faster). Buys: a median of 3.5 s instead
    of 3.9–4.0 over 20,000 snapshots (25× grep -r instead of 30–31; 5 runs each, side by side).
    """
    size = max(1, batch_size)
    edge = [size // 4, size // 2] if size >= _RAMP_FROM else []
    if count < 2 * (sum(edge) + size):
        edge = []
    middle = count - 2 * sum(edge)
    parts = -(-middle // size)
    sizes = edge + [middle // parts + (i < middle % parts) for i in range(parts)] + edge[::-1]
    spans, start = [], 0
    for n in sizes:
        spans.append((start, start + n))
        start += n
    return spans


def _store_all(
    prepared: Iterable[PreparedChunk],
    target: _Target,
    user_date: dt.date | None,
    progress: Progress | None,
) -> list[IngestOutcome]:
    """Store prepared batches (each batch's new snapshots in one transaction).

    Preparing (parsing) holds the GIL; compressing, writing the pack and DuckDB's insert
    mostly do not. So a second thread stores batches while this one prepares the next: two
    cores busy in one process. Buys: the best run of 20,000 snapshots takes 4.3 s instead of
    5.3 (5.5 instead of 7.6 in a busier series), the same CPU time; nothing while other jobs
    hold both cores.
    At most `_IN_FLIGHT` batches wait for the store thread; outcomes are reported in input
    order, and once a batch fails no later one is stored.
    """
    outcomes: list[IngestOutcome] = []
    # stored by this run (used by the store thread only) -> its rejection reason, None if ingested
    seen: dict[str, str | None] = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tracker-store") as storer:
        in_flight: deque[Future[list[IngestOutcome]]] = deque()
        for batch in prepared:
            if len(in_flight) == _IN_FLIGHT:
                _report(in_flight.popleft().result(), outcomes, progress)
            after = in_flight[-1] if in_flight else None
            in_flight.append(storer.submit(_store_after, after, batch, target, user_date, seen))
        while in_flight:
            _report(in_flight.popleft().result(), outcomes, progress)
    return outcomes


def _store_after(
    previous: Future[list[IngestOutcome]] | None,
    chunk: PreparedChunk,
    target: _Target,
    user_date: dt.date | None,
    seen: dict[str, str | None],
) -> list[IngestOutcome]:
    """`_store_batch` in a write turn of its own, unless the batch before it failed: then that
    failure, and nothing stored."""
    if previous is not None:
        previous.result()  # done: the store thread runs batches in order
    known = target.known_outcomes(chunk, user_date)
    if known is not None:
        return known
    with target.write() as store:
        outcomes = _store_batch(chunk, store, user_date, seen)
        if target.on_stored is not None:
            target.on_stored(store, outcomes)
        return outcomes


def _report(batch: list[IngestOutcome], outcomes: list[IngestOutcome], progress: Progress | None) -> None:
    outcomes.extend(batch)
    if progress is not None:
        for outcome in batch:
            progress(outcome)


def _store_batch(
    chunk: PreparedChunk, store: Store, user_date: dt.date | None, seen: dict[str, str | None]
) -> list[IngestOutcome]:
    """Store one prepared batch; every input's outcome, in order.

    The batch's new snapshots commit together with their quotes and raw index rows in one
    transaction (`Store.add_snapshots`; their pack is on disk before it), so no snapshot is
    ever stored without its quotes or raw bytes. The inputs that could not be read and the
    user's date for known undated snapshots (`--captured-on`) are recorded after it, each
    committed on its own: should one of those fail, the snapshots stay committed.

    Only snapshots new to the store (and to this batch) are compressed and written. Bytes
    stored before are `present` when they were ingested, and `rejected` again, with the
    recorded reason, when they were rejected: a rejection never passes for data.
    """
    ids = chunk.snapshot_ids
    existing = store.known_snapshots(
        [sid for sid in set(ids) if sid is not None and sid not in seen]
    )
    restored = _restore_damaged(store, chunk, existing)
    fresh: set[str] = set()
    rows: list[SnapshotRow] = []
    quotes: list[QuoteRow] = []
    contents: list[bytes] = []
    sid: str | None  # (None below for an input that could not be read)
    for row, quote_rows, data in zip(chunk.snapshots, chunk.quotes, chunk.contents, strict=True):
        if row is None:
            continue  # stored before the batch was prepared, so not parsed
        new = row.snapshot_id
        if new in seen or new in existing or new in fresh:
            continue
        fresh.add(new)
        rows.append(row)
        quotes.extend(quote_rows)
        contents.append(data)
    raw = list(zip([r.snapshot_id for r in rows], compress_many(contents), strict=True))
    store.add_snapshots(snapshot_table(rows), quote_table(quotes), raw)
    for row in rows:
        seen[row.snapshot_id] = (row.reason or "") if row.status == "rejected" else None
    store.record_input_errors(
        [(src, why) for src, why in zip(chunk.sources, chunk.errors, strict=True) if why]
    )
    if user_date is not None:
        store.date_undated([sid for sid in ids if sid is not None and sid not in fresh], user_date)

    outcomes = []
    written = iter(rows)
    for source, sid, err in zip(chunk.sources, ids, chunk.errors, strict=True):
        if err is not None:
            outcomes.append(IngestOutcome(source, "rejected", reason=err))
        elif sid in fresh:
            fresh.discard(sid)  # the same bytes again later in the batch are not new
            row = next(written)
            outcomes.append(IngestOutcome(
                source, row.status, snapshot_id=sid, reason=row.reason,
                captured_on=row.captured_on, date_source=row.date_source,
                warnings=_warnings(row),
            ))
        else:
            if sid not in existing and sid not in seen:  # pragma: no cover - nothing deletes
                raise StoreError(f"snapshot {sid} vanished from {store.path} during the ingest")
            known = existing.get(sid, seen.get(sid))
            if known is None:
                note = (RESTORED,) if sid in restored else ()
                restored.discard(sid)
                outcomes.append(IngestOutcome(source, "present", snapshot_id=sid, warnings=note))
            else:
                outcomes.append(IngestOutcome(
                    source, "rejected", snapshot_id=sid, reason=f"{known} (as before)"
                ))
    return outcomes


RESTORED = "its kept raw bytes were missing or damaged; restored from this input"


def _restore_damaged(store: Store, chunk: PreparedChunk, existing: Container[str]) -> set[str]:
    """Rewrite the raw frames of stored snapshots in the chunk whose kept bytes are lost or
    damaged, from the bytes in hand (which have the snapshot's SHA-256); their ids."""
    kept: dict[str, bytes] = {}
    readable = [sid for sid in chunk.snapshot_ids if sid is not None]
    for sid, data in zip(readable, chunk.contents, strict=True):
        if sid in existing:
            kept.setdefault(sid, data)
    if not kept:
        return set()
    where = store.raw_locations(list(kept))
    damaged = [sid for sid in kept if sid not in where] + damaged_frames(
        store.raw_dir, [(sid, where[sid], kept[sid]) for sid in kept if sid in where])
    blobs = compress_many([kept[sid] for sid in damaged])
    store.restore_raw(list(zip(damaged, blobs, strict=True)))
    return set(damaged)


def _warnings(row: SnapshotRow) -> tuple[str, ...]:
    """What a person should hear about a snapshot that was kept as it is."""
    notes = list(row.warnings or ())
    if row.date_note and row.header_date is not None:
        notes.append(f"dates disagree: {row.date_note} (the header date is kept)")
    elif row.date_note:  # a header-shaped line that is not a date (tracker.headerline)
        notes.append(row.date_note)
    day = row.captured_on
    tolerance = dt.timedelta(days=DEFAULT_FUTURE_TOLERANCE_DAYS)  # as `tracker check` by default
    if day is not None and day > row.ingested_at.date() + tolerance:
        notes.append(
            f"capture date {day.isoformat()} is in the future; kept, and `tracker check` "
            "reports it as future_date"
        )
    return tuple(notes)


def ingest_paths(
    paths: Iterable[str | Path] | Discovery,
    *,
    db_path: Path | str | None = None,
    progress: Progress | None = None,
    **options: object,
) -> IngestSummary:
    """`tracker ingest PATH...` as a function: expand the paths, ingest, record bad paths.

    `paths` may also be their `discover(...)` already made (the CLI counts inputs first).
    """
    found = paths if isinstance(paths, Discovery) else discover(paths)
    summary = ingest(found.inputs, db_path=db_path, progress=progress, **options)  # type: ignore[arg-type]
    with writing(db_path) as store:  # also creates an empty database for an empty folder
        store.record_input_errors(list(found.errors))
    errors = tuple(IngestOutcome(src, "rejected", reason=why) for src, why in found.errors)
    if progress is not None:
        for outcome in errors:
            progress(outcome)
    return IngestSummary(outcomes=summary.outcomes + errors, skipped=found.skipped)


def reparse(
    *,
    db_path: Path | str | None = None,
    progress: Callable[[str, str, str], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> dict[str, int]:
    """Rebuild every snapshot's quotes and dates from its kept raw bytes with today's parser.

    Date evidence that is not in the bytes (fetch time, file name, user date) is kept from
    the stored row. Returns counts of snapshots by their new status, plus `missing_raw` and
    `kept` (both left as they were, not parsed: raw bytes lost or damaged; a WARC or MHTML
    snapshot ingested before its declared charset was stored, whose container is not found
    from the current folder). `progress(source, status, why)`: status `ingested`,
    `rejected`, `damaged` or `kept`.
    """
    counts = {"ingested": 0, "rejected": 0, "missing_raw": 0, "changed": 0, "kept": 0}
    path = Path(db_path) if db_path is not None else default_db_path()
    if not path.exists():  # (a mistyped --db must not become a new, empty database)
        raise DatabaseMissingError(
            f"no database at {path}; nothing to reparse (is the --db path right?)")
    with writing(path) as store:
        ids = store.snapshot_ids()
    for start in range(0, len(ids), batch_size):
        with writing(db_path) as store:  # read the rows and their raw bytes, then let go
            old_rows = store.snapshot_rows(ids[start : start + batch_size])
            loaded: list[tuple[SnapshotRow, bytes]] = []
            for old in old_rows:
                try:
                    loaded.append((old, store.load_raw(old.snapshot_id)))
                except ArchiveError as exc:  # missing or damaged: never parsed
                    counts["missing_raw"] += 1
                    if progress:
                        progress(old.source, "damaged", f"kept as it was: {exc}")
        snaps: list[SnapshotRow] = []
        quotes: list[QuoteRow] = []
        for old, data in loaded:
            declared = reparse_charset(old.source, old.snapshot_id, old.declared_charset)
            page, error = parse_content(data, old.source, declared.charset)
            if (declared.unknown is not None and isinstance(error, DecodeError)
                    and old.status == "ingested"):  # the lost declaration matters: not parsed
                counts["kept"] += 1
                if progress:
                    progress(old.source, "kept", f"kept as it was: {declared.unknown}")
                continue
            item = RawInput(
                source=old.source,
                path=None if "://" in old.source else Path(old.source),
                captured_at=old.captured_at,
                captured_at_source=old.captured_at_source,
                original_url=old.original_url,
            )
            snap, rows = build_rows(
                old.snapshot_id, item, data, page, error,
                user_date=old.user_date, ingested_at=old.ingested_at,
            )
            snap = snap._replace(declared_charset=declared.record)
            if (snap.status, snap.captured_on, snap.reason) != (
                old.status, old.captured_on, old.reason
            ):
                counts["changed"] += 1
            counts[snap.status] += 1
            snaps.append(snap)
            quotes.extend(rows)
            if progress:
                progress(old.source, snap.status, "")
        with writing(db_path) as store:
            store.replace_snapshots(snapshot_table(snaps), quote_table(quotes))
    return counts
