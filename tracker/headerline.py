"""A header-shaped line the parser could not read as a date, found for the dating step.

The header date (`10 December 2025`, the first line after the ticker) is the strongest date
evidence. When a page has a line of that shape whose month is not a month (`09 Dеcember 2025`
with a Cyrillic `е`, `Decmber`), the parser reads no header date, and the snapshot would take
its file name's date in silence. `unread_header` finds such a line, so the dating step records
it in `date_note` and ingest prints a warning. Linear in the page: two bounded regex scans.
"""

from __future__ import annotations

import re
import unicodedata

from .models import ParsedPage

_MONTHS = ("january february march april may june july august september october november "
           "december").split()
# a ticker entry as printed, markup between its parts allowed (HTML): where the ticker ends
_ENTRY = re.compile(r"[A-Z]{3}/[A-Z]{3}[ \t\u00a0]*=[ \t\u00a0]*[0-9][0-9.]{0,30}[^\n%]{0,40}%")
_GAP = 400  # characters of markup or blank lines allowed between the ticker's entries
_WINDOW = 600  # how far after the ticker the header line is looked for
_SHAPED = re.compile(r"(?<![\w])([0-9]{1,2})[ \t\u00a0]+([^\W\d_]{3,12})[ \t\u00a0]+([0-9]{4})(?![\w])")
# Latin look-alikes of other scripts (Cyrillic, Greek) that make a month name unreadable
_LOOKALIKES = str.maketrans("аеорсухАВЕКМНОРСТХіјοαεΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
                            "aeopcyxABEKMHOPCTXijoaeABEZHIKMNOPTYX")


def unread_header(data: bytes, page: ParsedPage | None) -> str | None:
    """What to note when the page has a header-shaped line that is not a date, else None."""
    if page is None or page.header_date is not None:
        return None
    text = data.decode("utf-8", "replace")
    first = _ENTRY.search(text)
    if first is None:
        return None
    end = first.end()
    while (more := _ENTRY.search(text, end, end + _GAP)) is not None:
        end = more.end()
    m = _SHAPED.search(text, end, end + _WINDOW)
    if m is None:
        return None
    why = _why_not_a_month(m.group(2))
    if why is None:
        return None
    line = " ".join(m.group(0).split())
    return (f"header line '{line}' is not a date the tracker can read ({why}); it is not used, "
            "so the date comes from other evidence — correct the page or give --captured-on")


def _why_not_a_month(word: str) -> str | None:
    """Why a month-like word is not a month; None when it is one or looks like none."""
    lower = word.lower()
    if lower in _MONTHS:
        return None
    folded = word.translate(_LOOKALIKES).lower()
    if folded in _MONTHS:
        odd = next(c for c in word if c.translate(_LOOKALIKES) != c)
        return (f"the month has the non-Latin letter '{odd}' U+{ord(odd):04X} "
                f"{unicodedata.name(odd, '')}".rstrip() + f", which looks like '{folded.capitalize()}'")
    near = min(_MONTHS, key=lambda month: _distance(folded, month))
    if _distance(folded, near) <= 2 and len(folded) >= 4:
        return f"'{word}' is not a month; '{near.capitalize()}' misspelt?"
    return None


def _distance(a: str, b: str) -> int:
    """Edit distance of two short words (at most 12 letters each)."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]
