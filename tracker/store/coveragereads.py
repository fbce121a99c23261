"""Coverage: which days have a capture, and where those captures came from."""

from __future__ import annotations

import pyarrow as pa

from .connection import Connected

# How a snapshot reached the store, from its provenance columns. Official rates (another
# table, once wired) will add their own source beside these.
COVERAGE_SOURCE_SQL = """
    CASE WHEN captured_at_source = 'fetched' OR date_source = 'fetched' THEN 'live'
         WHEN captured_at_source = 'archive' OR date_source = 'archive' THEN 'archive'
         ELSE 'file' END
"""


class CoverageReads(Connected):
    """The dashboard's coverage strip: per capture day and source, how many snapshots."""

    def coverage(self) -> pa.Table:
        """(captured_on DATE, source VARCHAR `live`/`archive`/`file`, snapshots INTEGER) of the
        ingested, dated snapshots, oldest day first."""
        return self.arrow(
            f"""
            SELECT captured_on, {COVERAGE_SOURCE_SQL} AS source,
                   CAST(count(*) AS INTEGER) AS snapshots
            FROM snapshots
            WHERE status = 'ingested' AND captured_on IS NOT NULL
            GROUP BY ALL ORDER BY captured_on, source
            """
        )
