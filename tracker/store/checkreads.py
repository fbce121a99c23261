"""The inputs of the inconsistency checks (`tracker.checks`): the store reduced to three
small tables, read in one transaction so they describe one state of the database."""

from __future__ import annotations

import pyarrow as pa

from .connection import Connected
from .schema import SERIES_RULE_SQL


class CheckReads(Connected):
    """The checks' reads of `Store`."""

    def check_tables(self) -> tuple[pa.Table, pa.Table, pa.Table]:
        """(snapshots, day rates, series) for `tracker.checks`, read in one transaction."""
        with self.transaction():
            return self.check_snapshots(), self.check_day_rates(), self.check_series()

    def check_snapshots(self) -> pa.Table:
        """One row per ingested snapshot: its date evidence and a digest of its ticker.

        `ticker_key` is equal for snapshots whose tickers print the same pairs, rates and
        changes in the same order; `pairs` lists its pairs and `moving` its non-zero changes
        (both in no particular order: ordered aggregates would triple the cost); `warnings`
        is only filled when the ticker's copies disagree.
        """
        return self.arrow(
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
        return self.arrow(
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
        """The series (its rule, without the `series` view's exact numbers) with the printed
        texts the checks need, by pair then date."""
        return self.arrow(
            "SELECT captured_on, currency, quote_currency, rate_text, change_text, snapshot_id "
            f"FROM ({SERIES_RULE_SQL}) ORDER BY currency, quote_currency, captured_on"
        )
