"""The central banks' official rates drawn beside the ticker (the "official rates" toggle).

Pure, like `dashboards.figures`: the frame is `tracker.read.official_series_frame`'s (one
row per publication, units per USD as floats), turned into the chart's view so the two can
be compared by eye. Each official series is a thin dashed line in its currency's colour,
named `KZT official`, drawn from publication to publication (no publication on weekends and
holidays is not a gap: the rate stays in force).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from tracker.models import label_order


def official_view(official: pd.DataFrame, view: str,
                  base: pd.Timestamp | None = None) -> pd.DataFrame:
    """The official series with the view's float `value` and its `value_text`, by label then
    date. rate: 1/per_usd (USD per unit, as the ticker prints); per_usd: as published;
    index: rate / rate in force at `base` × 100 (`base`: the ticker's rebase date; a label
    with no publication up to `base` is based at its first one after it, None: at its first);
    change: % between consecutive publications of the label."""
    f = official.sort_values(["label", "rate_date"], kind="stable")
    f = f.drop_duplicates(["label", "rate_date"]).reset_index(drop=True)
    f["rate_date"] = pd.to_datetime(f["rate_date"].astype(str))
    per_usd = f["per_usd"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(per_usd > 0, 1.0 / per_usd, np.nan)
        if view == "rate":
            value = rate
        elif view == "per_usd":
            value = per_usd
        elif view == "index":
            value = rate / _base_rates(f, rate, base) * 100
        else:
            first = (f["label"] != f["label"].shift(1)).to_numpy()
            prev = np.where(first, np.nan, np.roll(rate, 1))
            value = (rate / prev - 1) * 100
    f["value"] = value
    f["value_text"] = [_text(view, v, p) for v, p in zip(value, per_usd, strict=True)]
    return f


def _base_rates(f: pd.DataFrame, rate: np.ndarray, base: pd.Timestamp | None) -> np.ndarray:
    """Per row, its label's rate in force at `base` (the last publication at or before it,
    else the first after it; None: the label's first publication)."""
    out = np.full(len(f), np.nan)
    for idx in f.groupby("label", sort=False).indices.values():
        days = f["rate_date"].to_numpy()[idx]
        at = 0 if base is None else max(0, int(np.searchsorted(days, base.to_datetime64(),
                                                                side="right")) - 1)
        out[idx] = rate[idx][at]
    return out


def _text(view: str, value: float, per_usd: float) -> str:
    if np.isnan(value):
        return "—"
    if view == "rate":
        return f"{value:.6g} USD ({per_usd:,.6g} per USD)"
    if view == "per_usd":
        return f"{value:,.6g}"
    if view == "index":
        return f"{value:.2f}"
    return f"{value:+.2f}%"


def official_traces(official: pd.DataFrame | None, view: str, labels: Sequence[str],
                    colors: dict[str, str], base: pd.Timestamp | None = None
                    ) -> list[dict[str, Any]]:
    """A dashed trace (a plain dict) per shown label that has official rates."""
    if official is None or official.empty:
        return []
    frame = official_view(official[official["label"].isin(list(labels))], view, base)
    traces = []
    for label in sorted(frame["label"].unique(), key=label_order):
        rows = frame[frame["label"] == label]
        sources = ", ".join(sorted({str(s) for s in rows["source"]}))
        color = colors.get(label, "#444")
        traces.append(dict(
            type="scatter",
            x=rows["rate_date"].to_numpy(), y=rows["value"].to_numpy(dtype=float),
            name=f"{label} official", legendgroup=label, mode="lines", connectgaps=True,
            line={"color": color, "width": 1, "dash": "dash", "shape": "hv"},
            customdata=np.column_stack([rows["value_text"].map(html.escape).to_numpy(dtype=object),
                                        rows["source"].astype(str).map(html.escape)
                                        .to_numpy(dtype=object)]),
            hovertemplate=("official %{customdata[0]} (%{customdata[1]})"
                           f"<extra>{html.escape(label)} official</extra>"),
            meta={"role": "official", "label": label, "sources": sources},
        ))
    return traces
