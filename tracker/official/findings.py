"""`official_mismatch` and `ticker_lag`: the ticker against the central banks, rounding-aware.

The ticker prints USD per unit with d decimals, so `0.00193` stands for [0.001925, 0.001935],
i.e. 516.8–519.5 units per USD. A capture is a mismatch only when no value in that interval is
within the tolerance of any official rate in force on the capture date or the days before it
within the publication lag. The test is exact: with t±h the interval and R the official rate,
some value matches iff R·(1+tol)·(t+h) ≥ 1 and R·(1−tol)·(t−h) ≤ 1, products of short
decimals computed without rounding.

A publication stays in force until the next one, for at most `carry_days` (weekends and
holidays are not gaps). Pure: frames and records in, `tracker.checks.Finding` out.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

import pandas as pd

from ..check_config import KINDS as CHECK_KINDS
from ..checks import Finding, finding_id, sort_findings
from ..errors import UsageError
from .config import OfficialConfig
from .records import OfficialRate

KINDS: Mapping[str, str] = {k: CHECK_KINDS[k] for k in ("official_mismatch", "ticker_lag")}
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
_PREC = 100  # enough digits that the products below are exact


class Publications:
    """The official rates of each currency by date, with the carry-forward rule."""

    def __init__(self, rates: Iterable[OfficialRate], carry_days: int) -> None:
        by: dict[str, dict[dt.date, list[OfficialRate]]] = defaultdict(lambda: defaultdict(list))
        for r in rates:
            by[r.currency.upper()][r.rate_date].append(r)
        self._by = {c: dict(days) for c, days in by.items()}
        self._days = {c: sorted(days) for c, days in self._by.items()}
        self.carry = dt.timedelta(days=carry_days)

    def in_force(self, currency: str, day: dt.date) -> list[OfficialRate]:
        """The last publication on or before `day`, unless older than `carry_days`."""
        days = self._days.get(currency, [])
        i = bisect.bisect_right(days, day)
        if i == 0 or day - days[i - 1] > self.carry:
            return []
        return self._by[currency][days[i - 1]]

    def window(self, currency: str, day: dt.date, lag: int) -> list[OfficialRate]:
        """Publications in force on `day` or on any of the `lag` days before it (distinct)."""
        seen: dict[tuple[dt.date, str, Decimal], OfficialRate] = {}
        for n in range(lag + 1):
            for r in self.in_force(currency, day - dt.timedelta(days=n)):
                seen.setdefault((r.rate_date, r.source, r.per_usd), r)
        return list(seen.values())


def official_findings(series: pd.DataFrame, official: Iterable[OfficialRate] | pd.DataFrame,
                      config: OfficialConfig | None = None) -> list[Finding]:
    """Both kinds over the `series` frame (captured_on, currency, quote_currency, rate_text,
    snapshot_id: one row per capture date and pair), newest first. `official` is records or
    a frame with their columns (as the `official_rates` table will hold them)."""
    config = config or OfficialConfig()
    if isinstance(official, pd.DataFrame):
        official = rates_of_frame(official)
    pubs = Publications(official, config.carry_days)
    rows = captures(series)
    return sort_findings(mismatch_findings(rows, pubs, config) + lag_findings(rows, pubs, config))


def mismatch_findings(captures: list[tuple[str, dt.date, str, str]], pubs: Publications,
                      config: OfficialConfig) -> list[Finding]:
    out = []
    for cur, day, text, sid in captures:
        candidates = pubs.window(cur, day, config.lag(cur))
        if not candidates:
            continue  # no official rate known for that window: nothing to compare
        tol = config.tolerance(cur)
        if any(matches(text, r.per_usd, tol) for r in candidates):
            continue
        shown = pubs.in_force(cur, day) or sorted(candidates, key=lambda r: r.rate_date)[-1:]
        r = shown[0]
        lag = config.lag(cur)
        window = (f"up to {lag} day{'s' if lag != 1 else ''} earlier" if lag else "that day")
        message = (f"{cur}: ticker {text} ({per_usd_range(text)} per USD) on {fmt_day(day)}, "
                   f"official {r.per_usd} ({r.source}, {fmt_day(r.rate_date)}): "
                   f"{apart(text, r.per_usd)} apart; no official rate in force {window} is "
                   f"within {_pct(tol)}")
        out.append(_finding("official_mismatch", cur, day, (sid,), message))
    return out


def lag_findings(captures: list[tuple[str, dt.date, str, str]], pubs: Publications,
                 config: OfficialConfig) -> list[Finding]:
    """ticker_lag per currency and month: captures whose print is closer to the official rate
    of N days earlier than to the capture date's."""
    periods: dict[tuple[str, int, int], dict[str, Any]] = {}
    for cur, day, text, sid in captures:
        today = pubs.in_force(cur, day)
        if not today:
            continue
        period = periods.setdefault((cur, day.year, day.month),
                                    {"total": 0, "lags": Counter(), "ids": [], "last": None})
        period["total"] += 1
        best_n, _ = best_lag(pubs, cur, day, text, config.lag_search_days)
        if best_n:
            period["lags"][best_n] += 1
            period["ids"].append(sid)
            period["last"] = day  # captures come oldest first
    out = []
    for (cur, year, month), p in sorted(periods.items()):
        if not p["lags"]:
            continue
        lagged = sum(p["lags"].values())
        (n, count), *others = sorted(p["lags"].items(), key=lambda kv: (-kv[1], kv[0]))
        rest = "".join(f"; {k} day{'s' if k != 1 else ''} earlier on {c}" for k, c in others)
        message = (f"{cur}: in {_MONTHS[month - 1]} {year} the ticker matched the official rate "
                   f"of {n} day{'s' if n != 1 else ''} earlier better than the capture date's "
                   f"on {count} of {p['total']} capture dates{rest} "
                   f"({lagged} of {p['total']} lagged in all)")
        out.append(_finding("ticker_lag", cur, p["last"], tuple(p["ids"]), message))
    return out


def rates_of_frame(frame: pd.DataFrame) -> list[OfficialRate]:
    """Records from a frame with columns currency, rate_date, per_usd, source, url; `per_usd`
    must hold Decimals or their text (floats would not be the published numbers)."""
    out = []
    for cur, day, value, source, url in zip(
            *(frame[c].tolist() for c in ("currency", "rate_date", "per_usd", "source", "url")),
            strict=True):
        if isinstance(value, float):
            raise UsageError(f"per_usd of {cur} on {day} is a float; pass Decimal or text")
        out.append(OfficialRate(str(cur), _date(day), Decimal(str(value)), str(source), str(url)))
    return out


# -- exact interval arithmetic -------------------------------------------------------------


def best_lag(pubs: Publications, cur: str, day: dt.date, text: str,
             search_days: int) -> tuple[int, Decimal]:
    """(N, distance): the N days before `day` (0: the day itself) whose official rate in force
    the printed ticker `text` is closest to; ties keep the smaller N. `day` must have one."""
    best_n, best = 0, min(distance(text, r.per_usd) for r in pubs.in_force(cur, day))
    for n in range(1, search_days + 1):
        earlier = pubs.in_force(cur, day - dt.timedelta(days=n))
        if earlier:
            d = min(distance(text, r.per_usd) for r in earlier)
            if d < best:
                best_n, best = n, d
    return best_n, best


def ticker_interval(text: str) -> tuple[Decimal, Decimal]:
    """[t − h, t + h] in USD per unit for a rate printed as `text` (h = half its last digit)."""
    t = Decimal(text)
    exponent = t.as_tuple().exponent
    assert isinstance(exponent, int)  # a printed rate is finite
    places = max(0, -exponent)
    h = Decimal(5).scaleb(-(places + 1))
    return t - h, t + h


def matches(text: str, per_usd: Decimal, tol: Decimal) -> bool:
    """Some value printed as `text` is within `tol` (a fraction) of `per_usd` units per USD."""
    lo, hi = ticker_interval(text)
    with localcontext(prec=_PREC):
        high_enough = per_usd * (1 + tol) * hi >= 1
        low_enough = lo <= 0 or per_usd * (1 - tol) * lo <= 1
    return high_enough and low_enough


def distance(text: str, per_usd: Decimal) -> Decimal:
    """Relative gap between the official rate and the nearest value the print stands for."""
    lo, hi = ticker_interval(text)
    with localcontext(prec=_PREC):
        usd = 1 / per_usd
        return max(Decimal(0), lo - usd, usd - hi) / usd


def per_usd_range(text: str) -> str:
    """`516.8–519.5`: the print's interval in units per USD, to as many digits as tell the
    two ends apart (at least 4 significant ones)."""
    lo, hi = ticker_interval(text)
    with localcontext(prec=_PREC):
        low = 1 / hi
        high = 1 / lo if lo > 0 else None
    if high is None:
        return f"{_sig(low, 4)} or more"
    for digits in range(4, 12):
        a, b = _sig(low, digits), _sig(high, digits)
        if a != b:
            return f"{a}–{b}"
    return f"{a}–{b}"


def apart(text: str, per_usd: Decimal) -> str:
    """How far the printed rate is from the official one, in % of the official rate."""
    t = Decimal(text)
    if t == 0:
        return "infinitely"
    with localcontext(prec=_PREC):
        pct = abs(1 / t - per_usd) / per_usd * 100
    return f"{pct.quantize(Decimal('0.1') if pct >= 1 else Decimal('0.01'), ROUND_HALF_EVEN)}%"


def fmt_day(day: dt.date) -> str:
    return f"{day.day:02d} {_MONTHS[day.month - 1]} {day.year}"


def _sig(value: Decimal, digits: int) -> str:
    whole = len(str(int(value))) if value >= 1 else 1
    places = max(0, digits - whole)
    return str(value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_EVEN))


def _pct(fraction: Decimal) -> str:
    return f"{(fraction * 100).normalize():f}%"


def captures(series: pd.DataFrame) -> list[tuple[str, dt.date, str, str]]:
    """(currency, capture date, printed rate, snapshot id) of every USD quote, oldest first."""
    if series.empty:
        return []
    usd = series[series["quote_currency"].astype(str) == "USD"]
    rows = zip(usd["currency"].astype(str), usd["captured_on"], usd["rate_text"].astype(str),
               usd["snapshot_id"].astype(str), strict=True)
    out = [(c.upper(), _date(d), t, s) for c, d, t, s in rows if not pd.isna(d)]
    return sorted(out, key=lambda row: (row[0], row[1]))


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()


def _finding(kind: str, cur: str, day: dt.date, ids: tuple[str, ...], message: str) -> Finding:
    ids = tuple(sorted(ids))
    return Finding(finding_id(kind, cur, day, ids), kind, KINDS[kind], cur, day, ids, message)
