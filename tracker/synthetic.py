"""Write snapshot pages in the site's layout: for tests, fixtures and benchmark corpora.

The inverse of the parser: `render_text(...)` produces what `parse` reads back.
"""

from __future__ import annotations

import datetime as dt
import html
import random
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

MONTH_NAMES = (
    "January February March April May June July August September October November December"
).split()

TYPICAL_RATES = {
    "KGS": Decimal("0.01144"),
    "KZT": Decimal("0.00193"),
    "TJS": Decimal("0.10811"),
    "UZS": Decimal("0.0000794"),
    "TMT": Decimal("0.28571"),
}

_FILLER_WORDS = (
    "regional trade corridor freight ministers agreed new measures for rail cargo while "
    "analysts expect steady growth in exports of grain cotton and metals across the steppe "
    "as officials discussed customs reforms energy links water sharing and investment"
).split()


@dataclass(frozen=True)
class TickerEntry:
    """One printed ticker entry: texts exactly as they will appear."""

    currency: str
    rate_text: str
    change_text: str
    quote_currency: str = "USD"

    def line(self) -> str:
        return f"{self.currency}/{self.quote_currency} = {self.rate_text} {self.change_text}%"


def format_date(day: dt.date) -> str:
    """`DD Month YYYY`, as in the page header."""
    return f"{day.day:02d} {MONTH_NAMES[day.month - 1]} {day.year}"


def print_rate(value: Decimal | float, decimals: int = 5) -> str:
    """A rate as the ticker prints it: fixed decimals."""
    q = Decimal(1).scaleb(-decimals)
    return str(Decimal(str(value)).quantize(q, rounding=ROUND_HALF_EVEN))


def print_change(value: Decimal | float, decimals: int = 2) -> str:
    """A change as the ticker prints it: 2 decimals, trailing zeros dropped, `-0` kept."""
    d = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)
    negative = d < 0 or (d.is_zero() and Decimal(str(value)) < 0)
    text = f"{abs(d):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return ("-" if negative else "") + text


def ticker_lines(entries: Sequence[TickerEntry], copies: int = 8, bullet: bool = True) -> list[str]:
    """The marquee: the group repeated `copies` times, first line unindented."""
    lines = []
    for i in range(copies * len(entries)):
        entry = entries[i % len(entries)]
        prefix = ("• " if bullet else "") if i == 0 else ("  • " if bullet else "  ")
        lines.append(prefix + entry.line())
    return lines


def filler(rng: random.Random, paragraphs: int = 6, words: int = 60) -> list[str]:
    out = []
    for _ in range(paragraphs):
        text = " ".join(rng.choice(_FILLER_WORDS) for _ in range(words))
        out.append(text[0].upper() + text[1:] + ".")
    return out


def render_text(
    entries: Sequence[TickerEntry],
    *,
    day: dt.date | None = None,
    copies: int = 8,
    listing: str | None = None,
    body: Sequence[str] = (),
    newline: str = "\n",
    bom: bool = False,
) -> str:
    """A text snapshot: ticker, header date (if any), listing line (if any), then the body."""
    lines = ticker_lines(entries, copies)
    if day is not None:
        lines.append(format_date(day))
    if listing is not None:
        lines += ["", listing]
    for paragraph in body:
        lines += ["", paragraph]
    return ("\ufeff" if bom else "") + newline.join(lines) + newline


def render_html(
    entries: Sequence[TickerEntry],
    *,
    day: dt.date | None = None,
    copies: int = 8,
    body: Sequence[str] = (),
    title: str = "The Times of Central Asia",
) -> str:
    """An HTML snapshot: ticker as `<li>` items without bullets, date in a div."""
    items = "\n".join(f"    <li>{html.escape(e.line())}</li>" for _ in range(copies) for e in entries)
    date_div = f'  <div class="date">{format_date(day)}</div>\n' if day else ""
    paras = "\n".join(f"    <p>{html.escape(p)}</p>" for p in body)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n"
        f"  <title>{html.escape(title)}</title>\n"
        "  <script>var fake = \"KGS/USD = 9.99999 5%\";</script>\n</head>\n<body>\n"
        f"  <div class=\"ticker\"><ul>\n{items}\n  </ul></div>\n{date_div}"
        f"  <main>\n{paras}\n  </main>\n</body>\n</html>\n"
    )


def random_walk(
    rng: random.Random,
    days: int,
    *,
    start: dt.date = dt.date(2025, 1, 1),
    daily_sigma_pct: float = 0.1,
    currencies: Sequence[str] = tuple(TYPICAL_RATES),
) -> list[tuple[dt.date, list[TickerEntry]]]:
    """True rates following a random walk, printed with the ticker's rounding, one day each."""
    true = {c: Decimal(TYPICAL_RATES[c]) for c in currencies}
    out = []
    for i in range(days):
        entries = []
        for c in currencies:
            step = Decimal(str(rng.gauss(0, daily_sigma_pct))) / 100 if i else Decimal(0)
            new = true[c] * (1 + step)
            change = (new / true[c] - 1) * 100
            true[c] = new
            entries.append(TickerEntry(c, print_rate(new), print_change(change)))
        out.append((start + dt.timedelta(days=i), entries))
    return out
