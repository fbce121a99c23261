"""The seed pages' ticker (shared/seeds), as the parser tests print it in every layout."""

from __future__ import annotations

from tracker.synthetic import TickerEntry

FIVE = [
    TickerEntry("KGS", "0.01144", "0"),
    TickerEntry("KZT", "0.00193", "-0"),
    TickerEntry("TJS", "0.10811", "-0.28"),
    TickerEntry("UZS", "0.00008", "0"),
    TickerEntry("TMT", "0.28490", "0"),
]
