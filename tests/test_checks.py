"""The inconsistency checks: each kind fires when it should and stays quiet when rounding explains.

Scenario tests ingest small generated snapshots into a real DuckDB file and run the checks over
it; the pure functions are also tested on small frames, and a property test walks true rates
through the ticker's rounding and expects no numeric finding.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.checks import (
    KINDS,
    CheckConfig,
    Finding,
    coarse_findings,
    filter_findings,
    finding_id,
    findings_frame,
    load_config,
    move_findings,
    run_checks,
    same_day_findings,
    summary_frame,
)
from tracker.errors import UsageError
from tracker.ingest import RawInput, ingest
from tracker.read import to_frame
from tracker.store import Store
from tracker.synthetic import TickerEntry, render_text

from .conftest import SAMPLES

TODAY = dt.date(2025, 12, 20)
D = dt.date(2025, 12, 10)
BASE = {  # a quiet ticker: constant rates, every change zero (never stale, never a mismatch)
    "KGS": ("0.01144", "0"),
    "KZT": ("0.00193", "0"),
    "TJS": ("0.10811", "0"),
    "UZS": ("0.00008", "0"),
    "TMT": ("0.28571", "0"),
}


def ticker(**pairs: tuple[str, str] | None) -> list[TickerEntry]:
    values = {**BASE, **pairs}
    return [TickerEntry(c, *values[c]) for c in values if values[c] is not None]


def snap(day: dt.date | None, name: str | None = None, *, body: str = "story",
         copies: int = 8, **pairs: tuple[str, str] | None) -> RawInput:
    """One snapshot; distinct `body` texts make distinct snapshots of the same ticker."""
    text = render_text(ticker(**pairs), day=day, copies=copies, body=[body])
    return RawInput(source=name or f"snap-{body}.txt", data=text.encode())


def scenario(db_path: Path, *inputs: RawInput, **options) -> list[Finding]:
    summary = ingest(list(inputs), db_path=db_path)
    assert summary.rejected == 0, summary.rejections
    return run_checks(db_path, today=options.pop("today", TODAY), **options)


def of(findings: list[Finding], kind: str) -> list[Finding]:
    return [f for f in findings if f.kind == kind]


def day(n: int) -> dt.date:
    return D + dt.timedelta(days=n)


# -- copies_disagree ---------------------------------------------------------------------------


def test_copies_disagree(db_path):
    text = render_text(ticker(), day=D, body=["x"])
    head, _, tail = text.rpartition("KGS/USD = 0.01144 0%")
    bad = RawInput("bad.txt", data=(head + "KGS/USD = 0.01145 0%" + tail).encode())
    found = of(scenario(db_path, bad, snap(D, body="fine")), "copies_disagree")
    assert len(found) == 1
    f = found[0]
    assert (f.severity, f.currency, f.captured_on) == ("error", "KGS", D)
    assert "bad.txt" in f.message and "0.01145 0% in copies 8" in f.message
    with Store.open(db_path, read_only=True) as store:
        ids = dict(zip(*to_frame(store.snapshots())[["source", "snapshot_id"]].to_dict("list").values(),
                       strict=True))
    assert f.snapshot_ids == (ids["bad.txt"],)


def test_copies_that_agree_raise_nothing(db_path):
    assert of(scenario(db_path, snap(D, copies=2), snap(D, body="b")), "copies_disagree") == []


# -- same_day_conflict -------------------------------------------------------------------------


def test_same_day_conflict(db_path):
    findings = scenario(
        db_path,
        snap(D, body="a", TJS=("0.10811", "0")), snap(D, body="b", TJS=("0.10811", "0")),
        snap(D, body="c", TJS=("0.10920", "0")),
    )
    found = of(findings, "same_day_conflict")
    assert [(f.currency, f.captured_on, len(f.snapshot_ids)) for f in found] == [("TJS", D, 3)]
    assert "0.10811 (2 snapshots), 0.10920 (1 snapshot)" in found[0].message
    assert "at least 0.99% apart after rounding" in found[0].message


def test_adjacent_prints_on_one_day_conflict(db_path):
    found = of(scenario(db_path, snap(D, body="a"), snap(D, body="b", KZT=("0.00192", "0"))),
               "same_day_conflict")
    assert [f.currency for f in found] == ["KZT"]
    assert "one rounding step apart" in found[0].message


def test_same_rates_on_one_day_or_different_days_do_not_conflict(db_path):
    findings = scenario(db_path, snap(D, body="a"), snap(D, body="b"),
                        snap(day(1), body="c", KZT=("0.00192", "-0.05")))
    assert of(findings, "same_day_conflict") == []


def test_prints_with_different_resolutions_that_overlap_do_not_conflict():
    frame = pd.DataFrame({
        "captured_on": [D, D], "currency": ["TJS", "TJS"], "quote_currency": ["USD", "USD"],
        "rate_text": ["0.1081", "0.10811"], "snapshots": [1, 1],
        "snapshot_ids": [["a"], ["b"]],
    })
    assert same_day_findings(frame).empty
    frame.loc[1, "rate_text"] = "0.10816"  # outside [0.10805, 0.10815)
    assert list(same_day_findings(frame)["currency"]) == ["TJS"]


# -- change_mismatch ---------------------------------------------------------------------------


def test_change_mismatch_message_has_the_numbers(db_path):
    findings = scenario(db_path, snap(day(-1), body="a"),
                        snap(D, body="b", TMT=("0.28490", "0")))
    found = of(findings, "change_mismatch")
    assert len(found) == 1
    assert found[0].message == ("TMT: change printed 0% on 10 Dec 2025, but the rate moved "
                                "0.28571 → 0.28490 (−0.28% ± 0.004%) since 09 Dec 2025")
    assert (found[0].severity, found[0].currency, found[0].captured_on) == ("error", "TMT", D)
    assert len(found[0].snapshot_ids) == 2


def test_consistent_change_or_a_gap_raises_no_mismatch(db_path):
    findings = scenario(
        db_path,
        snap(day(0), body="a"),
        snap(day(1), body="b", TMT=("0.28490", "-0.28")),  # consistent
        snap(day(3), body="c", TMT=("0.28571", "0")),  # inconsistent, but 2 days later
    )
    assert of(findings, "change_mismatch") == []


def test_minus_zero_is_a_fall_and_zero_is_not():
    """0.00192 → 0.00193 allows a move of exactly 0 (the touching bounds) but no fall."""
    def frame(change: str) -> pd.DataFrame:
        return pd.DataFrame({
            "captured_on": [D, day(1)], "currency": ["KZT", "KZT"],
            "quote_currency": ["USD", "USD"], "rate_text": ["0.00192", "0.00193"],
            "change_text": ["0", change], "snapshot_id": ["a", "b"],
        })
    assert move_findings(frame("0"), CheckConfig()).empty
    assert move_findings(frame("0.01"), CheckConfig()).empty
    found = move_findings(frame("-0"), CheckConfig())
    assert list(found["kind"]) == ["change_mismatch"]
    assert "change printed -0%" in found["message"].iat[0]


# -- stale_ticker ------------------------------------------------------------------------------


def test_stale_ticker(db_path):
    moving = {"TJS": ("0.10811", "-0.28")}
    findings = scenario(db_path, snap(day(0), body="a", **moving),
                        snap(day(3), body="b", **moving))
    found = of(findings, "stale_ticker")
    assert len(found) == 1
    assert (found[0].severity, found[0].currency, found[0].captured_on) == ("warning", None, day(3))
    assert len(found[0].snapshot_ids) == 2
    assert "10 Dec 2025 and 13 Dec 2025, 3 days apart" in found[0].message
    assert "TJS -0.28%" in found[0].message


def test_identical_tickers_are_not_stale_when_quiet_or_one_day_apart(db_path):
    moving = {"TJS": ("0.10811", "-0.28")}
    quiet = {"KZT": ("0.00193", "-0")}  # -0 is a zero change
    findings = scenario(
        db_path,
        snap(day(0), body="a", **quiet), snap(day(5), body="b", **quiet),
        snap(day(10), body="c", **moving), snap(day(11), body="d", **moving),
    )
    assert of(findings, "stale_ticker") == []


# -- jump --------------------------------------------------------------------------------------


def test_jump(db_path):
    findings = scenario(db_path, snap(day(0), body="a"),
                        snap(day(1), body="b", TJS=("0.11500", "6.37")))
    found = of(findings, "jump")
    assert [(f.currency, f.captured_on, f.severity) for f in found] == [("TJS", day(1), "warning")]
    assert "0.10811 → 0.11500 (+6.37%" in found[0].message
    assert "over the 3% limit (3% per day × 1 day)" in found[0].message
    assert of(findings, "change_mismatch") == []


def test_tmt_peg_allows_far_less_than_the_tjs_float(db_path):
    findings = scenario(
        db_path, snap(day(0), body="a"),
        snap(day(1), body="b", TMT=("0.28000", "-2"), TJS=("0.11000", "1.75")),
    )
    assert [f.currency for f in of(findings, "jump")] == ["TMT"]


def test_no_jump_within_threshold_per_day_of_gap_or_configured_higher(db_path):
    inputs = [snap(day(0), body="a"), snap(day(3), body="b", TJS=("0.11500", "2.08"))]
    assert of(scenario(db_path, *inputs), "jump") == []  # 6.4% over 3 days < 9%
    tight = CheckConfig().with_jump_thresholds({"TJS": 2})
    assert [f.currency for f in of(run_checks(db_path, config=tight, today=TODAY), "jump")] \
        == ["TJS"]


# -- missing_currency --------------------------------------------------------------------------


def test_missing_currency(db_path):
    findings = scenario(db_path, snap(day(0), body="new"),
                        snap(day(3), "old-layout.txt", body="old", TMT=None))
    found = of(findings, "missing_currency")
    assert [(f.currency, f.captured_on, f.severity) for f in found] == [("TMT", day(3), "info")]
    assert "old-layout.txt" in found[0].message
    assert "1 snapshot within 7 days" in found[0].message


def test_no_missing_currency_outside_the_window_or_when_nobody_has_it(db_path):
    findings = scenario(db_path, snap(day(0), body="new"),
                        snap(day(8), "old-layout.txt", body="old", TMT=None),
                        snap(day(9), "old2.txt", body="old2", TMT=None))
    assert of(findings, "missing_currency") == []


# -- undated -----------------------------------------------------------------------------------


def test_undated(db_path):
    findings = scenario(db_path, snap(None, "no-date.txt"),
                        snap(None, "2025-12-10 page.txt", body="b"))
    found = of(findings, "undated")
    assert len(found) == 1
    assert (found[0].captured_on, found[0].severity) == (None, "warning")
    assert "no-date.txt" in found[0].message and "--captured-on" in found[0].message
    assert findings[-1] == found[0]  # undated findings come last


# -- coarse_resolution -------------------------------------------------------------------------


def test_coarse_resolution_once_per_currency(db_path):
    findings = scenario(db_path, snap(day(0), body="a"), snap(day(1), body="b"),
                        snap(day(2), body="c", UZS=("0.00007", "0")))
    found = of(findings, "coarse_resolution")
    assert [(f.currency, f.captured_on) for f in found] == [("UZS", day(2))]
    assert "0.00007 on 1 (0.000065–0.000075, ±7.14%)" in found[0].message
    assert "on 3 capture dates" in found[0].message


def test_coarse_resolution_per_printed_resolution_dated_by_its_own_snapshots(db_path):
    """14 days at 0.00008 (±6.25%) and one at 0.00007 (±7.14%) are told apart; a value printed
    with another number of decimals (0.0001) is its own finding; each finding's date is the
    latest capture among the snapshots it names."""
    days = [snap(day(i), body=f"d{i}") for i in range(14)]
    days.append(snap(day(14), body="low", UZS=("0.00007", "0")))
    days.append(snap(day(15), body="up", UZS=("0.0001", "0")))
    days.append(snap(day(16), body="later", UZS=None))  # a later capture without UZS
    found = of(scenario(db_path, *days), "coarse_resolution")
    by_text = {f.message.split(": ")[2].split(" ")[0]: f for f in found}
    assert set(by_text) == {"0.00008", "0.0001"}
    five = by_text["0.00008"]
    assert "on 15 capture dates" in five.message
    assert "0.00008 on 14 (0.000075–0.000085, ±6.25%)" in five.message
    assert "0.00007 on 1 (0.000065–0.000075, ±7.14%)" in five.message
    four = by_text["0.0001"]
    assert "0.0001 on 1 (0.00005–0.00015, ±50%)" in four.message
    assert four.captured_on == day(15) and len(four.snapshot_ids) == 1
    rows = {r.snapshot_id: r.captured_on for r in _snapshot_rows(db_path)}
    for f in found:  # dated by its own snapshots, not by the pair's last coarse capture
        assert f.captured_on == max(rows[sid] for sid in f.snapshot_ids)
    assert five.captured_on == day(14) and len(five.snapshot_ids) == 2


def _snapshot_rows(db_path):
    with Store.open(db_path, read_only=True) as store:
        return store.snapshot_rows(store.snapshot_ids())


def test_three_significant_digits_are_not_coarse():
    frame = pd.DataFrame({
        "captured_on": [D, D], "currency": ["KZT", "KGS"], "quote_currency": ["USD", "USD"],
        "rate_text": ["0.00193", "0.01144"], "change_text": ["0", "0"],
        "snapshot_id": ["a", "b"],
    })
    assert coarse_findings(frame, CheckConfig()).empty
    found = coarse_findings(frame, CheckConfig(min_significant_digits=4))
    assert list(found["currency"]) == ["KZT"]


# -- date_disagreement -------------------------------------------------------------------------


def test_date_disagreement(db_path):
    found = of(scenario(db_path, snap(dt.date(2025, 12, 3), "2025-12-01_page.txt")),
               "date_disagreement")
    assert len(found) == 1
    assert (found[0].captured_on, found[0].severity) == (dt.date(2025, 12, 3), "warning")
    assert "header date 03 Dec 2025" in found[0].message
    assert "its file name says 01 Dec 2025 (2 days apart)" in found[0].message


def test_dates_within_a_day_or_without_header_agree(db_path):
    findings = scenario(
        db_path,
        snap(dt.date(2025, 12, 3), "2025-12-02_page.txt", body="a"),  # one day: time zones
        snap(None, "2025-11-01_undated-header.txt", body="b"),
        RawInput("fetched.txt", data=render_text(ticker(), day=D, body=["c"]).encode(),
                 captured_at=dt.datetime(2025, 12, 10, 23, 0), captured_at_source="fetched"),
    )
    assert of(findings, "date_disagreement") == []


def test_date_disagreement_with_archive_timestamp(db_path):
    item = RawInput("https://web.archive.org/web/20251201083000/https://timesca.com/",
                    data=render_text(ticker(), day=D, body=["x"]).encode())
    found = of(scenario(db_path, item), "date_disagreement")
    assert "the archive timestamp says 01 Dec 2025 (9 days apart)" in found[0].message


# -- future_date -------------------------------------------------------------------------------


def test_future_date(db_path):
    findings = scenario(db_path, snap(TODAY + dt.timedelta(days=2), body="a"),
                        snap(TODAY + dt.timedelta(days=1), body="b"))
    found = of(findings, "future_date")
    assert [(f.captured_on, f.severity) for f in found] == [(TODAY + dt.timedelta(days=2), "error")]
    assert "later than 21 Dec 2025" in found[0].message


# -- quantization traps: rounding alone must raise nothing -------------------------------------


def test_quantization_traps_raise_nothing(db_path):
    """KZT drifts -0.05%/day and flips 0.00193 → 0.00192; UZS drifts across 0.000075 and
    flips 0.00008 → 0.00007; TMT sits at 0.28571. TJS moves so that no two tickers match."""
    kzt, uzs, tjs = Fraction("0.0019306"), Fraction("0.00007508"), Fraction("0.10811")
    inputs = []
    for n in range(12):
        if n:
            kzt, uzs, tjs = (kzt * Fraction(9995, 10000), uzs * Fraction(9997, 10000),
                             tjs * Fraction(10011, 10000))
        changes = ("-0.05", "-0.03", "0.11") if n else ("0", "0", "0")
        inputs.append(snap(day(n), body=f"d{n}", KZT=(print_rate(kzt), changes[0]),
                           UZS=(print_rate(uzs), changes[1]), TJS=(print_rate(tjs), changes[2])))
    printed = {i.data.decode().split("KZT/USD = ")[1][:7] for i in inputs}
    assert printed == {"0.00193", "0.00192"}  # the traps are really there
    assert {i.data.decode().split("UZS/USD = ")[1][:7] for i in inputs} == {"0.00008", "0.00007"}
    findings = scenario(db_path, *inputs)
    assert [(f.kind, f.currency) for f in findings] == [("coarse_resolution", "UZS")]


# -- property: a random walk printed with the ticker's rounding is consistent ------------------


def print_rate(value: Fraction, decimals: int = 5) -> str:
    """Round half to even, fixed decimals: exactly what the ticker prints."""
    n = round(value * 10**decimals)
    return f"{n // 10**decimals}.{n % 10**decimals:0{decimals}d}"


def print_change(value: Fraction) -> str:
    """2 decimals, trailing zeros dropped, `-0` kept for a fall that rounds to zero."""
    n = round(value * 100)
    if n == 0:
        return "-0" if value < 0 else "0"
    text = f"{abs(n) // 100}.{abs(n) % 100:02d}".rstrip("0").rstrip(".")
    return ("-" if n < 0 else "") + text


TYPICAL = {"KGS": "0.01144", "KZT": "0.00193", "TJS": "0.10811", "UZS": "0.0000794",
           "TMT": "0.28571"}


@st.composite
def walks(draw):
    """Per currency: a start near its typical rate and daily moves in 10^-6 %, within 90 % of
    its jump threshold; boundary moves (±0.005 %, 0) are drawn often."""
    days = draw(st.integers(min_value=2, max_value=25))
    walk = {}
    for code, typical in TYPICAL.items():
        limit = int(CheckConfig().jump_threshold(code) * 0.9 * 10**6)
        start = Fraction(typical) * Fraction(draw(st.integers(950, 1050)), 1000)
        moves = draw(st.lists(
            st.one_of(st.integers(-limit, limit), st.sampled_from([0, 5000, -5000, 15000])),
            min_size=days - 1, max_size=days - 1,
        ))
        walk[code] = (start, moves)
    return days, walk


def walk_pages(days: int, walk: dict) -> list[tuple[dt.date, list[TickerEntry]]]:
    pages = []
    rates = {code: start for code, (start, _) in walk.items()}
    for n in range(days):
        entries = []
        for code, (_, moves) in walk.items():
            change = Fraction(0)
            if n:
                change = Fraction(moves[n - 1], 10**6)  # in %
                rates[code] *= 1 + change / 100
            entries.append(TickerEntry(code, print_rate(rates[code]), print_change(change)))
        pages.append((day(n), entries))
    return pages


NUMERIC = {"change_mismatch", "jump", "same_day_conflict"}


def walk_frames(pages: list[tuple[dt.date, list[TickerEntry]]]) -> tuple[pd.DataFrame, ...]:
    """The series and day-rates frames the store would hand over for one capture a day."""
    series = pd.DataFrame([
        {"captured_on": d, "currency": e.currency, "quote_currency": "USD",
         "rate_text": e.rate_text, "change_text": e.change_text, "snapshot_id": f"s{d}"}
        for d, entries in pages for e in entries
    ])
    day_rates = series.assign(snapshots=1, snapshot_ids=series["snapshot_id"].map(lambda i: [i]))
    return series, day_rates


@settings(max_examples=50, deadline=None)
@given(walks())
def test_random_walk_printed_with_rounding_is_consistent(case):
    """The pure checks: no change_mismatch, jump or same_day_conflict on an honest walk."""
    series, day_rates = walk_frames(walk_pages(*case))
    found = pd.concat([move_findings(series, CheckConfig()), same_day_findings(day_rates)])
    assert list(found["message"]) == []


@settings(max_examples=10, deadline=None)
@given(walks())
def test_random_walk_through_ingest_raises_no_numeric_finding(case):
    """The same through the whole path: rendered pages, parser, DuckDB, SQL, checks."""
    with tempfile.TemporaryDirectory() as tmp:
        inputs = [RawInput(f"walk-{d}.txt", data=render_text(e, day=d, body=[f"{d}"]).encode())
                  for d, e in walk_pages(*case)]
        findings = scenario(Path(tmp) / "walk.duckdb", *inputs)
    assert [f.message for f in findings if f.kind in NUMERIC] == []


def test_walk_with_a_wrong_change_is_caught():
    """The property above is not vacuous: the same walk with one change misprinted fails."""
    walk = {code: (Fraction(rate), [300000, -200000]) for code, rate in TYPICAL.items()}
    pages = walk_pages(3, walk)
    pages[2][1][2] = TickerEntry("TJS", pages[2][1][2].rate_text, "0.2")  # true move −0.2 %
    series, day_rates = walk_frames(pages)
    found = move_findings(series, CheckConfig())
    assert [(k, c) for k, c in zip(found["kind"], found["currency"], strict=True)] == [
        ("change_mismatch", "TJS")]
    day_rates.loc[0, "captured_on"] = day(1)  # day 0's KGS print now competes with day 1's
    assert list(same_day_findings(day_rates)["currency"]) == ["KGS"]


# -- the store side ----------------------------------------------------------------------------


def test_the_series_rule_picks_the_most_printed_rate_then_the_latest_capture(db_path):
    """The series rule: most snapshots that day, ties to the latest capture; the checks read it."""
    stamp = dt.datetime(2025, 12, 10, 9, 0)
    inputs = [
        snap(D, body="a", TJS=("0.10811", "0")), snap(D, body="b", TJS=("0.10811", "0.01")),
        snap(D, body="c", TJS=("0.10920", "0")),  # outvoted
        RawInput("late.txt", data=render_text(ticker(KGS=("0.01145", "0")), day=day(1),
                                              body=["late"]).encode(),
                 captured_at=stamp + dt.timedelta(days=1, hours=5), captured_at_source="fetched"),
        RawInput("early.txt", data=render_text(ticker(KGS=("0.01146", "0")), day=day(1),
                                               body=["early"]).encode(),
                 captured_at=stamp + dt.timedelta(days=1), captured_at_source="fetched"),
        snap(day(1), body="undated-time", KGS=("0.01147", "0")),  # a tie: latest capture wins
        snap(day(2), body="x", TMT=None), snap(None, "undated.txt", body="u"),
    ]
    ingest(inputs, db_path=db_path)
    with Store.open(db_path, read_only=True) as store:
        fast = store.check_series().to_pylist()
        view = store.series().sort_by([("currency", "ascending"), ("quote_currency", "ascending"),
                                       ("captured_on", "ascending")])
    assert fast == view.select(list(fast[0])).to_pylist()  # the checks read the one rule
    assert len(fast) == 14
    kgs_day1 = next(r for r in fast if r["currency"] == "KGS" and r["captured_on"] == day(1))
    assert kgs_day1["rate_text"] == "0.01145"


def test_checks_on_an_empty_database(db_path):
    with Store.open(db_path):
        pass
    assert run_checks(db_path) == []
    frame = findings_frame([])
    assert list(frame.columns) == ["finding_id", "kind", "severity", "currency", "captured_on",
                                   "snapshot_ids", "message"]


# -- the library surface -----------------------------------------------------------------------


def test_findings_are_sorted_newest_first_with_stable_ids(db_path):
    inputs = [snap(day(-1), body="a"), snap(day(0), body="b", TMT=("0.28490", "0")),
              snap(day(0), body="c", TMT=("0.28000", "0")), snap(None, "u.txt", body="u")]
    first = scenario(db_path, *inputs)
    again = run_checks(db_path, today=TODAY)
    assert first == again
    dates = [f.captured_on for f in first]
    assert dates == sorted([d for d in dates if d], reverse=True) + [None] * dates.count(None)
    same_day = [f for f in first if f.captured_on == day(0)]
    ranks = [("error", "warning", "info").index(f.severity) for f in same_day]
    assert ranks == sorted(ranks)
    f = first[0]
    assert f.finding_id == finding_id(f.kind, f.currency, f.captured_on,
                                      reversed(f.snapshot_ids))
    assert len({f.finding_id for f in first}) == len(first)


def test_frame_filters_and_summary(db_path):
    findings = scenario(db_path, snap(day(-1), body="a"),
                        snap(day(0), body="b", TMT=("0.28490", "0")),
                        snap(None, "u.txt", body="u"))
    frame = findings_frame(findings)
    assert len(frame) == len(findings)
    assert frame.loc[frame["kind"] == "change_mismatch", "currency"].tolist() == ["TMT"]
    undated = frame[frame["kind"] == "undated"].iloc[0]
    assert undated["currency"] is None and undated["captured_on"] is None  # not NaN
    assert frame["captured_on"].iat[0] == day(0)
    assert [f.kind for f in filter_findings(findings, severity="error")] == ["change_mismatch"]
    assert {f.kind for f in filter_findings(findings, severity="warning")} == {
        "change_mismatch", "undated"}
    assert [f.currency for f in filter_findings(findings, currencies=["tmt"])] == ["TMT"]
    assert filter_findings(findings, start=day(1)) == []
    assert {f.kind for f in filter_findings(findings, end=day(0))} == {
        "change_mismatch", "coarse_resolution"}
    assert [f.kind for f in filter_findings(findings, kinds=["undated"])] == ["undated"]
    with pytest.raises(UsageError, match="unknown kind"):
        filter_findings(findings, kinds=["jumps"])
    summary = summary_frame(findings)
    assert set(zip(summary["currency"], summary["kind"], summary["findings"], strict=True)) == {
        ("TMT", "change_mismatch", 1), ("UZS", "coarse_resolution", 1), ("-", "undated", 1)}


def test_every_kind_has_a_severity():
    assert set(KINDS.values()) == {"error", "warning", "info"}
    assert len(KINDS) == 12  # 10 among the snapshots, 2 against the official rates


# -- configuration -----------------------------------------------------------------------------


def test_config_file(tmp_path):
    path = tmp_path / "tracker.toml"
    path.write_text(
        "[schedule]\nevery = '1h'\n\n"  # other tables belong to other parts of the tracker
        "[checks]\nstale_min_gap_days = 3\nmissing_window_days = 5\n\n"
        "[checks.jump_pct_per_day]\nTJS = 5\nkgs = 1\ndefault = 4\n"
    )
    config = load_config(path)
    assert (config.stale_min_gap_days, config.missing_window_days) == (3, 5)
    assert config.date_tolerance_days == 1  # untouched default
    assert (config.jump_threshold("TJS"), config.jump_threshold("KGS"),
            config.jump_threshold("TMT"), config.jump_threshold("XYZ")) == (5, 1, 0.5, 4)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[checks]\nstale_gap = 2\n", "unknown key(s) in [checks]: stale_gap"),
        ("[checks]\nstale_min_gap_days = 'two'\n", "must be a whole number"),
        ("[checks.jump_pct_per_day]\nTJS = -1\n", "positive number"),
        ("[checks]\nstale_min_gap_days = 0\n", "at least 1"),
        ("[check]\nstale_min_gap_days = 2\n", "no [checks] table"),
        ("[checks\n", "not valid TOML"),
    ],
)
def test_config_errors_say_what_and_where(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(UsageError, match=None) as info:
        load_config(path)
    assert message in str(info.value) and str(path) in str(info.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


# -- the bundled samples -----------------------------------------------------------------------


def test_bundled_samples_show_what_they_were_written_to_show(tmp_path):
    """data/samples/README.md names the finding each sample was written to show: exactly those."""
    from tracker.ingest import ingest_paths

    db = tmp_path / "samples.duckdb"
    ingest_paths([SAMPLES], db_path=db)
    findings = run_checks(db, today=dt.date(2026, 1, 1))
    assert sorted((f.kind, f.currency or "-", str(f.captured_on)) for f in findings) == [
        ("change_mismatch", "TMT", "2025-11-20"),
        ("change_mismatch", "TMT", "2025-12-10"),
        ("coarse_resolution", "UZS", "2025-12-22"),
        ("copies_disagree", "KGS", "2025-12-15"),
        ("date_disagreement", "-", "2025-12-03"),
        ("missing_currency", "TMT", "2025-11-24"),
        ("same_day_conflict", "TJS", "2025-11-21"),
        ("stale_ticker", "-", "2025-11-28"),
        ("undated", "-", "None"),
    ]
    text = {f.kind: f.message for f in findings}
    assert "printed on 25 Nov 2025 and 28 Nov 2025" in text["stale_ticker"]
    assert "2025-12-01_tca-society.txt" in text["date_disagreement"]
    assert "header date 03 Dec 2025" in text["date_disagreement"]
    assert "undated-opinion.txt" in text["undated"]
    assert "old-layout-20251124.txt" in text["missing_currency"]
    assert "0.10811 (1 snapshot), 0.10895 (1 snapshot)" in text["same_day_conflict"]
    assert "2025-12-15_tca-agriculture.txt" in text["copies_disagree"]
