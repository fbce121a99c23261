"""Ticker entries read from visible text as a stream of tokens, whatever the layout.

An entry is `[•] CCC/CCC = rate change%`, its parts separated by any whitespace (spaces, tabs,
NBSP, line breaks, thin and zero-width spaces), so one entry may span lines or elements and
many entries may share a line. Every scan moves forward only, and every pattern is anchored
at a position `str.find` gave (possessive quantifiers, no backtracking into whitespace), so
reading is linear in the text whatever it holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import MalformedTickerError

EXAMPLE_LINE = "KGS/USD = 0.01144 0%"
BULLET = "\u2022"
WHITESPACE = (
    " \t\n\r\f\v\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u200b\u200c\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff"
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
_NEXT = re.compile(rf"{_W}*+(?:({BULLET}){_W}*+)?")  # between entries
_TOKEN = re.compile(rf"({_W}*+)([^{re.escape(WHITESPACE)}]++)")
_SHOWN = 40  # characters of a garbled token quoted in a message


@dataclass(frozen=True)
class Entry:
    """One entry as printed, and where it starts in the text (for line numbers)."""

    currency: str
    quote_currency: str
    rate_text: str
    change_text: str
    offset: int
    bullet: bool

    @property
    def pair(self) -> tuple[str, str]:
        return self.currency, self.quote_currency

    @property
    def line(self) -> str:
        bullet = f"{BULLET} " if self.bullet else ""
        return f"{bullet}{self.currency}/{self.quote_currency} = {self.rate_text} {self.change_text}%"


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
    `rate change%` is an error naming it, never skipped."""
    entries: list[Entry] = []
    pos = start
    bullet = _bullet_before(text, start)
    n = len(text)
    while True:
        cand = _CANDIDATE.match(text, pos)
        assert cand is not None
        value = _VALUE.match(text, cand.end())
        if value is None:
            raise _garbled(text, pos, cand, source)
        if value.group(1):
            raise MalformedTickerError(
                f"ticker line {line_no(text, pos)}: rate -{value.group(2)} for {cand.group(1)} "
                "is negative; a rate must be above zero",
                source,
            )
        entries.append(Entry(cand.group(1), cand.group(2), value.group(2), value.group(3),
                             pos, bullet))
        end = value.end()
        gap = _NEXT.match(text, end)
        nxt = gap.end()
        if nxt >= n or not _PAIR.match(text, nxt) or not _CANDIDATE.match(text, nxt):
            return entries, end
        pos, bullet = nxt, gap.group(1) is not None


def count_entries(text: str, start: int) -> int:
    """How many candidates follow each other from `start` (garbled ones end the run)."""
    count, pos, n = 0, start, len(text)
    while True:
        cand = _CANDIDATE.match(text, pos)
        count += 1
        value = _VALUE.match(text, cand.end()) if cand else None
        if value is None:
            return count
        nxt = _NEXT.match(text, value.end()).end()
        if nxt >= n or not _PAIR.match(text, nxt) or not _CANDIDATE.match(text, nxt):
            return count
        pos = nxt


def _bullet_before(text: str, pos: int) -> bool:
    """Whether a bullet precedes the first entry (a few characters back, at most)."""
    back = text[max(0, pos - 8) : pos].rstrip(WHITESPACE)
    return back.endswith(BULLET)


def _garbled(text: str, pos: int, cand: re.Match[str], source: str) -> MalformedTickerError:
    """The error for a candidate whose value is not `rate change%`, quoting what it says:
    up to two tokens after `=`, on the same line, before anything that starts an entry."""
    shown = [f"{cand.group(1)}/{cand.group(2)} ="]
    at = cand.end()
    for _ in range(2):
        token = _TOKEN.match(text, at)
        if token is None or "\n" in token.group(1):
            break
        word = token.group(2)
        if word.startswith(BULLET) or _PAIR.match(word):
            break
        shown.append(word if len(word) <= _SHOWN else word[:_SHOWN] + "…")
        at = token.end()
    return MalformedTickerError(
        f"ticker line {line_no(text, pos)} '{' '.join(shown)}' is garbled or truncated "
        f"(expected '<pair> = <rate> <change>%' like '{EXAMPLE_LINE}')",
        source,
    )
