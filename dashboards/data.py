"""Thin reads over the tracker's library API, for the dashboard's callbacks.

Every read opens a short-lived read-only connection, so a process that ingests gets the
database between two reads; while the database is held (by another process's writer, or by
this process's own upload: DuckDB refuses a read-only and a writable connection to one file in
one process) it waits like every command does (`tracker.store.connection.connect`). The
queries and the Arrow→pandas conversion are `tracker.read`'s, as the CLI's and the notebook
API's. The one thing kept between calls is each app's latest frames (`FrameCache`: the
overview, the series, the findings, the coverage, the snapshots' days and the snapshots
table's rows), keyed by the database's `data_version`, so paging a table or switching views
neither re-reads nor re-runs the checks over an unchanged database.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import pyarrow as pa

from tracker import escape
from tracker import read as tracker_read
from tracker.errors import DatabaseMissingError, TrackerError, UsageError
from tracker.prepare import MAX_BYTES
from tracker.rows import SnapshotRow
from tracker.store import Store

T = TypeVar("T")

SERIES_COLUMNS = (
    "captured_on", "label", "currency", "quote_currency", "rate", "rate_text", "rate_decimals",
    "change_pct", "change_text", "snapshots", "distinct_rates", "snapshot_id",
)
_EMPTY_SERIES_TYPES = {
    "captured_on": pa.date32(), "label": pa.string(), "currency": pa.string(),
    "quote_currency": pa.string(), "rate": pa.float64(), "rate_text": pa.string(),
    "rate_decimals": pa.int8(), "change_pct": pa.float64(), "change_text": pa.string(),
    "snapshots": pa.int32(), "distinct_rates": pa.int32(), "snapshot_id": pa.string(),
}
FINDING_COLUMNS = (
    "finding_id", "kind", "severity", "currency", "captured_on", "snapshot_ids", "message",
)


class FrameCache:
    """Frames read from one database version, shared by one app's callbacks (thread-safe).

    Keyed by `data_version` read while a read-only connection is open: no process can write
    then (DuckDB admits a writer or readers), so the key names exactly the data read. A
    request whose frames are all cached under the file's current version opens no connection
    at all (opening is ~25 ms; reading the series and running the checks 100–300 ms more).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # one per frame, held while it is computed: parallel requests of a fresh page (the
        # chart, the table, the timeline) wait for one run of the checks instead of each
        # running them
        self._computing: dict[str, threading.Lock] = {}
        self._key: str | None = None
        self._frames: dict[str, object] = {}

    def get(self, key: str, name: str) -> object | None:
        with self._lock:
            return self._frames.get(name) if key == self._key else None

    def put(self, key: str, name: str, frame: object) -> None:
        with self._lock:
            if key != self._key:
                self._key, self._frames = key, {}
            self._frames[name] = frame

    def computing(self, name: str) -> threading.Lock:
        with self._lock:
            return self._computing.setdefault(name, threading.Lock())


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
    cache: FrameCache = field(default_factory=FrameCache, compare=False, repr=False)


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


def read(settings: Settings, fn: Callable[[Store], T]) -> T:
    """`fn(store)` over a short-lived read-only connection."""

    with Store.open(settings.db_path, read_only=True, timeout=settings.read_timeout) as store:
        return fn(store)


def cached(store: Store, settings: Settings, name: str, compute: Callable[[Store], Any]) -> Any:
    """`compute(store)` (`store` open read-only), once per database version and app."""
    cache = settings.cache
    key = data_version(settings.db_path)
    frame = cache.get(key, name)
    if frame is not None:
        return frame
    with cache.computing(name):
        frame = cache.get(key, name)  # another request may have just computed it
        if frame is None:
            frame = compute(store)
            cache.put(key, name, frame)
    return frame


def read_cached(settings: Settings, computes: dict[str, Callable[[Store], Any]]) -> dict[str, Any]:
    """Each named frame, from the app's cache while the database file is unchanged (no
    connection opened), else read over one read-only connection and cached."""
    key = data_version(settings.db_path)
    hits = {name: settings.cache.get(key, name) for name in computes}
    if all(v is not None for v in hits.values()):
        return hits
    return read(settings, lambda s: {name: cached(s, settings, name, fn)
                                     for name, fn in computes.items()})


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
        ov: Overview = read_cached(settings, {"overview": lambda s: Overview(
            s.counts(), tuple(tracker_read.pair_labels(s)))})["overview"]
    except DatabaseMissingError:
        return Overview(dict(EMPTY_COUNTS), ())
    return ov


def series_of(store: Store, labels: Sequence[str] | None,
              start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame:
    """The dated series as the figures want it: floats for plotting, printed texts kept."""
    frame = tracker_read.series_frame(store, labels, start, end, exact=False)
    return frame[list(SERIES_COLUMNS)]


def empty_series() -> pd.DataFrame:
    """A series frame without rows, with the columns and types of `series_of`'s."""
    table = pa.table({c: pa.array([], t) for c, t in _EMPTY_SERIES_TYPES.items()})
    return tracker_read.to_frame(table, exact=False)[list(SERIES_COLUMNS)]


def load_series(settings: Settings, labels: Sequence[str] | None = None,
                start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame:
    """The dated series of these currencies (labels as in `label_of`), oldest first."""
    if labels is not None and not labels:
        return empty_series()
    try:
        return read(settings, lambda s: series_of(s, labels, start, end))
    except DatabaseMissingError:
        return empty_series()


def _findings(settings: Settings) -> Callable[[Store], pd.DataFrame]:
    def run(store: Store) -> pd.DataFrame:
        from tracker import checks

        findings = checks.run_checks(store=store, config=settings.check_config)  # type: ignore[arg-type]
        return checks.findings_frame(findings)[list(FINDING_COLUMNS)]

    return run


def findings_of(store: Store, settings: Settings) -> pd.DataFrame:
    """The findings over `store` (open read-only); callers must not modify the frame."""
    frame: pd.DataFrame = cached(store, settings, "findings", _findings(settings))
    return frame


def load_findings(settings: Settings) -> pd.DataFrame:
    """Every finding of the inconsistency checks, newest first (`tracker.checks`)."""
    try:
        frame: pd.DataFrame = read_cached(settings, {"findings": _findings(settings)})["findings"]
    except DatabaseMissingError:
        return empty_findings()
    return frame


@dataclass(frozen=True)
class Movements:
    """What the movements chart is drawn from (every currency; cached per data version)."""

    series: pd.DataFrame
    findings: pd.DataFrame
    coverage: pd.DataFrame
    days: dict[str, dt.date]  # each dated snapshot's capture day (a selection's days)

    def of(self, labels: Sequence[str] | None) -> pd.DataFrame:
        """The series of these labels (None or empty: all), as `series_of(store, labels)`."""
        if not labels:
            return self.series.copy()
        return self.series[self.series["label"].isin(list(labels))]


def load_movements(settings: Settings) -> Movements:
    """The series, the findings, the coverage and the snapshots' days, read once per
    database version."""
    got = read_cached(settings, {"series": lambda s: series_of(s, None),
                                 "findings": _findings(settings), "coverage": coverage_of,
                                 "days": _snapshot_days})
    return Movements(got["series"], got["findings"], got["coverage"], got["days"])


def _snapshot_days(store: Store) -> dict[str, dt.date]:
    table = store.query("SELECT snapshot_id, captured_on FROM snapshots "
                        "WHERE captured_on IS NOT NULL")
    return dict(zip(table.column("snapshot_id").to_pylist(),
                    table.column("captured_on").to_pylist(), strict=True))


def empty_findings() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in FINDING_COLUMNS})


def snapshots_of(store: Store) -> pd.DataFrame:
    """Every snapshot, newest capture first (undated ones first of all)."""
    return tracker_read.to_frame(store.snapshots(), exact=False)


def load_snapshots(settings: Settings) -> pd.DataFrame:
    """Every snapshot, newest capture first (undated ones first of all)."""
    try:
        return read(settings, snapshots_of)
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


def load_details_and_compare(settings: Settings, ids: Sequence[str]
                             ) -> tuple[list[SnapshotDetail], pd.DataFrame | None]:
    """A finding's detail panel: `load_details`, and these snapshots side by side
    (`tracker.read.compare_frame`, as `t.compare`; None for fewer than two), over one
    connection."""
    if not ids:
        return [], None

    def both(store: Store) -> tuple[list[SnapshotDetail], pd.DataFrame | None]:
        side = None
        if len(ids) >= 2:
            try:
                side = tracker_read.compare_frame(store, ids)
            except UsageError:  # a snapshot vanished between the findings and this read
                side = None
        return _details_of(store, ids), side

    return read(settings, both)


def official_of(store: Store, labels: Sequence[str] | None) -> pd.DataFrame:
    """The central banks' official rates of these currencies, units per USD as floats
    (`tracker.read.official_series_frame`); no rows when none were fetched."""
    return tracker_read.official_series_frame(store, labels)


def coverage_of(store: Store) -> pd.DataFrame:
    """Per capture day and source, the number of snapshots (`tracker.read.coverage_frame`)."""
    return tracker_read.coverage_frame(store)


def warm(settings: Settings) -> None:
    """Read what a page load asks for first (the overview, the chart's frames and the
    findings) into the app's cache, so the first visitor does not wait for the checks. A
    database that cannot be read now is left for the page to explain."""
    try:
        overview(settings)
        load_movements(settings)
    except TrackerError:
        pass
