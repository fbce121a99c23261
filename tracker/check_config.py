"""What the inconsistency checks look for and their thresholds: kinds, severities, config.

Light to import (no numpy, no pandas), so that the command line can offer these as options
without loading the checks themselves; `tracker.checks` re-exports everything here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .configfile import read_table
from .errors import UsageError

# kind -> severity. The names are interface (CLI, dashboard, notebooks, config).
KINDS: Mapping[str, str] = MappingProxyType({
    "copies_disagree": "error",
    "same_day_conflict": "error",
    "change_mismatch": "error",
    "future_date": "error",
    "stale_ticker": "warning",
    "jump": "warning",
    "undated": "warning",
    "date_disagreement": "warning",
    "missing_currency": "info",
    "coarse_resolution": "info",
    # against the central banks' official rates (tracker.official; run when some are stored)
    "official_mismatch": "warning",
    "ticker_lag": "info",
})
SEVERITIES: tuple[str, ...] = ("error", "warning", "info")  # most severe first
SEVERITY_RANK: Mapping[str, int] = MappingProxyType({s: i for i, s in enumerate(SEVERITIES)})
# Largest plausible day-over-day move, in % per day of gap between two captures. The TMT is
# pegged (3.5 per USD), the KGS and KZT are managed, the TJS and UZS float more freely.
DEFAULT_JUMP_PCT_PER_DAY: Mapping[str, float] = MappingProxyType(
    {"KGS": 1.5, "KZT": 2.0, "TJS": 3.0, "UZS": 3.0, "TMT": 0.5}
)
DEFAULT_JUMP_PCT = 3.0
# Capture dates up to today + this many days are not "future" (time zones); also what
# `tracker ingest` warns about.
DEFAULT_FUTURE_TOLERANCE_DAYS = 1

FORMATS = ("table", "csv", "json")  # of `tracker check` output


@dataclass(frozen=True)
class CheckConfig:
    """Thresholds of the checks. Every default is documented in docs/checks.md.

    `jump_pct_per_day` maps currency codes to the largest plausible move in % per day of gap
    between two captures; currencies not in it use `jump_default_pct_per_day`.
    """

    jump_pct_per_day: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType(dict(DEFAULT_JUMP_PCT_PER_DAY))
    )
    jump_default_pct_per_day: float = DEFAULT_JUMP_PCT
    stale_min_gap_days: int = 2  # identical tickers at least this many days apart are stale
    missing_window_days: int = 7  # compare a snapshot's currencies with ±this many days
    future_tolerance_days: int = DEFAULT_FUTURE_TOLERANCE_DAYS  # later capture dates are "future"
    date_tolerance_days: int = 1  # header vs other date evidence may differ by this much
    min_significant_digits: int = 3  # fewer printed significant digits is "coarse"

    def __post_init__(self) -> None:
        jumps = {}
        for code, value in dict(self.jump_pct_per_day).items():
            if not isinstance(code, str) or not code.strip():
                raise UsageError(f"jump threshold currency {code!r} is not a currency code")
            jumps[code.strip().upper()] = _positive_pct(value, f"jump threshold for {code}")
        object.__setattr__(self, "jump_pct_per_day", MappingProxyType(jumps))
        object.__setattr__(self, "jump_default_pct_per_day",
                           _positive_pct(self.jump_default_pct_per_day, "default jump threshold"))
        for name in ("stale_min_gap_days", "missing_window_days", "future_tolerance_days",
                     "date_tolerance_days", "min_significant_digits"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise UsageError(f"{name} must be a whole number ≥ 0, not {value!r}")
        if self.stale_min_gap_days < 1:
            raise UsageError("stale_min_gap_days must be at least 1 (identical tickers on the "
                             "same day are normal)")

    def jump_threshold(self, currency: str) -> float:
        """% per day of gap above which a move of `currency` is a jump."""
        return self.jump_pct_per_day.get(currency.upper(), self.jump_default_pct_per_day)

    def with_jump_thresholds(self, thresholds: Mapping[str, float]) -> CheckConfig:
        """A copy with some jump thresholds changed; the key `default` sets the fallback."""
        per = dict(self.jump_pct_per_day)
        default = self.jump_default_pct_per_day
        for code, value in thresholds.items():
            if code.strip().lower() in ("default", "*"):
                default = value
            else:
                per[code.strip().upper()] = value
        return replace(self, jump_pct_per_day=per, jump_default_pct_per_day=default)


_CONFIG_KEYS = tuple(f.name for f in fields(CheckConfig) if not f.name.startswith("jump_"))


def _positive_pct(value: Any, what: str) -> float:
    wrong = f"{what} must be a number of percent, e.g. 3 or 0.5, not {value!r}"
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise UsageError(wrong)
    try:
        number = float(value)
    except ValueError:
        raise UsageError(wrong) from None
    if not math.isfinite(number) or number <= 0:
        raise UsageError(f"{what} must be a positive number of percent, not {value!r}")
    return number


def load_config(path: str | Path, base: CheckConfig | None = None) -> CheckConfig:
    """Thresholds from a TOML file's `[checks]` table (and `[checks.jump_pct_per_day]`).

    Keys not given keep their value in `base` (the defaults); unknown keys are an error, so a
    typo never silently leaves a default in place. Other top-level tables are ignored (the file
    may configure other parts of the tracker).
    """
    path = Path(path)
    checks = read_table(
        path, "checks", "[checks]\nstale_min_gap_days = 2\n\n[checks.jump_pct_per_day]\nTMT = 0.5",
        (*_CONFIG_KEYS, "jump_pct_per_day"),
    )
    config = base or CheckConfig()
    scalars = {k: v for k, v in checks.items() if k != "jump_pct_per_day"}
    for key, value in scalars.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(f"config file {path}: [checks] {key} must be a whole number, "
                             f"not {value!r}")
    try:
        config = replace(config, **scalars)
        jumps = checks.get("jump_pct_per_day", {})
        if not isinstance(jumps, dict):
            raise UsageError("jump_pct_per_day must be a table, e.g. [checks.jump_pct_per_day]")
        return config.with_jump_thresholds(jumps)
    except UsageError as exc:
        raise UsageError(f"config file {path}: {exc}") from None
