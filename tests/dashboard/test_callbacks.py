"""The callbacks as plain functions over a real DuckDB file (and real other processes)."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from dash import no_update

from dashboards import callbacks, data, figures, findings, views
from dashboards import ids as I
from dashboards.app import create_app, layout
from tests.dashboard import corpus
from tracker.store import Store


def settings(db: Path, **kw) -> data.Settings:
    return data.Settings(db_path=db, **kw)


def text_of(component) -> str:
    """Every string in a component tree, as the browser would show it."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return "".join(text_of(c) for c in component)
    return text_of(getattr(component, "children", None))


def find_all(component, kind: str) -> list:
    out = []
    if isinstance(component, list | tuple):
        for c in component:
            out += find_all(c, kind)
    elif component is not None and not isinstance(component, str | int | float):
        if type(component).__name__ == kind:
            out.append(component)
        out += find_all(getattr(component, "children", None), kind)
    return out


# -- page-wide -----------------------------------------------------------------------------------


def test_layout_reads_nothing_but_the_file_stamp(tmp_path):
    page = layout(settings(tmp_path / "missing.duckdb"))
    assert not (tmp_path / "missing.duckdb").exists()
    stores = {c.id: c for c in find_all(page.children, "Store")}
    assert stores[I.DATA_VERSION].data == "-|-"


def test_overview_of_the_corpus(corpus_db):
    status, style, empty, options, value, finding_options = callbacks.update_overview(
        settings(corpus_db), "v", None, None, now=dt.datetime(2025, 1, 1, 12, 0, 0))
    assert status.startswith("63 snapshots: 62 ingested (1 undated), 1 rejected")
    assert style == callbacks.HIDDEN and empty == []
    assert [o["value"] for o in options] == ["KGS", "KZT", "TJS", "UZS", "TMT"]
    assert value == ["KGS", "KZT", "TJS", "UZS", "TMT"]
    assert finding_options[-1]["value"] == "—"


def test_overview_keeps_the_users_choice_and_ticks_new_currencies(corpus_db):
    old_options = [{"label": c, "value": c} for c in ("KGS", "KZT", "TJS", "UZS")]
    *_, value, _ = callbacks.update_overview(settings(corpus_db), "v", ["KGS"], old_options)
    assert value == ["KGS", "TMT"]  # TMT is new to the page: it comes in ticked
    all_options = [{"label": c, "value": c} for c in ("KGS", "KZT", "TJS", "UZS", "TMT")]
    again = callbacks.update_overview(settings(corpus_db), "v", ["KGS", "UZS"], all_options)
    assert again[3:] == (no_update, no_update, no_update)  # nothing new: nothing redrawn


def test_an_empty_database_explains_how_to_ingest(tmp_path):
    missing = tmp_path / "nothing-here.duckdb"
    status, style, empty, options, value, _ = callbacks.update_overview(
        settings(missing), "v", None, None)
    assert status.startswith("0 snapshots")
    assert style == callbacks.SHOWN and options == [] and value == []
    assert f"tracker ingest --db {missing} data/samples" in text_of(empty)
    assert "Upload" in text_of(empty)
    fig = callbacks.movements_figure(settings(missing), "v", None, "index", ["bands"], None, None)
    assert fig.layout.meta["empty"] is True
    assert findings.findings_table(settings(missing), "v", None, None, None, None, None, [],
                                   0)[2] == "No findings yet: the database holds no ingested snapshot."
    assert "Choose" not in str(fig.layout.annotations[0].text)
    fig = callbacks.movements_figure(settings(missing), "v", [], "index", [], None, None)
    assert fig.layout.annotations[0].text.startswith("No ")  # not "Choose at least one"
    assert callbacks.snapshots_table(settings(missing), "v", [], [], 0)[0] == []
    assert not missing.exists()  # looking never creates the database
    with Store.open(missing):  # created but empty
        pass
    assert callbacks.update_overview(settings(missing), "v", None, None)[1] == callbacks.SHOWN


def test_refresh_notices_what_another_process_ingested(writable_db, tmp_path):
    s = settings(writable_db)
    version = data.data_version(writable_db)
    assert callbacks.refresh_version(s, 1, None, version) is no_update
    page = tmp_path / "later.txt"
    page.write_bytes(corpus.page_bytes(offset=1))
    subprocess.run([sys.executable, "-m", "tracker", "ingest", "--db", str(writable_db),
                    str(page)], check=True, capture_output=True)
    new = callbacks.refresh_version(s, 2, None, version)
    assert new not in (no_update, version)
    assert callbacks.update_overview(s, new, None, None)[0].startswith("64 snapshots")


def test_reads_wait_for_another_process_that_holds_the_database(writable_db):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom tracker.store import Store\n"
         "with Store.open(sys.argv[1]):\n    print('holding', flush=True)\n    time.sleep(1.0)\n",
         str(writable_db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        ov = data.overview(settings(writable_db, read_timeout=10))
        assert ov.counts["ingested"] == 62
        assert time.monotonic() - started > 0.2  # it did wait for the writer
    finally:
        holder.wait(10)


def test_reads_wait_for_this_processs_own_writer(writable_db):
    """DuckDB refuses a read-only and a writable connection in one process at once."""
    opened = threading.Event()

    def write() -> None:
        with Store.open(writable_db):
            opened.set()
            time.sleep(0.5)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert opened.wait(10)
        assert len(data.load_series(settings(writable_db), ["KGS"])) == 60
    finally:
        writer.join()


def test_a_busy_database_is_a_message_not_a_traceback(writable_db):
    done = threading.Event()
    opened = threading.Event()

    def write() -> None:
        with Store.open(writable_db):
            opened.set()
            done.wait(10)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert opened.wait(10)
        s = settings(writable_db, read_timeout=0.3)
        status = callbacks.update_overview(s, "v", None, None)[0]
        assert "busy" in status
        fig = callbacks.movements_figure(s, "v", None, "rate", [], None, None)
        assert "busy" in fig.layout.annotations[0].text
    finally:
        done.set()
        writer.join()


# -- movements -----------------------------------------------------------------------------------


def test_movements_figure_over_the_corpus(corpus_db):
    fig = callbacks.movements_figure(settings(corpus_db), "v", None, "index",
                                     ["bands", "coarse"], None, None)
    roles = [(t.meta or {}).get("role") for t in fig.data]
    assert roles.count("series") == 5 and roles.count("band-high") == 5
    assert roles.count("coverage") == 1  # every corpus page is a file with a header date
    series = [t for t in fig.data if (t.meta or {}).get("role") == "series"]
    assert all(len(t.x) == 60 for t in series)
    marks = [t for t in fig.data if (t.meta or {}).get("role") == "findings"]
    assert {t.meta["severity"] for t in marks} >= {"error", "info"}  # conflict, coarse UZS


def test_coarse_currencies_leave_the_relative_views_unless_asked(corpus_db):
    s = settings(corpus_db)
    for view in ("index", "change"):
        fig = callbacks.movements_figure(s, "v", None, view, [], None, None)
        names = [t.name for t in fig.data if (t.meta or {}).get("role") == "series"]
        assert names == ["KGS", "KZT", "TJS", "TMT"], view
        assert fig.layout.meta["left_out"] == ["UZS"]
        assert any("UZS left out" in line for line in fig.layout.meta["subtitle"])
        assert not [t for t in fig.data if (t.meta or {}).get("role") == "band-high"]
    rate = callbacks.movements_figure(s, "v", None, "rate", [], None, None)
    assert rate.layout.meta["left_out"] == []
    only = callbacks.movements_figure(s, "v", ["UZS"], "index", [], None, None)
    assert [t.name for t in only.data if (t.meta or {}).get("role") == "series"] == ["UZS"]


def test_movements_for_chosen_currencies_and_views(corpus_db):
    s = settings(corpus_db)
    fig = callbacks.movements_figure(s, "v", ["UZS"], "per_usd", ["log"], None, None)
    assert [t.name for t in fig.data if (t.meta or {}).get("role") == "series"] == ["UZS"]
    assert fig.layout.yaxis.type == "log" and fig.layout.meta["view"] == "per_usd"
    uzs = next(t for t in fig.data if t.name == "UZS")
    assert min(uzs.y) == pytest.approx(12500)
    nothing = callbacks.movements_figure(s, "v", [], "rate", [], None, None)
    assert "Choose at least one currency" in nothing.layout.annotations[0].text
    odd = callbacks.movements_figure(s, "v", ["KGS"], "no-such-view", [], None, None)
    assert odd.layout.meta["view"] == figures.DEFAULT_VIEW


def test_selected_finding_is_highlighted(corpus_db):
    s = settings(corpus_db)
    found = data.load_findings(s)
    conflict = found[found["kind"] == "same_day_conflict"].iloc[0]
    fig = callbacks.movements_figure(s, "v", None, "rate", [], None, conflict["finding_id"])
    ring = next(t for t in fig.data if (t.meta or {}).get("role") == "selection")
    assert [pd.Timestamp(x).date() for x in ring.x] == [corpus.CONFLICT_DAY]
    assert len([s for s in fig.layout.shapes if s.type == "line"]) == 1


def test_visible_range_follows_the_chart(corpus_db):
    assert callbacks.update_visible({"xaxis.range[0]": "2025-09-10", "xaxis.range[1]":
                                     "2025-10-01 10:00"}, None) == ["2025-09-10", "2025-10-01"]
    assert callbacks.update_visible({"autosize": True}, None) is no_update
    assert callbacks.update_visible({"xaxis.autorange": True}, ["2025-09-10", "2025-10-01"]) \
        is None


def test_download_the_visible_series_exactly_as_printed(corpus_db):
    s = settings(corpus_db)
    assert callbacks.download_csv(s, None, None, "rate", None) is no_update
    sent = callbacks.download_csv(s, 1, ["UZS", "TJS"], "per_usd", ["2025-09-05", "2025-09-09"])
    assert sent["filename"] == "tracker-series-per_usd-2025-09-05_2025-09-09.csv"
    table = pd.read_csv(io.StringIO(sent["content"]), dtype=str)
    assert list(table.columns) == ["captured_on", "currency", "quote_currency", "rate",
                                   "rate_decimals", "change_pct", "snapshots", "distinct_rates",
                                   "snapshot_id", "per_usd"]
    assert table["captured_on"].min() == "2025-09-05" and table["captured_on"].max() == \
        "2025-09-09"
    assert set(table["currency"]) == {"UZS", "TJS"} and len(table) == 10
    uzs = table[table["currency"] == "UZS"]
    assert set(uzs["rate"]) == {"0.00008"}  # the printed text, not 8e-05
    assert set(uzs["per_usd"].astype(float)) == {12500.0}
    change = callbacks.download_csv(s, 3, ["KGS"], "change", ["2025-09-05", "2025-09-09"])
    table = pd.read_csv(io.StringIO(change["content"]))
    assert table["change"].notna().all()  # 5 Sep vs 4 Sep, off screen
    series = data.load_series(s, ["KGS"])
    rates = series["rate"].to_numpy()
    assert table["change"].iloc[0] == pytest.approx(
        (rates[4] / rates[3] - 1) * 100)
    whole = callbacks.download_csv(s, 2, None, "rate", None)
    assert whole["filename"] == "tracker-series-rate-all.csv"
    assert len(pd.read_csv(io.StringIO(whole["content"]))) == 300


# -- findings ------------------------------------------------------------------------------------


def test_findings_table_filters_sorts_and_pages(corpus_db):
    s = settings(corpus_db)
    rows, pages, line, *_ = findings.findings_table(s, "v", None, None, None, None, None, [], 0)
    total = len(data.load_findings(s))
    assert line.startswith(f"{total} of {total} findings")
    rows, pages, line, *_ = findings.findings_table(s, "v", ["same_day_conflict"], None, None, None, None, [],
                                                 0)
    assert [r["kind"] for r in rows] == ["same_day_conflict"]
    assert rows[0]["currency"] == "TJS" and rows[0]["captured_on"] == str(corpus.CONFLICT_DAY)
    assert rows[0]["snapshots"] == 2 and "0.10999" in rows[0]["message"]
    rows, *_ = findings.findings_table(s, "v", None, "warning", ["—"], None, None, [], 0)
    assert rows and all(r["severity"] in ("warning", "error") and r["currency"] == "—"
                        for r in rows)
    assert {r["kind"] for r in rows} == {"undated"}
    # "at least", as `tracker check --severity`: warning keeps the errors too
    every = data.load_findings(s)
    rank = views.SEVERITY_RANK
    for level in ("error", "warning", "info"):
        rows, _, line, *_ = findings.findings_table(s, "v", None, level, None, None, None, [], 0)
        wanted = every[[rank[v] <= rank[level] for v in every["severity"]]]
        assert line.startswith(f"{len(wanted)} of {len(every)}"), level
    # the table follows the ticked currencies; findings about no currency stay
    rows, _, line = findings.findings_table(s, "v", None, None, None, ["KGS"], None, [], 0)
    wanted = every[every["currency"].map(lambda c: c in (None, "KGS"))]
    assert line.startswith(f"{len(wanted)} of {len(every)}")
    # a timeline cell: one kind and currency over a few days
    cell = {"kind": "same_day_conflict", "currency": "TJS", "start": str(corpus.CONFLICT_DAY),
            "end": str(corpus.CONFLICT_DAY)}
    rows, _, line, *_ = findings.findings_table(s, "v", None, None, None, None, cell, [], 0)
    assert [r["kind"] for r in rows] == ["same_day_conflict"] and line.startswith("1 of")
    rows, *_ = findings.findings_table(s, "v", None, None, None, None, None,
                                        [{"column_id": "severity", "direction": "asc"}], 0)
    ranks = [views.SEVERITY_RANK[r["severity"]] for r in rows]
    assert ranks == sorted(ranks)
    rows, pages, *_ = findings.findings_table(s, "v", None, None, None, None, None, [], 99)
    assert rows and pages >= 1  # past the last page: the last page


def test_checks_run_once_per_database_version(writable_db, tmp_path, monkeypatch):
    """Paging, filtering and the chart reuse one run of the checks until the data changes."""
    from tracker import checks

    runs = []
    real = checks.run_checks
    monkeypatch.setattr(checks, "run_checks", lambda **kw: runs.append(1) or real(**kw))
    s = settings(writable_db)
    before = data.load_findings(s)
    findings.findings_table(s, "v", ["undated"], None, None, None, None, [], 0)
    callbacks.movements_figure(s, "v", None, "rate", [], None, None)
    assert len(runs) == 1
    assert "stale_ticker" not in set(before["kind"])

    page = tmp_path / "cached-page.txt"  # the last day's ticker again, a month later
    page.write_bytes(corpus.page_bytes(offset=30))
    subprocess.run([sys.executable, "-m", "tracker", "ingest", "--db", str(writable_db),
                    str(page)], check=True, capture_output=True)
    after = data.load_findings(s)
    assert len(runs) == 2
    assert "stale_ticker" in set(after["kind"])
    assert data.load_findings(settings(writable_db)).equals(after)  # a fresh app agrees


def test_select_a_finding_from_the_table_or_the_chart():
    picked, styles, cell, selected = findings.select_finding(
        I.FINDINGS_TABLE, {"row": 0, "row_id": "abc123"}, None, None)
    assert picked == "abc123" and (cell, selected) == (None, [])  # read, then cleared
    assert any("abc123" in str(s["if"].get("filter_query")) for s in styles)
    click = {"points": [{"curveNumber": 2, "customdata": ["0.01", "0.01", "0", "1"]},
                        {"curveNumber": 16, "customdata": "def456"}]}
    assert findings.select_finding(I.GRAPH, None, click, "abc123")[0] == "def456"
    line_only = {"points": [{"curveNumber": 2, "customdata": ["0.01", "0.01", "0", "1"]}]}
    assert findings.select_finding(I.GRAPH, None, line_only, "abc123") == (no_update,) * 4
    assert findings.select_finding(I.FINDINGS_TABLE, {"row": 0, "row_id": "abc123"}, None,
                                   "abc123") == (no_update, no_update, None, [])


def test_finding_detail_shows_every_snapshot_behind_it(corpus_db):
    s = settings(corpus_db)
    found = data.load_findings(s)
    conflict = found[found["kind"] == "same_day_conflict"].iloc[0]
    detail, style = findings.finding_detail(s, conflict["finding_id"], "v")
    assert style == {}  # the panel beside the chart opens
    text = text_of(detail)
    compare = find_all(detail, "Table")[0]  # t.compare's frame: side by side
    differs = [r for r in find_all(compare, "Tr") if getattr(r, "className", None) == "differs"]
    assert "TJS" in [text_of(r.children[0]) for r in differs]  # the disputed value
    assert corpus.CONFLICT_RATE in " ".join(text_of(r) for r in differs)
    assert "same_day_conflict" in text and conflict["message"] in text
    assert len(find_all(detail, "Pre")) == 2  # the raw ticker lines of both snapshots
    assert "conflict.txt" in text and "2 copies, all agree" in text
    assert "TJS/USD = 0.10999" in text  # a raw ticker line
    assert "header date 2025-09-21" in text
    assert "Select a finding" in text_of(findings.finding_detail(s, None, "v")[0])
    assert findings.finding_detail(s, "not-a-finding", "v")[1] == {"display": "none"}


# -- snapshots -----------------------------------------------------------------------------------


def test_snapshots_table_and_its_filters(corpus_db):
    s = settings(corpus_db)
    rows, pages, line = callbacks.snapshots_table(s, "v", [], [], 0)
    assert line == "63 snapshots in total" and pages == 5 and len(rows) == 15
    rows, _, line = callbacks.snapshots_table(s, "v", ["rejected"], [], 0)
    assert line == "1 of 63 snapshots is rejected" and rows[0]["status"] == "rejected"
    assert rows[0]["reason"].startswith("no ticker found")
    rows, _, line = callbacks.snapshots_table(s, "v", ["undated"], [], 0)
    assert [(r["captured_on"], r["status"], r["date_source"]) for r in rows] == [
        ("undated", "ingested", "none")]
    rows, _, line = callbacks.snapshots_table(s, "v", ["rejected", "undated"], [], 0)
    assert line == "2 of 63 snapshots are undated or rejected"
    rows, *_ = callbacks.snapshots_table(s, "v", [], [{"column_id": "captured_on",
                                                        "direction": "asc"}], 0)
    assert rows[0]["captured_on"] == "2025-09-01"


def test_snapshot_detail_of_a_rejected_snapshot_shows_why(corpus_db):
    s = settings(corpus_db)
    rows, *_ = callbacks.snapshots_table(s, "v", ["rejected"], [], 0)
    detail = callbacks.snapshot_detail(s, {"row": 0, "row_id": rows[0]["id"]})
    text = text_of(detail)
    assert "rejected: no ticker found" in text and "notes.txt" in text
    assert "no quotes" in text and "raw ticker lines unavailable" in text
    assert "(from none)" not in text and "undated: no date evidence" in text  # for people
    assert re.search(r", \d+(\.\d+)? (bytes|KiB), parser .*, ingested "
                     r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", text), text  # no microseconds
    assert "Select a snapshot" in text_of(callbacks.snapshot_detail(s, None))


# -- upload --------------------------------------------------------------------------------------


def test_upload_goes_through_ingest_with_a_result_per_file(writable_db):
    s = settings(writable_db, max_upload_bytes=20_000)
    new_day = corpus.START + dt.timedelta(days=corpus.DAYS + 3)
    files = {
        "new-page.txt": corpus.data_url(corpus.page_bytes(day=new_day)),
        "again.txt": corpus.data_url(corpus.page_bytes(day=new_day)),
        "../../etc/evil name.txt": corpus.data_url(b"nothing to see\n"),
        "huge.txt": corpus.data_url(b"x" * 30_000),
        "broken.txt": "data:text/plain;base64,@@@not-base64@@@",
    }
    result, token, cleared = callbacks.upload(s, list(files.values()), list(files))
    assert token is not no_update and cleared is None
    lines = [text_of(li) for li in find_all(result, "Li")]
    assert lines[0] == f"new-page.txt — ingested, capture date {new_day}"
    assert lines[1] == "again.txt — already in the database (same bytes)"
    assert lines[2].startswith("evil_name.txt — rejected: no ticker found")
    assert lines[3].startswith("huge.txt — rejected: is about 29.3 KiB, over the "
                               "dashboard's limit of 19.5 KiB")
    assert lines[4] == ("broken.txt — rejected: the upload is not valid base64; try dropping "
                        "the file again")
    snaps = data.load_snapshots(s)
    assert {"upload/new-page.txt", "upload/evil_name.txt"} <= set(snaps["source"])
    assert "upload/again.txt" not in set(snaps["source"])
    # nothing was written anywhere but the database and its raw archive
    folder = writable_db.parent
    assert {p.name for p in folder.iterdir()} <= {writable_db.name, writable_db.name + ".wal",
                                                   writable_db.name + ".raw"}
    assert not (folder.parent / "etc").exists()
    assert len(data.load_series(s, ["KGS"])) == 61


def test_upload_of_nothing_changes_nothing(writable_db):
    assert callbacks.upload(settings(writable_db), None, None) == (no_update,) * 3


def test_upload_creates_a_missing_database(tmp_path):
    db = tmp_path / "data" / "fresh.duckdb"
    result, *_ = callbacks.upload(settings(db), corpus.data_url(corpus.page_bytes()), "p.txt")
    assert "ingested" in text_of(result)
    assert data.overview(settings(db)).counts["ingested"] == 1


def test_too_many_files_in_one_drop(writable_db):
    s = settings(writable_db, max_upload_files=2)
    urls = [corpus.data_url(corpus.page_bytes(offset=i + 10)) for i in range(3)]
    result, *_ = callbacks.upload(s, urls, ["a.txt", "b.txt", "c.txt"])
    lines = [text_of(li) for li in find_all(result, "Li")]
    assert "ingested" in lines[0] and "ingested" in lines[1]
    assert "over the limit of 2 files per drop" in lines[2]


def test_only_snapshot_files_are_taken_and_nothing_lands_outside_the_data_folder(writable_db):
    s = settings(writable_db)
    page = corpus.page_bytes(offset=20)
    files = [
        ("photo.png", corpus.data_url(b"\x89PNG\r\n", mime="image/png")),
        ("page.txt", corpus.data_url(page, mime="application/pdf")),  # a snapshot name, wrong type
        ("notes.md", corpus.data_url(b"# notes", mime="text/markdown")),
        ("..", corpus.data_url(page)),
        ("/etc/cron.d/x.txt.gz", corpus.data_url(gzip.compress(page, mtime=0),
                                                 mime="application/gzip")),
        ("C:\\Windows\\page.HTM", corpus.data_url(b"<p>no ticker</p>", mime="")),
    ]
    result, *_ = callbacks.upload(s, [c for _, c in files], [n for n, _ in files])
    lines = [text_of(li) for li in find_all(result, "Li")]
    assert lines[0] == ("photo.png — rejected: not a page snapshot (image/png); the dashboard "
                        "takes .txt, .html and .htm files, optionally gzipped (.gz)")
    assert lines[1].startswith("page.txt — rejected: not a page snapshot (application/pdf)")
    assert lines[2].startswith("notes.md — rejected: not a page snapshot (text/markdown)")
    assert lines[3].startswith("upload — rejected: not a page snapshot")
    assert lines[4].startswith("x.txt.gz — ingested")
    assert lines[5].startswith("page.HTM — rejected: no ticker found")
    assert {p.name for p in writable_db.parent.iterdir()} <= {
        writable_db.name, writable_db.name + ".wal", writable_db.name + ".raw"}
    chooser = next(c for c in find_all(layout(s), "Upload") if c.id == I.UPLOAD)
    assert chooser.accept == ".txt,.html,.htm,.txt.gz,.html.gz,.htm.gz,.gz"


# -- hostile content ------------------------------------------------------------------------------


def test_hostile_snapshot_content_stays_text(hostile_db):
    s = settings(hostile_db)
    snaps = data.load_snapshots(s)
    hostile = snaps[snaps["source"].str.contains("evil")]
    assert len(hostile) == 4
    for sid in hostile["snapshot_id"]:
        detail = callbacks.snapshot_detail(s, {"row_id": sid})
        assert not find_all(detail, "Markdown")
        assert not any(getattr(c, "dangerously_allow_html", False)
                       for c in find_all(detail, "Iframe"))
    text = " ".join(text_of(callbacks.snapshot_detail(s, {"row_id": sid}))
                    for sid in hostile["snapshot_id"])
    assert text.count(corpus.HOSTILE) >= 3  # source, title, rejection reason, warning
    found = data.load_findings(s)
    copies = found[found["kind"] == "copies_disagree"]
    assert len(copies) == 1 and corpus.HOSTILE in copies.iloc[0]["message"]
    fig = callbacks.movements_figure(s, "v", None, "rate", [], None, None)
    hover = [h for t in fig.data if (t.meta or {}).get("role") == "findings"
             for h in t.hovertext]
    assert any("&lt;script&gt;window.__pwned=1&lt;/script&gt;" in h for h in hover)
    assert not any("<script" in h for h in hover)
    # control characters are shown as visible pictures, never passed to the page raw
    assert corpus.CONTROL_SHOWN in text and "\x1b" not in text and "\u202e" not in text
    rows = views.snapshot_rows(snaps)
    assert any(corpus.CONTROL_SHOWN in source for source in rows["source"])


def test_printable_makes_control_characters_visible_and_keeps_the_rest():
    assert data.printable("a\tb\nc") == "a\tb\nc"
    assert data.printable("\x00\x07\x1b\x7f") == "\u2400\u2407\u241b\u2421"
    assert data.printable("abc\u202edef\u2066") == "abc<U+202E>def<U+2066>"
    assert data.printable("Алматы — курс • 0.01144%") == "Алматы — курс • 0.01144%"


def test_the_app_factory_loads_nothing_and_serves(tmp_path):
    app = create_app(tmp_path / "none.duckdb", refresh_seconds=1)
    client = app.server.test_client()
    page = client.get("/")
    assert page.status_code == 200 and b"tracker" in page.data
    layout_json = client.get("/_dash-layout").get_json()
    assert I.GRAPH in str(layout_json)
    assert not (tmp_path / "none.duckdb").exists()
