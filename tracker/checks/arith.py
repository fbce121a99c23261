"""Exact arithmetic on printed numbers, and how numbers and dates are written in messages.

Every printed number stands for an interval: a rate printed with d decimals for ±0.5·10^-d, a
change for ±0.005 percentage points (`-0` for [−0.005, 0)). Bounds are exact integers of
half-units, so comparisons have no float noise.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd

from ..errors import UsageError

# Exact fixed-point scales: rates have at most 10 decimals, changes at most 6 (the parser's
# limits). Bounds are kept in half-units so that every ±0.5·10^-d is an integer.
RATE_PLACES = 10
CHANGE_PLACES = 6
CHANGE_DECIMALS = 2  # the ticker rounds changes to 2 decimals, then drops trailing zeros
PCT = 2 * 10**CHANGE_PLACES  # 1 percentage point in change half-units
HUNDRED = 100 * PCT  # 100 % in change half-units
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def fixed(text: pd.Series, places: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Printed numbers → (value × 10^places as exact int64, printed decimals, minus sign)."""
    s = pd.Series(text, dtype=object).astype(str).reset_index(drop=True)
    if s.empty:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=bool)
    negative = s.str.startswith("-").to_numpy(dtype=bool)
    parts = s.str.lstrip("+-").str.partition(".")
    decimals = parts[2].str.len().to_numpy(dtype=np.int64)
    if decimals.max() > places:
        raise ValueError(f"a printed number has more than {places} decimals")
    padded = (parts[0] + parts[2].str.pad(places, side="right", fillchar="0")).astype("int64")
    units = padded.to_numpy(dtype=np.int64)
    return np.where(negative, -units, units), decimals, negative


def rate_bounds(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The interval a printed rate stands for, in half-units of 10^-10 (exact int64)."""
    units, decimals, _ = fixed(text, RATE_PLACES)
    half = np.power(10, RATE_PLACES - decimals, dtype=np.int64)
    return 2 * units - half, 2 * units + half


def change_bounds(text: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A printed change's interval in half-units of 10^-6 %; `open_top` for `-0` ([−h, 0)).

    Changes are rounded to CHANGE_DECIMALS with trailing zeros dropped, so `0` and `0.1` stand
    for ±0.005 like `0.28` does; a change printed with more decimals is taken at its word.
    """
    units, decimals, negative = fixed(text, CHANGE_PLACES)
    half = np.power(10, CHANGE_PLACES - np.maximum(decimals, CHANGE_DECIMALS), dtype=np.int64)
    open_top = negative & (units == 0)
    return 2 * units - half, np.where(open_top, 0, 2 * units + half), open_top


def micro_pct(value: float) -> int:
    """A threshold in % as an exact integer of 10^-6 %: thresholds count to 6 decimals."""
    try:
        return int(Decimal(str(value)).scaleb(CHANGE_PLACES).to_integral_value())
    except InvalidOperation:  # pragma: no cover - CheckConfig validates numbers
        raise UsageError(f"threshold {value!r} is not a number") from None


def move_text(t1: str, t2: str, lo1: int, hi1: int, lo2: int, hi2: int) -> str:
    """`0.28571 → 0.28490 (−0.28% ± 0.004%)`: the printed move and its rounding half-width."""
    central = 100 * (float(t2) / float(t1) - 1)
    low, high = 100 * (lo2 / hi1 - 1), 100 * (hi2 / lo1 - 1)
    half = max(central - low, high - central, 0.0)
    return f"{t1} → {t2} ({fmt_pct(central)} ± {fmt_half(half)}%)"


# -- small helpers ---------------------------------------------------------------------------



def day_array(col: Any) -> np.ndarray:
    """Dates, datetimes or datetime64 values → datetime64[D] (NaT for missing)."""
    values = pd.Series(col).reset_index(drop=True)
    if not pd.api.types.is_datetime64_any_dtype(values.dtype):
        values = pd.to_datetime(values.astype(object))
    return values.to_numpy().astype("datetime64[D]")


def take(col: pd.Series, rows: np.ndarray) -> np.ndarray:
    """The values at `rows` as Python objects (converting only those, not the whole column)."""
    return col.iloc[rows].to_numpy(dtype=object)


def to_date(value: Any) -> dt.date:
    day: dt.date = np.datetime64(value, "D").astype(object)
    return day


def date_list(days: np.ndarray) -> list[dt.date | None]:
    return [None if np.isnat(d) else d.astype(object) for d in days]


def fmt_day(day: Any) -> str:
    """`09 Dec 2025` (English, whatever the locale)."""
    d = np.datetime64(day, "D").astype(object)
    return f"{d.day:02d} {MONTHS[d.month - 1]} {d.year}"


def fmt_pct(value: float, places: int = 2) -> str:
    """`+0.09%`, `−0.28%` (a real minus sign), `0.00%`."""
    text = f"{abs(value):.{places}f}"
    if float(text) == 0:
        return f"{text}%"
    return f"{'−' if value < 0 else '+'}{text}%"


def fmt_half(value: float) -> str:
    """A ± half-width to one significant digit, rounded up so the range it shows is never short."""
    if value <= 0:
        return "0"
    places = max(0, -math.floor(math.log10(value)))
    scaled = math.ceil(value * 10**places - 1e-9)
    while places and scaled % 10 == 0:  # 0.00925 → 0.010 → 0.01
        scaled, places = scaled // 10, places - 1
    return f"{scaled / 10**places:.{places}f}"


def toward_zero(value: float, places: int = 2) -> float:
    """Truncate a lower bound for display, so that "at least" never overstates it."""
    scale: int = 10**places
    return math.trunc(value * scale + (1e-9 if value > 0 else -1e-9)) / scale


def fmt_plain(value: float) -> str:
    """A percentage for prose: 2 decimals, trailing zeros dropped."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def fmt_rate(value: float) -> str:
    return f"{value:.10f}".rstrip("0").rstrip(".")


def runs_of(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end offsets of the runs of equal values in a sorted array."""
    if not len(sorted_keys):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    return starts, np.r_[starts[1:], len(sorted_keys)]
