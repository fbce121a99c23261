"""Everything that changes the database: snapshots with their quotes and raw bytes, dates
given by the user, input errors, scheduled runs and the watched files' state."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TypedDict, Unpack

import pyarrow as pa

from ..names import storable
from ..raw import CODEC, write_pack
from ..rows import SNAPSHOT_COLUMNS, arrow_table, ids_table
from .connection import Connected, utcnow
from .schema import CHANGE_TYPE, RATE_TYPE

_RAW_SCHEMA = pa.schema([
    ("snapshot_id", pa.string()), ("codec", pa.string()), ("pack", pa.string()),
    ("offset", pa.int64()), ("length", pa.int64()),
])
_WATCH_SCHEMA = pa.schema([
    ("path", pa.string()), ("size", pa.int64()), ("mtime_ns", pa.int64()),
    ("snapshot_id", pa.string()), ("seen_at", pa.timestamp("us")),
])


class RunCounts(TypedDict):
    """What a finished run did: the `runs` columns after `job` and `started`."""

    finished: dt.datetime
    files_seen: int
    ingested: int
    present: int
    rejected: int
    error: str | None


class Writes(Connected):
    """The writes of `Store` (a writable one)."""

    def known_snapshots(self, ids: Sequence[str]) -> dict[str, str | None]:
        """The ids already stored, each with its rejection reason (None when ingested)."""
        if not ids:
            return {}
        with self.registered("_ids", ids_table("snapshot_id", ids)):
            rows = self.con.execute(
                "SELECT snapshot_id, CASE WHEN status = 'rejected' THEN coalesce(reason, '') END "
                "FROM snapshots WHERE snapshot_id IN (SELECT snapshot_id FROM _ids)"
            ).fetchall()
        return {str(sid): reason for sid, reason in rows}

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
            with self.registered("_raw", raw_table):
                self.con.execute(
                    'INSERT INTO raw_snapshots SELECT snapshot_id, codec, pack, "offset", length '
                    "FROM _raw"
                )
            self.insert_rows(snap_table, quote_table)

    def replace_snapshots(self, snap_table: pa.Table, quote_table: pa.Table) -> None:
        """Rewrite snapshots (reparse): their rows and quotes are replaced atomically."""
        if snap_table.num_rows == 0:
            return
        with self.transaction():
            with self.registered("_old", snap_table):
                for table in ("quotes", "snapshots"):
                    self.con.execute(
                        f"DELETE FROM {table} WHERE snapshot_id IN (SELECT snapshot_id FROM _old)"
                    )
            self.insert_rows(snap_table, quote_table)

    def insert_rows(self, snap_table: pa.Table, quote_table: pa.Table) -> None:
        """Snapshot and quote rows, inside the caller's transaction."""
        with self.registered("_snap", snap_table), self.registered("_quote", quote_table):
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

    def date_undated(self, ids: Sequence[str], day: dt.date) -> int:
        """Give undated snapshots the user's date (`ingest --captured-on` on known bytes)."""
        if not ids:
            return 0
        with self.registered("_ids", ids_table("snapshot_id", ids)):
            rows = self.con.execute(
                "UPDATE snapshots SET user_date = ?, captured_on = ?, date_source = 'user' "
                "WHERE captured_on IS NULL AND status = 'ingested' "
                "AND snapshot_id IN (SELECT snapshot_id FROM _ids) RETURNING snapshot_id",
                [day, day],
            ).fetchall()
        return len(rows)

    def record_input_errors(self, errors: Sequence[tuple[str, str]]) -> None:
        """Inputs that never became content (unreadable, too large, corrupt gzip)."""
        if not errors:
            return
        now = utcnow()
        with self.transaction():
            self.con.executemany(
                "INSERT INTO input_errors VALUES (?, ?, ?)",
                [(storable(s), storable(r), now) for s, r in errors],
            )

    # -- scheduled runs and watched files --------------------------------------------------

    def start_run(self, job: str, started: dt.datetime) -> int:
        """A `runs` row for a job that has just started; `finish_run` completes it."""
        row = self.con.execute(
            "INSERT INTO runs (job, started) VALUES (?, ?) RETURNING run_id", [job, started]
        ).fetchall()[0]
        return int(row[0])

    def finish_run(self, run_id: int, **counts: Unpack[RunCounts]) -> None:
        """Complete a run's row with what it did."""
        self.con.execute(
            f"UPDATE runs SET {', '.join(f'{c} = ?' for c in RunCounts.__annotations__)} "
            "WHERE run_id = ?",
            [*(counts[c] for c in RunCounts.__annotations__), run_id],  # type: ignore[literal-required]
        )

    def record_run(self, job: str, *, started: dt.datetime, **counts: Unpack[RunCounts]) -> int:
        """A complete `runs` row at once (when the start could not be recorded)."""
        with self.transaction():
            run_id = self.start_run(job, started)
            self.finish_run(run_id, **counts)
        return run_id

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
        with self.transaction(), self.registered("_ws", table):
            self.con.execute(
                "INSERT INTO watch_state SELECT path, size, mtime_ns, snapshot_id, seen_at "
                "FROM _ws ON CONFLICT (path) DO UPDATE SET size = excluded.size, "
                "mtime_ns = excluded.mtime_ns, snapshot_id = excluded.snapshot_id, "
                "seen_at = excluded.seen_at"
            )
