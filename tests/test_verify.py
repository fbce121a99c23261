"""`tracker verify` checks the whole raw archive; re-ingesting a source repairs its snapshot;
`tracker reparse` never parses damaged bytes.

Damage of every kind at once, through the real commands: a flipped bit inside a frame, a
pack deleted, a snapshot's index row gone, a pack nothing points at.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import SAMPLES
from tests.proc import run_tracker
from tests.test_fetch import DAY, snapshot
from tracker.read import to_frame
from tracker.store import Store, default_raw_dir

HOME = "2025-11-17_tca-home.txt"


def damage(db: Path, folder: Path, lone: Path) -> dict[str, str]:
    """Flip a bit of one frame, delete the pack of `lone`, drop one index row, add an orphan;
    which source suffered what."""
    with Store.open(db) as store:
        where = store.raw_locations()
        sources = store.sources_of(sorted(where))
        by_source = {sources[sid]: (sid, loc) for sid, loc in where.items()}
        _, (_, pack, offset, length) = by_source[str(folder / HOME)]
        data = bytearray((store.raw_dir / pack).read_bytes())
        data[offset + length // 2] ^= 0x10
        (store.raw_dir / pack).write_bytes(bytes(data))
        (store.raw_dir / by_source[str(lone)][1][1]).unlink()
        unrecorded = next(s for s in by_source if s.endswith("2025-12-09_tca-transport.txt"))
        store.con.execute("DELETE FROM raw_snapshots WHERE snapshot_id = ?",
                          [by_source[unrecorded][0]])
        (store.raw_dir / "20250101T000000-1-deadbeef.pack").write_bytes(b"stray")
    return {"corrupt": str(folder / HOME), "missing pack": str(lone), "unrecorded": unrecorded}


def test_verify_finds_every_kind_of_damage_and_reingesting_repairs_it(tmp_path, db_path):
    folder = tmp_path / "samples"
    shutil.copytree(SAMPLES, folder)
    lone = tmp_path / "lone.txt"
    lone.write_bytes(snapshot(day=DAY))
    run_tracker("ingest", "--db", db_path, folder)
    run_tracker("ingest", "--db", db_path, lone)  # a pack of its own
    clean = run_tracker("verify", "--db", db_path)
    assert clean.code == 0 and clean.lines[-1].endswith("0 missing or corrupt, 0 stray pack(s)")

    hurt = damage(db_path, folder, lone)
    found = run_tracker("verify", "--db", db_path)
    assert found.code == 1 and "Traceback" not in found.stderr, found.stderr
    lines = found.lines
    assert lines[-1].endswith("3 missing or corrupt, 1 stray pack(s)"), lines
    corrupt = [line for line in lines if line.startswith(f"corrupt: {hurt['corrupt']}: ")]
    assert len(corrupt) == 1 and corrupt[0].endswith(
        f"ingest its source again: tracker ingest --db {db_path} {hurt['corrupt']}"), corrupt
    assert any(line.startswith(f"missing: {hurt['missing pack']}: ") and "cannot be read" in line
               for line in lines), lines
    assert any(line.startswith(f"missing: {hurt['unrecorded']}: ") and
               "has no raw bytes recorded" in line for line in lines), lines
    assert any(line.startswith("orphan: ") and "20250101T000000-1-deadbeef.pack" in line
               for line in lines), lines

    with Store.open(db_path, read_only=True) as store:
        before = to_frame(store.all_quotes()).sort_values(["snapshot_id", "position"])
    reparsed = run_tracker("reparse", "--db", db_path)
    assert reparsed.code == 1 and "Traceback" not in reparsed.stderr
    damaged = [line for line in reparsed.lines if line.startswith("damaged: ")]
    assert sorted(line.split(": ")[1] for line in damaged) == sorted(hurt.values()), damaged
    assert "3 with missing or damaged raw bytes (kept as they were, not parsed)" in \
        reparsed.lines[-1]
    with Store.open(db_path, read_only=True) as store:
        after = to_frame(store.all_quotes()).sort_values(["snapshot_id", "position"])
    assert before.reset_index(drop=True).equals(after.reset_index(drop=True))

    again = run_tracker("ingest", "--db", db_path, folder, lone)
    restored = [line for line in again.lines if "restored from this input" in line]
    assert sorted(line.split(": ")[1] for line in restored) == sorted(hurt.values()), again.lines
    assert "ingested 0, " in again.lines[-1]
    repaired = run_tracker("verify", "--db", db_path)
    assert repaired.lines[-1].endswith("0 missing or corrupt, 1 stray pack(s)"), repaired.lines
    (default_raw_dir(db_path) / "20250101T000000-1-deadbeef.pack").unlink()
    assert run_tracker("verify", "--db", db_path).code == 0
    assert run_tracker("reparse", "--db", db_path).code == 0


def test_verify_without_a_database_says_how_to_make_one(tmp_path):
    run = run_tracker("verify", "--db", tmp_path / "none.duckdb")
    assert run.code == 3 and run.lines == [
        f"error: no database at {tmp_path / 'none.duckdb'}; create it with `tracker ingest "
        f"--db {tmp_path / 'none.duckdb'} data/samples`"]
