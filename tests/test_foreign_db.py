"""A DuckDB file that is someone else's database (other tables, no tracker schema) is never
given the tracker's tables: every writing command refuses it (exit 3, one line that names the
file and says how to proceed), every reading one says it is not a tracker database; an empty
file is a new database."""

from __future__ import annotations

import duckdb
import pytest

from tests.conftest import SAMPLES
from tests.proc import run_tracker

HOME = SAMPLES / "2025-11-17_tca-home.txt"


def foreign(path):
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE customers (id INTEGER, name VARCHAR)")
        con.execute("INSERT INTO customers VALUES (1, 'ada')")


def tables(path):
    with duckdb.connect(str(path), read_only=True) as con:
        return sorted(r[0] for r in con.execute("SHOW TABLES").fetchall())


@pytest.mark.parametrize("command", [
    ("ingest", HOME),
    ("reparse",),
])
def test_a_writing_command_refuses_a_database_that_is_not_the_trackers(tmp_path, command):
    other = tmp_path / "other.duckdb"
    foreign(other)
    run = run_tracker(command[0], "--db", other, *command[1:])
    assert run.code == 3, run.stderr
    assert len(run.lines) == 1 and "Traceback" not in run.stderr, run.lines
    assert str(other) in run.lines[0] and "no tracker schema" in run.lines[0], run.lines
    assert "--db" in run.lines[0], run.lines  # how to proceed: another file
    assert tables(other) == ["customers"]
    assert not (tmp_path / "raw").exists() and not (tmp_path / "other.duckdb.raw").exists()


def test_a_reading_command_says_the_file_is_not_a_tracker_database(tmp_path):
    other = tmp_path / "other.duckdb"
    foreign(other)
    run = run_tracker("status", "--db", other)
    assert run.code == 3 and len(run.lines) == 1, run.stderr
    assert "no tracker schema" in run.lines[0] and "migrate" not in run.lines[0], run.lines
    assert tables(other) == ["customers"]


def test_an_empty_database_file_becomes_a_tracker_database(tmp_path):
    new = tmp_path / "new.duckdb"
    duckdb.connect(str(new)).close()
    run = run_tracker("ingest", "--db", new, HOME)
    assert run.code == 0, run.stderr
    assert "snapshots" in tables(new)
