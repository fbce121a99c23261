"""Thin reads over the tracker's library API, for the dashboard's callbacks.

Every read opens a short-lived read-only connection, so a process that ingests gets the
database between two reads, and retries briefly while the database is held: by another
process's writer (DuckDB's file lock, retried inside `tracker.store.connect`) or by this
process's own upload (DuckDB refuses a read-only and a writable connection to one file in one
process, whatever the thread). The one thing kept between calls is each app's latest findings
(`FindingsCache`), keyed by the database's `data_version`, so paging the findings table or
switching views does not re-run the checks over an unchanged database.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tracker import escape
from tracker.errors import DatabaseBusyError, DatabaseMissingError, StoreError, TrackerError
from tracker.models import label_of, label_order
from tracker.prepare import MAX_BYTES
from tracker.rows import SnapshotRow
from tracker.store import Store

T = TypeVar("T")

SERIES_COLUMNS = (
    "captured_on", "label", "currency", "quote_currency", "rate", "rate_text", "rate_decimals",
    "change_pct", "change_text", "snapshots", "distinct_rates", "snapshot_id",
)
FINDING_COLUMNS = (
    "finding_id", "kind", "severity", "currency", "captured_on", "snapshot_ids", "message",
)


class FindingsCache:
    """The findings of one database version, shared by one app's callbacks (thread-safe).

    Keyed by `data_version` read while a read-only connection is open: no process can write
    then (DuckDB admits a writer or readers), so the key names exactly the data checked.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: str | None = None
        self._frame: pd.DataFrame | None = None

    def get(self, key: str) -> pd.DataFrame | None:
        with self._lock:
            return self._frame if key == self._key else None

    def put(self, key: str, frame: pd.DataFrame) -> None:
        with self._lock:
            self._key, self._frame = key, frame


@dataclass(frozen=True)
class Settings:
    """Everything a dashboard instance needs to know; fixed when the app is created."""

    db_path: Path
    refresh_seconds: float = 10.0  # how often the page looks for new data
    read_timeout: float = 5.0  # how long a read waits for a busy database
    max_upload_bytes: int = MAX_BYTES  # per uploaded file
    max_upload_files: int = 50  # per drop
    max_points: int = 800  # per trace and figure, before the server downsamples
    check_config: object | None = field(default=None)  # a tracker.checks.CheckConfig
    read_only: bool = False  # no upload
    findings_cache: FindingsCache = field(default_factory=FindingsCache, compare=False,
                                          repr=False)


def printable(text: object) -> str:
    """Snapshot-derived text as the dashboard shows it: control characters made visible.

    Dash renders strings as text (never markup); this also keeps an escape sequence, a bell
    or a right-to-left override in a page's title or file name from hiding or reordering text.
    """
    return escape.printable(text, keep_lines=True)


def data_version(db_path: Path | str) -> str:
    """A token that changes whenever the database is written, read without opening it.

    The size and modification time of the database file and its write-ahead log: any
    process's commit changes one of them, and no lock is needed to look.
    """
    db = Path(db_path)
    parts = []
    for path in (db, db.with_name(db.name + ".wal")):
        try:
            st = path.stat()
        except OSError:
            parts.append("-")
        else:
            parts.append(f"{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def _in_process_conflict(exc: StoreError) -> bool:
    return "different configuration" in str(exc)


def with_retry(action: Callable[[], T], timeout: float, what: str) -> T:
    """Run `action`, retrying while this process's own writer or readers hold the database."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        try:
            return action()
        except DatabaseMissingError:
            raise
        except StoreError as exc:
            if not _in_process_conflict(exc):
                raise
            if time.monotonic() >= deadline:
                raise DatabaseBusyError(
                    f"{what}: the database is busy with an upload in this dashboard "
                    f"(waited {timeout:.0f} s); try again in a moment"
                ) from None
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 0.1)


def read(settings: Settings, fn: Callable[[Store], T]) -> T:
    """`fn(store)` over a short-lived read-only connection."""

    def attempt() -> T:
        with Store.open(settings.db_path, read_only=True, timeout=settings.read_timeout) as store:
            return fn(store)

    return with_retry(attempt, settings.read_timeout, f"reading {settings.db_path}")


# -- what the page shows --------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    """Counts for the status line and the currencies that can be charted."""

    counts: dict[str, int]
    labels: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return self.counts.get("ingested", 0) == 0


EMPTY_COUNTS = {"snapshots": 0, "ingested": 0, "rejected": 0, "undated": 0, "quotes": 0,
                "raw": 0, "input_errors": 0}


def overview(settings: Settings) -> Overview:
    """Counts and chartable currencies; a missing database is simply empty."""
    try:
        counts, pairs = read(settings, lambda s: (s.counts(), s.pairs()))
    except DatabaseMissingError:
        return Overview(dict(EMPTY_COUNTS), ())
    labels = sorted({label_of(c, q) for c, q in pairs}, key=label_order)
    return Overview(counts, tuple(labels))


def series_frame(table: pa.Table) -> pd.DataFrame:
    """The `series` view as the figures want it: floats for plotting, printed texts kept."""
    if table.num_rows == 0:
        return empty_series()
    frame = pd.DataFrame({
        "captured_on": pd.to_datetime(table.column("captured_on").to_numpy(zero_copy_only=False))
        .astype("datetime64[ns]"),
        "currency": table.column("currency").to_numpy(zero_copy_only=False),
        "quote_currency": table.column("quote_currency").to_numpy(zero_copy_only=False),
        "rate": pc.cast(table.column("rate"), pa.float64()).to_numpy(zero_copy_only=False),
        "rate_text": table.column("rate_text").to_numpy(zero_copy_only=False),
        "rate_decimals": table.column("rate_decimals").to_numpy(zero_copy_only=False)
        .astype("int64"),
        "change_pct": pc.cast(table.column("change_pct"), pa.float64())
        .to_numpy(zero_copy_only=False),
        "change_text": table.column("change_text").to_numpy(zero_copy_only=False),
        "snapshots": table.column("snapshots").to_numpy(zero_copy_only=False).astype("int64"),
        "distinct_rates": table.column("distinct_rates").to_numpy(zero_copy_only=False)
        .astype("int64"),
        "snapshot_id": table.column("snapshot_id").to_numpy(zero_copy_only=False),
    })
    pairs = frame[["currency", "quote_currency"]].drop_duplicates()
    labels = {(c, q): label_of(c, q) for c, q in pairs.itertuples(index=False)}
    frame["label"] = pd.Series([labels[(c, q)] for c, q in
                                zip(frame["currency"], frame["quote_currency"], strict=True)],
                               dtype=object)
    return frame[list(SERIES_COLUMNS)]


def empty_series() -> pd.DataFrame:
    return pd.DataFrame({
        "captured_on": pd.Series([], dtype="datetime64[ns]"),
        **{c: pd.Series([], dtype=object) for c in ("label", "currency", "quote_currency",
                                                     "rate_text", "change_text", "snapshot_id")},
        **{c: pd.Series([], dtype="float64") for c in ("rate", "change_pct")},
        **{c: pd.Series([], dtype="int64") for c in ("rate_decimals", "snapshots",
                                                      "distinct_rates")},
    })[list(SERIES_COLUMNS)]


def series_of(store: Store, labels: Sequence[str] | None,
               start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame:
    codes = sorted({lab.split("/")[0] for lab in labels}) if labels else None
    frame = series_frame(store.series(codes, start, end))
    if labels:
        frame = frame[frame["label"].isin(list(labels))].reset_index(drop=True)
    return frame


def load_series(settings: Settings, labels: Sequence[str] | None = None,
                start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame:
    """The dated series of these currencies (labels as in `label_of`), oldest first."""
    if labels is not None and not labels:
        return empty_series()
    try:
        return read(settings, lambda s: series_of(s, labels, start, end))
    except DatabaseMissingError:
        return empty_series()


def findings_of(store: Store, settings: Settings) -> pd.DataFrame:
    """The findings over `store` (open read-only); callers must not modify the frame."""
    from tracker import checks

    key = data_version(settings.db_path)
    frame = settings.findings_cache.get(key)
    if frame is None:
        findings = checks.run_checks(store=store, config=settings.check_config)  # type: ignore[arg-type]
        frame = checks.findings_frame(findings)[list(FINDING_COLUMNS)]
        settings.findings_cache.put(key, frame)
    return frame


def load_findings(settings: Settings) -> pd.DataFrame:
    """Every finding of the inconsistency checks, newest first (`tracker.checks`)."""
    try:
        return read(settings, lambda s: findings_of(s, settings))
    except DatabaseMissingError:
        return empty_findings()


def empty_findings() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in FINDING_COLUMNS})


def load_snapshots(settings: Settings) -> pd.DataFrame:
    """Every snapshot, newest capture first (undated ones first of all)."""
    try:
        return read(settings, lambda s: s.snapshots())
    except DatabaseMissingError:
        return pd.DataFrame()


@dataclass(frozen=True)
class SnapshotDetail:
    """One snapshot as the detail panel shows it: its row, its quotes, its raw ticker lines."""

    row: SnapshotRow
    quotes: tuple[dict[str, object], ...]
    ticker_lines: tuple[str, ...] | None
    raw_note: str | None  # why the ticker lines cannot be shown


def _details_of(store: Store, ids: Sequence[str]) -> list[SnapshotDetail]:
    from tracker.parse import parse

    rows = {r.snapshot_id: r for r in store.snapshot_rows(list(ids))}
    quotes: dict[str, list[dict[str, object]]] = {}
    for q in store.snapshot_quotes(list(rows)).to_pylist():
        quotes.setdefault(q["snapshot_id"], []).append(q)
    out = []
    for sid in ids:
        row = rows.get(sid)
        if row is None:
            continue
        lines: tuple[str, ...] | None = None
        note: str | None = None
        try:
            data = store.load_raw(sid)
        except TrackerError as exc:
            note = str(exc)
        else:
            try:
                lines = parse(data, source=row.source).ticker_lines
            except TrackerError as exc:
                note = f"the raw bytes do not parse: {getattr(exc, 'reason', exc)}"
        out.append(SnapshotDetail(row, tuple(quotes.get(sid, ())), lines, note))
    return out


def load_details(settings: Settings, ids: Sequence[str]) -> list[SnapshotDetail]:
    """Details of these snapshots, in the order given (unknown ids are left out)."""
    if not ids:
        return []
    return read(settings, lambda s: _details_of(s, ids))
