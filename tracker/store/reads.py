"""What the database holds, as Arrow tables (or small Python values): the series, quotes,
snapshots, runs and input errors, raw bytes, and an analyst's own SQL. `tracker.read` turns
these into what each consumer shows; nothing here returns pandas."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import duckdb
import pyarrow as pa

from ..errors import ArchiveError, QueryError, StoreError
from ..raw import decompress, read_blob
from ..rows import SNAPSHOT_COLUMNS, SnapshotRow, ids_table
from .connection import Connected

SERIES_COLUMNS = (
    "captured_on", "currency", "quote_currency", "rate", "rate_text", "rate_decimals",
    "change_pct", "change_text", "change_decimals", "snapshots", "distinct_rates", "snapshot_id",
)
COUNT_KEYS = ("snapshots", "ingested", "rejected", "undated", "quotes", "raw", "input_errors")


def _filters(
    currencies: Sequence[str] | None,
    start: dt.date | None,
    end: dt.date | None,
    *,
    prefix: str = "",
    date_prefix: str = "",
) -> tuple[list[str], list[object]]:
    """Conditions (and their parameters) on currency codes and the capture date."""
    conds: list[str] = []
    params: list[object] = []
    if currencies:
        conds.append(f"{prefix}currency IN ({', '.join('?' for _ in currencies)})")
        params.extend(c.upper() for c in currencies)
    if start is not None:
        conds.append(f"{date_prefix}captured_on >= ?")
        params.append(start)
    if end is not None:
        conds.append(f"{date_prefix}captured_on <= ?")
        params.append(end)
    return conds, params


def _where(conds: Sequence[str]) -> str:
    return f"WHERE {' AND '.join(conds)}" if conds else ""


class Reads(Connected):
    """The reads of `Store`."""

    def series(
        self,
        currencies: Sequence[str] | None = None,
        start: dt.date | None = None,
        end: dt.date | None = None,
    ) -> pa.Table:
        """The dated series (the `series` view) of these currency codes, oldest first."""
        conds, params = _filters(currencies, start, end)
        return self.arrow(
            f"SELECT {', '.join(SERIES_COLUMNS)} FROM series {_where(conds)} "
            "ORDER BY captured_on, currency, quote_currency",
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
        conds, params = _filters(currencies, start, end, prefix="q.", date_prefix="s.")
        conds.append("s.status = 'ingested'")
        ids = ids_table("snapshot_id", snapshot_ids or [])
        if snapshot_ids is not None:
            conds.append("q.snapshot_id IN (SELECT snapshot_id FROM _qids)")
        with self.registered("_qids", ids):
            return self.arrow(
                "SELECT q.snapshot_id, s.source, s.captured_on, s.date_source, s.captured_at, "
                "q.position, q.currency, q.quote_currency, q.rate, q.rate_text, q.rate_decimals, "
                "q.change_pct, q.change_text, q.change_decimals, s.ticker_copies, s.copies_agree "
                f"FROM quotes q JOIN snapshots s USING (snapshot_id) {_where(conds)} "
                "ORDER BY s.captured_on NULLS LAST, s.captured_at NULLS LAST, s.source, q.position",
                params,
            )

    def pairs(self) -> list[tuple[str, str]]:
        """Distinct (currency, quote currency) pairs of ingested, dated snapshots."""
        rows = self.con.execute(
            "SELECT DISTINCT q.currency, q.quote_currency FROM quotes q JOIN snapshots s "
            "USING (snapshot_id) WHERE s.status = 'ingested' AND s.captured_on IS NOT NULL"
        ).fetchall()
        return [(str(r[0]), str(r[1])) for r in rows]

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
        return {key: int(n) for key, n in zip(COUNT_KEYS, row, strict=True)}

    # -- snapshots -----------------------------------------------------------------------

    def snapshots(self, *, status: str | None = None, undated: bool = False) -> pa.Table:
        """Snapshots, newest capture first (undated ones first of all)."""
        conds: list[str] = []
        params: list[object] = []
        if status:
            conds.append("status = ?")
            params.append(status)
        if undated:
            conds.append("captured_on IS NULL")
        return self.arrow(
            f"SELECT {', '.join(SNAPSHOT_COLUMNS)} FROM snapshots {_where(conds)} "
            "ORDER BY captured_on DESC NULLS FIRST, ingested_at DESC, snapshot_id",
            params,
        )

    def snapshot_ids(self, *, status: str | None = None) -> list[str]:
        table = self.arrow(
            f"SELECT snapshot_id FROM snapshots {'WHERE status = ?' if status else ''} "
            "ORDER BY snapshot_id", [status] if status else [],
        )
        return [str(sid) for sid in table.column("snapshot_id").to_pylist()]

    def snapshot_rows(self, ids: Sequence[str]) -> list[SnapshotRow]:
        """Full rows for the given ids (what `reparse` starts from)."""
        with self.registered("_ids", ids_table("snapshot_id", ids)):
            rows = self.con.execute(
                f"SELECT {', '.join(SNAPSHOT_COLUMNS)} FROM snapshots "
                "WHERE snapshot_id IN (SELECT snapshot_id FROM _ids) ORDER BY snapshot_id"
            ).fetchall()
        return [
            SnapshotRow(**{**dict(zip(SNAPSHOT_COLUMNS, r, strict=True)),
                           "warnings": tuple(r[-1] or ())})
            for r in rows
        ]

    def snapshot_quotes(self, ids: Sequence[str]) -> pa.Table:
        """The quotes of the given snapshots as printed, in ticker order (the detail panel)."""
        with self.registered("_qids", ids_table("snapshot_id", ids)):
            return self.arrow(
                "SELECT snapshot_id, position, currency, quote_currency, rate_text, change_text "
                "FROM quotes WHERE snapshot_id IN (SELECT snapshot_id FROM _qids) "
                "ORDER BY snapshot_id, position"
            )

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

    def input_errors(self) -> pa.Table:
        return self.arrow("SELECT source, reason, seen_at FROM input_errors ORDER BY seen_at DESC")

    # -- scheduled runs and watched files --------------------------------------------------

    def runs(self, *, job: str | None = None, limit: int | None = None) -> pa.Table:
        """Scheduled runs, newest first; `finished` is missing for a run in progress or lost."""
        params: list[object] = [job] if job else []
        if limit is not None:
            params.append(int(limit))
        return self.arrow(
            "SELECT run_id, job, started, finished, files_seen, ingested, present, rejected, "
            f"error FROM runs {'WHERE job = ?' if job else ''} ORDER BY run_id DESC "
            f"{'LIMIT ?' if limit is not None else ''}",
            params,
        )

    def watch_state(self, paths: Sequence[str]) -> dict[str, tuple[int, int]]:
        """`path -> (size, mtime_ns)` as last ingested, for the given paths that have a state."""
        if not paths:
            return {}
        with self.registered("_paths", ids_table("path", paths)):
            rows = self.con.execute(
                "SELECT path, size, mtime_ns FROM watch_state "
                "WHERE path IN (SELECT path FROM _paths) AND snapshot_id IS NOT NULL"
            ).fetchall()
        return {str(path): (int(size), int(mtime_ns)) for path, size, mtime_ns in rows}

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
