"""The CLI as a user runs it: real subprocesses, real files, exit statuses."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from decimal import Decimal

import pyarrow.parquet as pq
import pytest

from tracker.synthetic import TickerEntry, render_text

ENTRIES = [TickerEntry("KGS", "0.01144", "0"), TickerEntry("KZT", "0.00193", "-0")]


def run(*args, check_rc=None):
    proc = subprocess.run(
        [sys.executable, "-m", "tracker", *map(str, args)],
        capture_output=True, text=True, timeout=120,
    )
    if check_rc is not None:
        assert proc.returncode == check_rc, proc.stderr
    return proc


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "snaps dir ü"  # spaces and non-ASCII in paths
    d.mkdir()
    (d / "2025-12-10 page.txt").write_text(render_text(ENTRIES, body=["x"]))
    (d / "dated.txt").write_text(
        render_text([TickerEntry("KGS", "0.01145", "0.09"), ENTRIES[1]],
                    day=__import__("datetime").date(2025, 12, 11))
    )
    return d


def test_ingest_export_roundtrip(folder, db_path, tmp_path):
    first = run("ingest", "--db", db_path, folder, check_rc=0)
    assert "ingested 2, already present 0, rejected 0" in first.stderr
    again = run("ingest", "--db", db_path, folder, check_rc=0)
    assert "ingested 0, already present 2, rejected 0" in again.stderr

    out = run("export", "--db", db_path, "--currency", "KZT", check_rc=0).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["captured_on"], r["rate"], r["change_pct"]) for r in rows] == [
        ("2025-12-10", "0.00193", "-0"), ("2025-12-11", "0.00193", "-0")
    ]
    js = json.loads(run("export", "--db", db_path, "--format", "json", "--from", "2025-12-11",
                        check_rc=0).stdout)
    assert {(r["currency"], r["rate"]) for r in js} == {("KGS", "0.01145"), ("KZT", "0.00193")}

    target = tmp_path / "all.parquet"
    run("export", "--db", db_path, "--all-snapshots", "--format", "parquet", "-o", target,
        check_rc=0)
    table = pq.read_table(target)
    assert table.num_rows == 4
    assert set(table.column("rate").to_pylist()) == {
        Decimal("0.01144"), Decimal("0.00193"), Decimal("0.01145")}


def test_ingest_exit_status_one_when_something_is_rejected(folder, db_path):
    (folder / "spam.txt").write_text("cheap pills\n")
    proc = run("ingest", "--db", db_path, folder, check_rc=1)
    assert f"rejected: {folder / 'spam.txt'}: no ticker found" in proc.stderr
    assert "ingested 2, already present 0, rejected 1" in proc.stderr


def test_usage_errors_exit_two(db_path):
    assert run("ingest", "--db", db_path).returncode == 2
    bad_date = run("export", "--db", db_path, "--from", "10/12/2025")
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stderr
    assert run("export", "--db", db_path, "--format", "xml").returncode == 2


def test_missing_database_is_a_clear_error(tmp_path):
    proc = run("export", "--db", tmp_path / "none.duckdb", check_rc=3)
    assert proc.stderr.startswith("error: no database at") and "Traceback" not in proc.stderr


def test_undated_snapshot_is_reported_and_placed_with_captured_on(tmp_path, db_path):
    f = tmp_path / "page.txt"
    f.write_text(render_text(ENTRIES))
    proc = run("ingest", "--db", db_path, f, check_rc=0)
    assert "undated: " in proc.stderr
    run("ingest", "--db", db_path, "--captured-on", "2025-12-08", f, check_rc=0)
    assert "2025-12-08   0.01144 0%" in run("show", "--db", db_path, check_rc=0).stdout
    g = tmp_path / "page2.txt"
    g.write_text(render_text([TickerEntry("KGS", "0.01149", "0.1")]))
    run("ingest", "--db", db_path, "--captured-on", "2025-12-09", g, check_rc=0)
    shown = run("show", "--db", db_path, check_rc=0).stdout
    assert "2025-12-09" in shown and "0.01149 0.1%" in shown


@pytest.mark.parametrize("command", ["ingest", "export", "reparse", "show", "status"])
def test_every_command_has_help_with_an_example(command):
    out = run(command, "--help", check_rc=0).stdout
    assert "Example:" in out


def test_reparse_command(folder, db_path):
    run("ingest", "--db", db_path, folder, check_rc=0)
    proc = run("reparse", "--db", db_path, check_rc=0)
    assert "reparsed: 2 ingested, 0 rejected, 0 changed" in proc.stderr


def test_names_and_page_text_reach_the_terminal_escaped(tmp_path):
    """A newline in a file name cannot forge a summary line; an OSC sequence never reaches the terminal."""
    forged = tmp_path / "x.txt\ningested 99, already present 0, rejected 0 in 0.0 s.txt"
    forged.write_text("no ticker here\n")
    osc = tmp_path / "\x1b]0;owned\x07\x9b31m.txt"
    osc.write_text("nothing\n")
    proc = run("ingest", "--db", tmp_path / "t.duckdb", forged, osc, check_rc=1)
    assert "\x1b" not in proc.stderr and "\x07" not in proc.stderr and "\x9b" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert [line for line in lines if line.startswith("ingested ")] == [lines[-1]]  # ours only
    assert any(line.startswith("rejected: ") and "x.txt\u240aingested 99" in line for line in lines)
    assert any("\u241b]0;owned\u2407<U+009B>31m.txt" in line for line in lines)


def test_show_and_export_key_each_pair_by_its_label(tmp_path, db_path):
    """A KGS/EUR quote is its own column (`show`) and rows (`export --currency KGS/EUR`): it never
    overwrites KGS (against USD), and every consumer reads the series the same way."""
    import datetime as dt

    pages = tmp_path / "pages"
    pages.mkdir()
    for i, (usd, eur) in enumerate([("0.01144", "0.00980"), ("0.01145", "0.00985")]):
        entries = [TickerEntry("KGS", usd, "0"), TickerEntry("KGS", eur, "0", quote_currency="EUR")]
        (pages / f"p{i}.txt").write_text(render_text(entries, day=dt.date(2025, 12, 1 + i)))
    run("ingest", "--db", db_path, pages, check_rc=0)
    lines = run("show", "--db", db_path, check_rc=0).stdout.splitlines()
    assert lines[0].split() == ["captured_on", "KGS", "KGS/EUR"]
    assert lines[2].split() == ["2025-12-02", "0.01145", "0%", "0.00985", "0%"]
    only = run("show", "--db", db_path, "--currency", "kgs/eur", check_rc=0).stdout.splitlines()
    assert only[0].split() == ["captured_on", "KGS/EUR"]
    rows = list(csv.DictReader(io.StringIO(
        run("export", "--db", db_path, "--currency", "KGS/EUR", check_rc=0).stdout)))
    assert [(r["quote_currency"], r["rate"]) for r in rows] == [("EUR", "0.00980"), ("EUR", "0.00985")]
    usd = list(csv.DictReader(io.StringIO(
        run("export", "--db", db_path, "--currency", "KGS", check_rc=0).stdout)))
    assert [(r["quote_currency"], r["rate"]) for r in usd] == [("USD", "0.01144"), ("USD", "0.01145")]


def test_a_file_that_is_not_a_database_is_an_error_at_once_not_busy(tmp_path):
    """A held lock is waited for; an unusable file is not (told apart by DuckDB's exception
    type and the file lock, not by the message text)."""
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"not a database " * 400)
    proc = subprocess.run(
        [sys.executable, "-m", "tracker", "show", "--db", str(junk)], capture_output=True,
        text=True, timeout=120, env={**__import__("os").environ, "TRACKER_LOCK_TIMEOUT": "600"},
    )
    assert proc.returncode == 3, proc.stderr
    assert f"cannot open database {junk}" in proc.stderr and "busy" not in proc.stderr
    assert "Traceback" not in proc.stderr


def test_status_and_check_show_stored_input_escaped(tmp_path):
    """A run's error and a finding's message quote file names: on the terminal an escape
    sequence in one is shown, never obeyed, and a newline cannot forge a row of the table."""
    import datetime as dt

    from tests.tickers import FIVE
    from tracker.jobs import watch_once

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "\x1b]0;owned\x07.txt").write_text("no ticker here\n")
    forged = "2025-12-01 x\ncopies_disagree  error  KGS  2025-12-15  forged\x1b[31m.txt"
    (folder / forged).write_text(render_text(FIVE, day=dt.date(2025, 12, 3)))
    db = tmp_path / "t.duckdb"
    watch_once(db, [folder], settle=0)
    status = run("status", "--db", db, check_rc=0).stdout
    table = run("check", "--db", db).stdout
    for out in (status, table):
        assert not {"\x1b", "\x07", "\x9b"} & set(out), out
    assert "\u241b]0;owned\u2407" in status
    rows = [line for line in table.splitlines() if line.startswith("copies_disagree")]
    assert rows == [], table  # the forged row is part of an escaped message, not a row
    assert "x\u240acopies_disagree" in table


@pytest.mark.parametrize("command", ["show", "status", "check", "ingest"])
def test_a_database_from_a_newer_tracker_says_upgrade_the_tracker(tmp_path, command):
    """Reading or writing, the advice is the one that helps: a writing command cannot
    migrate a newer file back, so a reader must not send the user to one."""
    import duckdb

    db = tmp_path / "t.duckdb"
    run("ingest", "--db", db, tmp_path, check_rc=0)  # (an empty folder: a new database)
    with duckdb.connect(str(db)) as con:
        con.execute("INSERT INTO schema_info (version) VALUES (99)")
    args = [tmp_path] if command == "ingest" else []
    proc = run(command, "--db", db, *args, check_rc=3)
    assert "schema version 99, newer than this tracker" in proc.stderr
    assert "upgrade the tracker" in proc.stderr and "to migrate it" not in proc.stderr


def _on_a_terminal(*args) -> str:
    """What `tracker ARGS` writes to stdout when stdout is a terminal (a pseudo-terminal)."""
    import os
    import pty

    leader, follower = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "tracker", *map(str, args)],
                              stdout=follower, stderr=subprocess.PIPE, timeout=120)
        os.close(follower)
        out = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # (EIO: the terminal's other side is closed and drained)
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(leader)
    assert proc.returncode in (0, 1), proc.stderr
    return out.decode("utf-8", "replace")


def test_data_on_a_terminal_shows_control_characters_and_piped_is_exact(tmp_path):
    """A source named with an escape sequence: exported to a file or a pipe it is the exact
    bytes; written to a terminal (export, check's CSV and JSON) it is shown, not
    obeyed."""
    import datetime as dt

    from tests.tickers import FIVE

    folder = tmp_path / "in"
    folder.mkdir()
    name = "2025-12-01 \x1b]0;owned\x07\x9b31m.txt"
    (folder / name).write_text(render_text(FIVE, day=dt.date(2025, 12, 3)))  # dates disagree
    db = tmp_path / "t.duckdb"
    run("ingest", "--db", db, folder, check_rc=0)
    piped = run("export", "--db", db, "--all-snapshots", check_rc=0).stdout
    assert str(folder / name) in piped  # exact when piped
    for args in (["export", "--all-snapshots"], ["export", "--all-snapshots", "--format", "json"],
                 ["check", "--format", "csv"], ["check", "--format", "json"]):
        shown = _on_a_terminal(*args, "--db", db)
        assert not {"\x1b", "\x07", "\x9b"} & set(shown), (args, shown)
        assert "owned" in shown, (args, shown)


@pytest.mark.parametrize("command", ["ingest", "status", "show", "export", "check", "reparse",
                                     "verify"])
def test_an_empty_db_option_is_a_usage_error(tmp_path, command):
    """`--db ""` was Path('.'): a ValueError traceback ("has an empty name")."""
    proc = run(command, "--db", "", *([tmp_path] if command == "ingest" else []), check_rc=2)
    assert "Invalid value for '--db': give the database's file name" in proc.stderr
    assert "Traceback" not in proc.stderr
