"""The figure builders as plain functions: frames in, figures out, no database, no browser."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from dashboards import figures
from dashboards.data import empty_series
from dashboards.marks import STRIP_Y

START = dt.date(2025, 1, 1)


def series(rates: dict[str, list[str]], start: dt.date = START,
           changes: dict[str, list[str]] | None = None) -> pd.DataFrame:
    """A series frame as `dashboards.data.series_of` returns it, from printed rates."""
    rows = []
    for label, texts in rates.items():
        for i, text in enumerate(texts):
            rows.append({
                "captured_on": pd.Timestamp(start + dt.timedelta(days=i)),
                "label": label, "currency": label.split("/")[0],
                "quote_currency": label.split("/")[1] if "/" in label else "USD",
                "rate": float(text), "rate_text": text,
                "rate_decimals": len(text.partition(".")[2]),
                "change_pct": 0.0,
                "change_text": (changes or {}).get(label, ["0"] * len(texts))[i],
                "snapshots": 3, "distinct_rates": 1, "snapshot_id": f"{label}{i:04d}",
            })
    frame = pd.DataFrame(rows)
    frame["captured_on"] = frame["captured_on"].astype("datetime64[ns]")
    return frame


def finding(fid: str, kind: str, severity: str, currency: str | None, day: dt.date | None,
            message: str = "something is off") -> dict:
    return {"finding_id": fid, "kind": kind, "severity": severity, "currency": currency,
            "captured_on": day, "snapshot_ids": (fid + "-snap",), "message": message}


def findings(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=["finding_id", "kind", "severity", "currency",
                                             "captured_on", "snapshot_ids", "message"])


def traces(fig, role: str) -> list:
    return [t for t in fig.data if (t.meta or {}).get("role") == role]


FIVE = {"KGS": ["0.01144", "0.01145", "0.01143"], "KZT": ["0.00193", "0.00194", "0.00193"],
        "TJS": ["0.10811", "0.10800", "0.10790"], "UZS": ["0.00008", "0.00008", "0.00008"],
        "TMT": ["0.28571", "0.28490", "0.28571"]}


# -- values and bands --------------------------------------------------------------------------


def test_rate_view_bands_are_the_printed_rounding_interval():
    frame = figures.view_frame(series(FIVE), "rate")
    kgs = frame[frame["label"] == "KGS"].iloc[0]
    assert kgs["value"] == pytest.approx(0.01144)
    assert (kgs["lo"], kgs["hi"]) == pytest.approx((0.011435, 0.011445))
    assert kgs["value_text"] == "0.01144"  # the printed text, not a float's repr
    uzs = frame[frame["label"] == "UZS"].iloc[0]
    assert (uzs["hi"] - uzs["value"]) / uzs["value"] == pytest.approx(0.0625)  # ±6.25%
    assert (uzs["value"] - uzs["lo"]) / uzs["value"] == pytest.approx(0.0625)


def test_per_usd_view_inverts_the_band_too():
    frame = figures.view_frame(series({"UZS": ["0.00008"], "KGS": ["0.01144"]}), "per_usd")
    uzs = frame[frame["label"] == "UZS"].iloc[0]
    assert uzs["value"] == pytest.approx(12500)
    assert (uzs["lo"], uzs["hi"]) == pytest.approx((1 / 0.000085, 1 / 0.000075))
    assert uzs["value_text"] == "12,500"
    assert frame[frame["label"] == "KGS"].iloc[0]["value_text"] == "87.413"


def test_index_view_is_100_at_the_first_visible_date():
    data = series({"KGS": ["0.01000", "0.01100", "0.01200", "0.01320"]})
    whole = figures.view_frame(data, "index")
    assert whole["value"].tolist() == pytest.approx([100, 110, 120, 132])
    visible = (pd.Timestamp(START + dt.timedelta(days=1)),
               pd.Timestamp(START + dt.timedelta(days=3)))
    zoomed = figures.view_frame(data, "index", visible)
    assert zoomed["value"].tolist() == pytest.approx([100 / 1.1, 100, 120 / 1.1, 120])
    first = zoomed.iloc[1]
    assert (first["lo"], first["hi"]) == pytest.approx((0.010995 / 0.011 * 100,
                                                       0.011005 / 0.011 * 100))


def test_change_view_is_the_change_between_captures_with_its_rounding_range():
    frame = figures.view_frame(series({"TJS": ["0.10000", "0.10100", "0.10100"]}), "change")
    assert math.isnan(frame["value"].iloc[0])
    assert frame["value_text"].iloc[0].startswith("—")
    assert frame["value"].iloc[1] == pytest.approx(1.0)
    assert frame["value_text"].iloc[1] == "+1.00%"
    low = (0.100995 / 0.100005 - 1) * 100
    high = (0.101005 / 0.099995 - 1) * 100
    assert (frame["lo"].iloc[1], frame["hi"].iloc[1]) == pytest.approx((low, high))
    assert frame["lo"].iloc[2] < 0 < frame["hi"].iloc[2]  # unchanged: zero is inside the band


def test_change_view_never_compares_two_currencies():
    frame = figures.view_frame(series({"KGS": ["0.01000", "0.01010"],
                                       "TJS": ["0.10000", "0.10000"]}), "change")
    assert frame.groupby("label")["value"].apply(lambda v: v.isna().iloc[0]).all()


def test_unknown_view_is_refused():
    with pytest.raises(ValueError, match="unknown view"):
        figures.view_frame(series(FIVE), "sideways")


# -- the figure --------------------------------------------------------------------------------


def test_a_trace_per_currency_in_ticker_order_each_with_its_band():
    fig = figures.movements_figure(series(FIVE), view="rate", bands=True)
    assert [t.name for t in traces(fig, "series")] == ["KGS", "KZT", "TJS", "UZS", "TMT"]
    lows, highs = traces(fig, "band-low"), traces(fig, "band-high")
    assert [t.meta["label"] for t in highs] == ["KGS", "KZT", "TJS", "UZS", "TMT"]
    assert all(t.fill == "tonexty" and t.hoverinfo == "skip" for t in highs)
    # each band's high trace directly follows its low trace, so `tonexty` fills between them
    order = [(t.meta or {}).get("role") for t in fig.data]
    assert all(order[i + 1] == "band-high" for i, r in enumerate(order) if r == "band-low")
    uzs_low = np.asarray(lows[3].y, dtype=float)
    uzs_high = np.asarray(highs[3].y, dtype=float)
    assert ((uzs_high - uzs_low) / 0.00008).tolist() == pytest.approx([0.125] * 3)


def test_hover_carries_printed_rate_change_and_snapshot_count():
    data = series({"KZT": ["0.00193", "0.00194"]}, changes={"KZT": ["-0", "0.52"]})
    fig = figures.movements_figure(data, view="per_usd")
    trace = traces(fig, "series")[0]
    assert fig.layout.hovermode == "x unified"
    assert fig.layout.xaxis.hoverformat  # the capture date heads the unified hover
    assert [list(row) for row in trace.customdata] == [
        ["518.13", "0.00193", "-0", "3 snapshots"], ["515.46", "0.00194", "0.52", "3 snapshots"]]
    assert "%{customdata[1]}" in trace.hovertemplate and "%{customdata[2]}%" in trace.hovertemplate


def test_no_bands_when_switched_off_and_log_only_where_it_makes_sense():
    fig = figures.movements_figure(series(FIVE), view="rate", bands=False, log=True)
    assert not traces(fig, "band-low") and not traces(fig, "band-high")
    assert fig.layout.yaxis.type == "log"
    assert figures.movements_figure(series(FIVE), view="change", log=True).layout.yaxis.type == \
        "linear"


def test_range_selector_without_a_slider():
    """Range buttons; no range slider (it doubled the chart's drawing time in the browser)."""
    fig = figures.movements_figure(series(FIVE))
    labels = [b.label for b in fig.layout.xaxis.rangeselector.buttons]
    assert labels == ["1M", "3M", "6M", "YTD", "1Y", "All"]
    assert not fig.layout.xaxis.rangeslider.visible


def test_findings_are_marked_with_a_symbol_per_severity_on_their_currency():
    data = series(FIVE)
    day1 = START + dt.timedelta(days=1)
    fig = figures.movements_figure(data, findings(
        finding("a1", "jump", "warning", "TMT", day1),
        finding("b2", "same_day_conflict", "error", "TJS", day1),
        finding("c3", "coarse_resolution", "info", "UZS", START),
        finding("d4", "date_disagreement", "warning", None, day1),
        finding("e5", "undated", "warning", None, None),  # no date: not on the chart
        finding("f6", "jump", "error", "XYZ", day1),  # a currency that is not charted
    ), view="rate")
    marks = {(t.meta["severity"], t.meta["strip"]): t for t in traces(fig, "findings")}
    assert set(marks) == {("warning", False), ("error", False), ("info", False),
                          ("warning", True)}
    assert len({t.marker.symbol for t in marks.values()}) == 3
    tmt = marks[("warning", False)]
    assert list(tmt.customdata) == ["a1"]
    assert tmt.y[0] == pytest.approx(0.28490)  # on the TMT trace, at that date
    assert marks[("error", False)].y[0] == pytest.approx(0.10800)
    strip = marks[("warning", True)]
    assert strip.yaxis == "y2" and list(strip.y) == [STRIP_Y]
    assert "something is off" in tmt.hovertext[0]


def test_finding_messages_are_escaped_for_plotly_hover():
    hostile = "<script>window.__pwned=1</script> <b>bold</b> <a href='javascript:alert(1)'>x</a>"
    fig = figures.movements_figure(series(FIVE), findings(
        finding("a1", "copies_disagree", "error", "KGS", START, hostile)))
    text = traces(fig, "findings")[0].hovertext[0]
    assert "<script" not in text and "<b>" not in text and "<a " not in text
    assert "&lt;script&gt;" in text and "&lt;b&gt;" in text


def test_selected_finding_is_ringed_and_marked_by_a_vertical_line():
    data = series(FIVE)
    day1 = pd.Timestamp(START + dt.timedelta(days=1))
    selected = pd.DataFrame({"label": ["TJS", "TJS"], "captured_on": [START, day1.date()]})
    fig = figures.movements_figure(data, selected=selected, view="rate")
    ring = traces(fig, "selection")[0]
    assert list(ring.y) == pytest.approx([0.10811, 0.10800])
    assert len(fig.layout.shapes) == 2
    everywhere = pd.DataFrame({"label": [None], "captured_on": [START]})
    ring = traces(figures.movements_figure(data, selected=everywhere, coarse=True),
                  "selection")[0]
    assert len(ring.x) == 5  # a finding about no currency rings every currency that day


def test_visible_range_sets_the_x_range_and_fits_y_to_what_is_visible():
    data = series({"KGS": ["0.01000", "0.01100", "0.02000", "0.05000"]})
    visible = (pd.Timestamp(START), pd.Timestamp(START + dt.timedelta(days=1)))
    fig = figures.movements_figure(data, view="rate", visible=visible)
    assert list(fig.layout.xaxis.range) == ["2025-01-01", "2025-01-02"]
    low, high = fig.layout.yaxis.range
    assert low < 0.009995 and 0.011005 < high < 0.02  # the later 0.05 is out of view


def test_empty_series_gives_a_figure_that_says_so():
    fig = figures.movements_figure(empty_series())
    assert fig.layout.meta["empty"] is True
    assert "No dated snapshots" in fig.layout.annotations[0].text
    assert not fig.data


def test_a_second_quote_currency_gets_its_own_trace():
    fig = figures.movements_figure(series({"KGS": ["0.01144"], "KGS/EUR": ["0.01000"]}))
    assert [t.name for t in traces(fig, "series")] == ["KGS", "KGS/EUR"]


# -- downsampling ------------------------------------------------------------------------------


def long_series(n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    walk = 0.01144 * np.exp(np.cumsum(rng.normal(0, 0.004, n)))
    return series({"KGS": [f"{v:.5f}" for v in walk],
                   "TMT": [f"{0.28571 + 0.0001 * (i % 7):.5f}" for i in range(n)]})


def test_long_ranges_are_downsampled_keeping_extremes_and_flagged_points():
    data = long_series()
    frame = figures.view_frame(data, "rate")
    keep = np.zeros(len(frame), dtype=bool)
    keep[[17, 1234, 2999]] = True
    mask = figures.downsample(frame, keep, max_points=400)
    for label in ("KGS", "TMT"):
        rows = (frame["label"] == label).to_numpy()
        assert mask[rows].sum() <= 400 + 3
        values = frame["value"].to_numpy()[rows]
        drawn = values[mask[rows]]
        assert drawn.min() == values.min() and drawn.max() == values.max()
    assert mask[[17, 1234, 2999]].all()
    assert mask[frame.index[frame["label"] == "KGS"][[0, -1]]].all()  # both ends


def test_the_visible_part_gets_most_of_the_budget():
    frame = figures.view_frame(long_series(), "rate")
    visible = (pd.Timestamp(START + dt.timedelta(days=1000)),
               pd.Timestamp(START + dt.timedelta(days=1199)))
    mask = figures.downsample(frame, np.zeros(len(frame), dtype=bool), 400, visible)
    inside = (frame["captured_on"] >= visible[0]) & (frame["captured_on"] <= visible[1])
    kgs = (frame["label"] == "KGS").to_numpy()
    assert mask[kgs & inside.to_numpy()].all()  # 200 visible points: all drawn
    assert mask[kgs & ~inside.to_numpy()].sum() <= 100


def test_the_figure_reports_what_was_drawn_and_keeps_findings():
    data = long_series()
    day = START + dt.timedelta(days=1234)
    fig = figures.movements_figure(data, findings(finding("x", "jump", "warning", "KGS", day)),
                                   max_points=300)
    assert fig.layout.meta["captures"] == 6000 and fig.layout.meta["drawn"] <= 606
    kgs = traces(fig, "series")[0]
    assert pd.Timestamp(day).to_datetime64() in set(np.asarray(kgs.x))
    assert any("captures drawn" in line for line in fig.layout.meta["subtitle"])


def test_short_series_are_not_downsampled():
    frame = figures.view_frame(series(FIVE), "rate")
    assert figures.downsample(frame, np.zeros(len(frame), dtype=bool), 800).all()


# -- the visible range -------------------------------------------------------------------------


@pytest.mark.parametrize(("relayout", "current", "expected"), [
    ({"xaxis.range[0]": "2025-02-01 12:00", "xaxis.range[1]": "2025-03-01"}, None,
     ["2025-02-01", "2025-03-01"]),
    ({"xaxis.range": ["2025-03-01", "2025-02-01 05:00:00.5"]}, None,
     ["2025-02-01", "2025-03-01"]),
    ({"xaxis.autorange": True}, ["2025-02-01", "2025-03-01"], None),
    ({"autosize": True}, ["2025-02-01", "2025-03-01"], ["2025-02-01", "2025-03-01"]),
    ({"yaxis.range[0]": 1, "yaxis.range[1]": 2}, None, None),
    ({"xaxis.range[0]": "garbage", "xaxis.range[1]": "2025-03-01"}, None, None),
    (None, None, None),
])
def test_visible_range_from_relayout(relayout, current, expected):
    assert figures.visible_from_relayout(relayout, current) == expected


def test_parse_visible():
    assert figures.parse_visible(["2025-03-01", "2025-02-01"]) == (
        pd.Timestamp("2025-02-01"), pd.Timestamp("2025-03-01"))
    assert figures.parse_visible(None) is None
    assert figures.parse_visible(["nope", "2025-01-01"]) is None
