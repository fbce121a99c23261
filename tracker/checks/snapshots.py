"""Checks over snapshots: copies_disagree, undated, date_disagreement, future_date,
stale_ticker and missing_currency."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from ..check_config import CheckConfig
from ..humane import plural
from ..models import label_of
from .arith import date_list, day_array, fmt_day, runs_of, take, to_date
from .findings import concat_rows, finding_rows, no_rows


def snapshot_findings(
    snapshots: pd.DataFrame, config: CheckConfig, today: dt.date
) -> pd.DataFrame:
    """copies_disagree, undated, date_disagreement and future_date: one snapshot at a time.

    `snapshots` columns: snapshot_id, source, captured_on, date_source, captured_at,
    captured_at_source, header_date, filename_date, user_date, copies_agree, warnings.
    """
    if snapshots.empty:
        return no_rows()
    s = snapshots.reset_index(drop=True)
    day = day_array(s["captured_on"])
    ids, source = s["snapshot_id"], s["source"]
    parts = [_copies_rows(s, day), _undated_rows(ids, source, day)]

    header = day_array(s["header_date"])
    evidence = (
        (day_array(s["captured_at"]), None),
        (day_array(s["filename_date"]), "its file name"),
        (day_array(s["user_date"]), "the date given with --captured-on"),
    )
    apart = [np.abs((header - other).astype("int64")) for other, _ in evidence]
    off = np.zeros(len(s), dtype=bool)
    for (other, _), gap in zip(evidence, apart, strict=True):
        off |= ~np.isnat(header) & ~np.isnat(other) & (gap > config.date_tolerance_days)
    off = np.flatnonzero(off)
    at_source = take(s["captured_at_source"], off)
    messages = []
    for k, (i, src) in enumerate(zip(off, take(source, off), strict=True)):
        notes = [
            f"{label or at_label(at_source[k])} says {fmt_day(other[i])} ({gap[i]} days apart)"
            for (other, label), gap in zip(evidence, apart, strict=True)
            if not np.isnat(other[i]) and gap[i] > config.date_tolerance_days
        ]
        messages.append(f"header date {fmt_day(header[i])} of {src} disagrees with "
                        f"other date evidence: {'; '.join(notes)}")
    parts.append(finding_rows("date_disagreement", [None] * len(messages), date_list(day[off]),
                       [(x,) for x in take(ids, off)], messages))

    limit = np.datetime64(today, "D") + np.timedelta64(config.future_tolerance_days, "D")
    future = np.flatnonzero(~np.isnat(day) & (day > limit))
    parts.append(finding_rows(
        "future_date", [None] * len(future), date_list(day[future]),
        [(x,) for x in take(ids, future)],
        [f"capture date {fmt_day(d)} (from {source_label(how)}) of {src} is later than "
         f"{fmt_day(limit)}: a typo in the page or a wrong clock; correct the date and "
         f"re-ingest" for d, how, src in zip(day[future], take(s["date_source"], future),
                                            take(source, future), strict=True)],
    ))
    return concat_rows(parts)


def _copies_rows(s: pd.DataFrame, day: np.ndarray) -> pd.DataFrame:
    bad = np.flatnonzero(s["copies_agree"].to_numpy(dtype=object) == False)  # noqa: E712
    warnings, ids = take(s["warnings"], bad), take(s["snapshot_id"], bad)
    source = take(s["source"], bad)
    currencies, days, found, messages = [], [], [], []
    prefix = "copies disagree on "
    for k, i in enumerate(bad):  # copies_agree None (unknown) is no disagreement
        notes = [str(w)[len(prefix):] for w in (warnings[k] if warnings[k] is not None else ())
                 if str(w).startswith(prefix)]
        where = f"in {source[k]}" + (
            " (undated)" if np.isnat(day[i]) else f" (captured {fmt_day(day[i])})")
        for note in notes or [""]:  # (no note: one finding all the same)
            pair = note.split(":", 1)[0] if note else ""
            currency = label_of(*pair.split("/", 1)) if "/" in pair else None
            currencies.append(currency)
            days.append(None if np.isnat(day[i]) else to_date(day[i]))
            found.append((ids[k],))
            messages.append(f"{currency or 'ticker'}: the ticker's copies disagree {where}: "
                            f"{note or 'the copies of the ticker differ'}")
    return finding_rows("copies_disagree", currencies, days, found, messages)


def _undated_rows(ids: pd.Series, source: pd.Series, day: np.ndarray) -> pd.DataFrame:
    undated = np.flatnonzero(np.isnat(day))
    n = len(undated)
    return finding_rows(
        "undated", [None] * n, [None] * n, [(x,) for x in take(ids, undated)],
        [f"{src} has no capture date (no header date, fetch or archive time, or date in its "
         f"file name); its quotes stay out of the series until it is placed with "
         f"`tracker ingest --captured-on DATE {src}`" for src in take(source, undated)],
    )


def stale_findings(snapshots: pd.DataFrame, config: CheckConfig) -> pd.DataFrame:
    """stale_ticker: an identical ticker with a non-zero change on captures days apart.

    `snapshots` columns: snapshot_id, captured_on, ticker_key (equal for identical tickers:
    every pair, rate and change as printed), nonzero_changes, moving (e.g. `TJS -0.28%`).
    """
    if snapshots.empty:
        return no_rows()
    day = day_array(snapshots["captured_on"])
    nonzero = pd.to_numeric(snapshots["nonzero_changes"]).fillna(0).to_numpy()
    use = np.flatnonzero(~np.isnat(day) & (nonzero > 0) & snapshots["ticker_key"].notna())
    if not len(use):
        return no_rows()
    keys = pd.factorize(snapshots["ticker_key"].iloc[use])[0]
    by_key = np.lexsort((day[use], keys))
    order = use[by_key]
    starts, ends = runs_of(keys[by_key])
    first, last = day[order[starts]], day[order[ends - 1]]
    flagged = np.flatnonzero((last - first).astype("int64") >= config.stale_min_gap_days)
    days, found, messages = [], [], []
    for g in flagged:
        rows = order[starts[g]:ends[g]]
        dates = np.unique(day[rows])
        gap = int((dates[-1] - dates[0]).astype("int64"))
        on = (f"on {fmt_day(dates[0])} and {fmt_day(dates[-1])}" if len(dates) == 2
              else f"on {len(dates)} capture dates from {fmt_day(dates[0])} to "
                   f"{fmt_day(dates[-1])}")
        changes = ", ".join(sorted(str(snapshots["moving"].iat[rows[0]]).split(", ")))
        days.append(to_date(dates[-1]))
        found.append(tuple(take(snapshots["snapshot_id"], rows)))
        messages.append(
            f"identical ticker (every rate and change) printed {on}, {gap} days apart, in "
            f"{len(rows)} snapshots, although its changes are not all zero ({changes}): "
            f"a page served from a cache"
        )
    return finding_rows("stale_ticker", [None] * len(days), days, found, messages)


def missing_findings(snapshots: pd.DataFrame, config: CheckConfig) -> pd.DataFrame:
    """missing_currency: a snapshot lacks a pair that snapshots within the window carry.

    `snapshots` columns: snapshot_id, source, captured_on, pairs (the snapshot's pairs,
    space-separated in any order, e.g. `KGS/USD KZT/USD`).
    """
    if snapshots.empty:
        return no_rows()
    day = day_array(snapshots["captured_on"])
    dated = np.flatnonzero(~np.isnat(day))
    if not len(dated):
        return no_rows()
    codes, layouts = pd.factorize(snapshots["pairs"].iloc[dated])
    layout_sets = [set(str(t).split()) if isinstance(t, str) else set() for t in layouts]
    names = sorted(set().union(*layout_sets))
    if not names:
        return no_rows()
    if codes.min() < 0:  # a snapshot without quotes carries no pair at all
        codes = np.where(codes < 0, len(layout_sets), codes)
        layout_sets.append(set())
    has = np.array([[n in s for n in names] for s in layout_sets], dtype=bool)[codes]
    # per day and pair: how many snapshots carry it; window sums from cumulative counts
    days, inverse = np.unique(day[dated], return_inverse=True)
    per_day = np.stack([np.bincount(inverse, weights=has[:, j], minlength=len(days))
                        for j in range(len(names))], axis=1)
    cum = np.vstack([np.zeros((1, len(names))), np.cumsum(per_day, axis=0)])
    window = np.timedelta64(config.missing_window_days, "D")
    lo = np.searchsorted(days, days - window, side="left")
    hi = np.searchsorted(days, days + window, side="right")
    carried = (cum[hi] - cum[lo])[inverse]
    rows, cols = np.nonzero((carried > 0) & ~has)
    ids = take(snapshots["snapshot_id"], dated[rows])
    source = take(snapshots["source"], dated[rows])
    messages, currencies = [], []
    for k, (r, c) in enumerate(zip(rows, cols, strict=True)):
        base, _, quote = names[c].partition("/")
        currencies.append(label_of(base, quote))
        messages.append(
            f"{currencies[-1]}: {source[k]} (captured {fmt_day(day[dated[r]])}) has no "
            f"{names[c]} quote, which {plural(int(carried[r, c]), 'snapshot')} within "
            f"{config.missing_window_days} days of it carry"
        )
    return finding_rows("missing_currency", currencies, date_list(day[dated[rows]]),
                 [(x,) for x in ids], messages)


def at_label(source: Any) -> str:
    return {"fetched": "the fetch time", "archive": "the archive timestamp"}.get(
        str(source), "the capture time")


def source_label(date_source: str) -> str:
    return {"header": "the header date", "fetched": "the fetch time",
            "archive": "the archive timestamp", "filename": "the file name",
            "user": "the date given with --captured-on"}.get(date_source, date_source)
