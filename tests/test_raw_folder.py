"""Each database owns its raw folder, and nothing the tracker advises or does on its own ever
loses another database's raw bytes.

New databases keep their packs in `<file name>.raw/` beside the file. Databases created before
schema version 8 keep the `raw/` they have, which every such database in one folder shares:
there `tracker verify` calls a pack an orphan (and advises deleting it) only when no database
in the folder points at it, says it cannot tell while one cannot be read, and a writable open
leaves another writer's temporary packs alone. All through the real `tracker` command.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import duckdb

from tests.conftest import SAMPLES
from tests.fakebanks import FakeBanks
from tests.proc import run_tracker
from tests.test_faults import temp_pack
from tests.test_fetch import DAY, snapshot
from tests.test_official_fetch import TODAY, fetch, week_rates
from tracker.store import Store, default_raw_dir
from tracker.store.schema import RAW_FOLDER_VERSION

HOME = SAMPLES / "2025-11-17_tca-home.txt"
STRAY = "20250101T000000-1-deadbeef.pack"


def to_old_layout(db: Path) -> None:
    """The database as the tracker wrote it before schema version 8: packs in the shared
    `raw/` beside it, no record of its raw folder."""
    legacy = db.parent / "raw"
    legacy.mkdir(exist_ok=True)
    own = default_raw_dir(db)
    for pack in own.iterdir():
        pack.rename(legacy / pack.name)
    own.rmdir()
    with duckdb.connect(str(db)) as con:
        con.execute("ALTER TABLE snapshots DROP COLUMN declared_charset")  # version 9
        con.execute("DROP TABLE raw_folder")
        con.execute("DELETE FROM schema_info WHERE version >= ?", [RAW_FOLDER_VERSION])


def ingest(db: Path, source: Path) -> None:
    """`tracker ingest` (the samples hold two rejects: exit status 1)."""
    run = run_tracker("ingest", "--db", db, source)
    assert run.code in (0, 1) and "Traceback" not in run.stderr, run.stderr


def packs_of(db: Path) -> set[str]:
    with Store.open(db, read_only=True) as store:
        return store.referenced_packs()


def ok(*args: object, **kwargs: object):
    run = run_tracker(*args, **kwargs)  # type: ignore[arg-type]
    assert run.code == 0 and "Traceback" not in run.stderr, run.stderr
    return run


def follow_every_rm(lines: list[str]) -> list[str]:
    """Do what the advice says: delete each file an `rm` in it names."""
    removed = []
    for line in lines:
        if "rm " in line:
            path = shlex.split(line.rpartition("rm ")[2])[0]
            Path(path).unlink()
            removed.append(path)
    return removed


def test_new_databases_in_one_folder_each_own_a_raw_folder(tmp_path):
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    ingest(a, SAMPLES)
    ok("ingest", "--db", b, HOME)
    assert not (tmp_path / "raw").exists()
    for db in (a, b):
        assert {p.name for p in default_raw_dir(db).iterdir()} == packs_of(db)
        done = ok("verify", "--db", db)
        assert done.lines[-1].endswith("0 missing or corrupt, 0 stray pack(s)"), done.lines
    assert packs_of(a).isdisjoint(packs_of(b))


def test_old_databases_sharing_raw_advise_nothing_that_loses_the_others_bytes(tmp_path):
    a, b, c = tmp_path / "a.duckdb", tmp_path / "b.duckdb", tmp_path / "c.duckdb"
    ingest(a, SAMPLES)
    to_old_layout(a)
    ok("ingest", "--db", b, HOME)
    to_old_layout(b)
    ok("ingest", "--db", c, HOME)  # a new database beside them
    raw = tmp_path / "raw"
    (raw / STRAY).write_bytes(b"nobody's")
    before = {p.name: p.read_bytes() for p in raw.iterdir()}

    ok("reparse", "--db", a)  # migrates a; b stays as the old tracker left it
    done = run_tracker("verify", "--db", a)
    assert done.code == 1 and done.lines[-1].endswith(
        "0 missing or corrupt, 1 stray pack(s)"), done.lines
    assert follow_every_rm(done.lines) == [str(raw / STRAY)]
    assert all((raw / name).read_bytes() == data for name, data in before.items()
               if name != STRAY)

    ok("reparse", "--db", b)  # b's bytes are all there to read again
    for db in (a, b, c):
        done = ok("verify", "--db", db)
        assert done.lines[-1].endswith("0 missing or corrupt, 0 stray pack(s)"), done.lines
    # the old databases keep their folder after the migration; the new one has its own
    assert packs_of(a) | packs_of(b) == {p.name for p in raw.iterdir()}
    assert {p.name for p in default_raw_dir(c).iterdir()} == packs_of(c)
    lone = tmp_path / "lone.txt"
    lone.write_bytes(snapshot(day=DAY))
    ok("ingest", "--db", a, lone)  # into the folder it records
    assert not default_raw_dir(a).exists() and packs_of(a) <= {p.name for p in raw.iterdir()}

    status = ok("status", "--db", b, "--format", "json")  # its packs, not the whole folder
    size = sum((raw / p).stat().st_size for p in packs_of(b))
    assert json.loads(status.stdout)["raw_archive"] == {"files": 1, "bytes": size}


def test_verify_cannot_tell_while_a_database_that_shares_raw_is_busy(tmp_path):
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    ingest(a, SAMPLES)
    to_old_layout(a)
    ok("ingest", "--db", b, HOME)
    (b_pack,) = packs_of(b)
    to_old_layout(b)
    ok("reparse", "--db", a)
    with duckdb.connect(str(b)):  # a writer holds b
        done = run_tracker("verify", "--db", a, env={"TRACKER_LOCK_TIMEOUT": "0.2"})
    assert done.code == 1 and "Traceback" not in done.stderr, done.stderr
    (line,) = [x for x in done.lines if x.startswith("orphan: ")]
    assert line.startswith(f"orphan: {tmp_path / 'raw' / b_pack}: ") and "rm " not in line
    assert "cannot be told" in line and str(b) in line, line


def test_a_writable_open_leaves_fresh_temporary_packs_in_a_shared_raw_alone(tmp_path):
    a = tmp_path / "a.duckdb"
    ok("ingest", "--db", a, HOME)
    to_old_layout(a)
    gone = subprocess.Popen(["true"])
    gone.wait()  # its pid is no process's now, but may be one in another pid namespace
    fresh = temp_pack(tmp_path / "raw", gone.pid)
    old = temp_pack(tmp_path / "raw", gone.pid, age_days=2)
    ok("reparse", "--db", a)
    assert fresh.exists() and not old.exists()
    own = tmp_path / "n.duckdb"
    mine = temp_pack(default_raw_dir(own), gone.pid)
    ok("ingest", "--db", own, HOME)
    assert not mine.exists()  # its own folder: no other writer can be at work there


def test_verify_counts_the_packs_of_official_answers_as_referenced(db_path):
    """`tracker official fetch` keeps the banks' answers in packs of the raw folder too: they
    are the database's, not orphans to delete."""
    with FakeBanks(week_rates(), today=TODAY) as banks:
        assert fetch(banks, db_path, "--currency", "KZT").code == 0
    done = ok("verify", "--db", db_path)
    assert done.lines[-1].endswith("0 missing or corrupt, 0 stray pack(s)"), done.lines
    assert packs_of(db_path) == {p.name for p in default_raw_dir(db_path).iterdir()}
