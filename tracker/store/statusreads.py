"""The reads behind `tracker status`: the span of the capture dates, the gaps in it, the last
run of each scheduled job, the raw archive's size and the schema version."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from .connection import Connected
from .rawfolder import referenced_packs
from .schema import schema_version


class StatusReads(Connected):
    """`tracker status`'s reads of `Store`."""

    def capture_span(self) -> tuple[dt.date | None, dt.date | None, int]:
        """The first and last capture date of the ingested snapshots (None: none), and how
        many distinct capture dates there are."""
        first, last, days = self.con.execute(
            "SELECT min(captured_on), max(captured_on), count(DISTINCT captured_on) "
            "FROM snapshots WHERE status = 'ingested'"
        ).fetchall()[0]
        return first, last, int(days)

    def capture_gaps(self, longer_than: int) -> list[tuple[dt.date, dt.date, int]]:
        """(last capture before, first capture after, days between) for every stretch of more
        than `longer_than` days without an ingested, dated snapshot; oldest first."""
        rows = self.con.execute(
            """
            WITH days AS (SELECT DISTINCT captured_on AS day FROM snapshots
                          WHERE status = 'ingested' AND captured_on IS NOT NULL),
                 steps AS (SELECT lag(day) OVER (ORDER BY day) AS before, day AS after
                           FROM days)
            SELECT before, after, date_diff('day', before, after) AS days FROM steps
            WHERE before IS NOT NULL AND date_diff('day', before, after) > ?
            ORDER BY before
            """,
            [longer_than],
        ).fetchall()
        return [(r[0], r[1], int(r[2])) for r in rows]

    def last_runs(self) -> list[dict[str, Any]]:
        """The latest `runs` row of each scheduled job, by job name."""
        table = self.arrow(
            "SELECT run_id, job, started, finished, files_seen, ingested, present, rejected, "
            "error FROM runs WHERE run_id IN (SELECT max(run_id) FROM runs GROUP BY job) "
            "ORDER BY job"
        )
        rows: list[dict[str, Any]] = table.to_pylist()
        return rows

    def raw_size(self) -> tuple[int, int]:
        """(files, bytes) of the pack files on disk that this database's rows point at (its
        raw folder may be `raw/`, shared with other databases in its folder)."""
        files = total = 0
        for pack in sorted(referenced_packs(self.con)):
            try:
                size = os.stat(self.raw_dir / pack, follow_symlinks=False).st_size
            except OSError:
                continue
            files += 1
            total += size
        return files, total

    def schema_version(self) -> int:
        return schema_version(self.con)
