"""Faults with real processes: SIGKILL mid-ingest, a second writer, a raw archive that cannot
be written (permissions, a full disk).

After each fault the database opens, holds no partial snapshot (every snapshot has all its
quotes and its raw bytes, no quote or raw row lacks its snapshot), and re-running the same
ingest converges to exactly the state of an uninterrupted run.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import gzip
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tracker.raw as raw_mod
from tests.proc import run_tracker, unprivileged
from tracker.read import to_frame
from tracker.store import Store, default_raw_dir
from tracker.synthetic import filler, random_walk, render_html, render_text

BATCH = "40"


def write_corpus(folder: Path, count: int, seed: int = 11) -> Path:
    """Pages of every kind a run meets: text, HTML, gzip, undated, rejected, duplicate bytes."""
    rng = random.Random(seed)
    days = random_walk(rng, count, start=dt.date(2023, 1, 1))
    prose = [filler(rng, paragraphs=4, words=80) for _ in range(10)]
    folder.mkdir(parents=True)
    written: list[bytes] = []
    for i, (day, entries) in enumerate(days):
        kind = i % 20
        if kind == 0:
            data = b"An article without a ticker.\n" + prose[i % 10][0].encode()
        elif kind == 1 and written:
            data = written[rng.randrange(len(written))]  # the same bytes under another name
        elif kind == 2:
            data = render_html(entries, day=day, copies=2, body=prose[i % 10]).encode()
        elif kind == 3:
            data = render_text(entries, body=prose[i % 10]).encode() + f"#{i}".encode()  # undated
        else:
            data = render_text(entries, day=day, copies=8, body=prose[i % 10]).encode()
        written.append(data)
        name = f"page-{i:05d}" + (".html" if kind == 2 else ".txt")
        if kind == 4:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data, mtime=0))
        else:
            (folder / name).write_bytes(data)
    return folder


def state(db: Path) -> dict[str, object]:
    """Everything a run leaves in the database except when it ran; asserts it is whole."""
    with Store.open(db) as store:  # writable, as the next run would open it
        snaps = to_frame(store.snapshots()).drop(columns=["ingested_at"])
        ids = list(snaps["snapshot_id"])
        quotes = store.snapshot_quotes(ids).to_pandas()
        counts = store.counts()
        for sid in ids:
            assert hashlib.sha256(store.load_raw(sid)).hexdigest() == sid  # raw bytes kept
    per_snapshot = quotes.groupby("snapshot_id").size().to_dict()
    for row in snaps.itertuples():
        expected = 0 if row.status == "rejected" else {2: 5, 8: 5}.get(row.ticker_copies, 5)
        assert per_snapshot.get(row.snapshot_id, 0) == expected, row.source  # never half
    assert counts["quotes"] == len(quotes)  # no quote without its snapshot
    assert counts["raw"] == counts["snapshots"]  # no raw row without its snapshot, none missing
    snaps = snaps.sort_values("snapshot_id").reset_index(drop=True)
    quotes = quotes.sort_values(["snapshot_id", "position"]).reset_index(drop=True)
    return {"snapshots": snaps, "quotes": quotes}


def same_state(a: dict[str, object], b: dict[str, object]) -> bool:
    return all(a[k].equals(b[k]) for k in ("snapshots", "quotes"))  # type: ignore[attr-defined]


def uninterrupted(folder: Path, scratch: Path) -> dict[str, object]:
    """The state one undisturbed `tracker ingest FOLDER` leaves."""
    done = subprocess.run(ingest_cmd(scratch / "t.duckdb", folder), capture_output=True)
    assert done.returncode in (0, 1), done.stderr
    return state(scratch / "t.duckdb")


def ingest_cmd(db: Path, folder: Path) -> list[str]:
    return [sys.executable, "-m", "tracker", "ingest", "--db", str(db), "--batch-size", BATCH,
            str(folder)]


@pytest.fixture(scope="module")
def kill_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object], float]:
    """600 pages (enough for the worker-process path), and the state of an uninterrupted run."""
    root = tmp_path_factory.mktemp("kill")
    folder = write_corpus(root / "in", 600)
    started = time.monotonic()
    done = subprocess.run(ingest_cmd(root / "ref" / "t.duckdb", folder), capture_output=True)
    took = time.monotonic() - started
    assert done.returncode == 1, done.stderr  # the corpus has pages without a ticker
    return folder, state(root / "ref" / "t.duckdb"), took


def packs(db: Path) -> int:
    return len(list(default_raw_dir(db).glob("*.pack")))


@pytest.mark.slow
def test_sigkill_at_random_moments_never_leaves_a_partial_snapshot(kill_corpus, tmp_path):
    """Each kill waits for a random number of batches to reach the raw archive (one pack per
    batch), then a random fraction of a batch more: it lands while reading, parsing, writing a
    pack or committing, whatever the machine's speed."""
    folder, reference, _ = kill_corpus
    seed = int(os.environ.get("TRACKER_KILL_SEED", "0")) or random.randrange(1 << 30)
    rng = random.Random(seed)
    partial = 0
    for round_ in range(3):
        db = tmp_path / f"round-{round_}" / "t.duckdb"
        for kill in range(3):
            target = packs(db) + rng.randrange(0, 5)
            proc = subprocess.Popen(ingest_cmd(db, folder), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
            while proc.poll() is None and packs(db) < target:
                time.sleep(0.002)
            time.sleep(rng.uniform(0, 0.15))
            with contextlib.suppress(ProcessLookupError):  # unless it finished first
                os.killpg(proc.pid, signal.SIGKILL)  # the run and its worker processes
            proc.wait()
            if not db.exists():
                continue  # killed before it created the database: nothing to check
            got = state(db)  # opens, and holds no partial snapshot
            n = len(got["snapshots"])  # type: ignore[arg-type]
            partial += 0 < n < len(reference["snapshots"])  # type: ignore[arg-type]
            print(f"seed {seed}: round {round_} kill {kill} after {target} packs: {n} snapshots")
        finished = subprocess.run(ingest_cmd(db, folder), capture_output=True, text=True)
        assert finished.returncode == 1 and "Traceback" not in finished.stderr, finished.stderr
        assert same_state(state(db), reference), f"round {round_} (TRACKER_KILL_SEED={seed})"
        assert not list(default_raw_dir(db).glob(".*.tmp"))  # half-written packs are cleared
    assert partial >= 4, f"only {partial} kills landed mid-run (TRACKER_KILL_SEED={seed})"


def temp_pack(raw: Path, pid: int | str, age_days: float = 0) -> Path:
    """A half-written pack as `write_pack` names it, by the writer with this pid."""
    raw.mkdir(parents=True, exist_ok=True)
    path = raw / f".20250101T000000-{pid}-{os.urandom(4).hex()}.pack.tmp"
    path.write_bytes(b"half a pack")
    if age_days:
        when = time.time() - age_days * 86400
        os.utime(path, (when, when))
    return path


def test_a_killed_writers_temporary_pack_is_removed_on_opening(tmp_path):
    db = tmp_path / "t.duckdb"
    gone = subprocess.Popen(["true"])
    gone.wait()  # reaped: no process has its pid any more
    orphan = temp_pack(default_raw_dir(db), gone.pid)
    with Store.open(db):
        assert not orphan.exists()


def test_a_temporary_pack_of_this_process_survives_a_second_writable_store(tmp_path, monkeypatch):
    """Two writable stores in one process (two uploads, two threads): opening the second must
    not delete the pack the first is writing; one this process is not writing (an earlier
    process had the same pid, as in a container) is a leftover."""
    db = tmp_path / "t.duckdb"
    with Store.open(db):
        writing = temp_pack(default_raw_dir(db), os.getpid())  # the first store, mid-pack
        leftover = temp_pack(default_raw_dir(db), os.getpid())
        monkeypatch.setattr(raw_mod, "_writing", {writing.name})
        with Store.open(db):
            assert writing.exists() and not leftover.exists()


def test_a_pack_being_written_survives_another_store_opening_meanwhile(tmp_path, monkeypatch):
    raw, removed_meanwhile = tmp_path / "raw", []
    real_fsync = os.fsync

    def open_another_store_then_fsync(fd):
        removed_meanwhile.append(raw_mod.remove_partial_packs(raw))
        real_fsync(fd)

    monkeypatch.setattr(raw_mod.os, "fsync", open_another_store_then_fsync)
    index = raw_mod.write_pack(raw, [("a" * 64, raw_mod.compress(b"page"))])
    assert removed_meanwhile == [0]
    assert raw_mod.read_blob(raw, *index[0][1:], snapshot_id="a") == raw_mod.compress(b"page")


def test_a_temporary_pack_of_a_live_process_survives(tmp_path):
    db = tmp_path / "t.duckdb"
    live = subprocess.Popen(["sleep", "30"])
    try:
        writing = temp_pack(default_raw_dir(db), live.pid)
        with Store.open(db):
            assert writing.exists()
    finally:
        live.kill()
        live.wait()
    with Store.open(db):  # gone now
        assert not writing.exists()


def test_a_temporary_pack_of_an_unknown_writer_is_removed_only_when_old(tmp_path):
    db = tmp_path / "t.duckdb"
    raw = default_raw_dir(db)
    fresh, old = temp_pack(raw, "x"), temp_pack(raw, "x", age_days=2)
    fresh_pid0, old_pid0 = temp_pack(raw, 0), temp_pack(raw, 0, age_days=2)
    with Store.open(db):
        assert fresh.exists() and fresh_pid0.exists()
        assert not old.exists() and not old_pid0.exists()


HOLDER = r"""
import sys, time
from tracker.store import Store
with Store.open(sys.argv[1]) as store:
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold_writer(db: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(db), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
    return holder


def test_a_second_writer_gets_a_clear_busy_message_after_a_bounded_wait(tmp_path):
    folder = write_corpus(tmp_path / "in", 30)
    db = tmp_path / "t.duckdb"
    holder = hold_writer(db, 30)
    try:
        started = time.monotonic()
        run = run_tracker("ingest", "--db", db, folder, env={"TRACKER_LOCK_TIMEOUT": "1.5"})
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert run.code == 3
    assert run.lines == [
        f"error: database {db} is busy: another process is writing to it (waited 1.5 s); try "
        "again when it has finished, or wait longer with TRACKER_LOCK_TIMEOUT=<seconds>"
    ]
    assert 1.5 <= waited < 15
    again = run_tracker("ingest", "--db", db, folder)
    assert again.code == 1 and "Traceback" not in again.stderr  # the file is fine
    state(db)


def test_a_second_writer_waits_while_the_first_finishes(tmp_path):
    folder = write_corpus(tmp_path / "in", 30)
    db = tmp_path / "t.duckdb"
    holder = hold_writer(db, 1.0)
    try:
        run = run_tracker("ingest", "--db", db, folder, env={"TRACKER_LOCK_TIMEOUT": "20"})
    finally:
        holder.wait(timeout=30)
    assert run.code == 1 and "busy" not in run.stderr, run.stderr
    assert run.lines[-1].startswith("ingested ")
    assert same_state(state(db), uninterrupted(folder, tmp_path / "ref"))


def test_an_unwritable_raw_folder_is_a_clear_error_and_nothing_is_recorded(tmp_path):
    prefix = unprivileged()
    if prefix is None:
        pytest.skip("running as root without setpriv: file permissions cannot be tested")
    folder = write_corpus(tmp_path / "in", 30)
    db = tmp_path / "db" / "t.duckdb"
    raw = default_raw_dir(db)
    raw.mkdir(parents=True)
    raw.chmod(0o555)
    try:
        run = run_tracker("ingest", "--db", db, folder, prefix=prefix)
    finally:
        raw.chmod(0o755)
    assert run.code == 3
    assert run.lines == [
        f"error: cannot keep raw snapshots in {raw} (Permission denied); make the raw folder "
        "writable (or free space) and ingest again — the snapshots of this batch were not "
        "recorded, those committed before it are kept"
    ]
    assert len(state(db)["snapshots"]) == 0  # type: ignore[arg-type]
    assert not list(raw.iterdir())
    assert run_tracker("ingest", "--db", db, folder).code == 1  # fixed: the same run works
    assert same_state(state(db), uninterrupted(folder, tmp_path / "ref"))


def test_a_raw_path_that_is_a_file_is_a_clear_error(tmp_path):
    folder = write_corpus(tmp_path / "in", 5)
    db = tmp_path / "db" / "t.duckdb"
    db.parent.mkdir()
    default_raw_dir(db).write_text("not a folder")
    run = run_tracker("ingest", "--db", db, folder)
    assert run.code == 3 and "Traceback" not in run.stderr, run.stderr
    assert run.lines[0].startswith(f"error: cannot keep raw snapshots in {default_raw_dir(db)} "
                                   "(a file is in the way, not a folder)")
    assert len(state(db)["snapshots"]) == 0  # type: ignore[arg-type]


def test_a_full_disk_while_writing_raw_bytes_records_nothing_of_the_batch(tmp_path):
    """A file-size limit (`prlimit --fsize`) makes the pack write fail as a full disk would."""
    db = tmp_path / "db" / "t.duckdb"
    first = write_corpus(tmp_path / "first", 5)
    assert run_tracker("ingest", "--db", db, first).code == 1
    before = state(db)
    rng = random.Random(5)
    big = tmp_path / "big"
    big.mkdir()
    _, entries = random_walk(rng, 1)[0]
    for i in range(30):  # 300 KB of base64 noise each (6 bits a character): a ~7 MB pack
        prose = [base64.b64encode(rng.randbytes(225_000)).decode()]
        day = dt.date(2024, 1, 1) + dt.timedelta(days=i)
        (big / f"big-{i}.txt").write_text(render_text(entries, day=day, body=prose))
    limit = db.stat().st_size + 2 * 1024 * 1024  # room for the database, not for the pack
    run = run_tracker("ingest", "--db", db, big, prefix=["prlimit", f"--fsize={limit}"])
    assert run.code == 3, run.stderr
    assert run.lines[0].startswith(f"error: cannot keep raw snapshots in {default_raw_dir(db)} "
                                   "(File too large)")
    assert same_state(state(db), before)  # the batch left nothing behind
    assert not list(default_raw_dir(db).glob(".*"))
    assert run_tracker("ingest", "--db", db, big).code == 0  # space again: the same run works
    assert len(state(db)["snapshots"]) == len(before["snapshots"]) + 30  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["-5", "nan", "inf", "ten"])
def test_a_lock_timeout_that_is_no_number_of_seconds_is_a_usage_error(tmp_path, value):
    run = run_tracker("ingest", "--db", tmp_path / "t.duckdb", tmp_path,
                      env={"TRACKER_LOCK_TIMEOUT": value})
    assert run.code == 2, run.stderr
    assert run.lines == [f"error: TRACKER_LOCK_TIMEOUT={value!r} is not a number of seconds "
                         "(0 or more); set it like TRACKER_LOCK_TIMEOUT=30"]
