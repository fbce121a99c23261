"""Ticker entries read from visible text as a stream of tokens, whatever the layout.

An entry is `[•] CCC/CCC = rate change%`, its parts separated by any whitespace (spaces, tabs,
NBSP, line breaks, thin and zero-width spaces, direction marks), so one entry may span lines
or elements and many entries may share a line. Every scan moves forward only, and every pattern is anchored
at a position `str.find` gave (possessive quantifiers, no backtracking into whitespace), so
reading is linear in the text whatever it holds.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple, NoReturn

from .errors import MalformedTickerError

EXAMPLE_LINE = "KGS/USD = 0.01144 0%"
BULLET = "\u2022"
WHITESPACE = (  # (+ the invisible direction marks and isolates a right-to-left editor leaves)
    " \t\n\r\f\v\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u200b\u200c\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff"
    "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_W = "[" + re.escape(WHITESPACE) + "]"
_BOUNDARY = frozenset(WHITESPACE + BULLET)  # what may precede a pair that starts an entry

_PAIR = re.compile(r"[A-Z]{3}/[A-Z]{3}")
_CANDIDATE = re.compile(rf"([A-Z]{{3}})/([A-Z]{{3}}){_W}*+=")  # claims to be an entry
_FIND = re.compile(
    rf"/(?:(?<=[{re.escape(WHITESPACE + BULLET)}][A-Z]{{3}}/)|(?<=\A[A-Z]{{3}}/))[A-Z]{{3}}{_W}*+="
)
_VALUE = re.compile(
    rf"{_W}*+(-?)([0-9]++(?:\.[0-9]++)?+){_W}++([+-]?[0-9]++(?:\.[0-9]++)?+)%"
    rf"(?={_W}|{BULLET}|\Z)"
)
_ENTRY = re.compile(  # candidate, value, and the gap to what follows (7: a bullet in it)
    rf"([A-Z]{{3}})/([A-Z]{{3}}){_W}*+={_W}*+(-?)([0-9]++(?:\.[0-9]++)?+){_W}++"
    rf"([+-]?[0-9]++(?:\.[0-9]++)?+)%()(?={_W}|{BULLET}|\Z){_W}*+(?:({BULLET}){_W}*+)?"
)
_NEXT = re.compile(rf"{_W}*+(?:({BULLET}){_W}*+)?")  # between entries
_TOKEN = re.compile(rf"({_W}*+)([^{re.escape(WHITESPACE)}]++)")
_SHOWN = 40  # characters of a garbled token quoted in a message


class Entry(NamedTuple):
    """One entry as printed, and where it starts in the text (for line numbers)."""

    currency: str
    quote_currency: str
    rate_text: str
    change_text: str
    offset: int
    pair: tuple[str, str]
    value: tuple[str, str]  # (rate text, change text)
    line: str  # as printed, with single spaces: `• KGS/USD = 0.01144 0%`


def _entry(currency: str, quote_currency: str, rate: str, change: str, offset: int,
           bullet: bool) -> Entry:
    line = f"{BULLET + ' ' if bullet else ''}{currency}/{quote_currency} = {rate} {change}%"
    return Entry(currency, quote_currency, rate, change, offset, (currency, quote_currency),
                 (rate, change), line)


def shown(token: str) -> str:
    """A printed token as a message quotes it: whole when short, else its start and length
    (a number of 100,000 digits must not become a 100 KB line of stderr and of the store)."""
    return token if len(token) <= _SHOWN else f"{token[:_SHOWN]}… ({len(token):,} characters)"


def line_no(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def find_candidate(text: str, start: int) -> int:
    """Offset of the first pair at or after `start` that claims to be an entry, or -1.

    A candidate is `CCC/CCC` at the start of a token (after whitespace, a bullet or the
    text's start) followed by `=`. Prose pairs (`the KGS/USD rate`) are not candidates.
    One regex search whose pattern starts with the literal `/` (so the engine skips prose
    at memory speed), the pair's start checked by a fixed-width look-behind.
    """
    m = _FIND.search(text, start + 3)
    return -1 if m is None else m.start() - 3


def read_entries(text: str, start: int, source: str) -> tuple[list[Entry], int]:
    """The run of entries starting at candidate `start`, separated by whitespace and bullets
    only, and the offset just after the last one. A candidate whose value is not
    `rate change%` is an error naming it, never skipped.

    One regex match per entry of the first copy of the group; every later copy that repeats
    it character for character (as the marquee's copies do) is taken whole with one
    `str.startswith`, yielding exactly the entries reading it would.
    """
    entries: list[Entry] = []
    pos, n = start, len(text)
    bullet = _bullet_before(text, start)
    seen: set[tuple[str, str]] = set()
    unique = True  # no pair twice so far: the first copy may be repeated whole
    end = -1  # the end of the last entry read
    while True:
        m = _ENTRY.match(text, pos)
        if m is None or m.group(3):
            if end == -1 or m is not None or _CANDIDATE.match(text, pos):
                _raise_for(text, pos, source)
            return entries, end  # what follows the last entry is not a candidate
        currency, quote_currency, _, rate, change, _, mark = m.groups()
        pair = (currency, quote_currency)
        entries.append(_entry(currency, quote_currency, rate, change, pos, bullet))
        unique = unique and pair not in seen
        seen.add(pair)
        end, nxt, bullet = m.end(6), m.end(), mark is not None
        if unique and len(entries) > 1 and text.startswith(_pair_text(entries[0]), nxt):
            unique = False  # (one attempt: copies that differ are read entry by entry)
            copy = entries[:]
            core = text[copy[0].offset : end]
            unit = core + text[end:nxt]  # a copy and the gap after it, as the first one
            if bullet != copy[0].line.startswith(BULLET):
                copy[0] = _entry(*copy[0][:5], bullet)
            while text.startswith(unit, nxt) and text.startswith(core, nxt + len(unit)):
                entries += copy  # (followed by another copy: no need to look at the gap)
                end = nxt + len(core)
                nxt += len(unit)
            while text.startswith(core, nxt):
                after = nxt + len(core)
                if after < n and text[after] not in _BOUNDARY:
                    break  # its last entry runs on: read it entry by entry to say so
                if bullet != copy[0].line.startswith(BULLET):
                    copy[0] = _entry(*copy[0][:5], bullet)
                entries += copy
                gap = _NEXT.match(text, after)
                assert gap is not None  # (it matches the empty string)
                end, nxt, bullet = after, gap.end(), gap.group(1) is not None
        pos = nxt


def _pair_text(entry: Entry) -> str:
    return f"{entry.currency}/{entry.quote_currency}"


def _raise_for(text: str, pos: int, source: str) -> NoReturn:
    """The error for the candidate at `pos` whose value is not a well-formed entry."""
    cand = _CANDIDATE.match(text, pos)
    assert cand is not None
    value = _VALUE.match(text, cand.end())
    if value is not None and value.group(1):
        raise MalformedTickerError(
            f"ticker line {line_no(text, pos)}: rate -{shown(value.group(2))} for {cand.group(1)} "
            "is negative; a rate must be above zero",
            source,
        )
    raise _garbled(text, pos, cand, source)


def count_entries(text: str, start: int) -> int:
    """How many candidates there are from `start` on (one regex pass): the entries a warning
    says were ignored, also when something other than whitespace separates them."""
    return sum(1 for _ in _FIND.finditer(text, start + 3))


def _bullet_before(text: str, pos: int) -> bool:
    """Whether a bullet precedes the first entry (a few characters back, at most)."""
    back = text[max(0, pos - 8) : pos].rstrip(WHITESPACE)
    return back.endswith(BULLET)


def _garbled(text: str, pos: int, cand: re.Match[str], source: str) -> MalformedTickerError:
    """The error for a candidate whose value is not `rate change%`, quoting what it says:
    the tokens after `=` on the same line (six at most), up to anything that starts an entry."""
    quoted = [f"{cand.group(1)}/{cand.group(2)} ="]
    at = cand.end()
    for _ in range(6):
        token = _TOKEN.match(text, at)
        if token is None or "\n" in token.group(1):
            break
        word = token.group(2)
        if word.startswith(BULLET) or _PAIR.match(word):
            break
        quoted.append(word if len(word) <= _SHOWN else word[:_SHOWN] + "…")
        at = token.end()
    return MalformedTickerError(
        f"ticker line {line_no(text, pos)} '{' '.join(quoted)}' is garbled or truncated "
        f"(expected '<pair> = <rate> <change>%' like '{EXAMPLE_LINE}'){_odd(text, cand.end(), at)}",
        source,
    )


_NOT_ASCII = re.compile(r"[^\x00-\x7f]")
_INVISIBLE_IN_NUMBER = re.compile(r"(?<=[0-9])[\u200b-\u200f\u2060\ufeff](?=[0-9])")


def _odd(text: str, start: int, end: int) -> str:
    """What makes a quoted value look right but read wrong: a character that looks like an
    ASCII one (a minus sign U+2212, full-width digits) or an invisible one inside a number."""
    part = text[start:end]
    odd, where = _INVISIBLE_IN_NUMBER.search(part), "inside a number"
    if odd is None:
        tokens = "".join(c for c in part if c not in WHITESPACE)
        odd, where = _NOT_ASCII.search(tokens), "not an ASCII digit, point, sign or '%'"
    if odd is None:
        return ""
    char = odd[0]
    shown = "" if unicodedata.category(char) == "Cf" else f"'{char}' "  # (invisible: its name)
    return f"; it holds {shown}U+{ord(char):04X} {unicodedata.name(char, '')}".rstrip() + \
        f", {where}"
