"""A reader process queries in a loop while a `tracker schedule` process writes.

DuckDB admits one writing process or several read-only ones. The scheduler opens the
database per batch and closes it; readers open it read-only and retry briefly on the lock.
This proves the two coexist with real processes: the reader never sees an error, never sees
the data go backwards, and sees everything at the end.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys

from tests.test_fetch import DAY, snapshot
from tests.test_schedule import drop, read, tracker, wait_for
from tracker.read import to_frame

READER = r"""
import json, sys, time
from pathlib import Path
from tracker.read import to_frame
from tracker.store import Store

db, stop_file = Path(sys.argv[1]), Path(sys.argv[2])
seen = []
while not stop_file.exists():
    with Store.open(db, read_only=True) as store:
        counts = store.counts()
        series = store.series()
        runs = to_frame(store.runs())
    assert counts["quotes"] == 5 * counts["snapshots"], counts  # never half a batch
    seen.append(counts["snapshots"])
    time.sleep(0.01)
print(json.dumps({"reads": len(seen), "last": seen[-1], "in_order": seen == sorted(seen),
                  "series_rows": series.num_rows, "runs": len(runs)}))
"""


def test_a_reader_process_queries_while_the_scheduler_ingests(tmp_path, db_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    day = iter(DAY + dt.timedelta(days=i) for i in range(1000))
    for i in range(10):
        drop(folder, f"first-{i}.txt", snapshot(day=next(day)))
    scheduler = tracker("schedule", "--db", db_path, "--watch", folder, "--every", "1s",
                        "--settle", "0", "--batch-size", "5")
    stop_file = tmp_path / "stop-reading"
    reader = None
    try:
        wait_for(lambda: read(db_path, lambda s: s.counts()["snapshots"] == 10),
                 what="the first files")
        reader = subprocess.Popen(
            [sys.executable, "-c", READER, str(db_path), str(stop_file)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        expected = 10
        for wave in range(3):
            for i in range(20):
                drop(folder, f"wave{wave}-{i}.html", snapshot(day=next(day), html=True))
            expected += 20
            wait_for(lambda n=expected: read(db_path, lambda s: s.counts()["snapshots"] == n),
                     what=f"wave {wave}")
        stop_file.touch()
        out, errors = reader.communicate(timeout=30)
        assert reader.returncode == 0 and errors == "", errors
    finally:
        stop_file.touch()
        if reader is not None and reader.poll() is None:
            reader.kill()
        scheduler.send_signal(signal.SIGTERM)
        _, log = scheduler.communicate(timeout=30)
    assert scheduler.returncode == 0, log

    seen = json.loads(out)
    assert seen["reads"] >= 10 and seen["in_order"]
    assert (seen["last"], seen["series_rows"]) == (70, 70 * 5)  # all data visible to it

    def final(store):
        return store.counts(), to_frame(store.runs())

    counts, runs = read(db_path, final)
    assert (counts["snapshots"], counts["rejected"], counts["input_errors"]) == (70, 0, 0)
    assert runs["error"].isna().all(), list(runs["error"])  # the writer was never locked out
    assert runs["ingested"].sum() == 70 and runs["present"].sum() == 0
