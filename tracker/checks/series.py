"""Checks over the series of printed rates: same_day_conflict, change_mismatch, jump and
coarse_resolution, each decided on the rounding intervals of the printed numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..check_config import CheckConfig
from ..models import label_of
from .arith import (
    HUNDRED,
    RATE_PLACES,
    change_bounds,
    day_array,
    fmt_day,
    fmt_plain,
    fmt_rate,
    micro_pct,
    move_text,
    rate_bounds,
    runs_of,
    to_date,
    toward_zero,
)
from .findings import concat_rows, finding_rows, no_rows


def same_day_findings(day_rates: pd.DataFrame) -> pd.DataFrame:
    """same_day_conflict: one capture date, printed rates that no single true rate rounds to.

    `day_rates` columns: captured_on, currency, quote_currency, rate_text, snapshots (how many
    snapshots printed it), snapshot_ids — one row per distinct printed rate per day and pair.
    A rate's interval is half-open, [r − h, r + h): adjacent prints (0.00193 vs 0.00192) cannot
    both be roundings of one rate.
    """
    if day_rates.empty:
        return no_rows()
    f = day_rates.reset_index(drop=True)
    lo, hi = rate_bounds(f["rate_text"])
    day = day_array(f["captured_on"])
    cur = f["currency"].to_numpy(dtype=object)
    quote = f["quote_currency"].to_numpy(dtype=object)
    group = pd.DataFrame({"d": day, "c": cur, "q": quote}).groupby(
        ["d", "c", "q"], sort=False).ngroup().to_numpy()
    order = np.lexsort((lo, group))
    starts, ends = runs_of(group[order])
    max_lo = np.maximum.reduceat(lo[order], starts)
    min_hi = np.minimum.reduceat(hi[order], starts)
    texts = f["rate_text"].to_numpy(dtype=object)
    counts = pd.to_numeric(f["snapshots"]).to_numpy()
    lists = f["snapshot_ids"].to_numpy(dtype=object)
    currencies, days, found, messages = [], [], [], []
    for g in np.flatnonzero(max_lo >= min_hi):
        rows = order[starts[g]:ends[g]]
        first = rows[0]
        label = label_of(cur[first], quote[first])
        gap = 100 * (max_lo[g] / min_hi[g] - 1)
        spread = 100 * (float(texts[rows[-1]]) / float(texts[first]) - 1)
        apart = (f"at least {fmt_plain(toward_zero(gap))}% apart after rounding" if gap > 0
                 else "one rounding step apart, so no single rate rounds to all of them")
        variants = ", ".join(f"{texts[r]} ({int(counts[r])} snapshot"
                             f"{'s' if counts[r] != 1 else ''})" for r in rows)
        currencies.append(label)
        days.append(to_date(day[first]))
        found.append(tuple(x for r in rows for x in lists[r]))
        messages.append(
            f"{label}: {len(rows)} different rates printed on {fmt_day(day[first])}: "
            f"{variants}; {fmt_plain(spread)}% apart as printed, {apart}"
        )
    return finding_rows("same_day_conflict", currencies, days, found, messages)


def move_findings(series: pd.DataFrame, config: CheckConfig) -> pd.DataFrame:
    """change_mismatch and jump between consecutive capture dates of each pair in the series.

    `series` columns: captured_on, currency, quote_currency, rate_text, change_text,
    snapshot_id — one row per capture date and pair (the `series` view).

    The achievable moves between two printed rates are [100·(lo2/hi1 − 1), 100·(hi2/lo1 − 1)].
    change_mismatch (dates exactly one day apart): that range misses the printed change's
    interval. jump: the smallest achievable move exceeds the threshold × days of gap.
    """
    if len(series) < 2:
        return no_rows()
    s = series.sort_values(["currency", "quote_currency", "captured_on"]).reset_index(drop=True)
    day = day_array(s["captured_on"])
    cur = s["currency"].astype(str).to_numpy()
    quote = s["quote_currency"].astype(str).to_numpy()
    later = np.flatnonzero((cur[1:] == cur[:-1]) & (quote[1:] == quote[:-1])) + 1
    earlier = later - 1
    gap = (day[later] - day[earlier]).astype(int)
    lo, hi = rate_bounds(s["rate_text"])
    lo1, hi1 = lo[earlier].astype(object), hi[earlier].astype(object)
    lo2, hi2 = lo[later].astype(object), hi[later].astype(object)
    c_lo, c_hi, c_open = change_bounds(s["change_text"].iloc[later])
    c_lo, c_hi = c_lo.astype(object), c_hi.astype(object)

    # Cross-multiplied (all bounds positive), exact on Python integers.
    below = (HUNDRED * hi2 < lo1 * (HUNDRED + c_lo)).astype(bool)  # max move < change low
    above_closed = (HUNDRED * lo2 > hi1 * (HUNDRED + c_hi)).astype(bool)
    above_open = (HUNDRED * lo2 >= hi1 * (HUNDRED + c_hi)).astype(bool)
    mismatch = (gap == 1) & (below | np.where(c_open, above_open, above_closed))

    per_day = np.array([micro_pct(config.jump_threshold(c)) for c in cur[later]], dtype=object)
    limit = per_day * gap.astype(object) * 2  # micro-% → change half-units (× 2 / 10^6 · 10^6)
    up = (HUNDRED * lo2 > hi1 * (HUNDRED + limit)).astype(bool)
    down = (HUNDRED * hi2 < lo1 * (HUNDRED - limit)).astype(bool)
    jump = up | down

    rate_text = s["rate_text"].astype(str).to_numpy()
    change_text = s["change_text"].astype(str).to_numpy()
    sid = s["snapshot_id"].astype(str).to_numpy()
    parts = []
    for kind, mask in (("change_mismatch", mismatch), ("jump", jump)):
        currencies, days, ids, messages = [], [], [], []
        for k in np.flatnonzero(mask):
            i, j = earlier[k], later[k]
            label = label_of(cur[j], quote[j])
            moved = move_text(rate_text[i], rate_text[j], lo[i], hi[i], lo[j], hi[j])
            if kind == "change_mismatch":
                text = (f"{label}: change printed {change_text[j]}% on {fmt_day(day[j])}, but "
                        f"the rate moved {moved} since {fmt_day(day[i])}")
            else:
                least = (100 * (lo[j] / hi[i] - 1) if up[k] else 100 * (hi[j] / lo[i] - 1))
                per = config.jump_threshold(cur[j])
                text = (f"{label}: rate moved {moved} from {fmt_day(day[i])} to "
                        f"{fmt_day(day[j])}; {'up' if up[k] else 'down'} at least "
                        f"{fmt_plain(toward_zero(abs(least)))}% after rounding, over "
                        f"the {fmt_plain(per * gap[k])}% limit ({fmt_plain(per)}% per day × "
                        f"{gap[k]} day{'s' if gap[k] != 1 else ''})")
            currencies.append(label)
            days.append(day[j].astype(object))
            ids.append((sid[i], sid[j]))
            messages.append(text)
        parts.append(finding_rows(kind, currencies, days, ids, messages))
    return concat_rows(parts)


def coarse_findings(series: pd.DataFrame, config: CheckConfig) -> pd.DataFrame:
    """coarse_resolution, once per pair and printed resolution (decimals): rates printed with
    too few significant digits, each printed value with its own interval.

    A rate printed as 0.00008 stands for 0.000075–0.000085, ±6.25 %: moves of up to 13 % can
    leave it unchanged, so only the printed change records them; 0.00007 on the same ticker
    is ±7.14 %. The finding names every coarse value with its days and interval, and is dated
    by its own snapshots: the latest capture of each value named.
    """
    if series.empty:
        return no_rows()
    s = series.reset_index(drop=True)
    text = s["rate_text"].astype(str)
    digits = text.str.replace(".", "", regex=False).str.lstrip("0").str.len().to_numpy()
    coarse = digits < config.min_significant_digits
    if not coarse.any():
        return no_rows()
    lo, hi = rate_bounds(text)
    frame = pd.DataFrame({
        "currency": s["currency"].astype(str).to_numpy(),
        "quote": s["quote_currency"].astype(str).to_numpy(),
        "day": day_array(s["captured_on"]), "rel": (hi - lo) / (hi + lo), "digits": digits,
        "decimals": text.str.partition(".")[2].str.len().to_numpy(),
        "text": text.to_numpy(), "id": s["snapshot_id"].astype(str).to_numpy(),
        "lo": lo, "hi": hi,
    })[coarse]
    currencies, days, ids, messages = [], [], [], []
    for (cur, quote, _decimals), group in frame.groupby(["currency", "quote", "decimals"],
                                                       sort=True):
        label = label_of(str(cur), str(quote))  # (both columns are str: astype above)
        parts, latest, worst = [], [], 0.0
        ordered = group.sort_values("day")
        per_value = ordered.groupby("text", sort=False)
        for value, rows in sorted(per_value, key=lambda kv: (-len(kv[1]), kv[0])):
            last_row = rows.iloc[-1]
            latest.append((last_row["day"], last_row["id"]))
            low = last_row["lo"] / 2 / 10**RATE_PLACES
            high = last_row["hi"] / 2 / 10**RATE_PLACES
            worst = max(worst, high / low - 1)
            parts.append(f"{value} on {len(rows)} ({fmt_rate(low)}–{fmt_rate(high)}, "
                         f"±{fmt_plain(100 * last_row['rel'])}%)")
        few, many = int(group["digits"].min()), int(group["digits"].max())
        sig = f"{few}" if few == many else f"{few}–{many}"
        n_days = group["day"].nunique()
        first, last = ordered["day"].iloc[0], ordered["day"].iloc[-1]
        currencies.append(label)
        days.append(to_date(max(d for d, _ in latest)))
        ids.append(tuple(sid for _, sid in latest))
        messages.append(
            f"{label}: the rate is printed with {sig} significant digit"
            f"{'s' if many != 1 else ''} on {n_days} capture date{'s' if n_days != 1 else ''} "
            f"from {fmt_day(first)} to {fmt_day(last)}: {', '.join(parts)}; moves of up to "
            f"{fmt_plain(100 * worst)}% can leave it unchanged and only the printed change "
            f"shows them"
        )
    return finding_rows("coarse_resolution", currencies, days, ids, messages)


# -- exact arithmetic on printed numbers ---------------------------------------------------------
