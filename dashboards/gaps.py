"""Gaps, coverage, the rebase date and coarse currencies: what keeps the chart honest.

- A line breaks where a currency has no capture for more than `GAP_DAYS` days: a capture in
  December 2024 and the next in November 2025 are two islands, not an eleven-month slope.
- The coverage strip under the chart shows, per day, whether there is a capture and where it
  came from (`live` fetch, web `archive`, a `file` with no fetch or archive time). Official
  rates, once wired, add a source of their own (`COVERAGE_COLORS` has a place for them).
- The index is rebased at the first date in view where every shown currency has a value, so
  all traces start at 100 on the same day (the subtitle names it).
- A *coarse* currency is printed so roughly that its rounding swamps its moves (UZS at
  `0.00008`: ±6%): the relative views (index, change) leave it out unless asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

GAP_DAYS = 7  # a longer stretch without a capture of a currency breaks its line
COARSE_PCT = 1.0  # a half rounding interval above this % of the rate makes a currency coarse
COVERAGE_COLORS = MappingProxyType({"live": "#2ca02c", "archive": "#1f77b4", "file": "#8c959f",
                                    "official": "#9467bd"})
COVERAGE_DOMAIN = (0.0, 0.05)  # the strip's share of the plot's height (bottom)
DAY_MS = 86_400_000


def gap_before(frame: pd.DataFrame, days: int = GAP_DAYS) -> np.ndarray:
    """Rows of `frame` (sorted by label, then date) whose previous capture of the same
    currency is more than `days` days earlier."""
    if frame.empty:
        return np.zeros(0, dtype=bool)
    labels = frame["label"].to_numpy()
    dates = frame["captured_on"].to_numpy(dtype="datetime64[D]")
    same = np.r_[False, labels[1:] == labels[:-1]]
    step = np.r_[np.timedelta64(0, "D"), np.diff(dates)]
    out: np.ndarray = same & (step > np.timedelta64(days, "D"))
    return out


def with_breaks(x: np.ndarray, columns: Sequence[np.ndarray],
                breaks: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """`x` and `columns` with a blank point before each row flagged in `breaks`, a day
    after the previous point: plotly (connectgaps off) ends the line there."""
    at = np.flatnonzero(breaks)
    if not len(at):
        return x, list(columns)
    gap_x = x[at - 1] + np.timedelta64(1, "D")
    out_x: np.ndarray = np.insert(x, at, gap_x)
    out: list[np.ndarray] = []
    for col in columns:
        if col.dtype.kind == "f":
            out.append(np.insert(col, at, np.nan))
        else:
            out.append(np.insert(col.astype(object), at, np.array([""] * len(at), dtype=object)))
    return out_x, out


def rebase_date(series: pd.DataFrame, labels: Sequence[str],
                start: pd.Timestamp | None) -> pd.Timestamp | None:
    """The first date from `start` on where every one of `labels` has a capture; None
    when there is no such date (then each trace is based at its own first capture)."""
    rows = series[series["label"].isin(list(labels))]
    if start is not None:
        rows = rows[rows["captured_on"] >= start]
    if rows.empty:
        return None
    per_day = rows.groupby("captured_on")["label"].nunique()
    full = per_day[per_day == len(set(labels))]
    return pd.Timestamp(full.index.min()) if len(full) else None


def coarse_labels(series: pd.DataFrame) -> list[str]:
    """Currencies whose typical printed rate is known only to more than `COARSE_PCT` %."""
    if series.empty:
        return []
    rate = series["rate"].to_numpy(dtype=float)
    half = 0.5 * 10.0 ** (-series["rate_decimals"].to_numpy(dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = pd.Series(np.where(rate > 0, half / rate * 100, np.nan), index=series.index)
    typical = pct.groupby(series["label"]).median()
    return sorted(typical[typical > COARSE_PCT].index)


def coverage_runs(coverage: pd.DataFrame) -> pd.DataFrame:
    """Runs of consecutive captured days of one source: (source, first, last, days,
    snapshots). A day with several sources counts as its most direct one (live, then
    archive, then file)."""
    cols = ["source", "first", "last", "days", "snapshots"]
    if coverage is None or coverage.empty:
        return pd.DataFrame({c: [] for c in cols})
    order = {s: i for i, s in enumerate(COVERAGE_COLORS)}
    totals = coverage.groupby("captured_on")["snapshots"].sum()
    days = (coverage.assign(rank=coverage["source"].map(order).fillna(len(order)))
            .sort_values(["captured_on", "rank"]).drop_duplicates("captured_on")
            .reset_index(drop=True))
    day = days["captured_on"].to_numpy(dtype="datetime64[D]")
    src = days["source"].to_numpy()
    new = np.r_[True, (np.diff(day) != np.timedelta64(1, "D")) | (src[1:] != src[:-1])]
    run = np.cumsum(new) - 1
    days = days.assign(run=run, total=totals.reindex(days["captured_on"]).to_numpy())
    out = days.groupby("run").agg(source=("source", "first"), first=("captured_on", "first"),
                                  last=("captured_on", "last"), days=("captured_on", "size"),
                                  snapshots=("total", "sum"))
    return out.reset_index(drop=True)[cols]


def coverage_parts(coverage: pd.DataFrame | None
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The coverage strip under the chart (axis y3): a rectangle (shape) per run of captured
    days, coloured by source, and a legend entry (trace) per source. Rectangles are shapes,
    so the strip costs one shape per run, not one point per day."""
    runs = coverage_runs(coverage) if coverage is not None else coverage_runs(pd.DataFrame())
    if runs.empty:
        return [], []
    one_day = pd.Timedelta(days=1)
    shapes = [{"type": "rect", "xref": "x", "yref": "y3", "y0": 0, "y1": 1,
               "x0": pd.Timestamp(str(r.first)), "x1": pd.Timestamp(str(r.last)) + one_day,
               "fillcolor": COVERAGE_COLORS.get(str(r.source), "#444"), "line": {"width": 0},
               "layer": "below", "name": f"coverage-{r.source}"}
              for r in runs.itertuples()]
    traces = []
    for source, part in runs.groupby("source", sort=False):
        traces.append(dict(
            type="scatter", x=[None], y=[None], mode="markers", yaxis="y3",
            legendgroup="coverage",
            marker={"symbol": "square", "size": 10,
                    "color": COVERAGE_COLORS.get(str(source), "#444")},
            name=f"captured: {source} ({int(part['days'].sum()):,} days)",
            meta={"role": "coverage", "source": source, "days": int(part["days"].sum()),
                  "runs": len(part), "snapshots": int(part["snapshots"].sum())},
        ))
    return traces, shapes
