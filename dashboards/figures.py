"""Figure builders: pure functions, DataFrames in, a plotly figure out. No I/O, no Dash.

The series frame is `dashboards.data.series_of`'s (one row per capture date and
currency, printed texts kept); the findings frame is `tracker.checks.findings_frame`'s.

Every printed rate stands for an interval (±0.5 in its last printed decimal): each trace
carries a shaded band of that interval, transformed like the trace itself, so a currency the
ticker resolves coarsely (UZS at `0.00008`: ±6%) shows as coarse.

Long ranges are downsampled on the server: per trace, at most `max_points` points, chosen
among the real observations (the first, last, lowest and highest of each bucket), never an
average, and never dropping a point that a finding is about.
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from tracker import views as tracker_views
from tracker.humane import significant
from tracker.models import label_order

from . import gaps, marks
from . import official as official_lines
from .template import make_figure

VIEWS: Mapping[str, str] = MappingProxyType({
    "rate": "Rate as printed (USD per unit)",
    "per_usd": "Units per USD",
    "index": "Rebased index",
    "change": "Change between captures (%)",
})
DEFAULT_VIEW = "index"
AXIS_TITLES = MappingProxyType({
    "rate": "USD per unit",
    "per_usd": "units per USD",
    "index": "index (100 at the rebase date)",
    "change": "change since previous capture, %",
})
COLORS = MappingProxyType({"KGS": "#1f77b4", "KZT": "#17becf", "TJS": "#9467bd",
                           "UZS": "#8c564b", "TMT": "#2ca02c"})
EXTRA_COLORS = ("#e377c2", "#bcbd22", "#7f7f7f", "#393b79", "#637939")
RANGE_BUTTONS = (
    {"count": 1, "label": "1M", "step": "month", "stepmode": "backward"},
    {"count": 3, "label": "3M", "step": "month", "stepmode": "backward"},
    {"count": 6, "label": "6M", "step": "month", "stepmode": "backward"},
    {"count": 1, "label": "YTD", "step": "year", "stepmode": "todate"},
    {"count": 1, "label": "1Y", "step": "year", "stepmode": "backward"},
    {"label": "All", "step": "all"},
)
Visible = tuple[pd.Timestamp, pd.Timestamp] | None


def color_of(label: str, labels: Sequence[str] = ()) -> str:
    code = label.split("/")[0]
    if code in COLORS and "/" not in label:
        return COLORS[code]
    others = [lab for lab in labels if lab not in COLORS]
    i = others.index(label) if label in others else len(others)
    return EXTRA_COLORS[i % len(EXTRA_COLORS)]


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def parse_visible(value: Sequence[str] | None) -> Visible:
    """`[start, end]` ISO dates (the VISIBLE_RANGE store) as timestamps; None for everything."""
    if not value or len(value) != 2:
        return None
    try:
        start, end = (pd.Timestamp(str(v)[:10]) for v in value)
    except (ValueError, TypeError):
        return None
    return (start, end) if start <= end else (end, start)


# -- values ------------------------------------------------------------------------------------


def view_frame(series: pd.DataFrame, view: str = DEFAULT_VIEW,
               visible: Visible = None) -> pd.DataFrame:
    """The series with the plotted `value`, its rounding band `lo`..`hi`, and `value_text`.

    The math is `tracker.views.view_frame` (shared with the notebook API, same view names);
    the index is rebased at the first visible date. rate: as printed;
    per_usd: 1/rate (the band inverts too); index: rate / base × 100 where base is each
    trace's first point at or after the visible start (the band is the point's own interval,
    scaled alike); change: % change from the previous capture of the same currency, banded by
    the extreme changes both rounding intervals allow.
    """
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; use one of {', '.join(VIEWS)}")
    f = tracker_views.view_frame(series, view,
                                 base_from=visible[0] if visible else None)
    f["value_text"] = _value_texts(view, f)
    return f


def _value_texts(view: str, f: pd.DataFrame) -> list[str]:
    if view == "rate":
        return f["rate_text"].astype(str).tolist()
    values = f["value"].to_numpy(dtype=float)
    if view == "per_usd":
        return [significant(v) for v in values]
    if view == "index":
        return ["—" if math.isnan(v) else f"{v:.2f}" for v in values]
    return ["— (first capture)" if math.isnan(v) else f"{v:+.2f}%" for v in values]


# -- downsampling --------------------------------------------------------------------------------


def downsample(frame: pd.DataFrame, keep: np.ndarray, max_points: int,
               visible: Visible = None) -> np.ndarray:
    """A boolean mask of the rows to draw: at most about `max_points` per trace, plus `keep`.

    Within the visible range three quarters of the budget goes to the visible points; in
    each bucket of consecutive points the first, last, lowest and highest `value` are kept.
    `frame` must be sorted by label, then date (as `view_frame` returns it).
    """
    mask = np.asarray(keep, dtype=bool).copy()
    labels = frame["label"].to_numpy()
    values = frame["value"].to_numpy(dtype=float)
    dates = frame["captured_on"].to_numpy()
    bounds = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1], True]) if len(frame) else ()
    for start, end in itertools.pairwise(bounds):
        n = end - start
        if n <= max_points:
            mask[start:end] = True
            continue
        if visible is None:
            inside = np.ones(n, dtype=bool)
        else:
            d = dates[start:end]
            inside = (d >= visible[0].to_datetime64()) & (d <= visible[1].to_datetime64())
        budget_in = max_points if inside.all() else max(4, (max_points * 3) // 4)
        for part, budget in ((inside, budget_in), (~inside, max_points - budget_in)):
            idx = np.flatnonzero(part) + start
            if len(idx) <= budget:
                mask[idx] = True
            elif len(idx):
                mask[idx[_bucket_extremes(values[idx], max(1, budget // 4))]] = True
    return mask


def _bucket_extremes(values: np.ndarray, buckets: int) -> np.ndarray:
    """Positions of the first, last, lowest and highest value of each of `buckets` runs."""
    n = len(values)
    bucket = np.arange(n) * buckets // n
    starts = np.searchsorted(bucket, np.arange(buckets))
    ends = np.r_[starts[1:], n] - 1
    low = np.where(np.isnan(values), np.inf, values)
    high = np.where(np.isnan(values), -np.inf, values)
    argmin = np.lexsort((low, bucket))[starts]
    argmax = np.lexsort((-high, bucket))[starts]
    return np.unique(np.concatenate([starts, ends, argmin, argmax]))


# -- the figure ----------------------------------------------------------------------------------


def based_frame(series: pd.DataFrame, view: str,
                visible: Visible = None) -> tuple[pd.DataFrame, pd.Timestamp | None]:
    """`view_frame` with the index based at `gaps.rebase_date` (the first date in view with
    every shown currency), and that date (None: no common date, each trace at its first)."""
    base = None
    if view == "index":
        labels = list(series["label"].unique())
        base = gaps.rebase_date(series, labels, visible[0] if visible else None)
    frame = view_frame(series, view, ((base, base) if base is not None else visible))
    return frame, base


def movements_figure(
    series: pd.DataFrame,
    findings: pd.DataFrame | None = None,
    *,
    view: str = DEFAULT_VIEW,
    log: bool = False,
    bands: bool | Sequence[str] = False,
    visible: Visible = None,
    selected: pd.DataFrame | None = None,
    max_points: int = 800,
    coverage: pd.DataFrame | None = None,
    coarse: bool = False,
    official: pd.DataFrame | None = None,
) -> go.Figure:
    """The movements chart: a trace per currency (broken at gaps), rounding bands, finding
    markers while few enough, the selection ring, and the coverage strip underneath.

    `bands`: True for every currency's band, or the labels to band (the selected finding's
    currency). `coarse`: keep coarse currencies (`gaps.coarse_labels`) in the relative
    views. `selected` has columns `label` (None: every charted currency) and `captured_on`.
    The title and subtitle are in `layout.meta` (the page shows them above the chart).
    `official`: `tracker.read.official_series_frame`'s rows, drawn dashed per shown currency.
    """
    if series.empty:
        return empty_figure("No dated snapshots to chart yet.")
    findings = findings if findings is not None else pd.DataFrame(
        columns=["finding_id", "kind", "severity", "currency", "captured_on", "snapshot_ids",
                 "message"])
    notes: list[str] = []
    left_out = gaps.coarse_labels(series) if view in ("index", "change") and not coarse else []
    if left_out and len(left_out) < series["label"].nunique():
        series = series[~series["label"].isin(left_out)]
        notes.append(f"{', '.join(left_out)} left out: printed too coarsely for this view "
                     "(tick \u201ccoarse currencies\u201d to add)")
    frame, base = based_frame(series, view, visible)
    labels = sorted(frame["label"].unique(), key=label_order)
    breaks = gaps.gap_before(frame)
    if visible is None:
        in_view = findings
    else:
        days = pd.to_datetime(findings["captured_on"].astype(str), errors="coerce")
        in_view = findings[((days >= visible[0]) & (days <= visible[1])).to_numpy()]
    points = marks.finding_points(in_view, frame)
    marked = len(points) <= marks.MAX_MARKERS
    # the points a marker sits on are drawn; unmarked (too many), they would only keep
    # thousands of points from being downsampled (bench/README.md)
    flagged = marks.flagged_rows(frame, in_view) if marked else np.zeros(len(frame), bool)
    keep = flagged | breaks | np.r_[breaks[1:], False]
    draw = downsample(frame, keep, max_points, visible)
    shown = frame[draw]
    shown_breaks = gaps.gap_before(shown)
    log_axis = log and view != "change"
    banded = set(labels) if bands is True else set(bands or ())

    traces: list[dict[str, Any]] = []  # plain dicts, made a figure once (`make_figure`)
    shapes: list[dict[str, Any]] = []
    for label in labels:
        rows = shown[shown["label"] == label]
        cut = shown_breaks[(shown["label"] == label).to_numpy()]
        color = color_of(label, labels)
        custom = [rows["value_text"].map(html.escape).to_numpy(dtype=object),
                  rows["rate_text"].map(html.escape).to_numpy(dtype=object),
                  rows["change_text"].map(html.escape).to_numpy(dtype=object),
                  np.array([_snapshots_text(n, k) for n, k in
                            zip(rows["snapshots"], rows["distinct_rates"], strict=True)],
                           dtype=object)]
        x, (y, lo, hi, *custom) = gaps.with_breaks(
            rows["captured_on"].to_numpy(),
            [rows["value"].to_numpy(dtype=float), rows["lo"].to_numpy(dtype=float),
             rows["hi"].to_numpy(dtype=float), *custom], cut)
        if label in banded:
            band = {"type": "scatter", "x": x, "mode": "lines",
                    "line": {"width": 0, "color": color}, "hoverinfo": "skip",
                    "showlegend": False, "legendgroup": label, "connectgaps": False}
            traces.append(dict(y=lo, name=f"{label} interval low",
                               meta={"role": "band-low", "label": label}, **band))
            traces.append(dict(y=hi, name=f"{label} interval high",
                               fill="tonexty", fillcolor=_rgba(color, 0.2),
                               meta={"role": "band-high", "label": label}, **band))
        traces.append(dict(
            type="scatter", x=x, y=y, name=label, legendgroup=label, connectgaps=False,
            mode="lines+markers" if len(rows) <= 150 else "lines",
            line={"color": color, "width": 1.8}, marker={"size": 5, "color": color},
            customdata=np.column_stack(custom) if len(rows) else None,
            hovertemplate=(
                ("" if view == "rate" else "%{customdata[0]} · ")
                + "printed %{customdata[1]} USD, change %{customdata[2]}% · %{customdata[3]}"
                + f"<extra>{html.escape(label)}</extra>"
            ),
            meta={"role": "series", "label": label, "breaks": int(cut.sum())},
        ))
    traces += official_lines.official_traces(
        official, view, labels, {lab: color_of(lab, labels) for lab in labels},
        base if base is not None else (visible[0] if visible else None))
    if marked:
        traces += marks.findings_traces(points)
    else:
        notes.append(f"{len(points):,} findings in view: too many to mark, see the timeline "
                     "below (zoom in to mark them)")
    if selected is not None and len(selected):
        ring, lines = marks.selection_parts(selected, frame)
        traces += ring
        shapes += lines
    strip_traces, rects = gaps.coverage_parts(coverage)
    traces += strip_traces
    shapes += rects

    subtitle = []
    if view == "index":
        subtitle.append(f"100 = {base:%d %b %Y}, the first date in view with every shown "
                        "currency" if base is not None else
                        "no date in view has every shown currency: each is 100 at its first "
                        "capture")
    if int(breaks.sum()):
        subtitle.append(f"lines break where captures are missing for over {gaps.GAP_DAYS} days")
    dropped = len(frame) - int(draw.sum())
    if dropped:
        subtitle.append(f"{int(draw.sum()):,} of {len(frame):,} captures drawn (each "
                        "interval's first, last, lowest, highest"
                        + (" and every flagged one" if marked else "") + "; zoom in for all)")
    subtitle += notes
    strip = gaps.COVERAGE_DOMAIN[1]
    layout: dict[str, Any] = dict(
        shapes=shapes,
        hovermode="x unified",
        height=560,
        margin={"l": 64, "r": 10, "t": 36, "b": 20},
        legend={"orientation": "v", "y": 1, "yanchor": "top", "x": 1.01, "xanchor": "left",
                "font": {"size": 11}},
        uirevision="movements",
        clickmode="event",
        bargap=0,
        xaxis={
            "type": "date", "hoverformat": "%a %d %b %Y", "uirevision": "x", "anchor": "y3",
            "rangeselector": {"buttons": list(RANGE_BUTTONS), "x": 0, "y": 1.0,
                              "yanchor": "bottom"},
            # no range slider: it draws every trace a second time, which was ~2/3 of the
            # chart's drawing and of every range change in the browser (bench/README.md)
        },
        yaxis={"title": {"text": AXIS_TITLES[view]}, "type": "log" if log_axis else "linear",
               "uirevision": f"{view}|{log_axis}|{visible}", "zeroline": view == "change",
               "domain": [strip + 0.03, 1]},
        yaxis2={"overlaying": "y", "range": [0, 1], "visible": False, "fixedrange": True},
        yaxis3={"domain": list(gaps.COVERAGE_DOMAIN), "range": [0, 1], "visible": False,
                "fixedrange": True},
        meta={"view": view, "log": log_axis, "drawn": int(draw.sum()), "captures": len(frame),
              "visible": [f"{v:%Y-%m-%d}" for v in visible] if visible else None,
              "title": VIEWS[view], "subtitle": subtitle, "left_out": left_out,
              "base": f"{base:%Y-%m-%d}" if base is not None else None,
              "markers": marked},
    )
    if visible is not None:
        layout["xaxis"]["range"] = [visible[0].strftime("%Y-%m-%d"),
                                    visible[1].strftime("%Y-%m-%d")]
        yrange = _y_range(frame, visible, bool(banded), log_axis)
        if yrange is not None:
            layout["yaxis"]["range"] = yrange
    return make_figure(traces, layout)


def _snapshots_text(snapshots: int, distinct: int) -> str:
    text = f"{snapshots} snapshot{'s' if snapshots != 1 else ''}"
    if distinct > 1:
        text += f", {distinct} different rates that day"
    return text


def _y_range(frame: pd.DataFrame, visible: tuple[pd.Timestamp, pd.Timestamp], bands: bool,
             log_axis: bool) -> list[float] | None:
    """Fit the y axis to what is visible (plotly would fit it to every point, even hidden)."""
    inside = frame[(frame["captured_on"] >= visible[0]) & (frame["captured_on"] <= visible[1])]
    cols = ["value", "lo", "hi"] if bands else ["value"]
    values = inside[cols].to_numpy(dtype=float).ravel()
    values = values[np.isfinite(values)]
    if log_axis:
        values = values[values > 0]
    if not len(values):
        return None
    low, high = float(values.min()), float(values.max())
    if log_axis:
        low, high = math.log10(low), math.log10(high)
    pad = (high - low) * 0.06 or (abs(high) * 0.01 if high else 1.0)
    return [low - pad, high + pad]


def empty_figure(message: str, *, loading: bool = False) -> go.Figure:
    """A blank chart that says why it is blank (no axes, no traces); `loading`: the page's
    placeholder until the first answer (its meta says so)."""
    fig = make_figure([], dict(
        height=360, xaxis={"visible": False}, yaxis={"visible": False},
        annotations=[{"text": html.escape(message), "showarrow": False, "x": 0.5, "y": 0.5,
                      "xref": "paper", "yref": "paper", "font": {"size": 16}}],
        meta={"empty": True, "loading": loading},
    ))
    return fig


def visible_from_relayout(relayout: dict[str, Any] | None,
                          current: Sequence[str] | None) -> list[str] | None:
    """The VISIBLE_RANGE store's next value from a chart's `relayoutData` (None: all).

    Range selector buttons and zooms send `xaxis.range[0]`/`[1]`, the range slider
    `xaxis.range`, "All" and double clicks `xaxis.autorange`. Anything else (a legend click,
    a y zoom, autosize) leaves the range as it was.
    """
    if not relayout:
        return list(current) if current else None
    if relayout.get("xaxis.autorange"):
        return None
    if "xaxis.range" in relayout:
        start, end = relayout["xaxis.range"][:2]
    elif "xaxis.range[0]" in relayout and "xaxis.range[1]" in relayout:
        start, end = relayout["xaxis.range[0]"], relayout["xaxis.range[1]"]
    else:
        return list(current) if current else None
    try:
        days = sorted(dt.date.fromisoformat(str(v)[:10]) for v in (start, end))
    except ValueError:
        return list(current) if current else None
    return [days[0].isoformat(), days[1].isoformat()]
