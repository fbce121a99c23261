"""The DuckDB store: the only module that speaks SQL.

One writer process or many read-only readers (DuckDB's rule). Writers keep a
connection for one ingest run; readers open short-lived read-only connections
and retry briefly while a writer holds the lock.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from .errors import ArchiveError, DatabaseBusyError, DatabaseMissingError, StoreError
from .raw import CODEC, decompress

DEFAULT_DB = Path("data/tracker.duckdb")
SCHEMA_VERSION = 1
RATE_TYPE = "DECIMAL(18,10)"
CHANGE_TYPE = "DECIMAL(18,6)"

# Each entry moves the schema from version i to i+1. Append, never edit.
MIGRATIONS: tuple[str, ...] = (
    f"""
    CREATE TABLE snapshots (
        snapshot_id    VARCHAR PRIMARY KEY,
        source         VARCHAR NOT NULL,
        captured_on    DATE,
        date_source    VARCHAR NOT NULL,
        captured_at    TIMESTAMP,
        captured_at_source VARCHAR,
        ingested_at    TIMESTAMP NOT NULL,
        status         VARCHAR NOT NULL CHECK (status IN ('ingested', 'rejected')),
        reason         VARCHAR,
        ticker_copies  INTEGER,
        copies_agree   BOOLEAN,
        parser_version VARCHAR NOT NULL,
        header_date    DATE,
        filename_date  DATE,
        user_date      DATE,
        date_note      VARCHAR,
        content_type   VARCHAR,
        size_bytes     BIGINT NOT NULL,
        listing        VARCHAR,
        title          VARCHAR,
        warnings       VARCHAR[]
    );
    CREATE TABLE quotes (
        snapshot_id     VARCHAR NOT NULL,
        position        SMALLINT NOT NULL,
        currency        VARCHAR NOT NULL,
        quote_currency  VARCHAR NOT NULL,
        rate            {RATE_TYPE} NOT NULL,
        rate_text       VARCHAR NOT NULL,
        rate_decimals   TINYINT NOT NULL,
        change_pct      {CHANGE_TYPE} NOT NULL,
        change_text     VARCHAR NOT NULL,
        change_decimals TINYINT NOT NULL
    );
    CREATE TABLE raw_snapshots (
        snapshot_id VARCHAR NOT NULL,
        codec       VARCHAR NOT NULL,
        data        BLOB NOT NULL
    );
    CREATE TABLE input_errors (
        source      VARCHAR NOT NULL,
        reason      VARCHAR NOT NULL,
        seen_at     TIMESTAMP NOT NULL
    );
    CREATE VIEW series AS
    WITH obs AS (
        SELECT s.captured_on, q.currency, q.quote_currency, q.rate, q.rate_text,
               q.rate_decimals, q.change_pct, q.change_text, q.change_decimals,
               s.snapshot_id, s.captured_at, s.ingested_at,
               count(*) OVER per_rate AS rate_votes,
               row_number() OVER (per_rate ORDER BY s.captured_at DESC NULLS LAST,
                                  s.ingested_at DESC, s.snapshot_id DESC) AS newest_first
        FROM quotes q JOIN snapshots s USING (snapshot_id)
        WHERE s.status = 'ingested' AND s.captured_on IS NOT NULL
        WINDOW per_rate AS (PARTITION BY s.captured_on, q.currency, q.quote_currency, q.rate_text)
    )
    SELECT captured_on, currency, quote_currency, rate, rate_text, rate_decimals,
           change_pct, change_text, change_decimals,
           CAST(sum(rate_votes) OVER per_day AS INTEGER) AS snapshots,
           CAST(count(*) OVER per_day AS INTEGER) AS distinct_rates,
           snapshot_id
    FROM obs
    WHERE newest_first = 1
    WINDOW per_day AS (PARTITION BY captured_on, currency, quote_currency)
    QUALIFY row_number() OVER (PARTITION BY captured_on, currency, quote_currency
                               ORDER BY rate_votes DESC, captured_at DESC NULLS LAST,
                                        ingested_at DESC, snapshot_id DESC) = 1;
    """,
)

SNAPSHOT_COLUMNS = (
    "snapshot_id", "source", "captured_on", "date_source", "captured_at", "captured_at_source",
    "ingested_at",
    "status", "reason", "ticker_copies", "copies_agree", "parser_version", "header_date",
    "filename_date", "user_date", "date_note", "content_type", "size_bytes", "listing",
    "title", "warnings",
)
QUOTE_COLUMNS = (
    "snapshot_id", "position", "currency", "quote_currency", "rate_text", "rate_decimals",
    "change_text", "change_decimals",
)
_SNAPSHOT_SCHEMA = pa.schema([
    ("snapshot_id", pa.string()), ("source", pa.string()), ("captured_on", pa.date32()),
    ("date_source", pa.string()), ("captured_at", pa.timestamp("us")),
    ("captured_at_source", pa.string()),
    ("ingested_at", pa.timestamp("us")), ("status", pa.string()), ("reason", pa.string()),
    ("ticker_copies", pa.int32()), ("copies_agree", pa.bool_()),
    ("parser_version", pa.string()), ("header_date", pa.date32()),
    ("filename_date", pa.date32()), ("user_date", pa.date32()), ("date_note", pa.string()),
    ("content_type", pa.string()), ("size_bytes", pa.int64()), ("listing", pa.string()),
    ("title", pa.string()), ("warnings", pa.list_(pa.string())),
])
_QUOTE_SCHEMA = pa.schema([
    ("snapshot_id", pa.string()), ("position", pa.int16()), ("currency", pa.string()),
    ("quote_currency", pa.string()), ("rate_text", pa.string()), ("rate_decimals", pa.int8()),
    ("change_text", pa.string()), ("change_decimals", pa.int8()),
])


@dataclass(frozen=True)
class SnapshotRow:
    """One row of `snapshots`, as the ingest layer hands it over."""

    snapshot_id: str
    source: str
    captured_on: dt.date | None
    date_source: str
    captured_at: dt.datetime | None
    captured_at_source: str | None
    ingested_at: dt.datetime
    status: str
    reason: str | None
    ticker_copies: int | None
    copies_agree: bool | None
    parser_version: str
    header_date: dt.date | None
    filename_date: dt.date | None
    user_date: dt.date | None
    date_note: str | None
    content_type: str | None
    size_bytes: int
    listing: str | None
    title: str | None
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class QuoteRow:
    snapshot_id: str
    position: int
    currency: str
    quote_currency: str
    rate_text: str
    rate_decimals: int
    change_text: str
    change_decimals: int


def default_db_path() -> Path:
    return Path(os.environ.get("TRACKER_DB") or DEFAULT_DB)


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text or "being used by another process" in text


def connect(
    db_path: Path | str, *, read_only: bool = False, timeout: float = 10.0
) -> duckdb.DuckDBPyConnection:
    """Open the database, retrying with jittered backoff while another process holds it."""
    path = Path(db_path)
    if read_only and not path.exists():
        raise DatabaseMissingError(
            f"no database at {path}; create it with `tracker ingest --db {path} data/samples`"
        )
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            if not _is_lock_error(exc):
                raise StoreError(f"cannot open database {path}: {exc}") from None
            if time.monotonic() >= deadline:
                raise DatabaseBusyError(
                    f"database {path} is busy: another process is writing to it "
                    f"(waited {timeout:.0f} s); try again when it has finished"
                ) from None
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.5)


class Store:
    """A connection plus the named queries. Use `Store.open(...)` as a context manager."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
        self.con = con
        self.path = path
        self.read_only = read_only

    @classmethod
    @contextmanager
    def open(
        cls, db_path: Path | str | None = None, *, read_only: bool = False, timeout: float = 10.0
    ) -> Iterator[Store]:
        path = Path(db_path) if db_path is not None else default_db_path()
        con = connect(path, read_only=read_only, timeout=timeout)
        try:
            store = cls(con, path, read_only)
            if read_only:
                store._check_version()
            else:
                store.migrate()
            yield store
        finally:
            con.close()

    # -- schema ---------------------------------------------------------------------------

    def schema_version(self) -> int:
        exists = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_info'"
        ).fetchall()[0][0]
        if not exists:
            return 0
        return self.con.execute("SELECT max(version) FROM schema_info").fetchall()[0][0] or 0

    def migrate(self) -> None:
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"database {self.path} has schema version {version}, newer than this tracker "
                f"({SCHEMA_VERSION}); upgrade the tracker"
            )
        if version == SCHEMA_VERSION:
            return
        with self.transaction():
            self.con.execute(
                "CREATE TABLE IF NOT EXISTS schema_info (version INTEGER, applied_at TIMESTAMP)"
            )
            for target in range(version + 1, SCHEMA_VERSION + 1):
                self.con.execute(MIGRATIONS[target - 1])
                self.con.execute(
                    "INSERT INTO schema_info VALUES (?, current_timestamp)", [target]
                )

    def _check_version(self) -> None:
        version = self.schema_version()
        if version != SCHEMA_VERSION:
            raise StoreError(
                f"database {self.path} has schema version {version}, this tracker expects "
                f"{SCHEMA_VERSION}; run any writing command (e.g. `tracker ingest`) to migrate it"
            )

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    # -- writes ---------------------------------------------------------------------------

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        table = pa.table({"snapshot_id": pa.array(list(ids), pa.string())})
        self.con.register("_ids", table)
        try:
            rows = self.con.execute(
                "SELECT snapshot_id FROM snapshots WHERE snapshot_id IN (SELECT snapshot_id FROM _ids)"
            ).fetchall()
        finally:
            self.con.unregister("_ids")
        return {r[0] for r in rows}

    def add_snapshots(
        self,
        snapshots: Sequence[SnapshotRow],
        quotes: Sequence[QuoteRow],
        raw: Sequence[tuple[str, bytes]],
    ) -> None:
        """Insert snapshots, their quotes and their compressed raw bytes in one transaction."""
        if not snapshots:
            return
        snap_table = _to_arrow(snapshots, SNAPSHOT_COLUMNS, _SNAPSHOT_SCHEMA)
        quote_table = _to_arrow(quotes, QUOTE_COLUMNS, _QUOTE_SCHEMA)
        raw_table = pa.table(
            {
                "snapshot_id": pa.array([sid for sid, _ in raw], pa.string()),
                "codec": pa.array([CODEC] * len(raw), pa.string()),
                "data": pa.array([blob for _, blob in raw], pa.binary()),
            }
        )
        with self.transaction():
            self.con.register("_raw", raw_table)
            try:
                self.con.execute("INSERT INTO raw_snapshots SELECT snapshot_id, codec, data FROM _raw")
            finally:
                self.con.unregister("_raw")
            self._insert_arrow(snap_table, quote_table)

    def load_raw(self, snapshot_id: str) -> bytes:
        """The snapshot's original bytes."""
        rows = self.con.execute(
            "SELECT codec, data FROM raw_snapshots WHERE snapshot_id = ?", [snapshot_id]
        ).fetchall()
        if not rows:
            raise ArchiveError(
                f"raw bytes of snapshot {snapshot_id[:12]} are missing from {self.path}; "
                "ingest its source again to restore them"
            )
        codec, blob = rows[0]
        return decompress(bytes(blob), codec, snapshot_id=snapshot_id)

    def replace_snapshots(
        self, snapshots: Sequence[SnapshotRow], quotes: Sequence[QuoteRow]
    ) -> None:
        """Rewrite snapshots (reparse): their rows and quotes are replaced atomically."""
        if not snapshots:
            return
        snap_table = _to_arrow(snapshots, SNAPSHOT_COLUMNS, _SNAPSHOT_SCHEMA)
        quote_table = _to_arrow(quotes, QUOTE_COLUMNS, _QUOTE_SCHEMA)
        with self.transaction():
            self.con.register("_old", snap_table)
            try:
                self.con.execute(
                    "DELETE FROM quotes WHERE snapshot_id IN (SELECT snapshot_id FROM _old)"
                )
                self.con.execute(
                    "DELETE FROM snapshots WHERE snapshot_id IN (SELECT snapshot_id FROM _old)"
                )
            finally:
                self.con.unregister("_old")
            self._insert_arrow(snap_table, quote_table)

    def _insert_arrow(self, snap_table: pa.Table, quote_table: pa.Table) -> None:
        self.con.register("_snap", snap_table)
        self.con.register("_quote", quote_table)
        try:
            self.con.execute(
                f"INSERT INTO snapshots ({', '.join(SNAPSHOT_COLUMNS)}) "
                f"SELECT {', '.join(SNAPSHOT_COLUMNS)} FROM _snap"
            )
            self.con.execute(
                "INSERT INTO quotes (snapshot_id, position, currency, quote_currency, rate, "
                "rate_text, rate_decimals, change_pct, change_text, change_decimals) "
                f"SELECT snapshot_id, position, currency, quote_currency, "
                f"CAST(rate_text AS {RATE_TYPE}), rate_text, rate_decimals, "
                f"CAST(change_text AS {CHANGE_TYPE}), change_text, change_decimals FROM _quote"
            )
        finally:
            self.con.unregister("_snap")
            self.con.unregister("_quote")

    def date_undated(self, ids: Sequence[str], day: dt.date) -> int:
        """Give undated snapshots the user's date (`ingest --captured-on` on known bytes)."""
        if not ids:
            return 0
        placeholders = ", ".join("?" for _ in ids)
        rows = self.con.execute(
            "UPDATE snapshots SET user_date = ?, captured_on = ?, date_source = 'user' "
            f"WHERE captured_on IS NULL AND status = 'ingested' AND snapshot_id IN ({placeholders}) "
            "RETURNING snapshot_id",
            [day, day, *ids],
        ).fetchall()
        return len(rows)

    def record_input_errors(self, errors: Sequence[tuple[str, str]]) -> None:
        """Inputs that never became content (unreadable, too large, corrupt gzip)."""
        if not errors:
            return
        now = utcnow()
        with self.transaction():
            self.con.executemany(
                "INSERT INTO input_errors VALUES (?, ?, ?)", [(s, r, now) for s, r in errors]
            )

    # -- reads ----------------------------------------------------------------------------

    def _arrow(self, sql: str, params: Sequence[object] = ()) -> pa.Table:
        return self.con.sql(sql, params=list(params) or None).to_arrow_table()

    def _df(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
        return self._arrow(sql, params).to_pandas(types_mapper=pd.ArrowDtype)

    def snapshot_ids(self, *, status: str | None = None) -> list[str]:
        sql = "SELECT snapshot_id FROM snapshots"
        params: list[object] = []
        if status:
            sql += " WHERE status = ?"
            params.append(status)
        return [r[0] for r in self.con.execute(sql + " ORDER BY snapshot_id", params).fetchall()]

    def snapshot_rows(self, ids: Sequence[str]) -> list[SnapshotRow]:
        """Full rows for the given ids (what `reparse` starts from)."""
        table = pa.table({"snapshot_id": pa.array(list(ids), pa.string())})
        self.con.register("_ids", table)
        try:
            rows = self.con.execute(
                f"SELECT {', '.join(SNAPSHOT_COLUMNS)} FROM snapshots "
                "WHERE snapshot_id IN (SELECT snapshot_id FROM _ids) ORDER BY snapshot_id"
            ).fetchall()
        finally:
            self.con.unregister("_ids")
        return [
            SnapshotRow(**{**dict(zip(SNAPSHOT_COLUMNS, r, strict=True)),
                           "warnings": tuple(r[-1] or ())})
            for r in rows
        ]

    def counts(self) -> dict[str, int]:
        row = self.con.execute(
            """
            SELECT count(*),
                   count(*) FILTER (WHERE status = 'ingested'),
                   count(*) FILTER (WHERE status = 'rejected'),
                   count(*) FILTER (WHERE status = 'ingested' AND captured_on IS NULL),
                   (SELECT count(*) FROM quotes),
                   (SELECT count(*) FROM raw_snapshots),
                   (SELECT count(*) FROM input_errors)
            FROM snapshots
            """
        ).fetchall()[0]
        keys = ("snapshots", "ingested", "rejected", "undated", "quotes", "raw", "input_errors")
        return dict(zip(keys, row, strict=True))

    def series(
        self,
        currencies: Sequence[str] | None = None,
        start: dt.date | None = None,
        end: dt.date | None = None,
    ) -> pa.Table:
        """The dated series (the `series` view), oldest first."""
        where, params = _filters(currencies, start, end)
        return self._arrow(
            "SELECT captured_on, currency, quote_currency, rate, rate_text, rate_decimals, "
            "change_pct, change_text, change_decimals, snapshots, distinct_rates, snapshot_id "
            f"FROM series {where} ORDER BY captured_on, currency, quote_currency",
            params,
        )

    def all_quotes(
        self,
        currencies: Sequence[str] | None = None,
        start: dt.date | None = None,
        end: dt.date | None = None,
    ) -> pa.Table:
        """Every quote of every ingested snapshot, undated ones too, with provenance."""
        where, params = _filters(currencies, start, end, prefix="q.", date_col="s.captured_on")
        where = (where + " AND" if where else "WHERE") + " s.status = 'ingested'"
        return self._arrow(
            "SELECT q.snapshot_id, s.source, s.captured_on, s.date_source, s.captured_at, "
            "q.position, q.currency, q.quote_currency, q.rate, q.rate_text, q.rate_decimals, "
            "q.change_pct, q.change_text, q.change_decimals, s.ticker_copies, s.copies_agree "
            f"FROM quotes q JOIN snapshots s USING (snapshot_id) {where} "
            "ORDER BY s.captured_on NULLS LAST, s.captured_at NULLS LAST, s.source, q.position",
            params,
        )

    def snapshots(self, *, status: str | None = None, undated: bool = False) -> pd.DataFrame:
        conds, params = [], []
        if status:
            conds.append("status = ?")
            params.append(status)
        if undated:
            conds.append("captured_on IS NULL")
        where = f"WHERE {' AND '.join(conds)}" if conds else ""
        return self._df(
            f"SELECT {', '.join(SNAPSHOT_COLUMNS)} FROM snapshots {where} "
            "ORDER BY captured_on DESC NULLS FIRST, ingested_at DESC, snapshot_id",
            params,
        )

    def input_errors(self) -> pd.DataFrame:
        return self._df("SELECT source, reason, seen_at FROM input_errors ORDER BY seen_at DESC")


def _filters(
    currencies: Sequence[str] | None,
    start: dt.date | None,
    end: dt.date | None,
    *,
    prefix: str = "",
    date_col: str = "captured_on",
) -> tuple[str, list[object]]:
    conds: list[str] = []
    params: list[object] = []
    if currencies:
        conds.append(f"{prefix}currency IN ({', '.join('?' for _ in currencies)})")
        params.extend(c.upper() for c in currencies)
    if start is not None:
        conds.append(f"{date_col} >= ?")
        params.append(start)
    if end is not None:
        conds.append(f"{date_col} <= ?")
        params.append(end)
    return (f"WHERE {' AND '.join(conds)}" if conds else ""), params


def _to_arrow(rows: Sequence[object], columns: Sequence[str], schema: pa.Schema) -> pa.Table:
    data = {c: [getattr(r, c) for r in rows] for c in columns}
    return pa.table(data, schema=schema)


def utcnow() -> dt.datetime:
    """Naive UTC: DuckDB TIMESTAMP columns hold UTC without a zone."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
