"""The official rates beside the ticker: a dashed trace per shown currency in every view
(pure figures), and the "official" option over a real database seeded from fake banks."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd
import pytest

from dashboards import callbacks, data, figures
from tests.dashboard.test_figures import START, series, traces

DAY = dt.timedelta(days=1)


def official(rows: dict[str, list[tuple[dt.date, float]]]) -> pd.DataFrame:
    """An official frame as `tracker.read.official_series_frame` returns it."""
    out = [{"rate_date": day, "label": label, "currency": label, "per_usd": per_usd,
            "source": "NBK"} for label, pubs in rows.items() for day, per_usd in pubs]
    return pd.DataFrame(out, columns=["rate_date", "label", "currency", "per_usd", "source"])


TICKER = series({"KZT": ["0.00193", "0.00192", "0.00196"],
                 "KGS": ["0.01144", "0.01145", "0.01143"]})
# the day before the ticker starts (in force on its first day), then two publications
KZT = official({"KZT": [(START - DAY, 500.0), (START + DAY, 520.0), (START + 2 * DAY, 518.0)],
                "TJS": [(START, 9.25)]})


def figure(view: str, off: pd.DataFrame = KZT, **kw) -> object:
    return figures.movements_figure(TICKER, view=view, official=off, **kw)


def the_official(fig, label: str = "KZT"):
    found = [t for t in traces(fig, "official") if t.meta["label"] == label]
    assert len(found) == 1, [t.name for t in fig.data]
    return found[0]


@pytest.mark.parametrize("view", list(figures.VIEWS))
def test_each_view_draws_the_shown_currencies_official_series_dashed_and_thin(view):
    fig = figure(view)
    line = the_official(fig)
    series_line = next(t for t in traces(fig, "series") if t.name == "KZT")
    assert line.name == "KZT official"
    assert line.line.dash == "dash" and line.line.width < series_line.line.width
    assert line.line.color == series_line.line.color and line.legendgroup == "KZT"
    assert [pd.Timestamp(x).date() for x in line.x] == [START - DAY, START + DAY, START + 2 * DAY]
    # TJS has official rates but is not shown; KGS is shown but has none
    assert [t.meta["label"] for t in traces(fig, "official")] == ["KZT"]


def test_rate_view_is_usd_per_unit():
    y = the_official(figure("rate")).y
    assert y[2] == pytest.approx(0.0019305, abs=5e-8)
    assert list(y) == pytest.approx([1 / 500, 1 / 520, 1 / 518], rel=1e-12)


def test_per_usd_view_is_as_published():
    assert list(the_official(figure("per_usd")).y) == [500.0, 520.0, 518.0]


def test_index_is_based_on_the_tickers_rebase_date():
    fig = figure("index")
    assert fig.layout.meta["base"] == START.isoformat()
    # in force on START: the 500 published the day before
    assert list(the_official(fig).y) == pytest.approx([100.0, 50000 / 520, 50000 / 518])
    moved = figure("index", visible=(pd.Timestamp(START + DAY), pd.Timestamp(START + 2 * DAY)))
    assert moved.layout.meta["base"] == (START + DAY).isoformat()
    assert list(the_official(moved).y) == pytest.approx([104.0, 100.0, 52000 / 518])


def test_change_is_between_consecutive_publications():
    y = list(the_official(figure("change")).y)
    assert math.isnan(y[0])
    assert y[1:] == pytest.approx([(500 / 520 - 1) * 100, (520 / 518 - 1) * 100])


@pytest.mark.parametrize("off", [None, official({})], ids=["off", "no-rates"])
def test_nothing_drawn_without_official_rates(off):
    fig = figure("rate", off)
    assert traces(fig, "official") == [] and [t.name for t in traces(fig, "series")] == ["KGS",
                                                                                         "KZT"]


# -- over a database -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def official_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.officialdb import seed

    root = tmp_path_factory.mktemp("official-dash")
    seed(root / "tracker.duckdb", root / "pages")
    return root / "tracker.duckdb"


@pytest.mark.parametrize("view", list(figures.VIEWS))
def test_the_official_option_draws_the_banks_rates(official_db, view):
    from tests.officialdb import KZT as PUBLISHED

    s = data.Settings(db_path=official_db)
    fig = callbacks.movements_figure(s, "v", ["KZT", "TMT"], view, ["official", "coarse"],
                                     None, None)
    assert [t.name for t in traces(fig, "official")] == ["KZT official", "TMT official"]
    kzt = the_official(fig)
    assert [pd.Timestamp(x).date() for x in kzt.x] == list(PUBLISHED)
    if view == "rate":
        assert list(kzt.y) == pytest.approx([1 / float(v) for v in PUBLISHED.values()])
    if view == "per_usd":
        assert list(kzt.y) == [float(v) for v in PUBLISHED.values()]
        assert list(the_official(fig, "TMT").y) == [3.5] * len(the_official(fig, "TMT").y)
    assert kzt.meta["sources"] == "NBK"
    plain = callbacks.movements_figure(s, "v", ["KZT", "TMT"], view, ["coarse"], None, None)
    assert traces(plain, "official") == [] and traces(plain, "series")


def test_the_new_finding_kinds_are_marked_like_the_others(official_db):
    s = data.Settings(db_path=official_db)
    kinds = set(data.load_findings(s)["kind"])
    assert "ticker_lag" in kinds
    fig = callbacks.movements_figure(s, "v", ["KZT"], "rate", ["official"], None, None)
    marked = " ".join(" ".join(t.hovertext) for t in traces(fig, "findings"))
    assert "ticker_lag" in marked


def test_the_official_option_on_a_database_without_official_rates(corpus_db):
    fig = callbacks.movements_figure(data.Settings(db_path=corpus_db), "v", None, "per_usd",
                                     ["official"], None, None)
    assert traces(fig, "official") == [] and traces(fig, "series")
