"""Lift the currency ticker and the header date out of one page snapshot.

Pure: bytes or text in, a `ParsedPage` out, or a `ParseError` saying why not.
No file or network I/O happens here; `source` is only used in messages.

Bytes are decoded (`encoding`), HTML is reduced to its visible text (`htmltext`), and the
text is read as a stream of tokens (`ticker`): the ticker is the first run of entries shaped
like `• KGS/USD = 0.01144 0%`, in any layout; the group of pairs repeats to fill the marquee
and every copy is compared (`copies`). The header date is the date right after the ticker.
Every step is linear in the input's size.
"""

from __future__ import annotations

import datetime as dt
import operator
import re

from .copies import read_copies
from .encoding import decode
from .errors import InvalidDateError, NoTickerError
from .htmltext import html_to_text, looks_like_html
from .models import (
    EXPECTED_CURRENCIES,
    QUOTE_CURRENCY,
    Listing,
    PageMeta,
    ParsedPage,
)
from .ticker import EXAMPLE_LINE, WHITESPACE, count_entries, find_candidate, line_no, read_entries

PARSER_VERSION = "2"  # 2: any layout, any charset, HTML5 parser, WARC and MHTML

MONTHS = {
    name: i
    for i, name in enumerate(
        (
            "january february march april may june july august september october "
            "november december"
        ).split(),
        start=1,
    )
}

_LINE = operator.attrgetter("line")
_W = "[" + re.escape(WHITESPACE) + "]"
_DATE = rf"([0-9]{{1,2}}){_W}++([A-Za-z]++){_W}++([0-9]{{4}})(?![0-9A-Za-z])"
_DATE_AFTER = re.compile(rf"{_W}*+{_DATE}")
_ANY_DATE = re.compile(_DATE)
_LISTING = re.compile(r"[ \t\u00a0]*(Viewing results\b[^\n]*)$", re.MULTILINE)
_LISTING_NUMBERS = re.compile(
    r"Viewing results\s+([0-9]+)?\s*(?:-\s*([0-9]+))?\s*(?:of\s*([0-9]+))?"
)


def parse(
    data: bytes | str,
    *,
    source: str = "<input>",
    content_type: str = "auto",
    charset: str | None = None,
) -> ParsedPage:
    """Parse one snapshot (text or HTML, bytes or str).

    `content_type` is "html", "text" or "auto" (judged by the content); `charset` is what a
    container declares for the bytes (a WARC record's or MHTML part's Content-Type).

    >>> page = parse("• KGS/USD = 0.01144 0%  • KZT/USD = 0.00193 -0% 10 December 2025")
    >>> page.header_date, page.quotes[1].change_text
    (datetime.date(2025, 12, 10), '-0')
    """
    had_bom = False
    if isinstance(data, bytes | bytearray | memoryview):
        text, had_bom = decode(bytes(data), source=source, charset=charset)
    else:
        text = data
        if text.startswith("\ufeff"):
            text, had_bom = text[1:], True
    newline = "\n"
    if "\r" in text:  # (a two-character search over the page costs more than this test)
        newline = "\r\n" if "\r\n" in text else "\r"
        text = text.replace("\r\n", "\n").replace("\r", "\n")

    title = None
    if content_type == "html" or (content_type == "auto" and looks_like_html(text)):
        content_type = "html"
        text, title = html_to_text(text, source)
    else:
        content_type = "text"

    start = find_candidate(text, 0)
    if start == -1:
        raise NoTickerError(f"no ticker found{_date_hint(text)} (expected lines like "
                            f"'{EXAMPLE_LINE}')", source)
    entries, end = read_entries(text, start, source)
    quotes, copies, agree, warnings = read_copies(text, entries, source)

    header_date, pos = _header_date(text, end, source)
    listing = _listing(text, pos)
    if listing is not None and not _listing_is_sane(listing):
        warnings.append(f"page metadata '{listing.text}' has implausible numbers")
    unexpected = [q.pair for q in quotes if q.currency not in EXPECTED_CURRENCIES
                  or q.quote_currency != QUOTE_CURRENCY]
    if unexpected:
        warnings.append(f"unexpected pair(s) {', '.join(unexpected)} kept as printed")
    later = find_candidate(text, pos)
    if later != -1:
        warnings.append(
            f"ignored {count_entries(text, later)} ticker-like line(s) further down the page "
            f"(line {line_no(text, later)}); only the ticker at the top counts"
        )

    return ParsedPage(
        quotes=tuple(quotes),
        header_date=header_date,
        ticker_copies=copies,
        copies_agree=agree,
        ticker_lines=tuple(map(_LINE, entries)),
        meta=PageMeta(
            content_type=content_type,
            had_bom=had_bom,
            newline=newline,
            listing=listing,
            title=title,
        ),
        warnings=tuple(warnings),
    )


def _header_date(text: str, pos: int, source: str) -> tuple[dt.date | None, int]:
    """The date right after the ticker (`DD Month YYYY`), on the next line or the same one."""
    m = _DATE_AFTER.match(text, pos)
    if m is None or m.group(2).lower() not in MONTHS:
        return None, pos
    day = _date_or_none(m)
    if day is None:
        raise InvalidDateError(
            f"header date '{' '.join(m.group(1, 2, 3))}' is not a real day; "
            "correct the date line or remove it and give --captured-on",
            source,
        )
    return day, m.end()


def _date_hint(text: str) -> str:
    """` (there is a date line '…' but no ticker)` for a page with a real date, else ''."""
    for m in _ANY_DATE.finditer(text):
        if (m.start() == 0 or text[m.start() - 1] in WHITESPACE) and _date_or_none(m):
            return f" (there is a date line '{' '.join(m.group(1, 2, 3))}' but no ticker)"
    return ""


def _date_or_none(m: re.Match[str]) -> dt.date | None:
    month = MONTHS.get(m.group(2).lower())
    if month is None:
        return None
    try:
        return dt.date(int(m.group(3)), month, int(m.group(1)))
    except ValueError:
        return None


def _listing(text: str, pos: int) -> Listing | None:
    """`Viewing results ...` among the first lines after the header."""
    window = text[pos : pos + 400]
    m = _LISTING.search(window) if "Viewing results" in window else None  # (a cheap pre-check)
    if m is None:
        return None
    line = m.group(1).strip()
    nums = _LISTING_NUMBERS.match(line)
    first, last, total = (int(g) if g else None for g in nums.groups()) if nums else (None,) * 3
    return Listing(text=line, first=first, last=last, total=total)


def _listing_is_sane(listing: Listing) -> bool:
    first, last, total = listing.first, listing.last, listing.total
    if first is None or last is None or total is None:
        return False
    return 1 <= first <= last <= total

