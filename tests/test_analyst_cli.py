"""The analyst's command line: `show` and `export` in the four views, the one export shape,
filters checked against the database, `tracker status`. Mostly the real `tracker` command in a
child process (tests/proc.py); the validation matrix runs in-process (same code, faster)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from dashboards import callbacks, data
from tracker.cli import main
from tracker.ingest import ingest_paths
from tracker.jobs import fetch_once, watch_once
from tracker.store import SCHEMA_VERSION, Store, default_raw_dir
from tracker.synthetic import TickerEntry, render_text

from .conftest import SAMPLES
from .proc import run_tracker

FIVE = ["KGS", "KZT", "TJS", "UZS", "TMT"]


@pytest.fixture(scope="module")
def samples_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("samples") / "tracker.duckdb"
    ingest_paths([SAMPLES], db_path=db)
    return db


def cli(*args: object):
    """In-process run (fast); stdout and stderr kept apart."""
    return CliRunner().invoke(main, [str(a) for a in args])


# -- show: the four views, formats, --last --------------------------------------------------------


@pytest.mark.parametrize(("view", "last_row"), [
    ("rate", "2025-12-22   0.01145 0.09%  0.00191 -0.05%  0.10760 -0.1%  0.00008 0%  "
             "0.28571 0%"),
    ("per_usd", "2025-12-22   87.336  523.56  9.2937  12,500  3.5001"),
    ("index", "2025-12-22   100.09  99.48   99.58   100.00  100.28"),
    ("change", "2025-12-22   +0.09%  -0.52%  -0.42%  +0.00%  +0.28%"),
])
def test_show_prints_each_view_for_people(samples_db, view, last_row):
    shown = run_tracker("show", "--db", samples_db, "--view", view, "--last", 2,
                        "--from", "2025-12-15")
    assert shown.code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].split() == ["captured_on", *FIVE]
    assert [line.split()[0] for line in lines[1:]] == ["2025-12-15", "2025-12-22"]
    assert " ".join(lines[2].split()) == " ".join(last_row.split())
    assert shown.stderr == f"2 capture dates ({view}) from 26 snapshots (1 undated, 2 rejected)"


def test_show_last_n_and_machine_formats(samples_db):
    table = cli("show", "--db", samples_db, "--last", 3)
    assert table.exit_code == 0
    assert len(table.stdout.splitlines()) == 4
    assert table.stderr.startswith("the last 3 of 15 capture dates (rate) from 26 snapshots")
    as_csv = cli("show", "--db", samples_db, "--view", "per_usd", "--format", "csv",
                 "--currency", "UZS", "--currency", "KGS", "--last", 1)
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert [list(r) for r in rows] == [["captured_on", "KGS", "UZS"]]  # ticker order
    assert (rows[0]["captured_on"], rows[0]["UZS"]) == ("2025-12-22", "12500")
    assert float(rows[0]["KGS"]) == pytest.approx(87.33624454)
    as_json = json.loads(cli("show", "--db", samples_db, "--format", "json", "--last", 1).stdout)
    assert as_json == [{"captured_on": "2025-12-22", "KGS": "0.01145", "KZT": "0.00191",
                        "TJS": "0.10760", "UZS": "0.00008", "TMT": "0.28571"}]
    change = json.loads(cli("show", "--db", samples_db, "--view", "change", "--format", "json",
                            "--currency", "KGS").stdout)
    assert change[0]["KGS"] is None  # the first capture has no change
    assert change[-1]["KGS"] == pytest.approx(100 * (0.01145 / 0.01144 - 1))


def test_show_a_range_without_captures_says_what_the_database_has(samples_db):
    shown = cli("show", "--db", samples_db, "--from", "2026-01-01")
    assert shown.exit_code == 0 and shown.stdout == ""
    assert shown.stderr == ("no capture of any currency from 2026-01-01 to the last; the "
                            "database's captures run from 2025-11-17 to 2025-12-22\n")


# -- validation everywhere a user names a currency, pair, date or range ----------------------------


@pytest.mark.parametrize("command", [["show"], ["export"], ["check"],
                                     ["export", "--all-snapshots"]])
@pytest.mark.parametrize(("args", "message"), [
    (["--currency", "XYZ"], "error: no series for XYZ in {db}; it has KGS, KZT, TJS, UZS, TMT"),
    (["--currency", "KGS", "--currency", "kgs/eur"],
     "error: no series for KGS/EUR in {db}; it has KGS, KZT, TJS, UZS, TMT"),
    (["--currency", "K1S"], "error: 'K1S' is not a currency; write its three-letter code"),
    (["--from", "2025-12-20", "--to", "2025-12-01"],
     "error: the range is empty: start 2025-12-20 is after end 2025-12-01; swap them"),
    (["--from", "2025-02-30"], "Invalid value for '--from'"),
    (["--to", "20/12/2025"], "Invalid value for '--to'"),
])
def test_filters_are_checked_against_the_database(samples_db, command, args, message):
    result = cli(*command, "--db", samples_db, *args)
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    assert message.format(db=samples_db) in result.stderr


def test_validation_through_the_real_command(samples_db):
    """Exit status 2 and one line, no traceback: what a shell script sees."""
    for args in (["show", "--currency", "XYZ"], ["check", "--currency", "XYZ"],
                 ["show", "--from", "2025-12-20", "--to", "2025-12-01"]):
        done = run_tracker(*args, "--db", samples_db)
        assert done.code == 2 and len(done.lines) == 1 and done.stdout == ""
        assert done.stderr.startswith("error: ")


def test_an_empty_database_lists_the_tickers_codes(tmp_path):
    db = tmp_path / "empty.duckdb"
    with Store.open(db):
        pass
    result = cli("show", "--db", db, "--currency", "XYZ")
    assert result.exit_code == 2
    assert "it has no dated series yet (the ticker's are KGS, KZT, TJS, UZS, TMT)" in \
        result.stderr
    empty = cli("show", "--db", db)
    assert empty.exit_code == 0 and "the series is empty; ingest snapshots first" in empty.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["-o", "{tmp}/x.xlsx"], "cannot tell the format of {tmp}/x.xlsx from its extension "
                             ".xlsx; name it .csv, .json or .parquet"),
    (["-o", "{tmp}/x"], "cannot tell the format of {tmp}/x from its extension (none)"),
    (["--format", "json", "-o", "{tmp}/x.csv"],
     "--format json contradicts the extension of {tmp}/x.csv (csv)"),
    (["--view", "index", "--all-snapshots"], "--view index needs the series"),
    (["--view", "inverse"], "Invalid value for '--view'"),
    (["-o", "{tmp}/no/such/folder/x.csv"], "cannot write {tmp}/no/such/folder/x.csv"),
])
def test_export_refuses_what_it_cannot_write_as_asked(samples_db, tmp_path, args, message):
    result = cli("export", "--db", samples_db, *(a.format(tmp=tmp_path) for a in args))
    # a usage mistake is 2; an output the system refuses is an I/O failure: 3
    assert result.exit_code == (3 if "cannot write" in message else 2), result.stderr
    assert message.format(tmp=tmp_path) in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written, not even half


# -- one export shape ----------------------------------------------------------------------------


def _normal(column: str, value: object) -> object:
    """A cell as a value, whatever the format carried it as (text, number, date)."""
    if value is None or value == "":
        return None
    if column == "captured_on":
        return str(value)[:10]
    if column in ("rate", "change_pct"):
        return Decimal(str(value))
    if column in ("rate_decimals", "snapshots", "distinct_rates"):
        return int(str(value))
    if column in ("per_usd", "index", "change"):
        return float(str(value))
    return str(value)


def _rows(columns: list[str], records: list[dict]) -> list[tuple]:
    return [tuple(_normal(c, r[c]) for c in columns) for r in records]


@pytest.mark.parametrize("view", ["rate", "per_usd", "index", "change"])
def test_the_four_export_paths_give_the_same_columns_and_values(samples_db, tmp_path, view):
    """CSV, JSON and Parquet from `tracker export`, and the dashboard's CSV download."""
    paths = {fmt: tmp_path / f"series.{fmt}" for fmt in ("csv", "json", "parquet")}
    for path in paths.values():  # the format follows the extension
        done = run_tracker("export", "--db", samples_db, "--view", view, "-o", path)
        assert done.code == 0, done.stderr
        assert done.stderr == f"wrote 74 rows to {path}"
    with open(paths["csv"], newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        got = {"csv": (list(reader.fieldnames or []), list(reader))}
    records = json.loads(paths["json"].read_text(encoding="utf-8"))
    got["json"] = (list(records[0]), records)
    table = pq.read_table(paths["parquet"])
    got["parquet"] = (table.column_names, table.to_pylist())
    sent = callbacks.download_csv(data.Settings(db_path=samples_db), 1, None, view, None)
    assert sent["filename"] == f"tracker-series-{view}-all.csv"
    download = list(csv.DictReader(io.StringIO(sent["content"])))
    got["dashboard"] = (list(download[0]), download)

    columns = ["captured_on", "currency", "quote_currency", "rate", "rate_decimals",
               "change_pct", "snapshots", "distinct_rates", "snapshot_id"]
    columns += [] if view == "rate" else [view]
    for name, (names, _) in got.items():
        assert names == columns, name
    expected = _rows(columns, got["parquet"][1])
    assert len(expected) == 74
    for name, (_, rows) in got.items():
        assert _rows(columns, rows) == expected, name
    assert str(table.schema.field("rate").type) == "decimal128(18, 10)"
    uzs = [r for r in got["csv"][1] if r["currency"] == "UZS"]
    assert {r["rate"] for r in uzs} == {"0.00008", "0.00007"}  # the printed text, not 8E-5


def test_export_file_names_use_the_views_name():
    from tracker.export import file_name

    assert file_name("per_usd") == "tracker-series-per_usd-all.csv"
    assert file_name("index", dt.date(2025, 12, 1), None, "parquet") == \
        "tracker-series-index-2025-12-01_last.parquet"
    assert file_name("change", None, dt.date(2025, 12, 22), "json") == \
        "tracker-series-change-first_2025-12-22.json"
    assert file_name(all_snapshots=True) == "tracker-quotes-all.csv"


def test_export_to_stdout_keeps_the_format_option(samples_db):
    out = cli("export", "--db", samples_db, "--format", "json", "--view", "index", "--currency",
              "TMT", "--from", "2025-12-15")
    rows = json.loads(out.stdout)
    first = rows[0]
    assert (first["captured_on"], first["rate"], first["index"]) == ("2025-12-15", "0.28490", 100.0)


# -- tracker status ------------------------------------------------------------------------------


def status(db: Path, *args: object) -> tuple[str, dict]:
    text = run_tracker("status", "--db", db, *args)
    assert text.code == 0, text.stderr
    as_json = run_tracker("status", "--db", db, "--format", "json", *args)
    assert as_json.code == 0, as_json.stderr
    return text.stdout, json.loads(as_json.stdout)


def test_status_of_an_empty_database(tmp_path):
    db = tmp_path / "empty.duckdb"
    with Store.open(db):
        pass
    text, js = status(db)
    assert text.splitlines() == [
        f"database     {db} (schema version {SCHEMA_VERSION})",
        "snapshots    0 snapshots: 0 ingested (0 of them undated), 0 rejected; 0 quotes; "
        "0 input errors",
        f"captures     none yet: tracker ingest --db {db} <folder of snapshots>",
        "last runs    watch: never (tracker schedule)",
        "             fetch: never (tracker schedule)",
        "raw archive  0 bytes in 0 pack files for 0 snapshots",
    ]
    assert js["schema_version"] == SCHEMA_VERSION and js["database"] == str(db)
    assert js["counts"] == {"snapshots": 0, "ingested": 0, "rejected": 0, "undated": 0,
                            "quotes": 0, "raw": 0, "input_errors": 0}
    assert (js["first_capture"], js["last_capture"], js["capture_dates"]) == (None, None, 0)
    assert js["gaps"] == [] and js["last_runs"] == []
    assert js["raw_archive"] == {"files": 0, "bytes": 0}


def test_status_of_a_fresh_database(samples_db):
    text, js = status(samples_db, "--gap-days", 4)
    raw = sum(p.stat().st_size for p in default_raw_dir(samples_db).iterdir())
    lines = text.splitlines()
    assert lines[1] == ("snapshots    28 snapshots: 26 ingested (1 of them undated), "
                        "2 rejected; 129 quotes; 0 input errors")
    assert lines[2] == "captures     2025-11-17 to 2025-12-22 (15 capture dates)"
    assert lines[3:7] == [
        "gaps         over 4 days without a capture: 3 gaps",
        "               2025-11-28 → 2025-12-03 (5 days)",
        "               2025-12-03 → 2025-12-08 (5 days)",
        "               2025-12-15 → 2025-12-22 (7 days)",
    ]
    assert lines[-1].startswith("raw archive  ") and lines[-1].endswith(
        " KiB in 1 pack file for 28 snapshots")
    assert js["gaps"] == [{"after": "2025-11-28", "before": "2025-12-03", "days": 5},
                          {"after": "2025-12-03", "before": "2025-12-08", "days": 5},
                          {"after": "2025-12-15", "before": "2025-12-22", "days": 7}]
    assert js["gap_days"] == 4 and js["raw_archive"] == {"files": 1, "bytes": raw}
    wider = json.loads(run_tracker("status", "--db", samples_db, "--gap-days", 6,
                                   "--format", "json").stdout)
    assert [g["days"] for g in wider["gaps"]] == [7]


class _Gone(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


def test_status_of_a_scheduled_database(tmp_path):
    db = tmp_path / "db" / "tracker.duckdb"
    watched = tmp_path / "watched"
    watched.mkdir()
    entries = [TickerEntry("KGS", "0.01144", "0")]
    (watched / "a.txt").write_text(render_text(entries, day=dt.date(2025, 12, 1)))
    (watched / "spam.txt").write_text("no ticker here\n")
    first = watch_once(db, [watched], settle=0)
    assert first.rejected == 1
    (watched / "b.txt").write_text(render_text(entries, day=dt.date(2025, 12, 2)))
    assert watch_once(db, [watched], settle=0).ingested == 1
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gone)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/"
        assert fetch_once(db, [url], retries=0, backoff=0).rejected == 1
    finally:
        server.shutdown()
        server.server_close()
    with Store.open(db) as store:  # a run whose process died: started, never finished
        store.start_run("archive", dt.datetime(2025, 12, 3, 8, 0, 0, 123456))

    text, js = status(db)
    runs = {r["job"]: r for r in js["last_runs"]}
    assert set(runs) == {"archive", "fetch", "watch"}
    assert (runs["watch"]["run_id"], runs["watch"]["outcome"]) == (2, "ok")
    assert runs["watch"]["ingested"] == 1 and runs["watch"]["error"] is None
    assert runs["fetch"]["outcome"] == "rejected" and "404" in runs["fetch"]["error"]
    assert runs["archive"]["outcome"] == "unfinished"
    assert runs["archive"]["started"] == "2025-12-03T08:00:00"  # no microseconds
    lines = text.splitlines()
    watch = next(line for line in lines if "watch: run 2" in line)
    assert watch.startswith("last runs    watch: run 2 started 20") and watch.endswith(
        "ingested 1, already present 0, rejected 0: ok")
    assert "." not in watch.split(" UTC")[0].split("started ")[1]  # no microseconds
    fetch = next(line for line in lines if "fetch: run 3" in line)
    assert ": rejected (" in fetch and "404" in fetch
    assert any(line.endswith("archive: run 4 started 2025-12-03 08:00:00 UTC, not finished; "
                             "ingested 0, already present 0, rejected 0: unfinished")
               for line in lines)
    assert js["counts"]["input_errors"] == 1


def test_status_of_a_missing_database_is_a_clear_error(tmp_path):
    done = run_tracker("status", "--db", tmp_path / "none.duckdb")
    assert done.code == 3 and done.stderr.startswith("error: no database at")


# -- documented ----------------------------------------------------------------------------------


def test_the_readme_documents_the_export_shape():
    from tracker import export

    from .conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    part = readme[readme.index("### Views, filters and the export shape"):]
    part = part[:part.index("\n### ")]
    documented = [name for row in re.findall(r"^\| (`.+?`) \|", part, re.M)
                  for name in re.findall(r"`(\w+)`", row)]
    assert documented == [*export.SERIES_COLUMNS, "per_usd", "index", "change"]
    assert all(f"`{name}`" in part for name in export.ALL_COLUMNS)


def test_shell_completion_as_the_readme_says():
    done = subprocess.run([sys.executable, "-m", "tracker"], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "_TRACKER_COMPLETE": "bash_complete",
                                           "COMP_WORDS": "tracker show --view ",
                                           "COMP_CWORD": "3"})
    assert done.stdout.split() == ["plain,rate", "plain,per_usd", "plain,index", "plain,change"]
