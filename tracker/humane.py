"""Numbers, sizes and times written for people: "1 snapshot", "5 MiB", "2025-12-10 08:30:00".

One place, so the CLI, the dashboard and the notebooks word them alike.
"""

from __future__ import annotations

import datetime as dt
import math

_UNITS = ("bytes", "KiB", "MiB", "GiB", "TiB")


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """`1 snapshot`, `2 snapshots`, `1,500 capture dates`.

    >>> plural(1, "snapshot"), plural(0, "snapshot"), plural(2, "entry", "entries")
    ('1 snapshot', '0 snapshots', '2 entries')
    """
    return f"{count:,} {noun if count == 1 else (nouns or noun + 's')}"


def size(n_bytes: int) -> str:
    """A byte count in the largest binary unit that keeps it ≥ 1, to 3 significant digits.

    >>> size(5 * 1024 * 1024), size(1), size(1536), size(0)
    ('5 MiB', '1 byte', '1.5 KiB', '0 bytes')
    """
    if n_bytes < 1024:
        return plural(n_bytes, "byte")
    exponent = min(int(math.log(n_bytes, 1024)), len(_UNITS) - 1)
    value = n_bytes / 1024**exponent
    text = f"{value:.3g}" if value < 1000 else f"{value:.0f}"
    return f"{text} {_UNITS[exponent]}"


def moment(value: dt.datetime | None) -> str:
    """A timestamp to the second, without microseconds (`—` when there is none).

    >>> moment(dt.datetime(2025, 12, 10, 8, 30, 0, 123456))
    '2025-12-10 08:30:00'
    """
    if value is None:
        return "—"
    return value.replace(microsecond=0).isoformat(sep=" ")


def significant(value: float, digits: int = 5) -> str:
    """`87.413`, `12,500`, `0.10811`: about `digits` significant digits, thousands separated
    (a derived float shown no more precisely than the printed rate it came from).

    >>> significant(87.41258741258741), significant(12500.0), significant(float("nan"))
    ('87.413', '12,500', '—')
    """
    if math.isnan(value) or math.isinf(value):
        return "—"
    if value == 0:
        return "0"
    places = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:,.{places}f}"
