"""The findings timeline: a row per kind and currency, a cell per day or week, its colour the
worst severity in it and its hover the counts. Readable at 10,000 findings (they become a few
hundred cells), where markers on the series would be a wall. Pure: a frame in, a figure out.

Each cell carries `kind|currency|first day|last day` in its customdata; a click on it filters
the findings table to that cell (`cell_from_click`).
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .marks import SEVERITY_STYLE
from .template import make_figure

RANK = {"info": 1, "warning": 2, "error": 3}  # the colour scale's order (worst on top)
WEEKLY_AFTER_DAYS = 120  # a longer span is counted per week (Monday), a shorter one per day
ROW_PX = 22


def _buckets(days: pd.Series) -> tuple[pd.Series, int]:
    span = (days.max() - days.min()).days if len(days) else 0
    if span <= WEEKLY_AFTER_DAYS:
        return days, 1
    return days - pd.to_timedelta(days.dt.day_of_week, unit="D"), 7


def timeline_figure(findings: pd.DataFrame) -> go.Figure:
    """Counts of dated findings per (kind · currency) row and day or week, coloured by the
    worst severity of each cell."""
    dated = findings[findings["captured_on"].notna()] if len(findings) else findings
    if dated.empty:
        return make_figure([], dict(
            height=80, xaxis={"visible": False},
            yaxis={"visible": False}, margin={"l": 10, "r": 10, "t": 10, "b": 10},
            annotations=[{"text": "No dated findings to summarise.", "showarrow": False,
                          "x": 0.5, "y": 0.5, "xref": "paper", "yref": "paper"}],
            meta={"cells": 0, "findings": 0, "bucket_days": 0}))
    days = pd.to_datetime(dated["captured_on"].map(lambda d: str(d)[:10]))
    start, step = _buckets(days)
    cells = pd.DataFrame({
        "row": dated["kind"].astype(str) + " · " + dated["currency"].map(
            lambda c: c if isinstance(c, str) else "—"),
        "start": start.to_numpy(), "rank": dated["severity"].map(RANK).to_numpy(),
        "severity": dated["severity"].to_numpy(),
        "kind": dated["kind"].to_numpy(),
        "currency": dated["currency"].map(lambda c: c if isinstance(c, str) else "—").to_numpy(),
    })
    for sev in ("error", "warning", "info"):
        cells[sev] = (cells["severity"] == sev).astype(int)
    per = cells.groupby(["row", "start"], sort=False).agg(
        rank=("rank", "max"), kind=("kind", "first"), currency=("currency", "first"),
        error=("error", "sum"), warning=("warning", "sum"), info=("info", "sum"),
    ).reset_index()
    worst_row = per.groupby("row")["rank"].max()
    rows = sorted(worst_row.index, key=lambda r: (-worst_row[r], r))
    first_col, last_col = pd.Timestamp(cells["start"].min()), pd.Timestamp(cells["start"].max())
    cols = pd.date_range(first_col, last_col, freq=f"{step}D")  # every bucket: exact cells
    i = per["row"].map({r: k for k, r in enumerate(rows)}).to_numpy()
    j = ((pd.to_datetime(per["start"]) - first_col).dt.days // step).to_numpy()
    z = np.full((len(rows), len(cols)), np.nan)
    text = np.full((len(rows), len(cols)), "", dtype=object)
    custom = np.full((len(rows), len(cols)), "", dtype=object)
    z[i, j] = per["rank"].to_numpy(dtype=float)
    starts = pd.to_datetime(per["start"])
    ends = starts + pd.Timedelta(days=step - 1)
    span = (starts.dt.strftime("%d %b %Y") if step == 1
            else "week of " + starts.dt.strftime("%d %b %Y"))
    counts = [", ".join(f"{n} {s}" for s, n in (("error", e), ("warning", w), ("info", f)) if n)
              for e, w, f in zip(per["error"], per["warning"], per["info"], strict=True)]
    text[i, j] = [html.escape(f"{r}, {sp}: {c}")
                  for r, sp, c in zip(per["row"], span, counts, strict=True)]
    custom[i, j] = (per["kind"] + "|" + per["currency"] + "|" + starts.dt.strftime("%Y-%m-%d")
                    + "|" + ends.dt.strftime("%Y-%m-%d")).to_numpy(dtype=object)
    colors = [SEVERITY_STYLE[s]["color"] for s in ("info", "warning", "error")]
    heatmap = dict(
        type="heatmap", z=z, x=cols, y=rows, text=text, customdata=custom, zmin=0.5, zmax=3.5,
        colorscale=[[0, colors[0]], [1 / 3, colors[0]], [1 / 3, colors[1]], [2 / 3, colors[1]],
                    [2 / 3, colors[2]], [1, colors[2]]],
        showscale=False, xgap=1, ygap=1, hoverongaps=False,
        hovertemplate="%{text}<br>click: only these in the table<extra></extra>",
        meta={"role": "timeline"},
    )
    return make_figure([heatmap], dict(
        height=60 + ROW_PX * len(rows),
        margin={"l": 10, "r": 10, "t": 10, "b": 30},
        xaxis={"type": "date"}, yaxis={"autorange": "reversed", "automargin": True,
                                       "fixedrange": True},
        meta={"cells": int(np.isfinite(z).sum()), "findings": len(dated),
              "bucket_days": step, "rows": rows},
    ))


def cell_from_click(click: dict[str, Any] | None) -> dict[str, str] | None:
    """The TIMELINE_FILTER store's value from a click on a timeline cell (None: not a cell)."""
    for point in (click or {}).get("points", []):
        custom = point.get("customdata")
        if isinstance(custom, str) and custom.count("|") == 3:
            kind, currency, start, end = custom.split("|")
            return {"kind": kind, "currency": currency, "start": start, "end": end}
    return None
