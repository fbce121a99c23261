"""Every database I/O failure ends with exit status 3 and one line saying what to do; no
command prints a traceback, whatever state the database file is in.

Through the real `tracker` command: a truncated file, a file of random bytes, a file that may
not be read or written, and a full disk during the commit (a file size limit,
`RLIMIT_FSIZE`, which makes the write fail with EFBIG as a full disk fails it with ENOSPC).
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SAMPLES
from tests.proc import run_tracker, unprivileged
from tests.test_fetch import snapshot

GOOD = SAMPLES / "2025-11-17_tca-home.txt"
COMMANDS = [("show",), ("check",), ("export",), ("verify",), ("reparse",),
            ("ingest", SAMPLES / "date-only-page.txt")]


def assert_one_line_exit_3(run, *fragments: str) -> None:
    assert run.code == 3, (run.code, run.stderr)
    assert "Traceback" not in run.stderr, run.stderr
    assert len(run.lines) == 1 and run.lines[0].startswith("error: "), run.lines
    for fragment in fragments:
        assert fragment in run.lines[0], run.lines[0]


@pytest.fixture(scope="module")
def good_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("good") / "tracker.duckdb"
    assert run_tracker("ingest", "--db", db, SAMPLES).code == 1  # two samples are rejected
    return db


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("damage", ["truncated-early", "truncated-late", "random-bytes"])
def test_a_damaged_database_file_is_exit_3_with_one_line(tmp_path, good_db, command, damage):
    data = good_db.read_bytes()
    db = tmp_path / "tracker.duckdb"
    if damage == "random-bytes":
        db.write_bytes(os.urandom(100_000))
    else:
        db.write_bytes(data[: 20_000 if damage == "truncated-early" else len(data) // 5])
    run = run_tracker(command[0], "--db", db, *command[1:])
    assert_one_line_exit_3(run, str(db))


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_database_you_may_not_read_or_write_is_exit_3(tmp_path, good_db, command):
    prefix = unprivileged()
    if prefix is None:
        pytest.skip("running as root without setpriv: file permissions cannot be tested")
    db = tmp_path / "tracker.duckdb"
    db.write_bytes(good_db.read_bytes())
    db.chmod(0)
    assert_one_line_exit_3(run_tracker(command[0], "--db", db, *command[1:], prefix=prefix),
                           "Permission denied")
    if command[0] in ("ingest", "reparse"):  # writers of a read-only file
        db.chmod(0o444)
        assert_one_line_exit_3(
            run_tracker(command[0], "--db", db, *command[1:], prefix=prefix), str(db))


def test_a_full_disk_during_the_commit_is_exit_3_and_the_next_run_converges(tmp_path):
    db = tmp_path / "tracker.duckdb"
    assert run_tracker("ingest", "--db", db, GOOD).code == 0
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(3000):
        day = dt.date(2001, 1, 1) + dt.timedelta(days=i)
        (folder / f"page-{i:05}.txt").write_bytes(snapshot(day=day))
    limit = db.stat().st_size + 16 * 1024  # the packs fit; the database's growth does not

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run([sys.executable, "-m", "tracker", "ingest", "--db", str(db), str(folder)],
                          capture_output=True, text=True, preexec_fn=limited, timeout=300)
    lines = done.stderr.splitlines()
    assert done.returncode == 3 and "Traceback" not in done.stderr, done.stderr
    assert len(lines) == 1 and lines[0].startswith(f"error: database {db} failed: "), lines
    assert "File too large" in lines[0] and "the disk is full" in lines[0], lines[0]

    again = run_tracker("ingest", "--db", db, folder)
    assert again.code == 0 and "rejected 0" in again.lines[-1], again.stderr
    verified = run_tracker("verify", "--db", db)
    assert "verified 3001 raw snapshot(s)" in verified.lines[-1]
    assert " 0 missing or corrupt" in verified.lines[-1], verified.lines  # at most stray packs


def test_an_output_file_that_cannot_be_written_is_exit_3(tmp_path, good_db):
    run = run_tracker("export", "--db", good_db, "-o", tmp_path / "no" / "such" / "x.csv")
    assert_one_line_exit_3(run, "No such file or directory")
