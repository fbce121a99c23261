"""The findings on the movements chart: markers by severity, the top strip for findings about
no currency, the selected finding's ring and date lines. Pure: frames in, traces added.

Markers are drawn only while there are few enough to read (`MAX_MARKERS` in view); beyond
that the findings timeline under the chart summarises them.
"""

from __future__ import annotations

import html
import textwrap
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from .data import printable

MAX_MARKERS = 300  # finding markers on the chart at most; more: only the timeline
SEVERITY_STYLE = MappingProxyType({
    "error": MappingProxyType({"symbol": "x", "color": "#d62728", "size": 12}),
    "warning": MappingProxyType({"symbol": "triangle-up", "color": "#ff7f0e", "size": 12}),
    "info": MappingProxyType({"symbol": "circle-open", "color": "#555555", "size": 11}),
})
STRIP_Y = 0.97  # findings about no currency sit in a strip along the top of the chart


def finding_points(findings: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """Where each dated finding goes: (x, y) on its currency's trace, or the top strip.

    A finding about a currency that is not charted is left out; one whose date has no point
    of its currency takes the value of the nearest capture.
    """
    cols = ["finding_id", "kind", "severity", "label", "x", "y", "strip", "message",
            "snapshot_ids"]
    if findings.empty:
        return pd.DataFrame({c: [] for c in cols})
    f = findings[findings["captured_on"].notna()].copy()
    f["x"] = pd.to_datetime(f["captured_on"].map(lambda d: d.isoformat())).astype("datetime64[ns]")
    f["label"] = f["currency"]
    f["strip"] = f["label"].isna()
    on_strip = f[f["strip"]].assign(y=STRIP_Y)
    charted = set(frame["label"].unique())
    mine = f[~f["strip"] & f["label"].isin(charted)].sort_values("x")
    if len(mine):
        mine = mine.assign(label=mine["label"].astype(object))
        points = (frame[["label", "captured_on", "value"]].dropna(subset=["value"])
                  .rename(columns={"captured_on": "x", "value": "y"}).sort_values("x"))
        points = points.assign(label=points["label"].astype(object),
                               x=points["x"].astype("datetime64[ns]"))
        mine = pd.merge_asof(mine, points, on="x", by="label", direction="nearest")
        mine = mine[mine["y"].notna()]
    else:
        mine = mine.assign(y=pd.Series(dtype=float))
    out = pd.concat([mine, on_strip], ignore_index=True)
    return out[cols] if len(out) else pd.DataFrame({c: [] for c in cols})


def flagged_rows(frame: pd.DataFrame, findings: pd.DataFrame) -> np.ndarray:
    """Rows of `frame` (label, date) that a finding is about: downsampling keeps them."""
    if findings.empty or frame.empty:
        return np.zeros(len(frame), dtype=bool)
    dated = findings[findings["captured_on"].notna() & findings["currency"].notna()]
    keys = pd.MultiIndex.from_arrays([  # (label, day): vectorised, not a Timestamp per row
        dated["currency"].astype(str).to_numpy(),
        pd.to_datetime(dated["captured_on"].astype(str)).to_numpy().astype("datetime64[D]")])
    rows = pd.MultiIndex.from_arrays([
        frame["label"].astype(str).to_numpy(),
        frame["captured_on"].to_numpy().astype("datetime64[D]")])
    return np.asarray(rows.isin(keys), dtype=bool)


def hover_text(text: str, width: int = 90) -> str:
    """Snapshot-derived text for plotly's hover: HTML-escaped (plotly renders a few tags and
    would otherwise turn `<b>` or a link into markup), wrapped with `<br>`."""
    lines = textwrap.wrap(printable(text), width=width) or [""]
    return "<br>".join(html.escape(line, quote=True) for line in lines)


def findings_traces(points: pd.DataFrame) -> list[dict[str, Any]]:
    """A trace (a plain dict) of markers per severity, and one for the top strip: one legend
    entry per severity, counting both."""
    traces = []
    for severity, style in SEVERITY_STYLE.items():
        sev = points[points["severity"] == severity]
        legend = True
        for strip in (False, True):
            part = sev[sev["strip"] == strip]
            if part.empty:
                continue
            texts = [hover_text(f"{severity.upper()} {kind}: {msg}")
                     for kind, msg in zip(part["kind"], part["message"], strict=True)]
            traces.append(dict(
                type="scatter",
                x=pd.to_datetime(part["x"]).to_numpy(), y=part["y"].to_numpy(dtype=float),
                mode="markers", yaxis="y2" if strip else "y",
                name=f"{severity} findings ({len(sev)})", showlegend=legend,
                legendgroup=f"findings-{severity}",
                marker={"symbol": style["symbol"], "size": style["size"], "color": style["color"],
                        "line": {"width": 2, "color": style["color"]}},
                hovertext=texts, hovertemplate="%{hovertext}<extra></extra>",
                customdata=part["finding_id"].to_numpy(dtype=object),
                meta={"role": "findings", "severity": severity, "strip": strip},
            ))
            legend = False
    return traces


def selection_parts(selected: pd.DataFrame, frame: pd.DataFrame
                    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The selected finding's ring (a trace) on its currency's points of its days (every
    charted currency's for a finding about none), and a dotted line per day (shapes)."""
    dated = selected[selected["captured_on"].notna()]
    days = pd.to_datetime(dated["captured_on"].astype(str)).to_numpy().astype("datetime64[D]")
    shapes = [{"type": "line", "xref": "x", "yref": "y domain", "x0": day, "x1": day,
               "y0": 0, "y1": 1, "line": {"color": "#111", "width": 1, "dash": "dot"}}
              for day in sorted({pd.Timestamp(d).to_pydatetime() for d in days})]
    has_label = dated["label"].notna().to_numpy()
    wanted = pd.MultiIndex.from_arrays([dated["label"][has_label].astype(str).to_numpy(),
                                        days[has_label]])
    on_day = frame["captured_on"].to_numpy().astype("datetime64[D]")
    hit = (pd.MultiIndex.from_arrays([frame["label"].astype(str).to_numpy(), on_day])
           .isin(wanted) | np.isin(on_day, days[~has_label]))
    rows = frame[np.asarray(hit, dtype=bool) & frame["value"].notna().to_numpy()]
    ring = dict(
        type="scatter",
        x=rows["captured_on"].to_numpy(), y=rows["value"].to_numpy(), mode="markers",
        name="selected finding", hoverinfo="skip", showlegend=False,
        marker={"symbol": "circle-open", "size": 22, "color": "#111", "line": {"width": 3}},
        meta={"role": "selection"},
    )
    return [ring], shapes
