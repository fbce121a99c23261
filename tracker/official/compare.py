"""The ticker against the official rates, capture by capture: how far, and how late.

Pure: the captures of the `series` and `OfficialRate` records in, one Arrow row per capture out (what
`Tracker.compare_official` shows and the data-quality notebook summarizes). The rules are the
findings' own (`tracker.official.findings`): the same rounding interval, publications in force
with the same carry-forward, the same tolerance and lag.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, localcontext

import pyarrow as pa

from .config import OfficialConfig
from .findings import _PREC, Publications, best_lag, distance, matches, ticker_interval
from .records import OfficialRate

COMPARE_SCHEMA = pa.schema([
    ("captured_on", pa.date32()), ("currency", pa.string()), ("rate_text", pa.string()),
    ("ticker_per_usd_low", pa.float64()), ("ticker_per_usd_high", pa.float64()),
    ("official_per_usd", pa.decimal128(18, 10)), ("official_date", pa.date32()),
    ("source", pa.string()), ("distance_pct", pa.float64()), ("lag_days", pa.int32()),
    ("lag_distance_pct", pa.float64()), ("mismatch", pa.bool_()), ("snapshot_id", pa.string()),
])


def compare_table(captures: list[tuple[str, dt.date, str, str]], rates: list[OfficialRate],
                  config: OfficialConfig | None = None) -> pa.Table:
    """One row per capture (currency, date, printed rate, snapshot id: as
    `tracker.official.findings.captures` lists them) with an official rate in force.

    `ticker_per_usd_low/high`: the units per USD the print stands for (its rounding interval);
    `official_per_usd`, `official_date`, `source`: the publication in force on the capture
    date; `distance_pct`: how far the official rate lies outside that interval (0: inside), in
    % of the official rate; `lag_days`: the N ≤ `lag_search_days` whose publication in force N
    days earlier is closest to the print (0: the capture date's, also on ties), with its
    `lag_distance_pct`; `mismatch`: whether `official_mismatch` is raised for the capture.
    """
    config = config or OfficialConfig()
    pubs = Publications(rates, config.carry_days)
    rows: list[dict[str, object]] = []
    for cur, day, text, sid in captures:
        today = pubs.in_force(cur, day)
        if not today:
            continue
        shown = today[0]
        own = min(distance(text, r.per_usd) for r in today)
        best_n, best = best_lag(pubs, cur, day, text, config.lag_search_days)
        window = pubs.window(cur, day, config.lag(cur))
        tol = config.tolerance(cur)
        lo, hi = ticker_interval(text)
        with localcontext(prec=_PREC):
            low = float(1 / hi)
            high = float(1 / lo) if lo > 0 else float("inf")
        rows.append({
            "captured_on": day, "currency": cur, "rate_text": text,
            "ticker_per_usd_low": low, "ticker_per_usd_high": high,
            "official_per_usd": shown.per_usd, "official_date": shown.rate_date,
            "source": shown.source, "distance_pct": float(own * 100), "lag_days": best_n,
            "lag_distance_pct": float(best * 100),
            "mismatch": not any(matches(text, r.per_usd, tol) for r in window),
            "snapshot_id": sid,
        })
    return pa.Table.from_pylist(rows, schema=COMPARE_SCHEMA)


def plain(value: Decimal) -> Decimal:
    """A stored DECIMAL(18,10) without its padding zeros (`512.3400000000` → `512.34`)."""
    text = format(value.normalize(), "f")
    return Decimal(text)
