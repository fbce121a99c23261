"""The series rule (README, `series` view): per capture date and pair, the rate most snapshots
printed, ties to the latest capture; each rate shown with its latest snapshot's change.

Checked against a plain-Python statement of the rule over random snapshots, through the real
store: the view and the rows the checks read must both agree with it.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.ingest import RawInput, ingest
from tracker.store import Store
from tracker.synthetic import TickerEntry, render_text

DAY = dt.date(2025, 12, 1)
STAMP = dt.datetime(2025, 12, 1, 6, 0)

snapshot = st.tuples(
    st.integers(0, 1),  # day
    st.sampled_from(["0.01144", "0.01145", "0.01146"]),  # KGS rate
    st.sampled_from(["0", "0.09", "-0"]),  # KGS change
    st.none() | st.integers(0, 3),  # fetched at STAMP + n hours, or no capture time
)


def expected(quotes: list[dict], snaps: dict[str, dict]) -> list[tuple]:
    """The rule, stated directly."""
    def newest(sid: str) -> tuple:
        s = snaps[sid]
        return (s["captured_at"] or dt.datetime.min, s["ingested_at"], sid)

    groups: dict[tuple, dict[str, list[str]]] = {}
    for q in quotes:
        if q["captured_on"] is None:
            continue
        key = (q["captured_on"], q["currency"], q["quote_currency"])
        groups.setdefault(key, {}).setdefault(q["rate_text"], []).append(q["snapshot_id"])
    out = []
    for key, rates in groups.items():
        rate_text, ids = max(rates.items(), key=lambda kv: (len(kv[1]), max(map(newest, kv[1]))))
        sid = max(ids, key=newest)
        change = next(q["change_text"] for q in quotes if q["snapshot_id"] == sid
                      and (q["currency"], q["quote_currency"]) == key[1:])
        out.append((*key, rate_text, change, sid, sum(map(len, rates.values())), len(rates)))
    return sorted(out, key=lambda r: (r[1], r[2], r[0]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(snapshot, min_size=1, max_size=8))
def test_the_series_view_and_the_checks_follow_the_rule(drawn):
    inputs = [
        RawInput(f"s{i}.txt", data=render_text(
            [TickerEntry("KGS", rate, change), TickerEntry("TJS", "0.10811", "0")],
            day=DAY + dt.timedelta(days=d), body=[f"snapshot {i}"]).encode(),
            captured_at=None if hour is None else STAMP + dt.timedelta(hours=hour),
            captured_at_source=None if hour is None else "fetched")
        for i, (d, rate, change, hour) in enumerate(drawn)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "t.duckdb"
        assert ingest(inputs, db_path=db).ingested == len(inputs)
        with Store.open(db, read_only=True) as store:
            quotes = store.all_quotes().to_pylist()
            snaps = {s["snapshot_id"]: s for s in store.snapshots().to_pylist()}
            view = store.series().to_pylist()
            checked = store.check_series().to_pylist()
    want = expected(quotes, snaps)
    got = sorted(((r["captured_on"], r["currency"], r["quote_currency"], r["rate_text"],
                   r["change_text"], r["snapshot_id"], r["snapshots"], r["distinct_rates"])
                  for r in view), key=lambda r: (r[1], r[2], r[0]))
    assert got == want
    assert [(r["captured_on"], r["currency"], r["rate_text"], r["change_text"], r["snapshot_id"])
            for r in checked] == [(w[0], w[1], w[3], w[4], w[5]) for w in want]
    assert all(str(r["rate"]).rstrip("0").rstrip(".") == r["rate_text"].rstrip("0").rstrip(".")
               for r in view)  # the exact number belongs to the printed text
