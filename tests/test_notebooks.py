"""The notebooks (notebooks/*.ipynb): committed without outputs, and executed end to end here, so
they cannot rot. A failing cell raises `CellExecutionError` and fails the test."""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tracker.ingest import ingest_paths
from tracker.synthetic import random_walk, render_text

from .conftest import REPO

NOTEBOOKS = REPO / "notebooks"
NAMES = ("explore.ipynb", "data-quality.ipynb")
PLOTLY = "application/vnd.plotly.v1+json"


def execute(path: Path, cwd: Path, probe: str | None = None) -> nbformat.NotebookNode:
    """Run every cell in a fresh `python3` kernel (this interpreter's: jupyter_client starts
    the native kernel with `sys.executable`), with `cwd` as the kernel's working directory.

    `probe`: an expression evaluated after the last cell, in the notebook's namespace; its
    JSON is in `nb.metadata.probe` (to check the frames the notebook showed, not their repr).
    """
    nb = nbformat.read(path, as_version=4)
    if probe is not None:
        nb.cells.append(nbformat.v4.new_code_cell(f"import json as _j; print(_j.dumps({probe}))"))
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}})
    client.execute()
    if probe is not None:
        nb.metadata["probe"] = json.loads(nb.cells.pop().outputs[0].text)
    return nb


def cell(nb: nbformat.NotebookNode, tag: str) -> nbformat.NotebookNode:
    tagged = [c for c in nb.cells if tag in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"expected one cell tagged {tag!r}"
    return tagged[0]


def text(nb: nbformat.NotebookNode, tag: str) -> str:
    """Everything the tagged cell printed or displayed, as plain text."""
    parts = []
    for out in cell(nb, tag).outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif "data" in out:
            parts.append(out.data.get("text/plain", ""))
    return "\n".join(parts)


def figure(nb: nbformat.NotebookNode, tag: str) -> dict:
    shown = [o.data[PLOTLY] for o in cell(nb, tag).outputs if PLOTLY in o.get("data", {})]
    assert len(shown) == 1, f"cell {tag!r} shows no plotly figure"
    return shown[0]


def values(array: list | dict) -> list[float]:
    """A plotly array: a list, or numpy's bytes in base64 (`{"dtype": "f8", "bdata": ...}`)."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_are_committed_without_outputs(name):
    raw = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    nb = nbformat.reads(json.dumps(raw), as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a notebook without code"
    for c in code:
        assert c.outputs == [] and c.execution_count is None, f"outputs in:\n{c.source[:80]}"
        assert "execution" not in c.metadata
    assert nb.metadata.kernelspec.name == "python3"
    assert "TRACKER_DB" in nb.cells[0].source  # says how to point it at a real database


@pytest.mark.slow
def test_explore_runs_on_the_bundled_samples(monkeypatch):
    monkeypatch.delenv("TRACKER_DB", raising=False)
    nb = execute(NOTEBOOKS / "explore.ipynb", NOTEBOOKS)
    setup = text(nb, "setup")  # says loudly that these are the samples, not your data
    assert "TRACKER_DB is not set: reading the BUNDLED SAMPLES" in setup
    assert "tracker-samples-" in setup  # a temporary database of data/samples
    assert text(nb, "dtypes").count("decimal128(18, 10)[pyarrow]") == 5
    assert "2025-12-22   0.01145  0.00191  0.10760  0.00008" in text(nb, "series")  # as printed
    assert "0.0114500000" not in text(nb, "series")
    assert "12,500" in text(nb, "per-usd")
    chart = figure(nb, "chart")
    assert [trace["name"] for trace in chart["data"]] == ["KGS", "KZT", "TJS", "UZS", "TMT"]
    assert all(values(trace["y"])[0] == 100 for trace in chart["data"])
    findings = text(nb, "findings")
    for kind in ("same_day_conflict", "change_mismatch", "stale_ticker", "coarse_resolution"):
        assert kind in findings
    drill = text(nb, "drill-down")
    assert "TJS: 2 different rates printed on 21 Nov 2025" in drill
    assert "0.10811 0%" in drill and "0.10895 0.78%" in drill
    raw = text(nb, "raw")
    assert "TJS/USD = 0.10895 0.78%" in raw and "TJS/USD = 0.10811 0%" in raw
    assert "2025-11-21      TJS   0.10811" in text(nb, "sql")


@pytest.mark.slow
def test_explore_reads_the_database_in_tracker_db_from_any_directory(tmp_path, monkeypatch):
    """A database without multi-snapshot findings, and a kernel started outside the repo."""
    pages = tmp_path / "pages"
    pages.mkdir()
    for day, entries in random_walk(random.Random(7), 12, start=dt.date(2025, 3, 1)):
        (pages / f"{day}.txt").write_text(render_text(entries, day=day), encoding="utf-8")
    db = tmp_path / "db" / "tracker.duckdb"
    assert ingest_paths([pages], db_path=db).ingested == 12
    monkeypatch.setenv("TRACKER_DB", str(db))
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    nb = execute(NOTEBOOKS / "explore.ipynb", elsewhere)
    assert f"reading {db} (from $TRACKER_DB)" in text(nb, "setup")
    assert "2025-03-12" in text(nb, "series")
    assert "no finding involves several snapshots" in text(nb, "drill-down")
    assert text(nb, "sql").startswith("Empty DataFrame")


@pytest.mark.slow
def test_data_quality_runs_on_the_bundled_samples(monkeypatch):
    monkeypatch.delenv("TRACKER_DB", raising=False)
    probe = ("{'contradictions': contradictions.to_dict('index'), "
             "'resolution': resolution.astype(str).to_dict('index')}")
    nb = execute(NOTEBOOKS / "data-quality.ipynb", NOTEBOOKS, probe=probe)
    per_kind = text(nb, "per-kind").splitlines()
    assert any(line.split()[:1] == ["same_day_conflict"] for line in per_kind)
    assert per_kind[-1].split() == ["all", "3", "1", "1", "3", "1", "9"]
    assert len(figure(nb, "over-time")["data"]) == 7  # a bar trace per kind of dated finding
    contradictions = nb.metadata.probe["contradictions"]
    assert list(contradictions) == ["KGS", "KZT", "TJS", "UZS", "TMT"]
    assert contradictions["TMT"] == {"captures": 14, "one_day_pairs": 6, "naive_disagreements": 2,
                                     "change_mismatch": 2, "mismatch_%": 33.3}
    kzt = contradictions["KZT"]  # naive alarms that the rounding explains
    assert kzt["change_mismatch"] == 0 and kzt["naive_disagreements"] == 3
    resolution = nb.metadata.probe["resolution"]
    assert resolution["UZS"]["median_resolution_pct"] == "6.25"  # 0.00008 ± 0.000005
    assert resolution["UZS"]["significant_digits"] == "1"
    assert resolution["UZS"]["coarse_finding"] == "True"
    assert resolution["TJS"]["coarse_finding"] == "False"
    assert float(resolution["TJS"]["worst_resolution_pct"]) < 0.005
    assert "Worst relative resolution" in json.dumps(figure(nb, "resolution-chart")["layout"])
    assert "no official rates in this database" in text(nb, "official")


@pytest.mark.slow
def test_data_quality_shows_how_far_and_how_late_the_ticker_follows_the_banks(tmp_path,
                                                                                monkeypatch):
    """On a database with official rates (fetched from the fake banks): the ticker prints the
    day before's KZT rate, so it lags a day; the TMT sits on the peg."""
    from tests.officialdb import seed

    db = tmp_path / "tracker.duckdb"
    seed(db, tmp_path / "pages")
    monkeypatch.setenv("TRACKER_DB", str(db))
    nb = execute(NOTEBOOKS / "data-quality.ipynb", NOTEBOOKS,
                 probe="following.astype(str).to_dict('index')")
    following = nb.metadata.probe
    assert list(following) == ["KZT", "TMT"]
    assert following["KZT"]["captures"] == "7" and following["KZT"]["typical_lag_days"] == "1"
    assert following["KZT"]["lagged_pct"] == str(round(100 * 4 / 7, 1))  # Tuesday to Friday
    assert following["KZT"]["mismatches"] == "0"
    assert following["TMT"]["inside_rounding_pct"] == "100.0"
    assert following["TMT"]["typical_lag_days"] == "0"
    bars = figure(nb, "official-lag")["data"]
    assert sorted(trace["name"] for trace in bars) == ["KZT", "TMT"]
    shown = text(nb, "official-findings")
    assert "ticker_lag" in shown and "official_mismatch" not in shown
    assert "matched the official rate of 1 day earlier" in shown


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_a_tracker_db_without_a_database_stops_the_notebook_saying_why(tmp_path, monkeypatch,
                                                                       name):
    """No quiet switch to the bundled samples when $TRACKER_DB names nothing (a typo)."""
    missing = tmp_path / "typo" / "tracker.duckdb"
    monkeypatch.setenv("TRACKER_DB", str(missing))
    with pytest.raises(CellExecutionError) as caught:
        execute(NOTEBOOKS / name, tmp_path)
    message = str(caught.value)
    assert "DatabaseMissingError" in message
    assert f"$TRACKER_DB is '{missing}', but there is no database at {missing}" in message
    assert "unset TRACKER_DB to explore the bundled samples" in message


def test_a_failing_cell_fails_the_run(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import tracker"),
                                         nbformat.v4.new_code_cell("tracker.open('nowhere.db')")])
    path = tmp_path / "broken.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(CellExecutionError, match="DatabaseMissingError"):
        execute(path, tmp_path)
