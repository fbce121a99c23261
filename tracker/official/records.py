"""The official-rate record and the exact reading of the numbers and dates banks print."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Context, Decimal, Inexact, InvalidOperation

from ..errors import InvalidRateError, WrongDateError

# A published rate or nominal: digits, one decimal separator, at most 10 decimals. Anything
# else (exponents, signs, grouping, NaN) is refused rather than guessed at.
_NUMBER = re.compile(r"(\d{1,15})(?:[.,](\d{1,10}))?")
_DMY = re.compile(r"(\d{2})\.(\d{2})\.(\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
# Wide enough that dividing a 25-digit rate by any nominal is exact when it can be at all.
_EXACT = Context(prec=60, traps=[Inexact, InvalidOperation])


@dataclass(frozen=True)
class OfficialRate:
    """Units of `currency` per 1 USD, as the bank published it for `rate_date`.

    `rate_date` is the date the bank's document states the rate applies to (not the date we
    asked for); `per_usd` is the published value divided by the published nominal, exactly;
    `source` names the bank (`NBK`, `NBKR`, `CBU`, `NBT`, `CBT`), `url` the document.
    """

    currency: str
    rate_date: dt.date
    per_usd: Decimal
    source: str
    url: str


def published_number(text: object, what: str, url: str, *, comma: bool) -> Decimal:
    """A number exactly as printed (`87,4500` with `comma`, else `478.77`); no rounding ever."""
    raw = text.strip() if isinstance(text, str) else text
    if isinstance(raw, Decimal | int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        raise InvalidRateError(f"{what} is {_show(text)}, not a number", url)
    match = _NUMBER.fullmatch(raw)
    separator = raw[len(match.group(1))] if match and match.group(2) else None
    if match is None or separator == ("." if comma else ","):
        sign = "a negative number" if raw.startswith("-") else _show(raw)
        form = "87,4500" if comma else "478.77"
        raise InvalidRateError(f"{what} is {sign}; the bank prints it like {form}", url)
    value = Decimal(f"{match.group(1)}.{match.group(2)}" if match.group(2) else match.group(1))
    return value


def per_usd(value: Decimal, nominal: Decimal, what: str, url: str) -> Decimal:
    """`value` per `nominal` USD → per 1 USD, exactly (a nominal of 100 moves the point)."""
    if value == 0:
        raise InvalidRateError(f"{what} is zero: not a rate", url)
    if nominal == 0 or nominal != nominal.to_integral_value():
        raise InvalidRateError(f"nominal of {what} is {nominal}, not a whole number ≥ 1", url)
    try:
        exact = _EXACT.divide(value, nominal)
    except (Inexact, InvalidOperation):
        raise InvalidRateError(
            f"{what} {value} per {nominal} USD has no exact decimal value per 1 USD", url
        ) from None
    digits = str(int(nominal))
    if digits.rstrip("0") == "1":  # 10^k: keep the document's precision (8745.00/100 = 87.4500)
        exponent = value.as_tuple().exponent
        assert isinstance(exponent, int)  # finite: `published_number` reads digits only
        places = exponent - (len(digits) - 1)
        return _EXACT.quantize(exact, Decimal(1).scaleb(places))
    return exact


def document_date(text: object, what: str, url: str) -> dt.date:
    """`DD.MM.YYYY` as the banks print it (or `YYYY-MM-DD`, which one NBT client reads and
    which cannot be confused with it); a day that does not exist is an error."""
    raw = text.strip() if isinstance(text, str) else ""
    dmy, iso = _DMY.fullmatch(raw), _ISO.fullmatch(raw)
    found = dmy or iso
    if found is None:
        raise WrongDateError(f"{what} is {_show(text)}, not a date like 10.12.2025", url)
    day, month, year = (int(g) for g in found.groups()) if dmy else (
        int(g) for g in reversed(found.groups()))
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise WrongDateError(f"{what} {raw} is not a day of the calendar", url) from None


def check_date(stated: dt.date, asked: dt.date, url: str, *, before: int = 0,
               after: int = 0, why: str = "") -> None:
    """The document's date must lie in [asked − before, asked + after] days."""
    if asked - dt.timedelta(days=before) <= stated <= asked + dt.timedelta(days=after):
        return
    raise WrongDateError(
        f"asked for {asked.isoformat()}, the document states {stated.isoformat()}"
        + (f" ({why})" if why else "") + "; its rates are not used", url)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
