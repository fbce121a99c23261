"""Gaps, coverage, the common rebase date, coarse currencies, capped markers and the findings
timeline: the figure builders as plain functions (frames in, figures out)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from dashboards import figures, gaps, marks, timeline
from tests.dashboard.test_figures import FIVE, START, finding, findings, series, traces


def islands() -> pd.DataFrame:
    """TJS: one capture in December 2024, then ten daily ones from November 2025."""
    early = series({"TJS": ["0.09000"]}, start=dt.date(2024, 12, 1))
    late = series({"TJS": [f"0.{10800 + i:05d}" for i in range(10)],
                   "KGS": [f"0.{1144 + i % 2:05d}" for i in range(10)]},
                  start=dt.date(2025, 11, 1))
    return pd.concat([early, late], ignore_index=True).sort_values(
        ["label", "captured_on"], ignore_index=True)


def test_a_gap_longer_than_the_threshold_breaks_the_line():
    fig = figures.movements_figure(islands(), view="rate")
    tjs = next(t for t in traces(fig, "series") if t.name == "TJS")
    y = np.asarray(tjs.y, dtype=float)
    assert len(y) == 12 and np.isnan(y[1]) and not np.isnan(y).any() - 1  # one break
    assert tjs.connectgaps is False and tjs.meta["breaks"] == 1
    assert any(f"over {gaps.GAP_DAYS} days" in line for line in fig.layout.meta["subtitle"])
    kgs = next(t for t in traces(fig, "series") if t.name == "KGS")
    assert kgs.meta["breaks"] == 0 and not np.isnan(np.asarray(kgs.y, dtype=float)).any()


@pytest.mark.parametrize(("days", "breaks"), [(gaps.GAP_DAYS, 0), (gaps.GAP_DAYS + 1, 1)])
def test_the_threshold_is_more_than_gap_days(days, breaks):
    data = pd.concat([series({"KGS": ["0.01144"]}),
                      series({"KGS": ["0.01145"]}, start=START + dt.timedelta(days=days))],
                     ignore_index=True)
    assert int(gaps.gap_before(figures.view_frame(data, "rate")).sum()) == breaks


def test_the_index_is_rebased_at_the_first_date_with_every_shown_currency():
    data = islands()  # TJS alone on 1 Dec 2024; KGS from 1 Nov 2025
    fig = figures.movements_figure(data, view="index")
    assert fig.layout.meta["base"] == "2025-11-01"
    assert "100 = 01 Nov 2025" in fig.layout.meta["subtitle"][0]
    for trace in traces(fig, "series"):
        x = pd.to_datetime(np.asarray(trace.x))
        y = np.asarray(trace.y, dtype=float)
        assert y[list(x).index(pd.Timestamp("2025-11-01"))] == pytest.approx(100)
    apart = pd.concat([series({"KGS": ["0.01144"]}),
                       series({"TJS": ["0.10811"]}, start=START + dt.timedelta(days=3))])
    fig = figures.movements_figure(apart, view="index")
    assert fig.layout.meta["base"] is None and "each is 100 at its first" in \
        fig.layout.meta["subtitle"][0]


def test_coverage_strip_marks_each_captured_day_by_source():
    coverage = pd.DataFrame({
        "captured_on": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-01-02", "2025-01-03",
                                       "2025-01-05"]),
        "source": ["file", "live", "live", "archive", "file"], "snapshots": [2, 1, 1, 1, 3]})
    fig = figures.movements_figure(series(FIVE), coverage=coverage)
    legend = {t.meta["source"]: t.meta for t in traces(fig, "coverage")}
    assert set(legend) == {"live", "archive", "file"}  # 1 Jan: live beats file
    assert legend["live"] == {"role": "coverage", "source": "live", "days": 2, "runs": 1,
                              "snapshots": 4}  # 1-2 Jan: one run, every snapshot counted
    rects = [s for s in fig.layout.shapes if str(s.name).startswith("coverage-")]
    spans = [(s.name, pd.Timestamp(s.x0).date().isoformat(),
              pd.Timestamp(s.x1).date().isoformat()) for s in rects]
    assert spans == [("coverage-live", "2025-01-01", "2025-01-03"),
                     ("coverage-archive", "2025-01-03", "2025-01-04"),
                     ("coverage-file", "2025-01-05", "2025-01-06")]  # 4 Jan: nothing
    assert all(s.yref == "y3" for s in rects)
    assert list(fig.layout.yaxis3.domain) == list(gaps.COVERAGE_DOMAIN)


def test_coarse_currencies_are_found_from_their_printed_precision():
    assert gaps.coarse_labels(series(FIVE)) == ["UZS"]  # 0.00008: ±6.25%
    fig = figures.movements_figure(series(FIVE), view="index")
    assert [t.name for t in traces(fig, "series")] == ["KGS", "KZT", "TJS", "TMT"]
    fig = figures.movements_figure(series(FIVE), view="index", coarse=True)
    assert "UZS" in [t.name for t in traces(fig, "series")]
    alone = figures.movements_figure(series({"UZS": FIVE["UZS"]}), view="index")
    assert [t.name for t in traces(alone, "series")] == ["UZS"]  # never an empty chart


def test_bands_only_for_the_currencies_asked():
    fig = figures.movements_figure(series(FIVE), view="rate", bands=["TJS"])
    assert [t.meta["label"] for t in traces(fig, "band-high")] == ["TJS"]
    assert not traces(figures.movements_figure(series(FIVE), view="rate"), "band-high")


def many_findings(n: int, days: int = 700) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    kinds = ["jump", "same_day_conflict", "stale_ticker", "copies_disagree"]
    severity = {"jump": "warning", "same_day_conflict": "error", "stale_ticker": "warning",
                "copies_disagree": "error"}
    rows = []
    for i in range(n):
        kind = kinds[rng.integers(len(kinds))]
        currency = None if kind == "stale_ticker" else FIVE_LABELS[rng.integers(5)]
        rows.append(finding(f"f{i}", kind, severity[kind], currency,
                            START + dt.timedelta(days=int(rng.integers(days)))))
    return findings(*rows)


FIVE_LABELS = list(FIVE)


def test_markers_only_while_few_enough_to_read():
    data = series({k: v * 10 for k, v in FIVE.items()})
    few = many_findings(marks.MAX_MARKERS // 2, days=30)
    assert traces(figures.movements_figure(data, few, view="rate"), "findings")
    lots = many_findings(marks.MAX_MARKERS * 3, days=30)
    fig = figures.movements_figure(data, lots, view="rate")
    assert not traces(fig, "findings") and fig.layout.meta["markers"] is False
    assert any("too many to mark" in line for line in fig.layout.meta["subtitle"])
    legend = [t.name for t in traces(figures.movements_figure(data, few, view="rate"),
                                     "findings") if t.showlegend is not False]
    assert len(legend) == len(set(legend))  # one legend entry per severity


def test_timeline_at_ten_thousand_findings_is_a_few_hundred_cells():
    lots = many_findings(10_000)
    fig = timeline.timeline_figure(lots)
    meta = fig.layout.meta
    assert meta["findings"] == 10_000 and meta["bucket_days"] == 7  # weeks over 700 days
    heat = traces(fig, "timeline")[0]
    z = np.asarray(heat.z, dtype=float)
    assert z.shape[0] == len(meta["rows"]) and z.shape[1] in (100, 101)  # weeks, not days
    assert len(meta["rows"]) == 4 * 5 - 4  # kind · currency; stale_ticker has none
    assert fig.layout.height < 600
    # the colour is the worst severity in the cell; the hover has the counts
    row = meta["rows"].index("same_day_conflict · KGS")
    assert np.nanmax(z[row]) == timeline.RANK["error"]
    text = next(t for t in np.asarray(heat.text)[row] if t)
    assert "error" in text and "week of" in text


def test_a_timeline_cell_click_becomes_a_table_filter():
    fig = timeline.timeline_figure(findings(
        finding("a", "jump", "warning", "TMT", START),
        finding("b", "jump", "error", "TMT", START),
        finding("c", "stale_ticker", "warning", None, START + dt.timedelta(days=2))))
    heat = traces(fig, "timeline")[0]
    assert fig.layout.meta["bucket_days"] == 1
    custom = np.asarray(heat.customdata)
    row = fig.layout.meta["rows"].index("jump · TMT")
    cell = timeline.cell_from_click({"points": [{"customdata": custom[row][0]}]})
    assert cell == {"kind": "jump", "currency": "TMT", "start": "2025-01-01",
                    "end": "2025-01-01"}
    assert "1 error, 1 warning" in np.asarray(heat.text)[row][0]
    assert timeline.cell_from_click({"points": [{"customdata": ""}]}) is None
    assert timeline.cell_from_click(None) is None
    assert timeline.timeline_figure(findings()).layout.meta["cells"] == 0
