"""The dashboard in a real headless Chromium (dash.testing's `dash_duo`), over real databases.

Each test starts the app on its own loopback port and browser profile, so `pytest -n 2` can
run them side by side. The first test also saves docs/screenshot-movements.png: the movements
view over the bundled samples, as a reader of the README will see it.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
import selenium
from dash.testing.wait import until
from selenium.webdriver.common.action_chains import ActionChains

from dashboards import ids as I
from dashboards.app import create_app
from tests.dashboard import corpus

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "screenshot-movements.png"
FIVE = ["KGS", "KZT", "TJS", "UZS", "TMT"]

# The chart's traces as plain data (plotly.js may hold typed arrays).
TRACES_JS = """
const gd = document.querySelector('#movements-graph .js-plotly-plot');
if (!gd || !gd.data) { return null; }
return {
  layout: {meta: gd.layout.meta || null, yaxis_type: gd.layout.yaxis && gd.layout.yaxis.type,
           ytitle: gd.layout.yaxis && gd.layout.yaxis.title && gd.layout.yaxis.title.text},
  // gd._fullData holds the arrays decoded (the server sends numbers base64-encoded)
  traces: gd.data.map((t, i) => {
    const full = gd._fullData[i] || t;
    return {name: t.name, meta: t.meta || {}, fill: t.fill || null,
            y: full.y ? Array.from(full.y) : [], n: full.x ? full.x.length : 0,
            hovertext: full.hovertext ? Array.from(full.hovertext) : []};
  }),
};
"""


def start(dash_duo, db: Path, port: int, **kw) -> None:
    dash_duo.start_server(create_app(db, **kw), port=port)
    dash_duo.wait_for_element(f"#{I.GRAPH}", timeout=20)


def chart(dash_duo) -> dict | None:
    return dash_duo.driver.execute_script(TRACES_JS)


def wait_chart(dash_duo, check, timeout: float = 20) -> dict:
    """The chart once `check(chart)` holds."""
    box: dict = {}

    def ready() -> bool:
        state = chart(dash_duo)
        if state and check(state):
            box.update(state)
            return True
        return False

    until(ready, timeout=timeout, msg="the chart never reached the expected state")
    return box


def role(state: dict, name: str) -> list[dict]:
    return [t for t in state["traces"] if t["meta"].get("role") == name]


def text(dash_duo, selector: str) -> str:
    return dash_duo.find_element(selector).text


def wait_text(dash_duo, selector: str, needle: str, timeout: float = 15) -> str:
    until(lambda: needle in text(dash_duo, selector), timeout=timeout,
          msg=f"{needle!r} never appeared in {selector}")
    return text(dash_duo, selector)


def click_cell(dash_duo, table: str, column: str, row: int = 0) -> None:
    cells = dash_duo.find_elements(f"#{table} td[data-dash-column='{column}']")
    cells[row].click()


def count(dash_duo, selector: str) -> int:
    """How many elements match, now (find_elements would wait for one to appear)."""
    return dash_duo.driver.execute_script(
        "return document.querySelectorAll(arguments[0]).length", selector)


def click_at(dash_duo, element, x: float, y: float) -> None:
    """A real mouse click `x`, `y` pixels from the element's top left corner (scrolled to
    the middle of the window first: the pointer cannot leave the window)."""
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    if tuple(int(p) for p in selenium.__version__.split(".")[:2]) >= (4, 3):
        x, y = x - element.size["width"] / 2, y - element.size["height"] / 2  # from the centre
    ActionChains(dash_duo.driver).move_to_element_with_offset(element, round(x), round(y)) \
        .click().perform()


def no_console_errors(dash_duo) -> None:
    errors = [e for e in dash_duo.get_logs() or [] if e.get("level") == "SEVERE"]
    assert errors == [], errors


def test_movements_views_and_findings_on_the_samples(dash_duo, samples_db, free_port,
                                                    monkeypatch):
    monkeypatch.chdir(samples_db.parent.parent)  # the screenshot shows data/tracker.duckdb
    start(dash_duo, Path("data") / samples_db.name, free_port)
    # the default index view leaves UZS (printed 0.00008: ±6%) out, with a note; no bands
    state = wait_chart(dash_duo, lambda s: len(role(s, "series")) == 4)
    assert [t["name"] for t in role(state, "series")] == ["KGS", "KZT", "TJS", "TMT"]
    assert state["layout"]["meta"]["left_out"] == ["UZS"] and not role(state, "band-high")
    assert "UZS left out" in text(dash_duo, f"#{I.CHART_SUBTITLE}")
    assert role(state, "coverage")  # the coverage strip under the chart
    dash_duo.find_element(f"#{I.OPTIONS} input[value='coarse']").click()
    dash_duo.find_element(f"#{I.OPTIONS} input[value='bands']").click()
    state = wait_chart(dash_duo, lambda s: len(role(s, "band-high")) == 5)
    assert [t["name"] for t in role(state, "series")] == FIVE
    highs, lows = role(state, "band-high"), role(state, "band-low")
    assert [t["meta"]["label"] for t in highs] == FIVE
    assert all(t["fill"] == "tonexty" for t in highs)
    uzs = FIVE.index("UZS")
    width = (highs[uzs]["y"][0] - lows[uzs]["y"][0]) / role(state, "series")[uzs]["y"][0]
    assert width == pytest.approx(0.125)  # UZS's ±6.25%, drawn as such
    marks = role(state, "findings")
    assert {t["meta"]["severity"] for t in marks} == {"error", "warning", "info"}
    assert any(t["meta"]["strip"] for t in marks)  # findings about no currency: top strip
    dash_duo.find_element(f"#{I.OPTIONS} input[value='bands']").click()
    dash_duo.find_element(f"#{I.OPTIONS} input[value='coarse']").click()
    wait_chart(dash_duo, lambda s: len(role(s, "series")) == 4 and not role(s, "band-high"))
    wait_text(dash_duo, f"#{I.STATUS}", "26 ingested")

    dash_duo.driver.set_window_size(1400, 1000)
    dash_duo.driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
    until(lambda: chart(dash_duo) is not None, timeout=5)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    partial = SCREENSHOT.with_name(f".{SCREENSHOT.name}.{os.getpid()}.png")
    assert dash_duo.driver.save_screenshot(str(partial))
    os.replace(partial, SCREENSHOT)

    # views
    dash_duo.find_element(f"#{I.VIEW} input[value='per_usd']").click()
    state = wait_chart(dash_duo, lambda s: s["layout"]["meta"]["view"] == "per_usd")
    assert state["layout"]["ytitle"] == "units per USD"
    assert max(role(state, "series")[uzs]["y"]) == pytest.approx(1 / 0.00007)  # all five
    dash_duo.find_element(f"#{I.OPTIONS} input[value='log']").click()
    wait_chart(dash_duo, lambda s: s["layout"]["yaxis_type"] == "log")
    dash_duo.find_element(f"#{I.VIEW} input[value='change']").click()
    state = wait_chart(dash_duo, lambda s: s["layout"]["meta"]["view"] == "change")
    assert state["layout"]["yaxis_type"] == "linear"  # no log scale for signed changes
    assert "UZS" not in [t["name"] for t in role(state, "series")]
    dash_duo.find_element(f"#{I.VIEW} input[value='index']").click()
    wait_chart(dash_duo, lambda s: s["layout"]["meta"]["view"] == "index")
    buttons = dash_duo.find_elements("#movements-graph .rangeselector .button")
    next(b for b in buttons if b.text == "1M").click()
    state = wait_chart(dash_duo, lambda s: s["layout"]["meta"]["visible"] is not None)
    first, last = state["layout"]["meta"]["visible"]
    assert last >= "2025-12-22" and "2025-11-21" < first <= "2025-11-24"  # a month back
    base = state["layout"]["meta"]["base"]  # the first date in view with every currency
    assert first <= base and f"100 = {dt.date.fromisoformat(base):%d %b %Y}" in text(
        dash_duo, f"#{I.CHART_SUBTITLE}")
    for trace in role(state, "series"):  # every trace is 100 on that one day
        assert 100 in [round(y, 9) for y in trace["y"]]

    # findings: filter, then select one
    wait_text(dash_duo, f"#{I.FINDINGS_COUNT}", "9 of 9 findings")
    dash_duo.select_dcc_dropdown(f"#{I.FINDINGS_SEVERITY}", value="errors only")
    wait_text(dash_duo, f"#{I.FINDINGS_COUNT}", "4 of 9 findings")
    kinds = [c.text for c in dash_duo.find_elements(
        f"#{I.FINDINGS_TABLE} td[data-dash-column='severity']")]
    assert kinds == ["error"] * 4
    rows = [c.text for c in dash_duo.find_elements(
        f"#{I.FINDINGS_TABLE} td[data-dash-column='kind']")]
    click_cell(dash_duo, I.FINDINGS_TABLE, "kind", rows.index("same_day_conflict"))
    detail = wait_text(dash_duo, f"#{I.FINDING_DETAIL}", "Raw ticker lines")
    assert "tca-world-2025-11-21.txt" in detail and "tca-region-21nov.txt" in detail
    assert "TJS/USD = 0.10895" in detail  # a raw ticker line, as printed
    state = wait_chart(dash_duo, lambda s: bool(role(s, "selection")))
    assert role(state, "selection")[0]["n"] == 1

    # a click on a finding's marker selects it too: the KGS copies_disagree of 15 Dec
    index, point = next((i, t["hovertext"].index(h)) for i, t in enumerate(state["traces"])
                        if t["meta"].get("role") == "findings" for h in t["hovertext"]
                        if "copies_disagree" in h)
    fits = ("const gd = document.querySelector('#movements-graph .js-plotly-plot');"
            "return Math.abs(gd._fullLayout.width - gd.getBoundingClientRect().width) < 2;")
    until(lambda: dash_duo.driver.execute_script(fits), timeout=5)  # resized beside the panel
    x, y = dash_duo.driver.execute_script(
        "const gd = document.querySelector('#movements-graph .js-plotly-plot');"
        "const t = gd._fullData[arguments[0]], L = gd._fullLayout;"
        "return [L.xaxis.d2p(t.x[arguments[1]]), L.yaxis.d2p(t.y[arguments[1]])];",
        index, point)
    click_at(dash_duo, dash_duo.find_element("#movements-graph .nsewdrag"), x, y)
    detail = wait_text(dash_duo, f"#{I.FINDING_DETAIL}", "copies_disagree")
    assert "2025-12-15_tca-agriculture.txt" in detail and "they DISAGREE" in detail
    no_console_errors(dash_duo)


def test_upload_then_the_snapshots_view(dash_duo, writable_db, free_port, tmp_path):
    start(dash_duo, writable_db, free_port)
    wait_chart(dash_duo, lambda s: len(role(s, "series")) == 4)
    wait_text(dash_duo, f"#{I.STATUS}", "63 snapshots")
    day = corpus.START + dt.timedelta(days=corpus.DAYS + 5)
    page = tmp_path / "dropped-page.txt"
    page.write_bytes(corpus.page_bytes(day=day))
    junk = tmp_path / "junk.txt"
    junk.write_bytes(b"nothing here\n")
    dash_duo.find_element(f"#{I.TAB_UPLOAD}").click()
    field = dash_duo.find_element(f"#{I.UPLOAD} input[type='file']")
    field.send_keys(f"{page}\n{junk}")
    results = wait_text(dash_duo, f"#{I.UPLOAD_RESULTS}", "junk.txt")
    assert f"dropped-page.txt — ingested, capture date {day}" in results
    assert "junk.txt — rejected: no ticker found" in results
    wait_text(dash_duo, f"#{I.STATUS}", "65 snapshots")  # no reload needed
    dash_duo.find_element(f"#{I.UPLOAD} input[type='file']").send_keys(str(page))  # again
    wait_text(dash_duo, f"#{I.UPLOAD_RESULTS}", "dropped-page.txt — already in the database")

    dash_duo.find_element(f"#{I.TAB_SNAPSHOTS}").click()
    wait_text(dash_duo, f"#{I.SNAPSHOTS_COUNT}", "65 snapshots in total")
    dash_duo.find_element(f"#{I.SNAPSHOTS_FILTER} input[value='rejected']").click()
    wait_text(dash_duo, f"#{I.SNAPSHOTS_COUNT}", "2 of 65 snapshots are rejected")
    sources = [c.text for c in dash_duo.find_elements(
        f"#{I.SNAPSHOTS_TABLE} td[data-dash-column='source']")]
    assert sorted(sources) == sorted(["upload/junk.txt", str(writable_db.parent.parent /
                                                              "snapshots" / "notes.txt")])
    click_cell(dash_duo, I.SNAPSHOTS_TABLE, "source", sources.index("upload/junk.txt"))
    detail = wait_text(dash_duo, f"#{I.SNAPSHOT_DETAIL}", "rejected: no ticker found")
    assert "raw ticker lines unavailable" in detail
    dash_duo.find_element(f"#{I.TAB_MOVEMENTS}").click()
    wait_chart(dash_duo, lambda s: max(t["n"] for t in role(s, "series")) == 61)
    no_console_errors(dash_duo)


def test_empty_state_until_another_process_ingests(dash_duo, free_port, tmp_path):
    db = tmp_path / "data" / "tracker.duckdb"
    start(dash_duo, db, free_port, refresh_seconds=1)
    wait_text(dash_duo, f"#{I.EMPTY_STATE}", f"tracker ingest --db {db} data/samples")
    assert dash_duo.find_element(f"#{I.EMPTY_STATE}").is_displayed()
    state = wait_chart(dash_duo, lambda s: s["layout"]["meta"] is not None)
    assert state["traces"] == []
    wait_text(dash_duo, f"#{I.FINDINGS_COUNT}", "No findings yet: the database holds no")
    until(lambda: "No snapshots yet" in text(dash_duo, f"#{I.GRAPH}"), timeout=10)
    page = text(dash_duo, "#react-entry-point")
    assert "Choose at least one currency" not in page and "snapshots agree" not in page
    folder = corpus.write_corpus(tmp_path / "snapshots")
    subprocess.run([sys.executable, "-m", "tracker", "ingest", "--db", str(db), str(folder)],
                   check=False, capture_output=True, timeout=60)
    state = wait_chart(dash_duo, lambda s: len(role(s, "series")) == 4, timeout=20)
    until(lambda: not dash_duo.find_element(f"#{I.EMPTY_STATE}").is_displayed(), timeout=10)
    wait_text(dash_duo, f"#{I.STATUS}", "62 ingested")
    no_console_errors(dash_duo)


def test_hostile_snapshot_content_is_rendered_inert(dash_duo, hostile_db, free_port):
    start(dash_duo, hostile_db, free_port)
    state = wait_chart(dash_duo, lambda s: len(role(s, "series")) == 4)
    hover = [h for t in role(state, "findings") for h in t["hovertext"]]
    assert any("&lt;script&gt;" in h for h in hover)

    # the marker's hover, as plotly draws it: the markup shows as text
    index = next(i for i, t in enumerate(state["traces"]) if t["meta"].get("role") == "findings"
                 and any("&lt;script&gt;" in h for h in t["hovertext"]))
    point = next(i for i, h in enumerate(state["traces"][index]["hovertext"])
                 if "&lt;script&gt;" in h)
    dash_duo.driver.execute_script(
        "const gd = document.querySelector('#movements-graph .js-plotly-plot');"
        f"Plotly.Fx.hover(gd, [{{curveNumber: {index}, pointNumber: {point}}}]);")
    until(lambda: "window.__pwned=1" in text(dash_duo, "#movements-graph .hoverlayer"),
          timeout=5)
    assert "<script>window.__pwned=1</script>" in text(dash_duo, "#movements-graph .hoverlayer")
    assert count(dash_duo, "#movements-graph .hoverlayer a") == 0

    dash_duo.select_dcc_dropdown(f"#{I.FINDINGS_KIND}", value="copies_disagree")
    wait_text(dash_duo, f"#{I.FINDINGS_COUNT}", "1 of")
    assert corpus.HOSTILE in text(dash_duo, f"#{I.FINDINGS_TABLE}")
    click_cell(dash_duo, I.FINDINGS_TABLE, "kind")
    detail = wait_text(dash_duo, f"#{I.FINDING_DETAIL}", "Raw ticker lines")
    assert detail.count(corpus.HOSTILE) >= 2  # the message and the warning, as text

    dash_duo.find_element(f"#{I.TAB_SNAPSHOTS}").click()
    wait_text(dash_duo, f"#{I.SNAPSHOTS_COUNT}", "snapshots in total")

    def sources() -> list[str]:
        return [c.text for c in dash_duo.find_elements(
            f"#{I.SNAPSHOTS_TABLE} td[data-dash-column='source']")]

    sort = f"#{I.SNAPSHOTS_TABLE} th[data-dash-column='source'] .column-header--sort"
    dash_duo.find_element(sort).click()  # by source, ascending: `/tmp/…` first
    until(lambda: sources()[0].startswith("/"), timeout=10)
    dash_duo.find_element(sort).click()  # descending: the `evil…` ones first
    until(lambda: sources()[0].startswith("evil"), timeout=10)
    shown_sources = sources()
    for source in ("evil-ticker.txt", f"evil {corpus.HOSTILE}.html"):
        click_cell(dash_duo, I.SNAPSHOTS_TABLE, "source", shown_sources.index(source))
        shown = wait_text(dash_duo, f"#{I.SNAPSHOT_DETAIL}", source)
        assert corpus.HOSTILE in shown
    control = next(s for s in shown_sources if s.startswith("evil-control-"))
    assert corpus.CONTROL_SHOWN in control  # escape, bell, RTL override: visible, inert
    click_cell(dash_duo, I.SNAPSHOTS_TABLE, "source", shown_sources.index(control))
    assert corpus.CONTROL_SHOWN in wait_text(dash_duo, f"#{I.SNAPSHOT_DETAIL}", "evil-control-")
    for selector in ("script", "strong", "b", "a[href^='javascript']"):
        assert count(dash_duo, f"#react-entry-point {selector}") == 0, selector
    assert dash_duo.driver.execute_script("return window.__pwned") is None
    no_console_errors(dash_duo)
