"""What makes the page fast must not change what it shows: the partial plotly.js bundle has
every trace type the figures draw, responses are compressed, and the chart's frames are read
once per database version (and again after an ingest)."""

from __future__ import annotations

import gzip
import re
import subprocess
import sys

import pytest
from plotly.offline import get_plotlyjs_version

from dashboards import callbacks, data, findings, plotlyjs
from dashboards import ids as I
from dashboards.app import create_app
from dashboards.figures import empty_figure
from tests.dashboard import corpus
from tests.dashboard.test_official import KZT, figure

PLOTLY_URL = "/_dash-component-suites/plotly/package_data/plotly.min.js"


def test_every_figure_draws_only_trace_types_of_the_served_bundle(corpus_db):
    s = data.Settings(db_path=corpus_db)
    found = data.load_findings(s)
    picked = found["finding_id"].iloc[0]
    figs = [callbacks.movements_figure(s, "v", None, view, ["bands", "log", "coarse"], None,
                                       picked) for view in ("rate", "per_usd", "index", "change")]
    figs += [figure(view, KZT) for view in ("rate", "index")]  # the official rates' lines
    figs += [findings.timeline(s, "v", None), empty_figure("nothing"),
             callbacks.movements_figure(s, "v", [], "index", [], None, None)]
    kinds = {t.type for fig in figs for t in fig.data}
    assert {"scatter", "heatmap"} <= kinds  # the check sees both kinds of figure
    assert kinds <= plotlyjs.TRACE_TYPES


@pytest.mark.parametrize("header", [
    "/**\n* plotly.js (cartesian - minified) v{v}\n* Copyright 2012-2026, Plotly, Inc.\n*/",
    "/**\n* plotly.js v{v}\n*/",
])
def test_the_cartesian_bundle_is_served_where_dcc_graph_loads_plotly_js(tmp_path, monkeypatch,
                                                                        header):
    bundle = tmp_path / "plotly-cartesian.min.js"
    bundle.write_text(header.format(v=get_plotlyjs_version()) + "\nwindow.Plotly = {};\n")
    monkeypatch.setattr(plotlyjs, "BUNDLE", bundle)
    client = create_app(tmp_path / "t.duckdb").server.test_client()
    answer = client.get(PLOTLY_URL)
    assert answer.status_code == 200 and answer.data == bundle.read_bytes()
    assert answer.mimetype == "application/javascript"


@pytest.mark.parametrize("content", [None, "/**\n* plotly.js (cartesian - minified) v0.0.1\n*/"])
def test_without_a_bundle_of_the_right_version_the_full_one_is_served(tmp_path, monkeypatch,
                                                                      content):
    bundle = tmp_path / "plotly-cartesian.min.js"
    if content is not None:
        bundle.write_text(content)
    monkeypatch.setattr(plotlyjs, "BUNDLE", bundle)
    answer = create_app(tmp_path / "t.duckdb").server.test_client().get(PLOTLY_URL)
    assert answer.status_code == 200
    assert plotlyjs.bundle_version(answer.data[:300].decode()) == get_plotlyjs_version()
    assert len(answer.data) > 3_000_000  # plotly.py's full bundle


def test_scripts_and_callbacks_are_compressed_for_a_browser_that_accepts_it(corpus_db):
    client = create_app(corpus_db).server.test_client()
    page = client.get("/").data.decode()
    script = re.search(r'src="(/_dash-component-suites/dash/dcc/dash_core_components[^"]+)"',
                       page).group(1)
    plain = client.get(script).data
    packed = client.get(script, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain and len(packed.data) < len(plain) / 2


def test_the_charts_frames_are_read_once_per_database_version(writable_db, tmp_path,
                                                              monkeypatch):
    reads = []
    real = data.read
    monkeypatch.setattr(data, "read", lambda s, fn: reads.append(1) or real(s, fn))
    s = data.Settings(db_path=writable_db)
    first = callbacks.movements_figure(s, "v", None, "index", [], None, None)
    assert len(reads) == 1
    picked = data.load_findings(s)["finding_id"].iloc[0]
    for view in ("rate", "change"):  # other views, a selection: no connection opened
        callbacks.movements_figure(s, "v", ["KGS"], view, [], None, picked)
    assert len(reads) == 1

    page = tmp_path / "later.txt"  # a new day's ticker, ingested by another process
    page.write_bytes(corpus.page_bytes(day=corpus.START.replace(year=2026)))
    subprocess.run([sys.executable, "-m", "tracker", "ingest", "--db", str(writable_db),
                    str(page)], check=True, capture_output=True)
    again = callbacks.movements_figure(s, "v", None, "index", [], None, None)
    assert len(reads) == 2
    assert again.layout.meta["captures"] > first.layout.meta["captures"]


def test_the_page_comes_with_its_currency_choices(corpus_db, tmp_path):
    """The chart is asked for at once, with the currencies the database holds (ticked)."""
    from tests.dashboard.test_callbacks import find_all

    page = create_app(corpus_db).layout()
    boxes = {c.id: c for c in find_all(page.children, "Checklist")}
    labels = [o["value"] for o in boxes[I.CURRENCIES].options]
    assert labels and boxes[I.CURRENCIES].value == labels
    assert labels == list(data.overview(data.Settings(db_path=corpus_db)).labels)
    empty = create_app(tmp_path / "none.duckdb").layout()
    boxes = {c.id: c for c in find_all(empty.children, "Checklist")}
    assert boxes[I.CURRENCIES].options == [] and boxes[I.CURRENCIES].value == []


def test_bundle_versions_are_read_from_the_header():
    assert plotlyjs.bundle_version("/**\n* plotly.js (cartesian - minified) v4.1.1\n") == "4.1.1"
    assert plotlyjs.bundle_version("/**\n* plotly.js v3.0.0-rc.1\n") == "3.0.0-rc.1"
    assert plotlyjs.bundle_version("/* some other script v1.2.3 */") is None


@pytest.mark.parametrize("after", [0.0, 0.3])
def test_stopped_while_it_warms_up_the_dashboard_exits_cleanly(corpus_db, free_port, after):
    """SIGTERM as soon as it answers (its cache still warming in another thread): status 0,
    not an abort from a thread torn down inside DuckDB."""
    import time

    from tests.dashboard.test_cli_dashboard import serve, wait_up

    proc = serve("--db", str(corpus_db), "--port", str(free_port))
    wait_up(proc, f"http://127.0.0.1:{free_port}/")
    time.sleep(after)
    proc.terminate()
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "FATAL" not in err and "Traceback" not in err
