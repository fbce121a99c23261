"""The dashboard at scale, in a real headless Chromium: selections that follow the clicked row
whatever the filter, the detail beside the chart, the timeline's cells, gaps and coverage,
and a layout that does not overlap from 1024 px up. Screenshots go to the test's tmp dir."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from dash.testing.wait import until

from dashboards import ids as I
from tests.dashboard import corpus
from tests.dashboard.test_e2e import (
    chart,
    click_at,
    click_cell,
    no_console_errors,
    role,
    start,
    text,
    wait_chart,
    wait_text,
)

pytestmark = pytest.mark.browser

RECT_JS = """
const el = document.querySelector(arguments[0]);
if (!el) { return null; }
const r = el.getBoundingClientRect();
return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width,
        height: r.height};
"""


def rect(dash_duo, selector: str) -> dict | None:
    return dash_duo.driver.execute_script(RECT_JS, selector)


def overlap(a: dict, b: dict) -> bool:
    return not (a["right"] <= b["left"] or b["right"] <= a["left"] or
                a["bottom"] <= b["top"] or b["bottom"] <= a["top"])


def cells(dash_duo, column: str) -> list[str]:
    return [c.text for c in dash_duo.find_elements(
        f"#{I.FINDINGS_TABLE} td[data-dash-column='{column}']")]


def settled(dash_duo, timeout: float = 20) -> None:
    """Wait until no callback is updating a component (Dash marks them while it waits)."""
    quiet = []

    def idle() -> bool:
        busy = dash_duo.driver.execute_script(
            "return document.querySelectorAll('[data-dash-is-loading=\"true\"]').length")
        quiet.append(busy == 0)
        return quiet[-3:] == [True, True, True]

    until(idle, timeout=timeout, msg="the page kept updating")


def click_marker(dash_duo, needle: str) -> None:
    """A real click on the chart's marker of the finding whose hover text has `needle`
    (once the page has settled: a redraw under the pointer would move the marker)."""
    settled(dash_duo)
    state = chart(dash_duo)
    index, point = next((i, t["hovertext"].index(h)) for i, t in enumerate(state["traces"])
                        if t["meta"].get("role") == "findings" for h in t["hovertext"]
                        if needle in h)
    x, y = dash_duo.driver.execute_script(
        "const gd = document.querySelector('#movements-graph .js-plotly-plot');"
        "const t = gd._fullData[arguments[0]], L = gd._fullLayout;"
        "const ya = t.yaxis === 'y2' ? L.yaxis2 : L.yaxis;"
        "return [L.xaxis.d2p(t.x[arguments[1]]) + L.xaxis._offset - L.xaxis._offset,"
        "        ya.d2p(t.y[arguments[1]])];", index, point)
    click_at(dash_duo, dash_duo.find_element("#movements-graph .nsewdrag"), x, y)


def test_selections_follow_the_clicked_row_whatever_the_filter(dash_duo, samples_db,
                                                              free_port, tmp_path):
    start(dash_duo, samples_db, free_port)
    wait_chart(dash_duo, lambda s: len(role(s, "series")) == 4)
    wait_text(dash_duo, f"#{I.FINDINGS_COUNT}", "9 of 9 findings")
    first = cells(dash_duo, "kind")[0]
    click_cell(dash_duo, I.FINDINGS_TABLE, "kind", 0)
    wait_text(dash_duo, f"#{I.FINDING_DETAIL}", first)

    # filtered: the same position now holds another finding, and a click there selects it
    dash_duo.select_dcc_dropdown(f"#{I.FINDINGS_SEVERITY}", value="errors only")
    wait_text(dash_duo, f"#{I.FINDINGS_COUNT}", "4 of 9 findings")
    now_first = cells(dash_duo, "kind")[0]
    assert now_first != first
    click_cell(dash_duo, I.FINDINGS_TABLE, "kind", 0)
    detail = wait_text(dash_duo, f"#{I.FINDING_DETAIL}", now_first)
    assert first not in detail.splitlines()[0]
    # sorted the other way: row 0 is yet another finding
    sort = f"#{I.FINDINGS_TABLE} th[data-dash-column='kind'] .column-header--sort"
    dash_duo.find_element(sort).click()
    until(lambda: cells(dash_duo, "kind")[0] != now_first, timeout=10)
    sorted_first = cells(dash_duo, "kind")[0]
    click_cell(dash_duo, I.FINDINGS_TABLE, "kind", 0)
    wait_text(dash_duo, f"#{I.FINDING_DETAIL}", sorted_first)

    # a marker, a row (the same position as before), the same marker again: each click
    # selects what was clicked
    click_marker(dash_duo, "copies_disagree")
    wait_text(dash_duo, f"#{I.FINDING_DETAIL}", "copies_disagree")
    click_cell(dash_duo, I.FINDINGS_TABLE, "kind", 0)
    wait_text(dash_duo, f"#{I.FINDING_DETAIL}", sorted_first)
    click_marker(dash_duo, "copies_disagree")
    wait_text(dash_duo, f"#{I.FINDING_DETAIL}", "copies_disagree")

    # the snapshots table: click row 0, filter to undated, click row 0 again
    dash_duo.find_element(f"#{I.TAB_SNAPSHOTS}").click()
    wait_text(dash_duo, f"#{I.SNAPSHOTS_COUNT}", "snapshots in total")
    sources = [c.text for c in dash_duo.find_elements(
        f"#{I.SNAPSHOTS_TABLE} td[data-dash-column='source']")]
    click_cell(dash_duo, I.SNAPSHOTS_TABLE, "source", 0)
    wait_text(dash_duo, f"#{I.SNAPSHOT_DETAIL}", sources[0])
    dash_duo.find_element(f"#{I.SNAPSHOTS_FILTER} input[value='undated']").click()
    wait_text(dash_duo, f"#{I.SNAPSHOTS_COUNT}", "snapshots is undated")
    undated = dash_duo.find_element(
        f"#{I.SNAPSHOTS_TABLE} td[data-dash-column='source']").text
    assert undated != sources[0]
    click_cell(dash_duo, I.SNAPSHOTS_TABLE, "source", 0)
    detail = wait_text(dash_duo, f"#{I.SNAPSHOT_DETAIL}", undated)
    assert "undated: no date evidence" in detail
    dash_duo.driver.save_screenshot(str(tmp_path / "selections.png"))
    no_console_errors(dash_duo)


def test_the_detail_opens_beside_the_chart_with_the_disputed_values(dash_duo, samples_db,
                                                                   free_port, tmp_path):
    dash_duo.driver.set_window_size(1024, 900)
    start(dash_duo, samples_db, free_port)
    wait_chart(dash_duo, lambda s: len(role(s, "series")) == 4)
    assert not dash_duo.find_element(f"#{I.FINDING_PANEL}").is_displayed()
    dash_duo.select_dcc_dropdown(f"#{I.FINDINGS_KIND}", value="same_day_conflict")
    wait_text(dash_duo, f"#{I.FINDINGS_COUNT}", "1 of 9")
    click_cell(dash_duo, I.FINDINGS_TABLE, "kind", 0)
    wait_text(dash_duo, f"#{I.FINDING_DETAIL}", "Side by side")
    graph, panel = rect(dash_duo, f"#{I.GRAPH}"), rect(dash_duo, f"#{I.FINDING_PANEL}")
    assert panel["left"] >= graph["right"]  # beside it, not below
    assert panel["top"] < graph["bottom"] and graph["top"] < panel["bottom"]
    differs = [r.text for r in dash_duo.find_elements(
        f"#{I.FINDING_DETAIL} table.compare tr.differs")]
    tjs = next(r for r in differs if r.startswith("TJS"))
    assert "0.10895" in tjs and "0.10811" in tjs  # the disputed rates, side by side
    header = dash_duo.find_element(f"#{I.FINDING_DETAIL} table.compare thead").text
    assert "tca-world-2025-11-21.txt" in header and "tca-region-21nov.txt" in header
    dash_duo.driver.execute_script("window.scrollTo(0, 0)")
    dash_duo.driver.save_screenshot(str(tmp_path / "detail-beside.png"))
    dash_duo.find_element(f"#{I.DETAIL_CLOSE}").click()
    until(lambda: not dash_duo.find_element(f"#{I.FINDING_PANEL}").is_displayed(), timeout=10)
    no_console_errors(dash_duo)


@pytest.mark.parametrize("width", [1024, 1280, 1600])
def test_no_overlap_from_1024_px(dash_duo, samples_db, free_port, width, tmp_path):
    dash_duo.driver.set_window_size(width, 1000)
    start(dash_duo, samples_db, free_port)
    wait_chart(dash_duo, lambda s: len(role(s, "series")) == 4)
    wait_text(dash_duo, f"#{I.CHART_SUBTITLE}", "100 =")
    base = "#movements-graph"
    plot = rect(dash_duo, f"{base} .draglayer .xy .nsewdrag")
    legend = rect(dash_duo, f"{base} .legend")
    buttons = rect(dash_duo, f"{base} .rangeselector")
    title = rect(dash_duo, f"#{I.CHART_SUBTITLE}")
    graph = rect(dash_duo, f"#{I.GRAPH}")
    assert not overlap(plot, legend) and not overlap(buttons, legend)
    assert title["bottom"] <= graph["top"] + 1  # the title and its notes sit above the chart
    assert legend["right"] <= graph["right"] + 1 and plot["left"] >= graph["left"]
    dash_duo.driver.save_screenshot(str(tmp_path / f"width-{width}.png"))


def test_a_timeline_cell_filters_the_table(dash_duo, samples_db, free_port):
    start(dash_duo, samples_db, free_port)
    wait_text(dash_duo, f"#{I.FINDINGS_COUNT}", "9 of 9 findings")
    until(lambda: dash_duo.driver.execute_script(
        f"const gd = document.querySelector('#{I.TIMELINE} .js-plotly-plot');"
        "return !!(gd && gd.data && gd.data.length)"), timeout=15)
    dash_duo.driver.execute_script(
        f"document.querySelector('#{I.TIMELINE}').scrollIntoView()")
    x, y = dash_duo.driver.execute_script(
        f"const gd = document.querySelector('#{I.TIMELINE} .js-plotly-plot');"
        "const t = gd._fullData[0], L = gd._fullLayout;"
        "const row = t.y.indexOf('same_day_conflict · TJS');"
        "const col = t.z[row].findIndex(v => v !== null && !Number.isNaN(v));"
        "return [L.xaxis.d2p(t.x[col]), L.yaxis.d2p(row)];")
    click_at(dash_duo, dash_duo.find_element(f"#{I.TIMELINE} .nsewdrag"), x, y)
    wait_text(dash_duo, f"#{I.FINDINGS_COUNT}", "1 of 9 findings")
    assert cells(dash_duo, "kind") == ["same_day_conflict"]
    assert "same_day_conflict · TJS" in text(dash_duo, f"#{I.TIMELINE_NOTE}")
    dash_duo.find_element(f"#{I.TIMELINE_CLEAR}").click()
    wait_text(dash_duo, f"#{I.FINDINGS_COUNT}", "9 of 9 findings")
    no_console_errors(dash_duo)


def test_gaps_break_the_lines_and_the_coverage_strip_shows_them(dash_duo, writable_db,
                                                               free_port, tmp_path):
    from tracker.ingest import ingest_paths

    early = corpus.START - dt.timedelta(days=300)
    page = tmp_path / "lone" / "early.txt"
    page.parent.mkdir()
    page.write_bytes(corpus.page_bytes(day=early))
    ingest_paths([page], db_path=writable_db)
    start(dash_duo, writable_db, free_port)
    state = wait_chart(dash_duo, lambda s: len(role(s, "series")) == 4)
    for trace in role(state, "series"):
        assert trace["meta"]["breaks"] == 1
        assert trace["y"][1] is None  # the blank point after the lone early capture
    assert f"100 = {early:%d %b %Y}" in text(dash_duo, f"#{I.CHART_SUBTITLE}")
    assert "lines break where captures are missing" in text(dash_duo, f"#{I.CHART_SUBTITLE}")
    days = sum(t["meta"]["days"] for t in role(state, "coverage"))
    assert days == corpus.DAYS + 1  # every captured day, none in the gap
    runs = sum(t["meta"]["runs"] for t in role(state, "coverage"))
    assert runs == 2  # the lone early day, then the daily run
    dash_duo.driver.save_screenshot(str(tmp_path / "gaps.png"))
    no_console_errors(dash_duo)


def test_busy_port_is_covered_by_the_command_tests():
    """The busy port (exit 3, one clear line) is tested on the real command in
    test_cli_dashboard.py::test_a_busy_port_is_a_clear_error_with_exit_status_3."""
    source = (Path(__file__).parent / "test_cli_dashboard.py").read_text()
    assert "def test_a_busy_port_is_a_clear_error_with_exit_status_3" in source
