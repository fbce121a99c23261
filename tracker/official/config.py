"""Thresholds of the official-rate findings, configured like `tracker.check_config`.

A TOML file's `[official]` table (which `[checks]` loading ignores) sets them:

    [official]
    carry_days = 7
    [official.tolerance_pct]
    KZT = 0.5
    default = 1
    [official.lag_days]
    KGS = 2
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..check_config import CheckConfig, _positive_pct, load_config
from ..configfile import read_table
from ..errors import UsageError

# How far the ticker may sit from the official rate, in %, beyond its own rounding. The
# ticker's source is not the bank itself: a small spread (commercial vs official rate, TMT's
# 3.51 selling rate) is normal, a gap of a percent is not. Pegs get the smallest.
DEFAULT_TOLERANCE_PCT: Mapping[str, float] = MappingProxyType(
    {"KGS": 0.5, "KZT": 0.5, "TJS": 0.5, "UZS": 0.5, "TMT": 0.1})
DEFAULT_TOLERANCE = 0.5
# The publication lag: how many days before the capture date the ticker may still show. The
# banks publish in the afternoon (UTC+5/+6), the site updates the next morning, so yesterday's
# rate is normal and the day before yesterday is accepted; a peg has no lag.
DEFAULT_LAG_DAYS: Mapping[str, int] = MappingProxyType(
    {"KGS": 2, "KZT": 2, "TJS": 2, "UZS": 2, "TMT": 0})
DEFAULT_LAG = 2


@dataclass(frozen=True)
class OfficialConfig:
    """Thresholds of `official_mismatch` and `ticker_lag` (documented in docs/official.md)."""

    tolerance_pct: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType(dict(DEFAULT_TOLERANCE_PCT)))
    tolerance_default_pct: float = DEFAULT_TOLERANCE
    lag_days: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType(dict(DEFAULT_LAG_DAYS)))
    lag_default_days: int = DEFAULT_LAG
    # A publication stays in force this many days when no newer one exists: weekends and
    # holidays (Nowruz, New Year) carry it forward; longer silence is missing data, not a rate.
    carry_days: int = 7
    lag_search_days: int = 7  # ticker_lag compares with official rates up to this many days back

    def __post_init__(self) -> None:
        tolerances = {_code(c): _positive_pct(v, f"official tolerance for {c}")
                      for c, v in dict(self.tolerance_pct).items()}
        object.__setattr__(self, "tolerance_pct", MappingProxyType(tolerances))
        object.__setattr__(self, "tolerance_default_pct", _positive_pct(
            self.tolerance_default_pct, "default official tolerance"))
        lags = {_code(c): _days(v, f"lag_days for {c}") for c, v in dict(self.lag_days).items()}
        object.__setattr__(self, "lag_days", MappingProxyType(lags))
        for name in ("lag_default_days", "carry_days", "lag_search_days"):
            _days(getattr(self, name), name)

    def tolerance(self, currency: str) -> Decimal:
        """The tolerance of `currency` as an exact fraction (0.5 % → 0.005)."""
        pct = self.tolerance_pct.get(currency.upper(), self.tolerance_default_pct)
        return Decimal(repr(pct)) / 100

    def lag(self, currency: str) -> int:
        return self.lag_days.get(currency.upper(), self.lag_default_days)


def load_official_config(path: str | Path, base: OfficialConfig | None = None) -> OfficialConfig:
    """Thresholds from a TOML file's `[official]` table; unknown keys are an error."""
    path = Path(path)
    table = read_table(path, "official", "[official]\ncarry_days = 7\n\n"
                       "[official.tolerance_pct]\nKZT = 0.5",
                       ("carry_days", "lag_search_days", "tolerance_pct", "lag_days"))
    config = base or OfficialConfig()
    try:
        changes: dict[str, Any] = {k: table[k] for k in ("carry_days", "lag_search_days")
                                   if k in table}
        for key, default_key in (("tolerance_pct", "tolerance_default_pct"),
                                 ("lag_days", "lag_default_days")):
            sub = table.get(key, {})
            if not isinstance(sub, dict):
                raise UsageError(f"{key} must be a table, e.g. [official.{key}]")
            per = dict(getattr(config, key))
            for code, value in sub.items():
                if code.strip().lower() in ("default", "*"):
                    changes[default_key] = value
                else:
                    per[code.strip().upper()] = value
            changes[key] = per
        return replace(config, **changes)
    except UsageError as exc:
        raise UsageError(f"config file {path}: [official] {exc}") from None


def _code(code: Any) -> str:
    if not isinstance(code, str) or not code.strip():
        raise UsageError(f"currency {code!r} is not a currency code")
    return code.strip().upper()


def _days(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 366:
        raise UsageError(f"{what} must be a whole number of days from 0 to 366, not {value!r}")
    return value


def load_check_configs(path: str | Path, base: CheckConfig | None = None
                       ) -> tuple[CheckConfig, OfficialConfig]:
    """`tracker check --config FILE`: its `[checks]` and `[official]` tables, either of which
    may be missing (not both: the `[checks]` loader's message then says what to write)."""
    path = Path(path)
    try:
        tables = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        tables = {}  # load_config says what is wrong with the file
    has_official = isinstance(tables.get("official"), dict)
    checks = base or CheckConfig()
    if "checks" in tables or not has_official:
        checks = load_config(path, checks)
    return checks, load_official_config(path) if has_official else OfficialConfig()
