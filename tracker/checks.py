"""Inconsistency checks: where snapshots contradict each other beyond the ticker's own rounding.

Every printed number stands for an interval: a rate printed with d decimals for ±0.5·10^-d, a
change for ±0.005 percentage points (the ticker rounds changes to 2 decimals and drops trailing
zeros: `0%` is [−0.005, +0.005], `-0%` is [−0.005, 0)). A finding that depends on numbers is
raised only when no values inside those intervals make the snapshots agree, so quantization
never cries wolf. The interval comparisons use exact integer arithmetic on the printed digits
(no float noise).

Layers: `Store.check_*()` (the SQL, in tracker/store/checkreads.py) reduce the store to small frames; the
pure `*_findings(frame, ...)` functions here turn frames into findings, vectorized over rows;
`run_checks` glues them together. docs/checks.md documents kinds, rounding and defaults.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from .check_config import DEFAULT_JUMP_PCT as DEFAULT_JUMP_PCT  # re-exported
from .check_config import DEFAULT_JUMP_PCT_PER_DAY as DEFAULT_JUMP_PCT_PER_DAY
from .check_config import FORMATS, KINDS, SEVERITIES, CheckConfig
from .check_config import load_config as load_config
from .errors import UsageError
from .models import label_of
from .read import to_frame
from .store import Store

_SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}

FINDING_COLUMNS = ("finding_id", "kind", "severity", "currency", "captured_on", "snapshot_ids",
                   "message")

# Exact fixed-point scales: rates have at most 10 decimals, changes at most 6 (the parser's
# limits). Bounds are kept in half-units so that every ±0.5·10^-d is an integer.
RATE_PLACES = 10
CHANGE_PLACES = 6
CHANGE_DECIMALS = 2  # the ticker rounds changes to 2 decimals, then drops trailing zeros
_PCT = 2 * 10**CHANGE_PLACES  # 1 percentage point in change half-units
_HUNDRED = 100 * _PCT  # 100 % in change half-units
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


@dataclass(frozen=True)
class Finding:
    """One inconsistency: what, how bad, where, which snapshots, and the numbers behind it."""

    finding_id: str
    kind: str
    severity: str
    currency: str | None
    captured_on: dt.date | None
    snapshot_ids: tuple[str, ...]
    message: str


# -- the library entry points ------------------------------------------------------------------


def run_checks(
    db_path: Path | str | None = None,
    *,
    store: Store | None = None,
    config: CheckConfig | None = None,
    today: dt.date | None = None,
) -> list[Finding]:
    """Every finding over the store, newest first. Opens the database read-only unless given one.

    `today` (default: the local date) is what `future_date` compares capture dates with.
    """
    if store is None:
        with Store.open(db_path, read_only=True) as opened:
            return run_checks(store=opened, config=config, today=today)
    config = config or CheckConfig()
    today = today or dt.date.today()
    snapshots, day_rates, series = (to_frame(t, exact=False) for t in store.check_tables())
    frames = [
        snapshot_findings(snapshots, config, today),
        stale_findings(snapshots, config),
        missing_findings(snapshots, config),
        same_day_findings(day_rates),
        move_findings(series, config),
        coarse_findings(series, config),
    ]
    return to_findings(pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True))


def findings_frame(findings: Iterable[Finding]) -> pd.DataFrame:
    """The findings as a DataFrame (one row each, columns as in `Finding`).

    `currency` and `captured_on` keep None (not NaN) where a finding has none; `captured_on`
    holds `datetime.date` values and `snapshot_ids` tuples, exactly as in the records.
    """
    findings = list(findings)
    objects = ("currency", "captured_on", "snapshot_ids")
    return pd.DataFrame({
        c: pd.Series([getattr(f, c) for f in findings], dtype=object if c in objects else "str")
        for c in FINDING_COLUMNS
    })


def filter_findings(
    findings: Iterable[Finding],
    severity: str | None = None,
    kinds: Iterable[str] | None = None,
    currencies: Iterable[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> list[Finding]:
    """Findings at least as severe as `severity`, of these kinds/currencies, in [start, end].

    A currency filter drops findings that concern no currency (undated, date_disagreement, …);
    a date filter drops findings without a date (undated).
    """
    keep = list(findings)
    if severity is not None:
        if severity not in _SEVERITY_RANK:
            raise UsageError(f"unknown severity {severity!r}; use one of {', '.join(SEVERITIES)}")
        keep = [f for f in keep if _SEVERITY_RANK[f.severity] <= _SEVERITY_RANK[severity]]
    if kinds:
        wanted = set(kinds)
        unknown = sorted(wanted - set(KINDS))
        if unknown:
            raise UsageError(f"unknown kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}")
        keep = [f for f in keep if f.kind in wanted]
    if currencies:
        codes = {c.strip().upper() for c in currencies}
        keep = [f for f in keep if f.currency is not None and f.currency.split("/")[0] in codes]
    if start is not None:
        keep = [f for f in keep if f.captured_on is not None and f.captured_on >= start]
    if end is not None:
        keep = [f for f in keep if f.captured_on is not None and f.captured_on <= end]
    return keep


def summary_frame(findings: Iterable[Finding]) -> pd.DataFrame:
    """Counts per currency and kind (currency `-` for findings about no currency)."""
    frame = findings_frame(findings)
    if frame.empty:
        return pd.DataFrame({"currency": [], "kind": [], "severity": [], "findings": []})
    frame["currency"] = frame["currency"].map(lambda c: "-" if c is None else c)
    return (frame.groupby(["currency", "kind", "severity"], sort=True).size()
            .rename("findings").reset_index())


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)




def write_findings(findings: Sequence[Finding], fmt: str, out: TextIO) -> None:
    """Findings as an aligned table (kind, severity, currency, date, message), CSV or JSON."""
    if fmt == "json":
        json.dump([{**asdict(f), "captured_on": f.captured_on.isoformat() if f.captured_on
                    else None, "snapshot_ids": list(f.snapshot_ids)} for f in findings],
                  out, ensure_ascii=False, indent=1)
        out.write("\n")
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(FINDING_COLUMNS)
        for f in findings:
            writer.writerow([f.finding_id, f.kind, f.severity, f.currency or "",
                             f.captured_on.isoformat() if f.captured_on else "",
                             " ".join(f.snapshot_ids), f.message])
    elif fmt == "table":
        rows = [("kind", "severity", "currency", "date", "message")] + [
            (f.kind, f.severity, f.currency or "-",
             f.captured_on.isoformat() if f.captured_on else "undated", f.message)
            for f in findings
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for r in rows:
            out.write("  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True))
                      + "  " + r[4] + "\n")
    else:
        raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def summary_lines(findings: Sequence[Finding]) -> list[str]:
    """A count line by severity, then a small table: a row per currency, a column per kind."""
    if not findings:
        return ["no findings"]
    by_severity = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
    lines = [f"{len(findings)} finding{'s' if len(findings) != 1 else ''}: " + ", ".join(
        f"{n} {s}{'s' if n != 1 and s != 'info' else ''}" for s, n in by_severity.items())]
    counts = summary_frame(findings).groupby(["currency", "kind"])["findings"].sum()
    kinds = [k for k in KINDS if k in counts.index.get_level_values("kind")]
    currencies = sorted(set(counts.index.get_level_values("currency")),
                        key=lambda c: (c == "-", c))
    first = max(len("currency"), *(len(c) for c in currencies))
    lines.append("currency".ljust(first) + "  " + "  ".join(kinds))
    for cur in currencies:
        cells = [str(counts.get((cur, k), "")).rjust(len(k)) if (cur, k) in counts.index
                 else "·".rjust(len(k)) for k in kinds]
        lines.append(cur.ljust(first) + "  " + "  ".join(cells))
    return lines


# -- the pure core: frames in, finding rows out ------------------------------------------------
#
# Each `*_findings` function returns a DataFrame with columns kind, currency, captured_on
# (datetime.date or None), snapshot_ids (tuple) and message; `to_findings` adds severity and id.
# Masks are computed vectorized over every row; only flagged rows are formatted one by one.

_ROW_COLUMNS = ("kind", "currency", "captured_on", "snapshot_ids", "message")


def _rows(kind: str, currency: Sequence[Any], day: Sequence[Any], ids: Sequence[Any],
          message: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({
        "kind": pd.Series([kind] * len(message), dtype=object),
        "currency": pd.Series(list(currency), dtype=object),
        "captured_on": pd.Series(list(day), dtype=object),
        "snapshot_ids": pd.Series([tuple(sorted(map(str, i))) for i in ids], dtype=object),
        "message": pd.Series(list(message), dtype=object),
    })


def _empty() -> pd.DataFrame:
    return _rows("", [], [], [], [])


def to_findings(rows: pd.DataFrame) -> list[Finding]:
    """Finding records from finding rows: severity from KINDS, a stable id, newest first."""
    out = [
        Finding(
            finding_id=finding_id(kind, currency, day, ids),
            kind=kind,
            severity=KINDS[kind],
            currency=currency,
            captured_on=day,
            snapshot_ids=ids,
            message=message,
        )
        for kind, currency, day, ids, message in zip(
            *(rows[c].tolist() for c in _ROW_COLUMNS), strict=True
        )
    ]
    return sort_findings(out)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Newest first (undated last), then severity, kind, currency."""
    by_rest = sorted(findings, key=lambda f: (_SEVERITY_RANK[f.severity], f.kind,
                                              f.currency or "", f.finding_id))
    return sorted(by_rest, key=lambda f: (f.captured_on is None,
                                          -(f.captured_on.toordinal() if f.captured_on else 0)))


def finding_id(kind: str, currency: str | None, day: dt.date | None, ids: Iterable[str]) -> str:
    """Stable across runs: a short hash of kind, currency, capture date and snapshot ids."""
    key = "|".join((kind, currency or "", day.isoformat() if day else "", ",".join(sorted(ids))))
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def snapshot_findings(
    snapshots: pd.DataFrame, config: CheckConfig, today: dt.date
) -> pd.DataFrame:
    """copies_disagree, undated, date_disagreement and future_date: one snapshot at a time.

    `snapshots` columns: snapshot_id, source, captured_on, date_source, captured_at,
    captured_at_source, header_date, filename_date, user_date, copies_agree, warnings.
    """
    if snapshots.empty:
        return _empty()
    s = snapshots.reset_index(drop=True)
    day = _days(s["captured_on"])
    ids, source = s["snapshot_id"], s["source"]
    parts = [_copies_rows(s, day), _undated_rows(ids, source, day)]

    header = _days(s["header_date"])
    evidence = (
        (_days(s["captured_at"]), None),
        (_days(s["filename_date"]), "its file name"),
        (_days(s["user_date"]), "the date given with --captured-on"),
    )
    apart = [np.abs((header - other).astype("int64")) for other, _ in evidence]
    off = np.zeros(len(s), dtype=bool)
    for (other, _), gap in zip(evidence, apart, strict=True):
        off |= ~np.isnat(header) & ~np.isnat(other) & (gap > config.date_tolerance_days)
    off = np.flatnonzero(off)
    at_source = _take(s["captured_at_source"], off)
    messages = []
    for k, (i, src) in enumerate(zip(off, _take(source, off), strict=True)):
        notes = [
            f"{label or _at_label(at_source[k])} says {_fmt_day(other[i])} ({gap[i]} days apart)"
            for (other, label), gap in zip(evidence, apart, strict=True)
            if not np.isnat(other[i]) and gap[i] > config.date_tolerance_days
        ]
        messages.append(f"header date {_fmt_day(header[i])} of {src} disagrees with "
                        f"other date evidence: {'; '.join(notes)}")
    parts.append(_rows("date_disagreement", [None] * len(messages), _dates(day[off]),
                       [(x,) for x in _take(ids, off)], messages))

    limit = np.datetime64(today, "D") + np.timedelta64(config.future_tolerance_days, "D")
    future = np.flatnonzero(~np.isnat(day) & (day > limit))
    parts.append(_rows(
        "future_date", [None] * len(future), _dates(day[future]),
        [(x,) for x in _take(ids, future)],
        [f"capture date {_fmt_day(d)} (from {_source_label(how)}) of {src} is later than "
         f"{_fmt_day(limit)}: a typo in the page or a wrong clock; correct the date and "
         f"re-ingest" for d, how, src in zip(day[future], _take(s["date_source"], future),
                                            _take(source, future), strict=True)],
    ))
    return _concat(parts)


def _copies_rows(s: pd.DataFrame, day: np.ndarray) -> pd.DataFrame:
    bad = np.flatnonzero(s["copies_agree"].to_numpy(dtype=object) == False)  # noqa: E712
    warnings, ids = _take(s["warnings"], bad), _take(s["snapshot_id"], bad)
    source = _take(s["source"], bad)
    currencies, days, found, messages = [], [], [], []
    prefix = "copies disagree on "
    for k, i in enumerate(bad):  # copies_agree None (unknown) is no disagreement
        notes = [str(w)[len(prefix):] for w in (warnings[k] if warnings[k] is not None else ())
                 if str(w).startswith(prefix)]
        where = f"in {source[k]}" + (
            " (undated)" if np.isnat(day[i]) else f" (captured {_fmt_day(day[i])})")
        for note in notes or [None]:
            pair = note.split(":", 1)[0] if note else ""
            currency = label_of(*pair.split("/", 1)) if "/" in pair else None
            currencies.append(currency)
            days.append(None if np.isnat(day[i]) else _to_date(day[i]))
            found.append((ids[k],))
            messages.append(f"{currency or 'ticker'}: the ticker's copies disagree {where}: "
                            f"{note or 'the copies of the ticker differ'}")
    return _rows("copies_disagree", currencies, days, found, messages)


def _undated_rows(ids: pd.Series, source: pd.Series, day: np.ndarray) -> pd.DataFrame:
    undated = np.flatnonzero(np.isnat(day))
    n = len(undated)
    return _rows(
        "undated", [None] * n, [None] * n, [(x,) for x in _take(ids, undated)],
        [f"{src} has no capture date (no header date, fetch or archive time, or date in its "
         f"file name); its quotes stay out of the series until it is placed with "
         f"`tracker ingest --captured-on DATE {src}`" for src in _take(source, undated)],
    )


def stale_findings(snapshots: pd.DataFrame, config: CheckConfig) -> pd.DataFrame:
    """stale_ticker: an identical ticker with a non-zero change on captures days apart.

    `snapshots` columns: snapshot_id, captured_on, ticker_key (equal for identical tickers:
    every pair, rate and change as printed), nonzero_changes, moving (e.g. `TJS -0.28%`).
    """
    if snapshots.empty:
        return _empty()
    day = _days(snapshots["captured_on"])
    nonzero = pd.to_numeric(snapshots["nonzero_changes"]).fillna(0).to_numpy()
    use = np.flatnonzero(~np.isnat(day) & (nonzero > 0) & snapshots["ticker_key"].notna())
    if not len(use):
        return _empty()
    keys = pd.factorize(snapshots["ticker_key"].iloc[use])[0]
    by_key = np.lexsort((day[use], keys))
    order = use[by_key]
    starts, ends = _runs(keys[by_key])
    first, last = day[order[starts]], day[order[ends - 1]]
    flagged = np.flatnonzero((last - first).astype("int64") >= config.stale_min_gap_days)
    days, found, messages = [], [], []
    for g in flagged:
        rows = order[starts[g]:ends[g]]
        dates = np.unique(day[rows])
        gap = int((dates[-1] - dates[0]).astype("int64"))
        on = (f"on {_fmt_day(dates[0])} and {_fmt_day(dates[-1])}" if len(dates) == 2
              else f"on {len(dates)} capture dates from {_fmt_day(dates[0])} to "
                   f"{_fmt_day(dates[-1])}")
        changes = ", ".join(sorted(str(snapshots["moving"].iat[rows[0]]).split(", ")))
        days.append(_to_date(dates[-1]))
        found.append(tuple(_take(snapshots["snapshot_id"], rows)))
        messages.append(
            f"identical ticker (every rate and change) printed {on}, {gap} days apart, in "
            f"{len(rows)} snapshots, although its changes are not all zero ({changes}): "
            f"a page served from a cache"
        )
    return _rows("stale_ticker", [None] * len(days), days, found, messages)


def missing_findings(snapshots: pd.DataFrame, config: CheckConfig) -> pd.DataFrame:
    """missing_currency: a snapshot lacks a pair that snapshots within the window carry.

    `snapshots` columns: snapshot_id, source, captured_on, pairs (the snapshot's pairs,
    space-separated in any order, e.g. `KGS/USD KZT/USD`).
    """
    if snapshots.empty:
        return _empty()
    day = _days(snapshots["captured_on"])
    dated = np.flatnonzero(~np.isnat(day))
    if not len(dated):
        return _empty()
    codes, layouts = pd.factorize(snapshots["pairs"].iloc[dated])
    layout_sets = [set(str(t).split()) if isinstance(t, str) else set() for t in layouts]
    names = sorted(set().union(*layout_sets))
    if not names:
        return _empty()
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
    ids = _take(snapshots["snapshot_id"], dated[rows])
    source = _take(snapshots["source"], dated[rows])
    messages, currencies = [], []
    for k, (r, c) in enumerate(zip(rows, cols, strict=True)):
        base, _, quote = names[c].partition("/")
        currencies.append(label_of(base, quote))
        messages.append(
            f"{currencies[-1]}: {source[k]} (captured {_fmt_day(day[dated[r]])}) has no "
            f"{names[c]} quote, which {int(carried[r, c])} snapshot(s) within "
            f"{config.missing_window_days} days of it carry"
        )
    return _rows("missing_currency", currencies, _dates(day[dated[rows]]),
                 [(x,) for x in ids], messages)


def same_day_findings(day_rates: pd.DataFrame) -> pd.DataFrame:
    """same_day_conflict: one capture date, printed rates that no single true rate rounds to.

    `day_rates` columns: captured_on, currency, quote_currency, rate_text, snapshots (how many
    snapshots printed it), snapshot_ids — one row per distinct printed rate per day and pair.
    A rate's interval is half-open, [r − h, r + h): adjacent prints (0.00193 vs 0.00192) cannot
    both be roundings of one rate.
    """
    if day_rates.empty:
        return _empty()
    f = day_rates.reset_index(drop=True)
    lo, hi = _rate_bounds(f["rate_text"])
    day = _days(f["captured_on"])
    cur = f["currency"].to_numpy(dtype=object)
    quote = f["quote_currency"].to_numpy(dtype=object)
    group = pd.DataFrame({"d": day, "c": cur, "q": quote}).groupby(
        ["d", "c", "q"], sort=False).ngroup().to_numpy()
    order = np.lexsort((lo, group))
    starts, ends = _runs(group[order])
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
        apart = (f"at least {_fmt_plain(_toward_zero(gap))}% apart after rounding" if gap > 0
                 else "one rounding step apart, so no single rate rounds to all of them")
        variants = ", ".join(f"{texts[r]} ({int(counts[r])} snapshot"
                             f"{'s' if counts[r] != 1 else ''})" for r in rows)
        currencies.append(label)
        days.append(_to_date(day[first]))
        found.append(tuple(x for r in rows for x in lists[r]))
        messages.append(
            f"{label}: {len(rows)} different rates printed on {_fmt_day(day[first])}: "
            f"{variants}; {_fmt_plain(spread)}% apart as printed, {apart}"
        )
    return _rows("same_day_conflict", currencies, days, found, messages)


def _runs(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end offsets of the runs of equal values in a sorted array."""
    if not len(sorted_keys):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    return starts, np.r_[starts[1:], len(sorted_keys)]


def move_findings(series: pd.DataFrame, config: CheckConfig) -> pd.DataFrame:
    """change_mismatch and jump between consecutive capture dates of each pair in the series.

    `series` columns: captured_on, currency, quote_currency, rate_text, change_text,
    snapshot_id — one row per capture date and pair (the `series` view).

    The achievable moves between two printed rates are [100·(lo2/hi1 − 1), 100·(hi2/lo1 − 1)].
    change_mismatch (dates exactly one day apart): that range misses the printed change's
    interval. jump: the smallest achievable move exceeds the threshold × days of gap.
    """
    if len(series) < 2:
        return _empty()
    s = series.sort_values(["currency", "quote_currency", "captured_on"]).reset_index(drop=True)
    day = _days(s["captured_on"])
    cur = s["currency"].astype(str).to_numpy()
    quote = s["quote_currency"].astype(str).to_numpy()
    later = np.flatnonzero((cur[1:] == cur[:-1]) & (quote[1:] == quote[:-1])) + 1
    earlier = later - 1
    gap = (day[later] - day[earlier]).astype(int)
    lo, hi = _rate_bounds(s["rate_text"])
    lo1, hi1 = lo[earlier].astype(object), hi[earlier].astype(object)
    lo2, hi2 = lo[later].astype(object), hi[later].astype(object)
    c_lo, c_hi, c_open = _change_bounds(s["change_text"].iloc[later])
    c_lo, c_hi = c_lo.astype(object), c_hi.astype(object)

    # Cross-multiplied (all bounds positive), exact on Python integers.
    below = (_HUNDRED * hi2 < lo1 * (_HUNDRED + c_lo)).astype(bool)  # max move < change low
    above_closed = (_HUNDRED * lo2 > hi1 * (_HUNDRED + c_hi)).astype(bool)
    above_open = (_HUNDRED * lo2 >= hi1 * (_HUNDRED + c_hi)).astype(bool)
    mismatch = (gap == 1) & (below | np.where(c_open, above_open, above_closed))

    per_day = np.array([_micro_pct(config.jump_threshold(c)) for c in cur[later]], dtype=object)
    limit = per_day * gap.astype(object) * 2  # micro-% → change half-units (× 2 / 10^6 · 10^6)
    up = (_HUNDRED * lo2 > hi1 * (_HUNDRED + limit)).astype(bool)
    down = (_HUNDRED * hi2 < lo1 * (_HUNDRED - limit)).astype(bool)
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
            moved = _move_text(rate_text[i], rate_text[j], lo[i], hi[i], lo[j], hi[j])
            if kind == "change_mismatch":
                text = (f"{label}: change printed {change_text[j]}% on {_fmt_day(day[j])}, but "
                        f"the rate moved {moved} since {_fmt_day(day[i])}")
            else:
                least = (100 * (lo[j] / hi[i] - 1) if up[k] else 100 * (hi[j] / lo[i] - 1))
                per = config.jump_threshold(cur[j])
                text = (f"{label}: rate moved {moved} from {_fmt_day(day[i])} to "
                        f"{_fmt_day(day[j])}; {'up' if up[k] else 'down'} at least "
                        f"{_fmt_plain(_toward_zero(abs(least)))}% after rounding, over "
                        f"the {_fmt_plain(per * gap[k])}% limit ({_fmt_plain(per)}% per day × "
                        f"{gap[k]} day{'s' if gap[k] != 1 else ''})")
            currencies.append(label)
            days.append(day[j].astype(object))
            ids.append((sid[i], sid[j]))
            messages.append(text)
        parts.append(_rows(kind, currencies, days, ids, messages))
    return _concat(parts)


def coarse_findings(series: pd.DataFrame, config: CheckConfig) -> pd.DataFrame:
    """coarse_resolution, once per pair: rates printed with too few significant digits.

    A rate printed as 0.00008 stands for 0.000075–0.000085, ±6.25 %: moves of up to 13 % can
    leave it unchanged, so only the printed change records them.
    """
    if series.empty:
        return _empty()
    s = series.reset_index(drop=True)
    text = s["rate_text"].astype(str)
    digits = text.str.replace(".", "", regex=False).str.lstrip("0").str.len().to_numpy()
    coarse = digits < config.min_significant_digits
    if not coarse.any():
        return _empty()
    lo, hi = _rate_bounds(text)
    rel = (hi - lo) / (hi + lo)  # half-width / rate
    frame = pd.DataFrame({
        "currency": s["currency"].astype(str).to_numpy(),
        "quote": s["quote_currency"].astype(str).to_numpy(),
        "day": _days(s["captured_on"]), "rel": rel, "digits": digits,
        "text": text.to_numpy(), "id": s["snapshot_id"].astype(str).to_numpy(),
        "lo": lo, "hi": hi,
    })[coarse]
    currencies, days, ids, messages = [], [], [], []
    for (cur, quote), group in frame.groupby(["currency", "quote"], sort=True):
        worst = group.sort_values(["rel", "day"], ascending=[False, False]).iloc[0]
        last = group["day"].max()
        low, high = worst["lo"] / 2 / 10**RATE_PLACES, worst["hi"] / 2 / 10**RATE_PLACES
        label = label_of(cur, quote)
        currencies.append(label)
        days.append(_to_date(last))
        ids.append((worst["id"],))
        messages.append(
            f"{label}: the rate is printed with {worst['digits']} significant digit"
            f"{'s' if worst['digits'] != 1 else ''} ({worst['text']}) on {len(group)} capture "
            f"date(s) from {_fmt_day(group['day'].min())} to {_fmt_day(last)}: it stands for "
            f"{_fmt_rate(low)}–{_fmt_rate(high)} (±{_fmt_plain(100 * worst['rel'])}%), so moves "
            f"of up to {_fmt_plain(100 * (high / low - 1))}% can leave it unchanged and only the "
            f"printed change shows them"
        )
    return _rows("coarse_resolution", currencies, days, ids, messages)


# -- exact arithmetic on printed numbers ---------------------------------------------------------


def _fixed(text: pd.Series, places: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    units = (parts[0] + parts[2].str.pad(places, side="right", fillchar="0")).astype("int64")
    units = units.to_numpy(dtype=np.int64)
    return np.where(negative, -units, units), decimals, negative


def _rate_units(text: pd.Series) -> np.ndarray:
    return _fixed(text, RATE_PLACES)[0]


def _rate_bounds(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The interval a printed rate stands for, in half-units of 10^-10 (exact int64)."""
    units, decimals, _ = _fixed(text, RATE_PLACES)
    half = np.power(10, RATE_PLACES - decimals, dtype=np.int64)
    return 2 * units - half, 2 * units + half


def _change_bounds(text: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A printed change's interval in half-units of 10^-6 %; `open_top` for `-0` ([−h, 0)).

    Changes are rounded to CHANGE_DECIMALS with trailing zeros dropped, so `0` and `0.1` stand
    for ±0.005 like `0.28` does; a change printed with more decimals is taken at its word.
    """
    units, decimals, negative = _fixed(text, CHANGE_PLACES)
    half = np.power(10, CHANGE_PLACES - np.maximum(decimals, CHANGE_DECIMALS), dtype=np.int64)
    open_top = negative & (units == 0)
    return 2 * units - half, np.where(open_top, 0, 2 * units + half), open_top


def _micro_pct(value: float) -> int:
    """A threshold in % as an exact integer of 10^-6 %: thresholds count to 6 decimals."""
    try:
        return int(Decimal(str(value)).scaleb(CHANGE_PLACES).to_integral_value())
    except InvalidOperation:  # pragma: no cover - CheckConfig validates numbers
        raise UsageError(f"threshold {value!r} is not a number") from None


def _move_text(t1: str, t2: str, lo1: int, hi1: int, lo2: int, hi2: int) -> str:
    """`0.28571 → 0.28490 (−0.28% ± 0.004%)`: the printed move and its rounding half-width."""
    central = 100 * (float(t2) / float(t1) - 1)
    low, high = 100 * (lo2 / hi1 - 1), 100 * (hi2 / lo1 - 1)
    half = max(central - low, high - central, 0.0)
    return f"{t1} → {t2} ({_fmt_pct(central)} ± {_fmt_half(half)}%)"


# -- small helpers ---------------------------------------------------------------------------


def _days(col: Any) -> np.ndarray:
    """Dates, datetimes or datetime64 values → datetime64[D] (NaT for missing)."""
    values = pd.Series(col).reset_index(drop=True)
    if not pd.api.types.is_datetime64_any_dtype(values.dtype):
        values = pd.to_datetime(values.astype(object))
    return values.to_numpy().astype("datetime64[D]")


def _take(col: pd.Series, rows: np.ndarray) -> np.ndarray:
    """The values at `rows` as Python objects (converting only those, not the whole column)."""
    return col.iloc[rows].to_numpy(dtype=object)


def _to_date(value: Any) -> dt.date:
    return np.datetime64(value, "D").astype(object)


def _dates(days: np.ndarray) -> list[dt.date | None]:
    return [None if np.isnat(d) else d.astype(object) for d in days]


def _fmt_day(day: Any) -> str:
    """`09 Dec 2025` (English, whatever the locale)."""
    d = np.datetime64(day, "D").astype(object)
    return f"{d.day:02d} {_MONTHS[d.month - 1]} {d.year}"


def _fmt_pct(value: float, places: int = 2) -> str:
    """`+0.09%`, `−0.28%` (a real minus sign), `0.00%`."""
    text = f"{abs(value):.{places}f}"
    if float(text) == 0:
        return f"{text}%"
    return f"{'−' if value < 0 else '+'}{text}%"


def _fmt_half(value: float) -> str:
    """A ± half-width to one significant digit, rounded up so the range it shows is never short."""
    if value <= 0:
        return "0"
    places = max(0, -math.floor(math.log10(value)))
    scaled = math.ceil(value * 10**places - 1e-9)
    while places and scaled % 10 == 0:  # 0.00925 → 0.010 → 0.01
        scaled, places = scaled // 10, places - 1
    return f"{scaled / 10**places:.{places}f}"


def _toward_zero(value: float, places: int = 2) -> float:
    """Truncate a lower bound for display, so that "at least" never overstates it."""
    return math.trunc(value * 10**places + (1e-9 if value > 0 else -1e-9)) / 10**places


def _fmt_plain(value: float) -> str:
    """A percentage for prose: 2 decimals, trailing zeros dropped."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _fmt_rate(value: float) -> str:
    return f"{value:.10f}".rstrip("0").rstrip(".")


def _at_label(source: Any) -> str:
    return {"fetched": "the fetch time", "archive": "the archive timestamp"}.get(
        str(source), "the capture time")


def _source_label(date_source: str) -> str:
    return {"header": "the header date", "fetched": "the fetch time",
            "archive": "the archive timestamp", "filename": "the file name",
            "user": "the date given with --captured-on"}.get(date_source, date_source)


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else _empty()
