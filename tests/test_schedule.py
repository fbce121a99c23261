"""Scheduled ingestion with a real APScheduler, real files, real signals and a real database."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from apscheduler.events import (
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
)

from tests.test_fetch import DAY, Site, slow, snapshot
from tracker.errors import StoreError, UsageError
from tracker.jobs import RunReport, watch_once
from tracker.read import to_frame
from tracker.schedule import Settings, build_scheduler, parse_interval, resolve_settings
from tracker.store import Store


def drop(folder: Path, name: str, data: bytes, *, age: float | None = None) -> Path:
    """Write a file the way a careful tool does (temp name, then rename); optionally aged."""
    path = folder / name
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    if age is not None:
        past = time.time() - age
        os.utime(path, (past, past))
    return path


def wait_for(predicate: Callable[[], Any], timeout: float = 20, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def read(db: Path, query: Callable[[Store], Any]) -> Any:
    """One read-only query from this process (which never writes while it reads)."""
    try:
        with Store.open(db, read_only=True, timeout=5) as store:
            return query(store)
    except StoreError:  # not created or not migrated yet
        return None


class Events:
    """The events a real scheduler emits, for a test to wait on."""

    def __init__(self, scheduler: Any, mask: int = EVENT_JOB_EXECUTED) -> None:
        self.events: list[JobEvent] = []
        self.lock = threading.Lock()
        scheduler.add_listener(self._on, mask)

    def _on(self, event: JobEvent) -> None:
        with self.lock:
            self.events.append(event)

    def of(self, code: int) -> list[JobEvent]:
        with self.lock:
            return [e for e in self.events if e.code == code]

    def reports(self) -> list[RunReport]:
        return [e.retval for e in self.of(EVENT_JOB_EXECUTED)]  # type: ignore[attr-defined]

    def wait(self, n: int) -> list[RunReport]:
        wait_for(lambda: len(self.reports()) >= n, what=f"{n} finished runs")
        return self.reports()


def test_intervals():
    assert [parse_interval(t) for t in ("5s", "90", "15m", "1h", "1d", " 2H ")] == [
        5, 90, 900, 3600, 86400, 7200
    ]
    for bad in ("", "0", "0s", "1.5h", "-5m", "15 minutes", "1w", "h", "9" * 5000):
        with pytest.raises(UsageError, match=r"e\.g\. 15m, 1h, 1d"):
            parse_interval(bad)
    assert parse_interval("366d") == 366 * 86400
    for huge in ("367d", "99999999999d", 99999999999999, "9223372036854775807"):
        with pytest.raises(UsageError, match="too long an interval; the longest is 366d"):
            parse_interval(huge)


def test_settings_command_line_over_config_file(tmp_path):
    (tmp_path / "snaps").mkdir()
    (tmp_path / "other").mkdir()
    config = tmp_path / "tracker.toml"
    config.write_text('[schedule]\nevery = "15m"\nwatch = ["snaps"]\n'
                      'url = ["https://timesca.com/"]\ndb = "data/t.duckdb"\n')
    from_file = resolve_settings(db=None, folders=(), urls=(), every=None, config=config)
    assert from_file == Settings(db=tmp_path / "data/t.duckdb", folders=(tmp_path / "snaps",),
                                 urls=("https://timesca.com/",), every=900)
    overridden = resolve_settings(db=tmp_path / "x.duckdb", folders=(tmp_path / "other",),
                                  urls=(), every="5s", config=config)
    assert (overridden.db, overridden.folders, overridden.urls, overridden.every) == (
        tmp_path / "x.duckdb", (tmp_path / "other",), ("https://timesca.com/",), 5
    )
    config.write_text('[schedule]\nurls = ["https://timesca.com/"]\n')
    with pytest.raises(UsageError, match=r"unknown key.*urls"):
        resolve_settings(db=None, folders=(), urls=(), every=None, config=config)
    with pytest.raises(UsageError, match="only http:// and https://"):
        resolve_settings(db=None, folders=(), urls=("file:///etc/passwd",), every=None,
                         config=None)
    with pytest.raises(UsageError, match="nothing to schedule"):
        resolve_settings(db=None, folders=(), urls=(), every="1h", config=None)


def test_watch_reads_only_new_or_changed_files(tmp_path, db_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    a = drop(folder, "a.txt", snapshot(), age=60)
    drop(folder, "b.html", snapshot(day=DAY + dt.timedelta(days=1), html=True), age=60)
    drop(folder, "spam.txt", b"no ticker in here\n", age=60)
    first = watch_once(db_path, [folder])
    assert (first.files_seen, first.ingested, first.rejected, first.unchanged) == (3, 2, 1, 0)

    # Same size, same mtime, different bytes: only a re-read could notice, and none happens.
    st = a.stat()
    a.write_bytes(snapshot(kgs="0.01199"))
    os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns))
    second = watch_once(db_path, [folder])
    assert (second.ingested, second.present, second.rejected, second.unchanged) == (0, 0, 0, 3)

    drop(folder, "a.txt", snapshot(kgs="0.01145"), age=30)  # a real change: a new snapshot
    drop(folder, "fresh.txt", snapshot(day=DAY + dt.timedelta(days=2)))  # still being written?
    third = watch_once(db_path, [folder], settle=5)
    assert (third.ingested, third.unchanged, third.deferred) == (1, 2, 1)
    fourth = watch_once(db_path, [folder], settle=0)
    assert (fourth.ingested, fourth.unchanged) == (1, 3)

    with Store.open(db_path, read_only=True) as store:
        snaps = to_frame(store.snapshots())
        state = store.watch_state([str(p) for p in folder.iterdir()])
        runs = to_frame(store.runs())
    assert sorted(snaps["source"].map(lambda s: Path(s).name)) == [
        "a.txt", "a.txt", "b.html", "fresh.txt", "spam.txt"
    ]
    assert len(state) == 4 and all(st[0] > 0 for st in state.values())
    assert list(runs["ingested"]) == [1, 1, 0, 2] and runs["finished"].notna().all()
    assert "spam.txt: no ticker" in runs.iloc[-1]["error"]
    assert sorted(p.name for p in folder.iterdir()) == ["a.txt", "b.html", "fresh.txt", "spam.txt"]


def test_a_missing_folder_is_a_recorded_run_error(tmp_path, db_path):
    report = watch_once(db_path, [tmp_path / "gone"])
    assert "no such file or folder" in report.error_text()
    assert read(db_path, lambda s: s.runs()["error"][0].as_py()) == report.error_text()


def test_real_scheduler_ingests_drops_once_and_changes_again_across_restarts(tmp_path, db_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    drop(folder, "a.txt", snapshot())
    drop(folder, "b.html", snapshot(day=DAY + dt.timedelta(days=1), html=True))
    settings = Settings(db=db_path, folders=(folder,), urls=(), every=1)

    def session(until: Callable[[list[RunReport]], bool]) -> list[RunReport]:
        stop = threading.Event()
        scheduler = build_scheduler(settings, stop=stop, watch_options={"settle": 0})
        events = Events(scheduler)
        scheduler.start()
        try:
            wait_for(lambda: until(events.reports()), what="the expected runs")
        finally:
            stop.set()
            scheduler.shutdown(wait=True)
        return events.reports()

    dropped: list[bool] = []

    def dropped_and_changed(reports: list[RunReport]) -> bool:
        if reports and not dropped:  # once the first run is done: one new file, one changed
            drop(folder, "c.txt", snapshot(day=DAY + dt.timedelta(days=2)))
            drop(folder, "a.txt", snapshot(kgs="0.01145"))
            dropped.append(True)
        return sum(r.ingested for r in reports) >= 4 and reports[-1].unchanged == 3

    first = session(dropped_and_changed)
    assert first[0].ingested == 2
    assert sum(r.ingested for r in first) == 4 and sum(r.present for r in first) == 0
    restarted = session(lambda reports: len(reports) >= 2)
    assert all((r.ingested, r.present, r.unchanged) == (0, 0, 3) for r in restarted)

    with Store.open(db_path, read_only=True) as store:
        snaps = to_frame(store.snapshots())
        runs = to_frame(store.runs()).sort_values("run_id")
        counts = store.counts()
    assert sorted(snaps["source"].map(lambda s: Path(s).name)) == ["a.txt", "a.txt", "b.html",
                                                                   "c.txt"]
    assert snaps["snapshot_id"].is_unique
    assert (counts["snapshots"], counts["quotes"]) == (4, 4 * 5)
    assert len(runs) == len(first) + len(restarted) and runs["finished"].notna().all()
    assert (runs["started"].iloc[1:].to_numpy() >= runs["finished"].iloc[:-1].to_numpy()).all()


def test_a_late_run_happens_once_instead_of_being_dropped(tmp_path, db_path):
    """Paused past two due times: coalesced into one run 1.5 s late, which APScheduler's
    default grace time (1 s) would silently drop."""
    (tmp_path / "drop").mkdir()
    settings = Settings(db=db_path, folders=(tmp_path / "drop",), urls=(), every=2)
    scheduler = build_scheduler(settings, stop=threading.Event())
    events = Events(scheduler, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED)
    scheduler.start(paused=True)
    job = scheduler.get_job("watch")
    assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 2)
    time.sleep(3.5)
    resumed = dt.datetime.now(dt.UTC)
    scheduler.resume()
    try:
        events.wait(1)
    finally:
        scheduler.shutdown(wait=True)
    due = [e for e in events.of(EVENT_JOB_EXECUTED) if e.scheduled_run_time < resumed]  # type: ignore[attr-defined]
    assert len(due) == 1 and not events.of(EVENT_JOB_MISSED)
    assert resumed - due[0].scheduled_run_time > dt.timedelta(seconds=1)  # type: ignore[attr-defined]


def test_an_overlapping_run_is_skipped_not_doubled(db_path, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    site = Site()
    site.routes["/slow"] = slow(site, 1.3, snapshot())
    site.thread.start()
    settings = Settings(db=db_path, folders=(), urls=(site.url("/slow"),), every=1)
    scheduler = build_scheduler(settings, stop=threading.Event(),
                                fetch_options={"timeout": 5, "retries": 0})
    events = Events(scheduler, EVENT_JOB_EXECUTED | EVENT_JOB_MAX_INSTANCES)
    scheduler.start()
    try:
        wait_for(lambda: len(events.reports()) >= 2 and events.of(EVENT_JOB_MAX_INSTANCES),
                 what="two runs and a skipped one")
    finally:
        scheduler.shutdown(wait=True)
        site.release.set()
        site.server.shutdown()
        site.server.server_close()
    with Store.open(db_path, read_only=True) as store:
        runs = to_frame(store.runs()).sort_values("run_id")
        counts = store.counts()
    assert (runs["started"].iloc[1:].to_numpy() >= runs["finished"].iloc[:-1].to_numpy()).all()
    assert site.hits["/slow"] == len(runs)  # one request per run: nothing doubled
    assert counts["snapshots"] == 1 and runs["present"].sum() == len(runs) - 1


def tracker(*args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tracker", *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def finish(proc: subprocess.Popen[str], sig: int) -> tuple[int, str]:
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=30)
    return proc.returncode, stderr


def test_a_signal_stops_between_batches_and_a_restart_finishes_the_job(tmp_path, db_path):
    folder = tmp_path / "drop"
    folder.mkdir()
    total = 160  # 40 batches, each followed by a 0.1 s reader gap: the signal lands part-way
    for i in range(total):
        drop(folder, f"s{i:03d}.txt", snapshot(day=DAY + dt.timedelta(days=i)))
    args = ["schedule", "--db", db_path, "--watch", folder, "--every", "1s", "--settle", "0",
            "--batch-size", "4"]
    proc = tracker(*args)
    try:
        wait_for(lambda: read(db_path, lambda s: s.counts()["snapshots"]), what="a first batch")
    finally:
        rc, stderr = finish(proc, signal.SIGTERM)
    assert rc == 0, stderr
    assert "SIGTERM: stopping after the batch in progress" in stderr
    assert stderr.rstrip().endswith("scheduler stopped") and "Traceback" not in stderr

    def consistent(store: Store) -> tuple[dict[str, int], Any]:
        counts = store.counts()
        assert counts["quotes"] == 5 * counts["snapshots"] == 5 * counts["raw"]
        assert len(store.watch_state([str(p) for p in folder.iterdir()])) == counts["snapshots"]
        return counts, to_frame(store.runs())

    counts, runs = read(db_path, consistent)
    assert 0 < counts["snapshots"] < total  # stopped part-way, after a whole batch
    assert runs["finished"].notna().all()
    left = total - counts["snapshots"]
    assert f"stopped: {left} file{'s' if left != 1 else ''} left" in runs.iloc[0]["error"]

    proc = tracker(*args)
    try:
        wait_for(lambda: read(db_path, lambda s: s.counts()["snapshots"] == total),
                 what="the rest of the files")
        second = subprocess.run([sys.executable, "-m", "tracker", *map(str, args)],
                                capture_output=True, text=True, timeout=30)
        assert second.returncode == 3 and "already running" in second.stderr
    finally:
        rc, stderr = finish(proc, signal.SIGINT)  # Ctrl-C
    assert rc == 0 and "SIGINT: stopping" in stderr, stderr
    counts, runs = read(db_path, consistent)
    assert counts["snapshots"] == total and runs["present"].sum() == 0  # nothing read twice
    assert sorted(read(db_path, lambda s: s.snapshots()["source"].to_pylist())) == sorted(
        str(p) for p in folder.iterdir()
    )


def test_schedule_usage_errors_exit_two(tmp_path, db_path):
    for args, message in [
        (["--watch", tmp_path, "--every", "soon"], "'soon' is not an interval"),
        (["--watch", tmp_path / "nope"], "no such folder"),
        (["--watch", tmp_path, "--every", "99999999999d"], "too long an interval"),
        (["--watch", tmp_path, "--every", "9" * 5000], "is not an interval"),
    ]:
        proc = subprocess.run(
            [sys.executable, "-m", "tracker", "schedule", "--db", str(db_path), *map(str, args)],
            capture_output=True, text=True, timeout=30,
        )
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert not db_path.exists()


@pytest.mark.parametrize(("table", "message"), [
    ('every = "99999999999d"\nwatch = ["snaps"]', "too long an interval; the longest is 366d"),
    ('every = 99999999999999\nwatch = ["snaps"]', "too long an interval; the longest is 366d"),
    ('watch = ["snaps"]\ndb = ""', "`db` must be a file path"),
    ('watch = ["snaps"]\ndb = "snaps"', "is a folder, a FIFO or a device; give a database"),
    ('watch = ["tracker.toml"]', "tracker.toml: not a folder; give the folder the snapshots"),
], ids=["huge-text", "huge-number", "empty-db", "folder-db", "file-watched"])
def test_a_hostile_config_file_is_a_usage_error_not_a_traceback(tmp_path, table, message):
    (tmp_path / "snaps").mkdir()
    config = tmp_path / "tracker.toml"
    config.write_text(f"[schedule]\n{table}\n")
    with pytest.raises(UsageError, match=message):
        resolve_settings(db=None, folders=(), urls=(), every=None, config=config)
    proc = subprocess.run([sys.executable, "-m", "tracker", "schedule", "--config", str(config)],
                          capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and not list(tmp_path.glob("*.lock"))


def test_an_empty_db_option_is_a_usage_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tracker", "schedule", "--watch", str(tmp_path),
                           "--db", ""], capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert proc.returncode == 2 and "Invalid value for '--db': give the database's file " \
        "name" in proc.stderr, proc.stderr


def test_a_fifo_as_database_is_a_usage_error_not_a_hang(tmp_path):
    fifo = tmp_path / "tracker.duckdb"
    os.mkfifo(fifo)  # opening it would wait forever for a writer
    proc = subprocess.run([sys.executable, "-m", "tracker", "schedule", "--watch", str(tmp_path),
                           "--db", str(fifo)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "a FIFO or a device" in proc.stderr, proc.stderr
