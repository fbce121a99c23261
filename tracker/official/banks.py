"""One adapter per central bank: its documented endpoint and the shape of its answer.

Pure: an adapter builds request URLs from a base (configurable, so tests can point at a
loopback server answering on the same paths) and turns an answer's bytes into `OfficialRate`
records or raises an `OfficialRateError` saying why not. Fetching and storing live elsewhere.
The endpoints and their traps are listed in docs/official.md.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import TypeVar
from urllib.parse import urlsplit

from ..errors import BankResponseError, ErrorPageError, FetchError, MissingRateError, UsageError
from .documents import MAX_BYTES, child_text, json_value, looks_like_html, page_title, xml_root
from .records import OfficialRate, check_date, document_date, per_usd, published_number


@dataclass(frozen=True)
class Request:
    """One document to ask a bank for, and the dates its answer may state."""

    bank: str
    url: str
    start: dt.date  # for by-date endpoints start == end == the date asked for
    end: dt.date


class Bank:
    """An adapter: `name` (interface: `--bank-url NAME=URL`), the bank, its currency."""

    name: str
    source: str
    title: str
    currency: str
    default_base: str

    def requests(self, start: dt.date, end: dt.date, *, today: dt.date,
                 base: str | None = None) -> list[Request]:
        """One request per day in [start, min(end, today)]: banks publish by date."""
        root = bank_base(self.name, base)
        last = min(end, today)
        days = [start + dt.timedelta(days=i) for i in range((last - start).days + 1)]
        return [Request(self.name, root + self.path(d), d, d) for d in days]

    def path(self, day: dt.date) -> str:
        raise NotImplementedError

    def parse(self, body: bytes, request: Request) -> list[OfficialRate]:
        raise NotImplementedError

    def _rate(self, day: dt.date, value: Decimal, nominal: Decimal, url: str) -> OfficialRate:
        return OfficialRate(self.currency, day, per_usd(value, nominal, "the USD rate", url),
                            self.source, url)


class NBK(Bank):
    """National Bank of Kazakhstan: RSS-like XML per date, `<quant>` units per rate."""

    name, source, currency = "nbk", "NBK", "KZT"
    title = "National Bank of Kazakhstan"
    default_base = "https://nationalbank.kz"

    def path(self, day: dt.date) -> str:
        return f"/rss/get_rates.cfm?fdate={day:%d.%m.%Y}"

    def parse(self, body: bytes, request: Request) -> list[OfficialRate]:
        url = request.url
        root = xml_root(body, url, "rates")
        stated = document_date(child_text(root, "date"), "<date>", url)
        check_date(stated, request.start, url)
        items = [i for i in root.findall("item") if (child_text(i, "title") or "").strip() == "USD"]
        item = _only(items, "an <item> with <title>USD</title>", url)
        value = published_number(child_text(item, "description"), "USD <description>", url,
                                 comma=False)
        quant = published_number(child_text(item, "quant"), "USD <quant>", url, comma=False)
        return [self._rate(stated, value, quant, url)]


class NBKR(Bank):
    """National Bank of the Kyrgyz Republic: daily.xml (today's, windows-1251, comma decimals,
    per `Nominal`, `Date` possibly the next business day) and the archive page for history."""

    name, source, currency = "nbkr", "NBKR", "KGS"
    title = "National Bank of the Kyrgyz Republic"
    default_base = "https://www.nbkr.kg"
    USD_ID = 15  # the archive's valuta_id of the US dollar
    DAILY = "/XML/daily.xml"
    # The archive page marks each row's cells with comments: <!--date-->…<!--date-->.
    _CELL = re.compile(rb"<!--(date|value)-->([^<]{0,40})<!--\1-->")
    _END = re.compile(rb"</table\s*>", re.I)  # a page cut between two rows must not pass

    def requests(self, start: dt.date, end: dt.date, *, today: dt.date,
                 base: str | None = None) -> list[Request]:
        """The archive for days before today, daily.xml (today's document) for today."""
        root = bank_base(self.name, base)
        out = []
        if start < today:
            last = min(end, today - dt.timedelta(days=1))
            out.append(Request(self.name, root + self.archive_path(start, last), start, last))
        if start <= today <= end:
            out.append(Request(self.name, root + self.DAILY, today, today))
        return out

    def archive_path(self, start: dt.date, end: dt.date) -> str:
        return (f"/index1.jsp?item=1562&lang=RUS&valuta_id={self.USD_ID}"
                f"&beg_day={start:%d}&beg_month={start:%m}&beg_year={start:%Y}"
                f"&end_day={end:%d}&end_month={end:%m}&end_year={end:%Y}")

    def parse(self, body: bytes, request: Request) -> list[OfficialRate]:
        if urlsplit(request.url).path.endswith(self.DAILY):
            return self.parse_daily(body, request)
        return self.parse_archive(body, request)

    def parse_daily(self, body: bytes, request: Request) -> list[OfficialRate]:
        url = request.url
        root = xml_root(body, url, "CurrencyRates")
        stated = document_date(root.get("Date"), "CurrencyRates Date", url)
        check_date(stated, request.start, url, before=7, after=4,
                   why="daily.xml states today's or the next business day's date")
        found = [c for c in root.findall("Currency") if c.get("ISOCode") == "USD"]
        item = _only(found, 'a <Currency ISOCode="USD">', url)
        value = published_number(child_text(item, "Value"), "USD <Value>", url, comma=True)
        nominal = published_number(child_text(item, "Nominal"), "USD <Nominal>", url, comma=True)
        return [self._rate(stated, value, nominal, url)]

    def parse_archive(self, body: bytes, request: Request) -> list[OfficialRate]:
        """Rows (date, value per 1 USD) of the archive page; none is a range without rates."""
        url = request.url
        if not body.strip() or len(body) > MAX_BYTES:
            raise BankResponseError(f"archive page of {len(body)} bytes: empty or too large", url)
        found = list(self._CELL.finditer(body))
        cells = [(m.group(1), m.group(2).strip()) for m in found]
        if not cells:
            if b"1562" in body and looks_like_html(body):
                return []
            title = page_title(body)
            raise ErrorPageError("not the NBKR archive page (no rate rows, no archive form"
                                 + (f"; titled {title!r}" if title else "")
                                 + "): an error page or a changed layout", url)
        kinds = [k for k, _ in cells]
        if kinds != [b"date", b"value"] * (len(cells) // 2):
            raise BankResponseError("archive rows are not date/value pairs", url)
        if not self._END.search(body, found[-1].end()):
            raise BankResponseError("archive page ends before its table does (cut short in "
                                    "transfer?); its rows are not used", url)
        rates = []
        for i in range(0, len(cells), 2):
            text = cells[i][1].decode("ascii", "replace")
            day = document_date(text, "archive row date", url)
            check_date(day, request.start, url, after=(request.end - request.start).days,
                       why=f"outside the range asked, up to {request.end.isoformat()}")
            value = published_number(cells[i + 1][1].decode("ascii", "replace"),
                                     f"USD rate of {text}", url, comma=True)
            rates.append(self._rate(day, value, Decimal(1), url))
        return rates


class CBU(Bank):
    """Central Bank of Uzbekistan: a JSON list per date, numbers as strings, per `Nominal`."""

    name, source, currency = "cbu", "CBU", "UZS"
    title = "Central Bank of Uzbekistan"
    default_base = "https://cbu.uz"

    def path(self, day: dt.date) -> str:
        return f"/en/arkhiv-kursov-valyut/json/USD/{day:%Y-%m-%d}/"

    def parse(self, body: bytes, request: Request) -> list[OfficialRate]:
        url = request.url
        data = json_value(body, url)
        if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
            raise BankResponseError("JSON is not a list of rate objects", url)
        item = _only([x for x in data if x.get("Ccy") == "USD"], 'an object with "Ccy": "USD"',
                     url)
        stated = document_date(item.get("Date"), '"Date"', url)
        check_date(stated, request.start, url, before=7,
                   why="the rate in effect is the last one set on or before the day asked")
        value = published_number(item.get("Rate"), 'USD "Rate"', url, comma=False)
        nominal = published_number(item.get("Nominal"), 'USD "Nominal"', url, comma=False)
        return [self._rate(stated, value, nominal, url)]


class NBT(Bank):
    """National Bank of Tajikistan: XML per date; a date out of range silently returns today's
    rates, so the `Date` the document states must be the one asked. `CharCode`, not `ID`."""

    name, source, currency = "nbt", "NBT", "TJS"
    title = "National Bank of Tajikistan"
    default_base = "https://nbt.tj"

    def path(self, day: dt.date) -> str:
        return f"/en/kurs/export_xml.php?date={day:%Y-%m-%d}&export=xmlout"

    def parse(self, body: bytes, request: Request) -> list[OfficialRate]:
        url = request.url
        root = xml_root(body, url, "ValCurs")
        stated = document_date(root.get("Date"), "ValCurs Date", url)
        check_date(stated, request.start, url,
                   why="NBT answers today's rates for dates out of its range")
        found = [v for v in root.findall("Valute")
                 if (child_text(v, "CharCode") or "").strip() == "USD"]
        item = _only(found, "a <Valute> with <CharCode>USD</CharCode>", url)
        value = published_number(child_text(item, "Value"), "USD <Value>", url, comma=False)
        nominal = published_number(child_text(item, "Nominal"), "USD <Nominal>", url, comma=False)
        return [self._rate(stated, value, nominal, url)]


@dataclass(frozen=True)
class Peg:
    """A fixed official rate, stated as data with where it comes from (never fetched)."""

    currency: str
    per_usd: Decimal
    since: dt.date
    source: str
    url: str

    def rates(self, start: dt.date, end: dt.date) -> list[OfficialRate]:
        """One record per day in [max(start, since), end]: the peg is in force every day."""
        first = max(start, self.since)
        return [OfficialRate(self.currency, first + dt.timedelta(days=i), self.per_usd,
                             self.source, self.url) for i in range((end - first).days + 1)]


# The Central Bank of Turkmenistan has fixed the manat at 3.50 per USD since 1 Jan 2015.
TMT_PEG = Peg("TMT", Decimal("3.5"), dt.date(2015, 1, 1), "CBT", "https://www.cbt.tm/")

BANKS: Mapping[str, Bank] = MappingProxyType({b.name: b for b in (NBK(), NBKR(), CBU(), NBT())})
BANK_OF_CURRENCY: Mapping[str, Bank] = MappingProxyType({b.currency: b for b in BANKS.values()})


def bank_base(name: str, base: str | None = None) -> str:
    """The base URL for bank `name` (its own site by default), without a trailing slash."""
    if name not in BANKS:
        raise UsageError(f"unknown bank {name!r}; use one of {', '.join(BANKS)}")
    if base is None:
        return BANKS[name].default_base
    from ..http import check_url  # not at import: the adapters are pure

    parts = urlsplit(base.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or \
            parts.fragment:
        raise UsageError(f"bank URL {base!r} for {name} must be http(s)://host[:port][/path] "
                         "without query, e.g. http://127.0.0.1:8080")
    try:
        check_url(base)
    except FetchError as exc:
        raise UsageError(f"bank URL {base!r} for {name} {exc.reason}") from None
    return base.strip().rstrip("/")


def parse_bank_url(option: str) -> tuple[str, str]:
    """`NAME=URL` (the `--bank-url` option) → (name, base)."""
    name, sep, base = option.partition("=")
    if not sep:
        raise UsageError(f"--bank-url {option!r} must be NAME=URL, e.g. nbk=http://127.0.0.1:8080")
    name = name.strip().lower()
    return name, bank_base(name, base)


_Item = TypeVar("_Item")


def _only(items: list[_Item], what: str, url: str) -> _Item:
    if not items:
        raise MissingRateError(f"the document lists no USD rate (looked for {what})", url)
    if len(items) > 1:
        raise BankResponseError(f"the document lists {len(items)} USD rates ({what}); which "
                                "one is official is unclear", url)
    return items[0]
