"""The ticker's repeating copies: the group of pairs, how many copies, whether they agree.

The marquee repeats one group of pairs; every copy is compared and disagreement is
reported, not hidden. A pair twice inside one copy, or a pair missing from one, is an error
that names the entries; a last copy cut short is a warning.
"""

from __future__ import annotations

import functools
from decimal import Decimal, InvalidOperation
from itertools import islice
from operator import attrgetter

from .errors import MalformedTickerError
from .models import Quote
from .ticker import Entry, line_no, shown

MAX_RATE_DECIMALS = 10
MAX_RATE_INTEGER_DIGITS = 8
MAX_CHANGE_DECIMALS = 6
MAX_CHANGE_INTEGER_DIGITS = 6
_PAIR, _VALUE = attrgetter("pair"), attrgetter("value")


def read_copies(
    text: str, entries: list[Entry], source: str
) -> tuple[list[Quote], int, bool, list[str]]:
    """Quotes (one per pair of the group), number of copies, whether they agree, warnings."""
    pairs = list(map(_PAIR, entries))
    seen: set[tuple[str, str]] = set()
    period = len(pairs)
    for i, pair in enumerate(pairs):
        if pair in seen:
            period = i
            break
        seen.add(pair)
    pattern = pairs[:period]
    copies, rest = divmod(len(pairs), period)
    if pairs != pattern * copies + pattern[:rest]:  # (list operations: no step per entry)
        _raise_if_repeated_in_copy(text, entries, pairs, period, source)
        i = next(i for i, pair in enumerate(pairs) if pair != pattern[i % period])
        raise MalformedTickerError(
            f"ticker line {line_no(text, entries[i].offset)} is {'/'.join(pairs[i])} where "
            f"the repeating group ({', '.join(c for c, _ in pattern)}) expects "
            f"{'/'.join(pattern[i % period])}: "
            "a pair repeated or missing inside one copy of the ticker",
            source,
        )
    warnings: list[str] = []
    if rest:
        warnings.append(f"the last copy of the ticker is incomplete ({rest} of {period} pairs)")
        copies += 1

    values: list[tuple[str, str]] = list(map(_VALUE, entries))
    agree = values == values[:period] * (len(values) // period) + values[: len(values) % period]
    quotes: list[Quote] = []
    for j, (currency, quote_currency) in enumerate(pattern):
        if agree:
            quotes.append(quote(currency, quote_currency, *values[j], source))
            continue
        where: dict[tuple[str, str], list[int]] = {}  # value -> the copies printing it
        for k, value in enumerate(values[j::period]):
            where.setdefault(value, []).append(k + 1)
        rate_text, change_text = max(where, key=lambda v: (len(where[v]), -where[v][0]))
        if len(where) > 1:
            tie = sum(1 for n in where.values() if len(n) == len(where[rate_text, change_text])) > 1
            why = "the earliest copy: no value is in most copies" if tie else "most copies"
            warnings.append(
                f"copies disagree on {currency}/{quote_currency}: {_variants(where)}; "
                f"kept {shown(rate_text)} {shown(change_text)}% ({why})"
            )
        quotes.append(quote(currency, quote_currency, rate_text, change_text, source))
    return quotes, copies, agree, warnings


_VALUES, _COPIES = 5, 10  # what a warning lists at most (10,000 copies: still one short line)


def _variants(where: dict[tuple[str, str], list[int]]) -> str:
    """`0.01144 0% in copies 1, 3; 0.01145 0% in copies 2`: the first `_VALUES` values, the
    first `_COPIES` copies of each."""
    def copies(numbers: list[int]) -> str:
        listed = ", ".join(map(str, numbers[:_COPIES]))
        return listed + (f", … ({len(numbers):,} copies)" if len(numbers) > _COPIES else "")

    text = "; ".join(f"{shown(r)} {shown(c)}% in copies {copies(n)}"
                     for (r, c), n in islice(where.items(), _VALUES))
    more = len(where) - _VALUES
    return text + (f"; and {more:,} other value{'s' if more > 1 else ''}" if more > 0 else "")


def _raise_if_repeated_in_copy(
    text: str, entries: list[Entry], pairs: list[tuple[str, str]], period: int, source: str
) -> None:
    """Name a pair printed twice inside one copy, rather than a confusing repeating group.

    The group is cut at the first repeated pair. When the entries after the repeat do not
    start the group over (`KGS KZT KZT TJS`, or `KGS KGS TJS`), the repeat is inside one copy.
    """
    if period >= len(pairs):
        return
    restarts = pairs[period] == pairs[0] and (
        period + 1 >= len(pairs) or pairs[period + 1] == pairs[1 % period]
    )
    if restarts and period > 1:
        return
    first = pairs.index(pairs[period])
    a, b = entries[first], entries[period]
    values = (
        "the same value" if (a.rate_text, a.change_text) == (b.rate_text, b.change_text)
        else f"different values ({a.rate_text} {a.change_text}% and "
        f"{b.rate_text} {b.change_text}%)"
    )
    raise MalformedTickerError(
        f"{'/'.join(pairs[period])} appears twice in one copy of the ticker (lines "
        f"{line_no(text, a.offset)} and {line_no(text, b.offset)}) with {values}; "
        "a copy lists each pair once",
        source,
    )


def quote(currency: str, quote_currency: str, rate_text: str, change_text: str, source: str) -> Quote:
    """The entry as a `Quote`, or the parser's error about its numbers."""
    result = _checked_quote(currency, quote_currency, rate_text, change_text)
    if isinstance(result, str):
        raise MalformedTickerError(result, source)
    return result


@functools.lru_cache(maxsize=4096)
def _checked_quote(currency: str, quote_currency: str, rate_text: str, change_text: str) -> Quote | str:
    """The `Quote`, or what is wrong with its numbers. Pages of one day print the same
    entries, so each is checked and built once (a `Quote` is frozen: safe to share)."""
    try:
        rate = _rate(rate_text, currency)
        change = _change(change_text, currency)
    except _NumberError as exc:
        return str(exc)
    return Quote(currency, quote_currency, rate, rate_text, change, change_text)


class _NumberError(ValueError):
    """A printed number the tracker cannot store (becomes a `MalformedTickerError`)."""


def _rate(text: str, currency: str) -> Decimal:
    whole, _, frac = text.partition(".")
    value = Decimal(text)
    if value <= 0:
        raise _NumberError(
            f"rate {shown(text)} for {currency} is not positive; a rate must be above zero")
    if len(frac) > MAX_RATE_DECIMALS or len(whole.lstrip("0")) > MAX_RATE_INTEGER_DIGITS:
        raise _NumberError(
            f"rate {shown(text)} for {currency} has more digits than the tracker stores "
            f"({MAX_RATE_INTEGER_DIGITS} before and {MAX_RATE_DECIMALS} after the point)"
        )
    return value


def _change(text: str, currency: str) -> Decimal:
    whole, _, frac = text.lstrip("+-").partition(".")
    if len(frac) > MAX_CHANGE_DECIMALS or len(whole.lstrip("0")) > MAX_CHANGE_INTEGER_DIGITS:
        raise _NumberError(
            f"change {shown(text)}% for {currency} has more digits than the tracker stores")
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex admits only plain decimals
        raise _NumberError(f"change {shown(text)}% for {currency} is not a number") from None
    return value.copy_abs() if value.is_zero() else value  # -0 is kept in the text only


