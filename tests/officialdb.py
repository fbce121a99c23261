"""A database with snapshots and official rates, seeded from the fake banks on 127.0.0.1
through `tracker.official.fetching.fetch_official` (what `tracker official fetch` runs).

Last week's official KZT rate rises 500, 505, 510, 515, 520 (Monday to Friday); the ticker
prints, each day, the rate of the day before (Monday: Monday's), so it lags one day; the
weekend prints Friday's. TMT prints the peg.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from tests.fakebanks import FakeBanks
from tracker.ingest import ingest_paths
from tracker.official.fetching import fetch_official
from tracker.synthetic import TickerEntry, print_rate, render_text

TODAY = dt.date.today()
MONDAY = TODAY - dt.timedelta(days=TODAY.weekday() + 7)
WEEK = [MONDAY + dt.timedelta(days=i) for i in range(7)]
KZT = {day: Decimal(500 + 5 * i) for i, day in enumerate(WEEK[:5])}


def printed(day: dt.date) -> str:
    """The ticker's KZT on `day`: the official rate in force the day before (lag 1)."""
    source = max(d for d in KZT if d <= max(day - dt.timedelta(days=1), WEEK[0]))
    return print_rate(1 / KZT[source])


def seed(db: Path, pages: Path) -> None:
    pages.mkdir(parents=True, exist_ok=True)
    for day in WEEK:
        entries = [TickerEntry("KGS", "0.01144", "0"), TickerEntry("KZT", printed(day), "0"),
                   TickerEntry("TJS", "0.10811", "0"), TickerEntry("UZS", "0.00008", "0"),
                   TickerEntry("TMT", "0.28571", "0")]
        (pages / f"{day}.txt").write_text(render_text(entries, day=day), encoding="utf-8")
    assert ingest_paths([pages], db_path=db).ok
    with FakeBanks({"KZT": KZT}, today=TODAY) as banks:
        report = fetch_official(db, start=WEEK[0], end=WEEK[-1], currencies=["KZT", "TMT"],
                                bases=banks.bases, rate=6000)
    assert report.error is None and report.rejected == 0, report.line()
