"""The series' four views as pure pandas (no I/O): one place for the math that the notebook API
(`Tracker.series`) and the dashboard's chart (`dashboards.figures`) both show.

Every printed rate stands for an interval, ±0.5 in its last printed decimal (`0.00008` is
0.000075–0.000085: ±6.25%). Each view carries that interval, transformed like the value, as
`lo`..`hi`. The derived values are floats: a ratio of two exact decimals (1/rate, rate/base)
has no exact decimal form, and float noise (1e-16 relative) is far below the ticker's own
rounding (1e-3 relative at best). The exact printed rates stay in the `rate` column.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import pandas as pd

from .errors import UsageError

VIEWS: Mapping[str, str] = MappingProxyType({
    "rate": "rate as printed (USD per unit), exact",
    "per_usd": "units per USD (1 / rate), float",
    "index": "rebased index (100 at each currency's first capture), float",
    "change": "change from the previous capture of the same currency, %, float",
})


def check_view(view: str) -> str:
    """`view` if it is one of `VIEWS`, else a `UsageError` that lists them.

    >>> check_view("per_usd")
    'per_usd'
    """
    if view not in VIEWS:
        raise UsageError(
            f"unknown view {view!r}; use one of: "
            + "; ".join(f"{name!r} ({what})" for name, what in VIEWS.items())
        )
    return view


def view_frame(
    series: pd.DataFrame, view: str = "rate", base_from: pd.Timestamp | None = None
) -> pd.DataFrame:
    """The series sorted by label then date, with the view's float `value` and band `lo`..`hi`.

    `series` has one row per `label` and `captured_on`, the printed `rate` (float or exact
    decimal) and `rate_decimals`. rate: as printed; per_usd: 1/rate (the band inverts too);
    index: rate / base × 100, where base is each label's first rate at or after `base_from`
    (default: its first capture), the band scaled alike; change: % change from the label's
    previous capture (NaN for its first), banded by the extreme changes both rounding
    intervals allow.

    >>> s = pd.DataFrame({"label": ["TJS", "TJS"], "rate_decimals": [5, 5],
    ...                   "captured_on": pd.to_datetime(["2025-12-09", "2025-12-10"]),
    ...                   "rate": [0.10000, 0.10100]})
    >>> view_frame(s, "index")["value"].round(6).tolist()
    [100.0, 101.0]
    >>> view_frame(s, "change")[["value", "lo", "hi"]].round(3).iloc[1].tolist()
    [1.0, 0.99, 1.01]
    """
    check_view(view)
    f = series.sort_values(["label", "captured_on"], kind="stable").reset_index(drop=True)
    rate = np.asarray(f["rate"].astype("float64"), dtype=float)
    scale = np.power(10.0, f["rate_decimals"].to_numpy(dtype=float))
    half = 0.5 / scale
    rlo, rhi = rate - half, rate + half
    with np.errstate(divide="ignore", invalid="ignore"):
        if view == "rate":
            value, lo, hi = rate, rlo, rhi
        elif view == "per_usd":
            # in whole units of the last printed decimal both sides are exact floats, so each
            # value is one correctly rounded division: 1/0.00008 is 12500.0, not 12499.999…
            units = np.round(rate * scale)
            value = np.where(units > 0, scale / units, np.nan)
            lo = np.where(units > 0, 2 * scale / (2 * units + 1), np.nan)
            hi = np.where(units > 0.5, 2 * scale / (2 * units - 1), np.nan)
        elif view == "index":
            base = _index_base(f, rate, base_from)
            ok = base > 0
            value, lo, hi = (np.where(ok, r / base * 100, np.nan) for r in (rate, rlo, rhi))
        else:
            first = (f["label"] != f["label"].shift(1)).to_numpy()
            prev, prev_lo, prev_hi = (np.where(first, np.nan, np.roll(a, 1))
                                      for a in (rate, rlo, rhi))
            value = np.where(prev > 0, (rate / prev - 1) * 100, np.nan)
            lo = np.where(prev_hi > 0, (rlo / prev_hi - 1) * 100, np.nan)
            hi = np.where(prev_lo > 0, (rhi / prev_lo - 1) * 100, np.nan)
    f["value"], f["lo"], f["hi"] = value, lo, hi
    return f


def _index_base(f: pd.DataFrame, rate: np.ndarray, base_from: pd.Timestamp | None) -> np.ndarray:
    """Per row: its label's rate at the first capture at or after `base_from` (or its first)."""
    rates = pd.Series(rate, index=f.index)
    shown = rates if base_from is None else rates[f["captured_on"] >= base_from]
    base = shown.groupby(f["label"][shown.index], sort=False).first()
    fallback = rates.groupby(f["label"], sort=False).first()
    base = base.reindex(fallback.index).fillna(fallback)
    return f["label"].map(base).to_numpy(dtype=float)
