"""The backfill queue: captures planned from a web archive, and what became of each.

A row is `planned` until its capture has been fetched and ingested (`ingested`, `present`,
`rejected`, with the snapshot it became), has failed for good (`failed`, with the reason), or
turned out to be bytes already fetched under another row (`duplicate`). Every change is one
transaction, so a backfill killed at any moment leaves the queue as it was or as it became.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from .connection import Connected, utcnow

STATES = ("planned", "ingested", "present", "rejected", "failed", "duplicate")
DONE = ("ingested", "present", "rejected")  # fetched: its bytes are in the store


@dataclass(frozen=True)
class QueueItem:
    """One planned capture: where the archive keeps it and what it will be called."""

    source: str  # wayback | commoncrawl
    captured_at: dt.datetime  # the archive's timestamp, naive UTC
    original_url: str
    digest: str
    archive_url: str  # the snapshot's `source`: the capture's address in the archive
    filename: str | None = None  # Common Crawl: the WARC file, and the record's place in it
    offset: int | None = None
    length: int | None = None
    attempts: int = 0

    @property
    def timestamp(self) -> str:
        """The archive's 14-digit form (what `wayback.plan` spreads over the day)."""
        return self.captured_at.strftime("%Y%m%d%H%M%S")


@dataclass(frozen=True)
class QueueResult:
    """What one attempt at a planned capture came to."""

    item: QueueItem
    state: str  # one of STATES
    error: str | None = None
    snapshot_id: str | None = None


@dataclass(frozen=True)
class Paging:
    """How far an unfinished plan has listed the archive's index."""

    cursor: str | None  # where the index continues (the archive adapter's resume state)
    complete: bool  # every page listed: only the choosing is left
    pages: int  # pages listed so far


_CAPTURE = 'captured_at, original_url, digest, archive_url, filename, "offset", length'
_COLUMNS = f"source, {_CAPTURE}, attempts"


class BackfillQueue(Connected):
    """The reads and writes of `backfill_queue` and `backfill_plans`."""

    def backfill_planned_before(self, source: str, query: str) -> bool:
        """Whether this very query was planned in full by an earlier run."""
        return bool(self.con.execute(
            "SELECT count(*) FROM backfill_plans WHERE source = ? AND query = ?", [source, query]
        ).fetchall()[0][0])

    def backfill_paging(self, source: str, query: str) -> Paging | None:
        """How far this query's listing got in earlier runs (None: not begun)."""
        rows = self.con.execute(
            "SELECT cursor, complete, pages FROM backfill_paging WHERE source = ? AND query = ?",
            [source, query]).fetchall()
        return Paging(rows[0][0], bool(rows[0][1]), int(rows[0][2])) if rows else None

    def backfill_list_page(self, source: str, query: str, items: Sequence[QueueItem],
                           cursor: str | None) -> None:
        """One index page's captures and where the index continues (None: it ended), in one
        transaction: a run killed while paging resumes after the last page kept."""
        with self.transaction():
            start = int(self.con.execute(
                "SELECT count(*) FROM backfill_listed WHERE source = ? AND query = ?",
                [source, query]).fetchall()[0][0])
            if items:
                self.con.executemany(
                    f"INSERT INTO backfill_listed (source, query, seq, {_CAPTURE}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    [(source, query, start + n, i.captured_at, i.original_url, i.digest,
                      i.archive_url, i.filename, i.offset, i.length)
                     for n, i in enumerate(items)])
            self.con.execute(
                "INSERT INTO backfill_paging VALUES (?, ?, ?, ?, 1, ?) ON CONFLICT DO UPDATE "
                "SET cursor = excluded.cursor, complete = excluded.complete, "
                "pages = backfill_paging.pages + 1, updated_at = excluded.updated_at",
                [source, query, cursor, cursor is None, utcnow()])

    def backfill_listed(self, source: str, query: str) -> list[QueueItem]:
        """Every capture this query's listing kept, in the order the index listed them."""
        rows = self.con.execute(
            f"SELECT source, {_CAPTURE} FROM backfill_listed "
            "WHERE source = ? AND query = ? ORDER BY seq", [source, query]).fetchall()
        return [QueueItem(*row) for row in rows]

    def backfill_known(self, source: str) -> tuple[set[str], dict[dt.date, int]]:
        """The digests already queued (any source: equal digests, equal bytes) and how many
        captures of `source` each day already has in the queue."""
        digests = {str(d) for (d,) in self.con.execute(
            "SELECT DISTINCT digest FROM backfill_queue").fetchall()}
        days = {day: int(n) for day, n in self.con.execute(
            "SELECT CAST(captured_at AS DATE), count(*) FROM backfill_queue WHERE source = ? "
            "GROUP BY 1", [source]).fetchall()}
        return digests, days

    def backfill_add_plan(self, source: str, query: str, captures: int,
                          items: Sequence[QueueItem]) -> int:
        """Queue `items`, remember the query as planned and drop its listing, in one
        transaction; rows queued before are left as they are. The number of rows added."""
        now = utcnow()
        with self.transaction():
            before = self._queued(source)
            self.con.executemany(
                f"INSERT INTO backfill_queue ({_COLUMNS}, state, planned_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 'planned', ?) ON CONFLICT DO NOTHING",
                [(i.source, i.captured_at, i.original_url, i.digest, i.archive_url, i.filename,
                  i.offset, i.length, now) for i in items],
            ) if items else None
            added = self._queued(source) - before
            self.con.execute(
                "INSERT INTO backfill_plans VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [source, query, captures, added, now])
            for table in ("backfill_listed", "backfill_paging"):  # the listing is done with
                self.con.execute(f"DELETE FROM {table} WHERE source = ? AND query = ?",
                                 [source, query])
        return added

    def _queued(self, source: str) -> int:
        return int(self.con.execute(
            "SELECT count(*) FROM backfill_queue WHERE source = ?", [source]).fetchall()[0][0])

    def backfill_settle(self) -> tuple[int, int]:
        """Resolve planned rows without fetching them: those whose capture is already a
        snapshot (a run killed between storing it and marking its row), then those whose
        digest another row has fetched. (resolved, duplicates)."""
        now = utcnow()
        with self.transaction():
            resolved = self.con.execute(
                "UPDATE backfill_queue q SET state = s.status, snapshot_id = s.snapshot_id, "
                "last_error = s.reason, done_at = ? FROM snapshots s "
                "WHERE q.state = 'planned' AND s.source = q.archive_url RETURNING 1", [now]
            ).fetchall()
            dupes = self.con.execute(
                "UPDATE backfill_queue q SET state = 'duplicate', snapshot_id = d.snapshot_id, "
                "last_error = 'same bytes as ' || d.archive_url, done_at = ? "
                "FROM (SELECT digest, arg_min(snapshot_id, captured_at) AS snapshot_id, "
                "      arg_min(archive_url, captured_at) AS archive_url FROM backfill_queue "
                f"      WHERE state IN {DONE} GROUP BY digest) d "
                "WHERE q.state = 'planned' AND q.digest = d.digest RETURNING 1", [now]
            ).fetchall()
        return len(resolved), len(dupes)

    def backfill_pending(self, source: str | None) -> list[QueueItem]:
        """The planned captures of `source` (None: of every source), oldest first."""
        rows = self.con.execute(
            f"SELECT {_COLUMNS} FROM backfill_queue WHERE coalesce(source = ?, true) "
            "AND state = 'planned' ORDER BY captured_at, original_url", [source]).fetchall()
        return [QueueItem(*row) for row in rows]

    def backfill_record(self, results: Sequence[QueueResult]) -> None:
        """The outcomes of one batch of attempts, in one transaction (one statement)."""
        if not results:
            return
        table = pa.table({
            "source": [r.item.source for r in results],
            "captured_at": pa.array([r.item.captured_at for r in results], pa.timestamp("us")),
            "original_url": [r.item.original_url for r in results],
            "state": [r.state for r in results],
            "error": pa.array([r.error for r in results], pa.string()),
            "snapshot_id": pa.array([r.snapshot_id for r in results], pa.string()),
        })
        with self.transaction(), self.registered("_results", table):
            self.con.execute(
                "UPDATE backfill_queue q SET state = r.state, last_error = r.error, "
                "snapshot_id = r.snapshot_id, attempts = q.attempts + 1, "
                "done_at = CASE WHEN r.state = 'planned' THEN NULL ELSE ? END FROM _results r "
                "WHERE q.source = r.source AND q.captured_at = r.captured_at "
                "AND q.original_url = r.original_url", [utcnow()])

    def backfill_status(self) -> pa.Table:
        """Per source and state: how many captures, over which days, the latest error."""
        return self.arrow(
            "SELECT source, state, count(*) AS captures, "
            "min(CAST(captured_at AS DATE)) AS first_day, "
            "max(CAST(captured_at AS DATE)) AS last_day, "
            "arg_max(last_error, coalesce(done_at, planned_at)) AS last_error "
            "FROM backfill_queue GROUP BY source, state ORDER BY source, state")

    def backfill_rows(self, *, source: str | None = None) -> pa.Table:
        """Every queued capture with its state (for `--status` details and tests)."""
        where = "WHERE source = ?" if source else ""
        return self.arrow(
            "SELECT source, captured_at, original_url, digest, archive_url, state, attempts, "
            f"last_error, snapshot_id FROM backfill_queue {where} "
            "ORDER BY source, captured_at, original_url", [source] if source else [])
