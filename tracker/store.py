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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from .errors import (
    ArchiveError,
    DatabaseBusyError,
    DatabaseMissingError,
    QueryError,
    StoreError,
    UsageError,
)
from .overlap import SharedSettings
from .raw import CODEC, decompress, read_blob, remove_partial_packs, write_pack
from .rows import SNAPSHOT_COLUMNS, SnapshotRow, arrow_table, ids_table

if TYPE_CHECKING:  # pandas takes ~0.3-0.5 s to import: loaded only by methods returning frames
    import pandas as pd

DEFAULT_DB = Path("data/tracker.duckdb")
DEFAULT_LOCK_TIMEOUT = 10.0
SCHEMA_VERSION = 3
RATE_TYPE = "DECIMAL(18,10)"
CHANGE_TYPE = "DECIMAL(18,6)"
_RAW_SCHEMA = pa.schema([
    ("snapshot_id", pa.string()), ("codec", pa.string()), ("pack", pa.string()),
    ("offset", pa.int64()), ("length", pa.int64()),
])
_WATCH_SCHEMA = pa.schema([
    ("path", pa.string()), ("size", pa.int64()), ("mtime_ns", pa.int64()),
    ("snapshot_id", pa.string()), ("seen_at", pa.timestamp("us")),
])

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
        pack        VARCHAR NOT NULL,
        "offset"    BIGINT NOT NULL,
        length      BIGINT NOT NULL
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
    # 2: scheduled ingestion. `runs` is one row per scheduled job run (finished is NULL while
    # it runs, or forever if the process died); `watch_state` remembers each watched file's
    # size and mtime so unchanged files are skipped without being read.
    """
    CREATE SEQUENCE run_ids START 1;
    CREATE TABLE runs (
        run_id      BIGINT PRIMARY KEY DEFAULT nextval('run_ids'),
        job         VARCHAR NOT NULL,
        started     TIMESTAMP NOT NULL,
        finished    TIMESTAMP,
        files_seen  INTEGER NOT NULL DEFAULT 0,
        ingested    INTEGER NOT NULL DEFAULT 0,
        present     INTEGER NOT NULL DEFAULT 0,
        rejected    INTEGER NOT NULL DEFAULT 0,
        error       VARCHAR
    );
    CREATE TABLE watch_state (
        path        VARCHAR PRIMARY KEY,
        size        BIGINT NOT NULL,
        mtime_ns    BIGINT NOT NULL,
        snapshot_id VARCHAR,
        seen_at     TIMESTAMP NOT NULL
    );
    """,
    # 3: the page's own address (a fetched URL, a WARC record's WARC-Target-URI)
    "ALTER TABLE snapshots ADD COLUMN original_url VARCHAR;",
)

def default_db_path() -> Path:
    return Path(os.environ.get("TRACKER_DB") or DEFAULT_DB)


def default_raw_dir(db_path: Path | str) -> Path:
    """Raw snapshots live beside the database: `data/tracker.duckdb` → `data/raw/`."""
    return Path(db_path).parent / "raw"


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text or "being used by another process" in text


def lock_timeout() -> float:
    """How long to wait for a busy database: `$TRACKER_LOCK_TIMEOUT` seconds, default 10."""
    value = os.environ.get("TRACKER_LOCK_TIMEOUT", "")
    try:
        seconds = float(value) if value else DEFAULT_LOCK_TIMEOUT
    except ValueError:
        raise UsageError(
            f"TRACKER_LOCK_TIMEOUT={value!r} is not a number of seconds; set it like "
            "TRACKER_LOCK_TIMEOUT=30"
        ) from None
    return max(seconds, 0.0)


def connect(
    db_path: Path | str, *, read_only: bool = False, timeout: float | None = None
) -> duckdb.DuckDBPyConnection:
    """Open the database, retrying with jittered backoff while another process holds it.

    A bounded wait, then `DatabaseBusyError`: DuckDB admits one writing process at a time.
    """
    timeout = lock_timeout() if timeout is None else timeout
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
                raise StoreError(
                    f"cannot open database {path}: {exc}; check that the path is a DuckDB "
                    "file (or a new file) in a folder you may write, or pass another --db"
                ) from None
            if time.monotonic() >= deadline:
                raise DatabaseBusyError(
                    f"database {path} is busy: another process is writing to it "
                    f"(waited {timeout:g} s); try again when it has finished, or wait "
                    "longer with TRACKER_LOCK_TIMEOUT=<seconds>"
                ) from None
            time.sleep(delay * (0.5 + random.random()))
            # readers poll briskly so they get in between a scheduler's batches
            delay = min(delay * 2, 0.05 if read_only else 0.5)


_DATABASE_SETTINGS = SharedSettings()  # by database file: DuckDB's threads during ingests


class Store:
    """A connection plus the named queries. Use `Store.open(...)` as a context manager."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        path: Path,
        read_only: bool,
        raw_dir: Path | None = None,
    ) -> None:
        self.con = con
        self.path = path
        self.read_only = read_only
        self.raw_dir = raw_dir if raw_dir is not None else default_raw_dir(path)

    @classmethod
    @contextmanager
    def open(
        cls,
        db_path: Path | str | None = None,
        *,
        read_only: bool = False,
        timeout: float | None = None,
        raw_dir: Path | str | None = None,
    ) -> Iterator[Store]:
        """Open (creating and migrating when writable); raw packs go to `raw_dir`."""
        path = Path(db_path) if db_path is not None else default_db_path()
        con = connect(path, read_only=read_only, timeout=timeout)
        try:
            store = cls(con, path, read_only, Path(raw_dir) if raw_dir is not None else None)
            if read_only:
                store._check_version()
            else:
                store.migrate()
                remove_partial_packs(store.raw_dir)
            yield store
        finally:
            con.close()

    @contextmanager
    def second_connection(self) -> Iterator[Store]:
        """The same database on a connection of its own, for use by another thread (one
        DuckDB connection must not be used by two threads at once). It sees what is
        committed."""
        con = self.con.cursor()
        try:
            yield Store(con, self.path, self.read_only, self.raw_dir)
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

    def single_threaded(self) -> AbstractContextManager[None]:
        """DuckDB on one thread for a while (ingest: its inserts of a thousand rows gain
        nothing from parallelism, and DuckDB's threads would compete with the parsing thread
        for the cores).

        The setting belongs to the database, which every connection to the same file in this
        process shares: overlapping ingests keep it at 1 until the last one ends, which puts
        back what was set before the first."""
        def apply() -> int:
            before = self.con.execute("SELECT current_setting('threads')").fetchone()[0]
            self.con.execute("SET threads = 1")
            return int(before)

        def restore(before: int) -> None:
            self.con.execute(f"SET threads = {before}")

        return _DATABASE_SETTINGS.hold(str(self.path.resolve()), apply, restore)

    # -- writes ---------------------------------------------------------------------------

    def known_snapshots(self, ids: Sequence[str]) -> dict[str, str | None]:
        """The ids already stored, each with its rejection reason (None when ingested)."""
        if not ids:
            return {}
        table = ids_table("snapshot_id", ids)
        self.con.register("_ids", table)
        try:
            rows = self.con.execute(
                "SELECT snapshot_id, CASE WHEN status = 'rejected' THEN coalesce(reason, '') END "
                "FROM snapshots WHERE snapshot_id IN (SELECT snapshot_id FROM _ids)"
            ).fetchall()
        finally:
            self.con.unregister("_ids")
        return dict(rows)

    def add_snapshots(
        self, snap_table: pa.Table, quote_table: pa.Table, raw: Sequence[tuple[str, bytes]]
    ) -> None:
        """Insert snapshots, their quotes and their compressed raw bytes in one transaction.

        The tables have the columns of `tracker.rows` (see `snapshot_table`, `quote_table`).
        """
        if snap_table.num_rows == 0:
            return
        index = write_pack(self.raw_dir, raw)  # on disk before the rows that point at it
        raw_table = arrow_table(
            {
                "snapshot_id": [r[0] for r in index],
                "codec": [CODEC] * len(index),
                "pack": [r[1] for r in index],
                "offset": [r[2] for r in index],
                "length": [r[3] for r in index],
            },
            _RAW_SCHEMA,
        )
        with self.transaction():
            self.con.register("_raw", raw_table)
            try:
                self.con.execute(
                    'INSERT INTO raw_snapshots SELECT snapshot_id, codec, pack, "offset", length '
                    "FROM _raw"
                )
            finally:
                self.con.unregister("_raw")
            self._insert_arrow(snap_table, quote_table)

    def load_raw(self, snapshot_id: str) -> bytes:
        """The snapshot's original bytes."""
        rows = self.con.execute(
            'SELECT codec, pack, "offset", length FROM raw_snapshots WHERE snapshot_id = ? '
            "ORDER BY pack DESC LIMIT 1",
            [snapshot_id],
        ).fetchall()
        if not rows:
            raise ArchiveError(
                f"raw bytes of snapshot {snapshot_id[:12]} are not recorded in {self.path}; "
                "ingest its source again to restore them"
            )
        codec, pack, offset, length = rows[0]
        blob = read_blob(self.raw_dir, pack, offset, length, snapshot_id=snapshot_id)
        return decompress(blob, codec, snapshot_id=snapshot_id)

    def replace_snapshots(self, snap_table: pa.Table, quote_table: pa.Table) -> None:
        """Rewrite snapshots (reparse): their rows and quotes are replaced atomically."""
        if snap_table.num_rows == 0:
            return
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

    @staticmethod
    def _pandas(table: pa.Table) -> pd.DataFrame:
        import pandas as pd

        return table.to_pandas(types_mapper=pd.ArrowDtype)

    def snapshot_ids(self, *, status: str | None = None) -> list[str]:
        sql = "SELECT snapshot_id FROM snapshots"
        params: list[object] = []
        if status:
            sql += " WHERE status = ?"
            params.append(status)
        return [r[0] for r in self.con.execute(sql + " ORDER BY snapshot_id", params).fetchall()]

    def snapshot_rows(self, ids: Sequence[str]) -> list[SnapshotRow]:
        """Full rows for the given ids (what `reparse` starts from)."""
        table = ids_table("snapshot_id", ids)
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
        *,
        snapshot_ids: Sequence[str] | None = None,
    ) -> pa.Table:
        """Every quote of every ingested snapshot, undated ones too, with provenance.

        `snapshot_ids` (optional) keeps only the quotes of those snapshots.
        """
        where, params = _filters(currencies, start, end, prefix="q.", date_col="s.captured_on")
        where = (where + " AND" if where else "WHERE") + " s.status = 'ingested'"
        if snapshot_ids is not None:
            where += " AND q.snapshot_id IN (SELECT snapshot_id FROM _qids)"
            self.con.register("_qids", ids_table("snapshot_id", snapshot_ids))
        try:
            return self._arrow(
                "SELECT q.snapshot_id, s.source, s.captured_on, s.date_source, s.captured_at, "
                "q.position, q.currency, q.quote_currency, q.rate, q.rate_text, q.rate_decimals, "
                "q.change_pct, q.change_text, q.change_decimals, s.ticker_copies, s.copies_agree "
                f"FROM quotes q JOIN snapshots s USING (snapshot_id) {where} "
                "ORDER BY s.captured_on NULLS LAST, s.captured_at NULLS LAST, s.source, q.position",
                params,
            )
        finally:
            if snapshot_ids is not None:
                self.con.unregister("_qids")

    def snapshots(self, *, status: str | None = None, undated: bool = False) -> pd.DataFrame:
        return self._pandas(self.snapshots_table(status=status, undated=undated))

    def snapshots_table(self, *, status: str | None = None, undated: bool = False) -> pa.Table:
        """Snapshots, newest capture first (undated ones first of all), as Arrow."""
        conds, params = [], []
        if status:
            conds.append("status = ?")
            params.append(status)
        if undated:
            conds.append("captured_on IS NULL")
        where = f"WHERE {' AND '.join(conds)}" if conds else ""
        return self._arrow(
            f"SELECT {', '.join(SNAPSHOT_COLUMNS)} FROM snapshots {where} "
            "ORDER BY captured_on DESC NULLS FIRST, ingested_at DESC, snapshot_id",
            params,
        )

    def input_errors(self) -> pd.DataFrame:
        return self._pandas(self.input_errors_table())

    def input_errors_table(self) -> pa.Table:
        return self._arrow("SELECT source, reason, seen_at FROM input_errors ORDER BY seen_at DESC")

    # -- ad-hoc reads (the notebook API's `Tracker.sql`) ------------------------------------

    def query(
        self, sql: str, params: Sequence[object] | Mapping[str, object] | None = None
    ) -> pa.Table:
        """An analyst's own SQL against the documented schema; only on a read-only store.

        `params` fill `?` placeholders (a sequence) or `$name` ones (a mapping). DuckDB's
        errors become a `QueryError` that says what to fix; a statement that returns no rows
        gives an empty table.
        """
        if not self.read_only:
            raise StoreError(
                "ad-hoc queries run only on a read-only connection, so they cannot change the "
                "database; open it with Store.open(path, read_only=True)"
            )
        try:
            relation = self.con.sql(sql, params=params if params else None)
            return relation.to_arrow_table() if relation is not None else pa.table({})
        except duckdb.Error as exc:
            message = str(exc).strip()
            if "read-only mode" in message:
                hint = ("queries only read; the database changes through `tracker ingest` "
                        "(or Tracker.ingest on a handle opened with read_only=False)")
            elif isinstance(exc, duckdb.CatalogException | duckdb.BinderException):
                hint = "the tables, views and columns are documented in README.md, ## Schema"
            else:
                hint = "check the SQL (DuckDB's dialect) and its parameters"
            raise QueryError(f"query failed: {message}\n{hint}") from None

    # -- inputs of the inconsistency checks (tracker/checks.py) -----------------------------

    def check_snapshots(self) -> pa.Table:
        """One row per ingested snapshot: its date evidence and a digest of its ticker.

        `ticker_key` is equal for snapshots whose tickers print the same pairs, rates and
        changes in the same order; `pairs` lists its pairs and `moving` its non-zero changes
        (both in no particular order: ordered aggregates would triple the cost); `warnings`
        is only filled when the ticker's copies disagree.
        """
        return self._arrow(
            """
            WITH per_snapshot AS (
                SELECT snapshot_id,
                       bit_xor(hash(position, currency, quote_currency, rate_text, change_text))
                           AS ticker_key,
                       CAST(count(*) FILTER (WHERE change_pct <> 0) AS INTEGER)
                           AS nonzero_changes,
                       string_agg(currency || '/' || quote_currency, ' ') AS pairs,
                       string_agg(currency || ' ' || change_text || '%', ', ')
                           FILTER (WHERE change_pct <> 0) AS moving
                FROM quotes GROUP BY snapshot_id
            )
            SELECT s.snapshot_id, s.source, s.captured_on, s.date_source, s.captured_at,
                   s.captured_at_source, s.header_date, s.filename_date, s.user_date,
                   s.copies_agree, CASE WHEN s.copies_agree THEN NULL ELSE s.warnings END
                       AS warnings,
                   p.ticker_key, coalesce(p.nonzero_changes, 0) AS nonzero_changes, p.pairs,
                   p.moving
            FROM snapshots s LEFT JOIN per_snapshot p USING (snapshot_id)
            WHERE s.status = 'ingested'
            """
        )

    def check_day_rates(self) -> pa.Table:
        """Distinct printed rates per capture date and pair, for days that print more than one.

        Days with a single printed rate cannot conflict, so only the others are listed, each
        rate with how many snapshots printed it and their ids.
        """
        return self._arrow(
            """
            WITH dated AS (
                SELECT s.captured_on, q.currency, q.quote_currency, q.rate_text, q.snapshot_id
                FROM quotes q JOIN snapshots s USING (snapshot_id)
                WHERE s.status = 'ingested' AND s.captured_on IS NOT NULL
            ), several AS (
                SELECT captured_on, currency, quote_currency FROM dated
                GROUP BY ALL HAVING min(rate_text) <> max(rate_text)
            )
            SELECT captured_on, currency, quote_currency, rate_text,
                   CAST(count(*) AS INTEGER) AS snapshots,
                   list(snapshot_id ORDER BY snapshot_id) AS snapshot_ids
            FROM dated SEMI JOIN several USING (captured_on, currency, quote_currency)
            GROUP BY ALL
            ORDER BY captured_on, currency, quote_currency, rate_text
            """
        )

    def check_series(self) -> pa.Table:
        """The rows of the `series` view, with the printed texts the checks need.

        Same rule as the view (per day and pair: the rate most snapshots printed, ties to the
        latest capture; each rate represented by its latest snapshot) written as two hash
        aggregations instead of window sorts: three times faster on a million quotes.
        tests/test_checks.py asserts that both give the same rows.
        """
        return self._arrow(
            """
            WITH per_rate AS (
                SELECT s.captured_on, q.currency, q.quote_currency, q.rate_text,
                       count(*) AS votes,
                       max({'at': coalesce(s.captured_at, TIMESTAMP '-infinity'),
                            'ingested': s.ingested_at, 'id': s.snapshot_id}) AS newest,
                       arg_max(q.change_text, {'at': coalesce(s.captured_at, TIMESTAMP '-infinity'),
                                               'ingested': s.ingested_at, 'id': s.snapshot_id})
                           AS change_text
                FROM quotes q JOIN snapshots s USING (snapshot_id)
                WHERE s.status = 'ingested' AND s.captured_on IS NOT NULL
                GROUP BY s.captured_on, q.currency, q.quote_currency, q.rate_text
            )
            SELECT captured_on, currency, quote_currency,
                   arg_max(rate_text, {'votes': votes, 'newest': newest}) AS rate_text,
                   arg_max(change_text, {'votes': votes, 'newest': newest}) AS change_text,
                   arg_max(newest.id, {'votes': votes, 'newest': newest}) AS snapshot_id
            FROM per_rate
            GROUP BY captured_on, currency, quote_currency
            ORDER BY currency, quote_currency, captured_on
            """
        )

    def series_view_rows(self) -> pa.Table:
        """The `series` view itself, in `check_series` order (to compare the two)."""
        return self._arrow(
            "SELECT captured_on, currency, quote_currency, rate_text, change_text, snapshot_id "
            "FROM series ORDER BY currency, quote_currency, captured_on"
        )

    def check_frames(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """(snapshots, day rates, series) for `tracker.checks`, read in one transaction."""
        with self.transaction():
            tables = (self.check_snapshots(), self.check_day_rates(), self.check_series())
        snapshots, day_rates, series = (t.to_pandas(date_as_object=False) for t in tables)
        return snapshots, day_rates, series

    # -- scheduled runs and watched files (schema version 2) -----------------------------

    def start_run(self, job: str, started: dt.datetime) -> int:
        """A `runs` row for a job that has just started; `finish_run` completes it."""
        return self.con.execute(
            "INSERT INTO runs (job, started) VALUES (?, ?) RETURNING run_id", [job, started]
        ).fetchall()[0][0]

    def finish_run(
        self,
        run_id: int,
        *,
        finished: dt.datetime,
        files_seen: int,
        ingested: int,
        present: int,
        rejected: int,
        error: str | None,
    ) -> None:
        self.con.execute(
            "UPDATE runs SET finished = ?, files_seen = ?, ingested = ?, present = ?, "
            "rejected = ?, error = ? WHERE run_id = ?",
            [finished, files_seen, ingested, present, rejected, error, run_id],
        )

    def record_run(
        self,
        job: str,
        *,
        started: dt.datetime,
        finished: dt.datetime,
        files_seen: int,
        ingested: int,
        present: int,
        rejected: int,
        error: str | None,
    ) -> int:
        """A complete `runs` row at once (when the start could not be recorded)."""
        return self.con.execute(
            "INSERT INTO runs (job, started, finished, files_seen, ingested, present, rejected, "
            "error) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING run_id",
            [job, started, finished, files_seen, ingested, present, rejected, error],
        ).fetchall()[0][0]

    def runs(self, *, job: str | None = None, limit: int | None = None) -> pd.DataFrame:
        return self._pandas(self.runs_table(job=job, limit=limit))

    def runs_table(self, *, job: str | None = None, limit: int | None = None) -> pa.Table:
        """Scheduled runs, newest first; `finished` is missing for a run in progress or lost."""
        sql = (
            "SELECT run_id, job, started, finished, files_seen, ingested, present, rejected, "
            "error FROM runs"
        )
        params: list[object] = []
        if job:
            sql += " WHERE job = ?"
            params.append(job)
        sql += " ORDER BY run_id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return self._arrow(sql, params)

    def watch_state(self, paths: Sequence[str]) -> dict[str, tuple[int, int]]:
        """`path -> (size, mtime_ns)` as last ingested, for the given paths that have a state."""
        if not paths:
            return {}
        table = ids_table("path", paths)
        self.con.register("_paths", table)
        try:
            rows = self.con.execute(
                "SELECT path, size, mtime_ns FROM watch_state "
                "WHERE path IN (SELECT path FROM _paths)"
            ).fetchall()
        finally:
            self.con.unregister("_paths")
        return {path: (size, mtime_ns) for path, size, mtime_ns in rows}

    def update_watch_state(
        self, rows: Sequence[tuple[str, int, int, str | None]], seen_at: dt.datetime | None = None
    ) -> None:
        """Remember `(path, size, mtime_ns, snapshot_id)` of files just ingested (or rejected)."""
        if not rows:
            return
        table = arrow_table(
            {
                "path": [r[0] for r in rows],
                "size": [r[1] for r in rows],
                "mtime_ns": [r[2] for r in rows],
                "snapshot_id": [r[3] for r in rows],
                "seen_at": [seen_at or utcnow()] * len(rows),
            },
            _WATCH_SCHEMA,
        )
        with self.transaction():
            self.con.register("_ws", table)
            try:
                self.con.execute(
                    "INSERT INTO watch_state SELECT path, size, mtime_ns, snapshot_id, seen_at "
                    "FROM _ws ON CONFLICT (path) DO UPDATE SET size = excluded.size, "
                    "mtime_ns = excluded.mtime_ns, snapshot_id = excluded.snapshot_id, "
                    "seen_at = excluded.seen_at"
                )
            finally:
                self.con.unregister("_ws")

    # -- reads for the dashboard (dashboards/) ---------------------------------------------

    def snapshot_quotes(self, ids: Sequence[str]) -> pa.Table:
        """The quotes of the given snapshots as printed, in ticker order (the detail panel)."""
        table = ids_table("snapshot_id", ids)
        self.con.register("_qids", table)
        try:
            return self._arrow(
                "SELECT snapshot_id, position, currency, quote_currency, rate_text, change_text "
                "FROM quotes WHERE snapshot_id IN (SELECT snapshot_id FROM _qids) "
                "ORDER BY snapshot_id, position"
            )
        finally:
            self.con.unregister("_qids")

    def pairs(self) -> list[tuple[str, str]]:
        """Distinct (currency, quote currency) pairs of ingested, dated snapshots."""
        rows = self.con.execute(
            "SELECT DISTINCT q.currency, q.quote_currency FROM quotes q JOIN snapshots s "
            "USING (snapshot_id) WHERE s.status = 'ingested' AND s.captured_on IS NOT NULL"
        ).fetchall()
        return [(r[0], r[1]) for r in rows]


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


def utcnow() -> dt.datetime:
    """Naive UTC: DuckDB TIMESTAMP columns hold UTC without a zone."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
