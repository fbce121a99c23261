"""The write lock is held only to write, and concurrent writers of the same bytes agree.

Ingestion reads, parses and dates its inputs with the database closed and opens it only to
store each prepared batch (`tracker.store.writing`), so a reader in another process, waiting at
most its lock timeout, always gets in during a long or hostile ingest. Four uploads through
the dashboard's upload function and four `tracker ingest` processes of the same bytes each
end as ingested or already present, with one snapshot and no stray pack.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from dashboards.data import Settings
from dashboards.upload import ingest_uploads
from tests.proc import run_tracker
from tests.test_fetch import DAY, snapshot
from tracker.store import Store

READER = r"""
import json, sys, time
from pathlib import Path
from tracker.errors import DatabaseMissingError
from tracker.store import Store

db, stop_file = Path(sys.argv[1]), Path(sys.argv[2])
seen = []
while not stop_file.exists():
    try:
        with Store.open(db, read_only=True) as store:
            counts = store.counts()
    except DatabaseMissingError:
        time.sleep(0.01)
        continue
    assert counts["quotes"] % 5 == 0, counts  # whole batches only
    seen.append(counts["snapshots"])
    time.sleep(0.01)
print(json.dumps({"reads": len(seen), "distinct": len(set(seen)), "in_order": seen == sorted(seen)}))
"""


def hostile_corpus(folder: Path, good: int) -> int:
    """`good` dated snapshots, and pages that are slow to parse (a long run of spaces before
    a stray character, the shape that took the old parser seconds per page)."""
    folder.mkdir()
    for i in range(good):
        day = DAY.replace(year=2000) + dt.timedelta(days=i)
        (folder / f"page-{i:05}.txt").write_bytes(snapshot(day=day))
    for i in range(4):
        (folder / f"hostile-{i}.txt").write_bytes(b" " * 15_000 + b"x" + bytes([i]))
    return good + 4


def test_a_reader_process_never_gets_busy_during_a_slow_hostile_ingest(tmp_path, db_path):
    folder = tmp_path / "in"
    total = hostile_corpus(folder, 600)
    stop = tmp_path / "stop"
    env = {**os.environ, "TRACKER_LOCK_TIMEOUT": "1"}  # a reader gives up after 1 s busy
    reader = subprocess.Popen([sys.executable, "-c", READER, str(db_path), str(stop)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        ingest = run_tracker("ingest", "--db", db_path, "--batch-size", "50", folder)
    finally:
        stop.touch()
        out, errors = reader.communicate(timeout=60)
    assert ingest.code == 1, ingest.stderr  # the hostile pages are rejected, nothing else
    assert ingest.lines[-1].startswith(f"ingested {total - 4}, already present 0, rejected 4")
    assert reader.returncode == 0 and errors == "", errors  # never "database is busy"
    seen = json.loads(out)
    assert seen["in_order"] and seen["distinct"] >= 3, seen  # it read between the batches


def _data_url(data: bytes) -> str:
    return "data:text/plain;base64," + base64.b64encode(data).decode()


def test_concurrent_uploads_and_ingests_of_the_same_bytes_each_end_ingested_or_present(
    tmp_path, db_path
):
    page = snapshot()
    settings = Settings(db_path=db_path)
    results: list[object] = []

    def upload() -> None:
        results.extend(ingest_uploads(settings, [("same.txt", _data_url(page))]))

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(r.status for r in results) == ["ingested", "present", "present", "present"]

    other = tmp_path / "other.txt"
    other.write_bytes(snapshot(day=DAY.replace(day=11)))
    procs = [subprocess.Popen([sys.executable, "-m", "tracker", "ingest", "--db", str(db_path),
                               str(other)], stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    lines = [p.communicate(timeout=120)[1].splitlines()[-1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], lines
    assert sorted(line.split(" in ")[0] for line in lines) == [
        "ingested 0, already present 1, rejected 0"] * 3 + [
        "ingested 1, already present 0, rejected 0"]
    with Store.open(db_path, read_only=True) as store:
        assert store.counts()["snapshots"] == 2
    verified = run_tracker("verify", "--db", db_path)
    assert verified.code == 0 and "0 missing or corrupt, 0 stray pack(s)" in verified.stderr, \
        verified.stderr
