"""Findings: the record, its stable id and order, filters, and the ways they are printed.

Also the finding rows the checks build (a DataFrame with kind, currency, captured_on,
snapshot_ids and message per row) and how they become `Finding` records.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TextIO

import pandas as pd

from ..check_config import FORMATS, KINDS, SEVERITIES, SEVERITY_RANK
from ..errors import UsageError
from ..escape import printable

FINDING_COLUMNS = ("finding_id", "kind", "severity", "currency", "captured_on", "snapshot_ids",
                   "message")


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
        if severity not in SEVERITY_RANK:
            raise UsageError(f"unknown severity {severity!r}; use one of {', '.join(SEVERITIES)}")
        keep = [f for f in keep if SEVERITY_RANK[f.severity] <= SEVERITY_RANK[severity]]
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
            (f.kind, f.severity, printable(f.currency or "-"),  # (a message quotes input)
             f.captured_on.isoformat() if f.captured_on else "undated", printable(f.message))
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


# (datetime.date or None), snapshot_ids (tuple) and message; `to_findings` adds severity and id.
# Masks are computed vectorized over every row; only flagged rows are formatted one by one.

ROW_COLUMNS = ("kind", "currency", "captured_on", "snapshot_ids", "message")


def finding_rows(kind: str, currency: Sequence[Any], day: Sequence[Any], ids: Sequence[Any],
          message: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({
        "kind": pd.Series([kind] * len(message), dtype=object),
        "currency": pd.Series(list(currency), dtype=object),
        "captured_on": pd.Series(list(day), dtype=object),
        "snapshot_ids": pd.Series([tuple(sorted(map(str, i))) for i in ids], dtype=object),
        "message": pd.Series(list(message), dtype=object),
    })


def no_rows() -> pd.DataFrame:
    return finding_rows("", [], [], [], [])


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
            *(rows[c].tolist() for c in ROW_COLUMNS), strict=True
        )
    ]
    return sort_findings(out)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Newest first (undated last), then severity, kind, currency."""
    by_rest = sorted(findings, key=lambda f: (SEVERITY_RANK[f.severity], f.kind,
                                              f.currency or "", f.finding_id))
    return sorted(by_rest, key=lambda f: (f.captured_on is None,
                                          -(f.captured_on.toordinal() if f.captured_on else 0)))


def finding_id(kind: str, currency: str | None, day: dt.date | None, ids: Iterable[str]) -> str:
    """Stable across runs: a short hash of kind, currency, capture date and snapshot ids."""
    key = "|".join((kind, currency or "", day.isoformat() if day else "", ",".join(sorted(ids))))
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def concat_rows(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else no_rows()
