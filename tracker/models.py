"""Small frozen records passed between the layers (parse → store → checks → UI)."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from decimal import Decimal

EXPECTED_CURRENCIES: tuple[str, ...] = ("KGS", "KZT", "TJS", "UZS", "TMT")
QUOTE_CURRENCY = "USD"


def label_of(currency: str, quote_currency: str) -> str:
    """A pair's name in series, findings and charts: `KGS` for KGS/USD (the ticker's only
    quote currency so far), the whole pair (`KGS/EUR`) for any other quote currency.

    >>> label_of("KGS", "USD"), label_of("KGS", "EUR")
    ('KGS', 'KGS/EUR')
    """
    return currency if quote_currency in (QUOTE_CURRENCY, "") else f"{currency}/{quote_currency}"


def label_order(label: str) -> tuple[int, str]:
    """Sort key: the ticker's order (KGS, KZT, TJS, UZS, TMT), then other pairs alphabetically.

    >>> sorted(["TMT", "EUR", "KGS/EUR", "KGS"], key=label_order)
    ['KGS', 'KGS/EUR', 'TMT', 'EUR']
    """
    code = label.split("/")[0]
    return (EXPECTED_CURRENCIES.index(code) if code in EXPECTED_CURRENCIES else 99, label)


@dataclass(frozen=True)
class Quote:
    """One ticker entry exactly as printed: `KZT/USD = 0.00193 -0%`.

    `rate` and `change_pct` are exact decimals; the printed texts keep what the
    numbers cannot (trailing zeros, the sign of `-0`).
    """

    currency: str
    quote_currency: str
    rate: Decimal
    rate_text: str
    change_pct: Decimal
    change_text: str

    @property
    def pair(self) -> str:
        return f"{self.currency}/{self.quote_currency}"

    @functools.cached_property  # (quotes are shared between the pages that print them)
    def rate_decimals(self) -> int:
        return decimals_of(self.rate_text)

    @functools.cached_property
    def change_decimals(self) -> int:
        return decimals_of(self.change_text)

    @property
    def change_negative(self) -> bool:
        """True for every printed minus sign, including `-0%` (a fall that rounds to zero)."""
        return self.change_text.startswith("-")

    def as_line(self) -> str:
        return f"{self.pair} = {self.rate_text} {self.change_text}%"


def decimals_of(number_text: str) -> int:
    """Number of printed decimals: the resolution of a printed number."""
    _, _, frac = number_text.partition(".")
    return len(frac)


@dataclass(frozen=True)
class Listing:
    """`Viewing results A - B of N`: page metadata, numbers kept as printed (may be insane)."""

    text: str
    first: int | None
    last: int | None
    total: int | None


@dataclass(frozen=True)
class PageMeta:
    """What the parser noticed about the page besides the quotes."""

    content_type: str  # "text" or "html"
    had_bom: bool = False
    newline: str = "\n"
    listing: Listing | None = None
    title: str | None = None


@dataclass(frozen=True)
class ParsedPage:
    """A snapshot's ticker reading: the parser's whole output."""

    quotes: tuple[Quote, ...]
    header_date: dt.date | None
    ticker_copies: int
    copies_agree: bool
    ticker_lines: tuple[str, ...]
    meta: PageMeta
    warnings: tuple[str, ...] = ()

    @property
    def currencies(self) -> tuple[str, ...]:
        return tuple(q.currency for q in self.quotes)

    def quote(self, currency: str) -> Quote | None:
        return next((q for q in self.quotes if q.currency == currency), None)


@dataclass(frozen=True)
class DateEvidence:
    """Every date a snapshot can be placed at, before one is chosen."""

    header: dt.date | None = None
    captured_at: dt.datetime | None = None  # fetch time or archive timestamp (UTC)
    captured_at_source: str | None = None  # "fetched" or "archive"
    filename: dt.date | None = None
    user: dt.date | None = None


@dataclass(frozen=True)
class CaptureDate:
    """The chosen capture date, where it came from, and any disagreement with other evidence."""

    captured_on: dt.date | None
    date_source: str  # header | fetched | archive | filename | user | none
    disagreement: str | None = None


@dataclass(frozen=True)
class IngestOutcome:
    """What happened to one input of an ingest run."""

    source: str
    status: str  # ingested | present | rejected
    snapshot_id: str | None = None
    reason: str | None = None
    captured_on: dt.date | None = None
    date_source: str | None = None
    warnings: tuple[str, ...] = ()  # kept, but worth a look: odd pairs, dates that disagree


@dataclass(frozen=True)
class IngestSummary:
    """The tally of an ingest run; `outcomes` keeps every input's fate in order."""

    outcomes: tuple[IngestOutcome, ...] = field(default_factory=tuple)
    skipped: tuple[str, ...] = ()  # files under a folder that are not snapshot files

    def _count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def ingested(self) -> int:
        return self._count("ingested")

    @property
    def present(self) -> int:
        return self._count("present")

    @property
    def rejected(self) -> int:
        return self._count("rejected")

    @property
    def rejections(self) -> tuple[IngestOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status == "rejected")

    @property
    def warned(self) -> tuple[IngestOutcome, ...]:
        return tuple(o for o in self.outcomes if o.warnings)

    @property
    def undated(self) -> tuple[IngestOutcome, ...]:
        return tuple(
            o for o in self.outcomes if o.status == "ingested" and o.captured_on is None
        )

    @property
    def ok(self) -> bool:
        return self.rejected == 0
