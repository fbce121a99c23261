"""`tracker backfill` against a fake Wayback Machine and Common Crawl on loopback: every good
capture ingested once with its provenance, every fault a recorded reason, the rate limit and
`Retry-After` kept, and a run killed at random moments converging on rerun without refetching."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED

from tracker.backfill import Options
from tracker.backfill import backfill as run_backfill
from tracker.ingest import RawInput, ingest
from tracker.layouts import render_layout
from tracker.read import coverage_frame
from tracker.schedule import Settings, build_scheduler
from tracker.store import Store
from tracker.synthetic import TickerEntry

from .fakearchive import FakeArchive, serving
from .proc import run_tracker

DAYS = [dt.date(2025, 12, 1) + dt.timedelta(days=i) for i in range(4)]
LAYOUTS = ("lines", "html-list", "html-marquee", "lynx")
HOURS = (2, 8, 14, 20)


def entries(day: dt.date) -> list[TickerEntry]:
    return [TickerEntry("KGS", f"0.0114{day.day % 10}", "0"),
            TickerEntry("KZT", "0.00193", f"-0.{day.day:02d}")]


def page(day: dt.date, layout: str) -> bytes:
    return render_layout(entries(day), layout, day=day).encode()


@pytest.fixture
def archive(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeArchive]:
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with serving(FakeArchive()) as served:
        yield served


def stock(archive: FakeArchive, days: list[dt.date] = DAYS) -> None:
    """Four captures a day (each in another layout), of the home page and a section page."""
    for day in days:
        for hour, layout in zip(HOURS, LAYOUTS, strict=True):
            url = "https://timesca.com/" if hour < 12 else "https://timesca.com/news/"
            archive.add(f"{day:%Y%m%d}{hour:02d}0000", url, page(day, layout))


def backfill(archive: FakeArchive, db: Path, *args: object, timeout: float = 120):
    return run_tracker("backfill", "--db", db, "--wayback-url", archive.base,
                       "--from", "2025-12-01", "--to", "2025-12-31", "--max-rate", 600,
                       "--timeout", 2, *args, timeout=timeout)


def queue(db: Path) -> list[dict[str, object]]:
    with Store.open(db, read_only=True) as store:
        return store.backfill_rows().to_pylist()


def snapshots(db: Path) -> list[tuple[object, ...]]:
    with Store.open(db, read_only=True) as store:
        return sorted(store.con.execute(
            "SELECT source, original_url, captured_on, captured_at, captured_at_source, status "
            "FROM snapshots").fetchall())


def replays(archive: FakeArchive) -> Counter[str]:
    return Counter(path for _, path in archive.log if path.startswith("/web/"))


def test_every_good_capture_is_ingested_once_with_its_provenance(archive, tmp_path):
    stock(archive)
    db = tmp_path / "t.duckdb"
    run = backfill(archive, db, "--per-day", 2)
    assert run.code == 0, run.stderr
    got = snapshots(db)
    # two a day, spread over the day: those nearest 06:00 and 18:00
    expected = sorted(
        (f"{archive.base}/web/{day:%Y%m%d}{h:02d}0000id_/{url}", url, day,
         dt.datetime.combine(day, dt.time(h)), "archive", "ingested")
        for day in DAYS for h, url in ((8, "https://timesca.com/"), (20, "https://timesca.com/news/"))
    )
    assert got == expected
    assert set(replays(archive).values()) == {1}
    assert {r["state"] for r in queue(db)} == {"ingested"}
    with Store.open(db, read_only=True) as store:
        runs = store.runs(job="backfill").to_pylist()
    assert [(r["files_seen"], r["ingested"], r["error"]) for r in runs] == [(8, 8, None)]
    before = len(archive.log)
    again = backfill(archive, db, "--per-day", 2)
    assert again.code == 0, again.stderr
    assert len(archive.log) == before  # planned before, nothing left: not one request
    assert snapshots(db) == got


def test_header_date_wins_over_the_archive_time(archive, tmp_path):
    archive.add("20251203230000", "https://timesca.com/", page(dt.date(2025, 12, 4), "lines"))
    db = tmp_path / "t.duckdb"
    assert backfill(archive, db).code == 0
    [(_, _, captured_on, captured_at, source, _)] = snapshots(db)
    assert (captured_on, captured_at, source) == (
        dt.date(2025, 12, 4), dt.datetime(2025, 12, 3, 23), "archive")


def test_captures_of_bytes_already_fetched_are_not_fetched(archive, tmp_path):
    body = page(DAYS[0], "lines")
    archive.add("20251201060000", "https://timesca.com/", body)
    archive.add("20251202060000", "https://timesca.com/news/", body)  # the same bytes
    archive.add("20251202070000", "https://timesca.com/", page(DAYS[1], "lines"))
    db = tmp_path / "t.duckdb"
    assert backfill(archive, db, "--per-day", 1).code == 0
    assert sorted(replays(archive)) == ["/web/20251201060000id_/https://timesca.com/",
                                        "/web/20251202070000id_/https://timesca.com/"]


FAULTS = {  # replay fault -> (state, words of the recorded reason)
    "404": ("failed", "HTTP 404"),
    "redirect": ("failed", "redirect not followed"),
    "image": ("failed", "non-HTML body"),
    "error-page": ("rejected", "no ticker"),
    "truncated": ("planned", "closed before the whole body arrived"),
}


def test_every_faulty_capture_ends_as_a_recorded_reason(archive, tmp_path):
    stock(archive, DAYS[:1])
    for i, fault in enumerate(FAULTS):
        archive.add(f"2025121{i}120000", "https://timesca.com/", page(DAYS[0], "tabs") + bytes([i]),
                    replay=fault)
    archive.add("20251219120000", "https://timesca.com/", b"<html><p>No ticker here</p></html>")
    db = tmp_path / "t.duckdb"
    run = backfill(archive, db, "--per-day", 4)
    assert run.code == 1, run.stderr
    rows = {r["captured_at"].day: r for r in queue(db)}
    for i, (state, words) in enumerate(FAULTS.values()):
        row = rows[10 + i]
        assert row["state"] == state and words in row["last_error"], row
        assert f"2025121{i}120000" in run.stderr  # each printed with its address
    assert rows[19]["state"] == "rejected" and "ticker" in rows[19]["last_error"]
    assert rows[1]["state"] == "ingested"
    with Store.open(db, read_only=True) as store:
        [error] = store.runs(job="backfill").column("error").to_pylist()
    assert all(words in error for _, words in FAULTS.values()), error


@pytest.mark.parametrize("fault", ["empty", "malformed", "cut"])
def test_a_broken_cdx_answer_is_reported_and_nothing_is_queued(archive, tmp_path, fault):
    stock(archive)
    archive.faults.cdx = fault
    db = tmp_path / "t.duckdb"
    run = backfill(archive, db)
    assert run.code == 3
    assert "planning failed, nothing queued" in run.stderr and "CDX" in run.stderr
    assert "Traceback" not in run.stderr
    assert queue(db) == []
    with Store.open(db, read_only=True) as store:
        [error] = store.runs(job="backfill").column("error").to_pylist()
    assert "CDX" in error
    archive.faults.cdx = None
    assert backfill(archive, db, "--per-day", 1).code == 0  # the same command, planned now
    assert len(queue(db)) == len(DAYS)


def test_a_429_storm_stops_with_the_queue_ready_and_retry_after_is_honoured(archive, tmp_path):
    stock(archive, DAYS[:2])
    db = tmp_path / "t.duckdb"
    archive.faults.refuse = 10
    run = backfill(archive, db)
    assert run.code == 3
    assert "refused 3 times" in run.stderr and "run the same command again" in run.stderr
    assert [t for t, _ in archive.log][1] - archive.log[0][0] >= 1.0  # Retry-After: 1
    archive.faults.refuse = 2
    archive.log.clear()
    run = backfill(archive, db, "--per-day", 1)
    assert run.code == 0, run.stderr
    times = [t for t, _ in archive.log]
    assert times[1] - times[0] >= 1.0 and times[2] - times[1] >= 1.0
    assert {r["state"] for r in queue(db)} == {"ingested"}


def test_a_refusal_while_fetching_leaves_the_rest_planned(archive, tmp_path):
    stock(archive, DAYS[:3])
    db = tmp_path / "t.duckdb"
    options = Options(prefixes=("timesca.com/",), per_day=1, wayback_url=archive.base,
                      max_rate=600, timeout=2)

    def refuse_once_planned(line: str) -> None:
        if "planned" in line and "listed" in line:
            archive.faults.refuse = 3

    outcome = run_backfill(options, db_path=db, echo=refuse_once_planned)
    assert outcome.halted == "refused" and "refused 3 times" in outcome.report.error_text()
    assert Counter(r["state"] for r in queue(db)) == {"planned": 3}
    assert "refused" in queue(db)[0]["last_error"]
    outcome = run_backfill(options, db_path=db)
    assert outcome.halted is None
    assert Counter(r["state"] for r in queue(db)) == {"ingested": 3}


def test_the_rate_limit_holds_over_every_request(archive, tmp_path):
    stock(archive)
    db = tmp_path / "t.duckdb"
    run = run_tracker("backfill", "--db", db, "--wayback-url", archive.base, "--per-day", 3,
                      "--max-rate", 240)
    assert run.code == 0, run.stderr
    assert len(archive.log) == 1 + 3 * len(DAYS)
    for window in (1.0, 2.0, 3.0):
        assert archive.most_in_window(window) <= 240 / 60 * window + 1


def test_a_stalled_archive_is_a_recorded_reason_not_a_hang(archive, tmp_path):
    stock(archive, DAYS[:1])
    archive.add("20251202120000", "https://timesca.com/", page(DAYS[1], "lines"), replay="stall")
    db = tmp_path / "t.duckdb"
    run = backfill(archive, db, "--timeout", 0.5, "--per-day", 4)
    assert run.code == 1 and "1 capture(s) left planned" in run.stderr
    row = next(r for r in queue(db) if r["captured_at"].day == 2)
    assert row["state"] == "planned" and "timed out" in row["last_error"]
    assert Counter(r["state"] for r in queue(db))["ingested"] == 4


def test_common_crawl_records_by_range_request(archive, tmp_path):
    crawl = "CC-MAIN-2025-49"
    for day in DAYS:
        archive.add_record(crawl, f"{day:%Y%m%d}100000", "https://timesca.com/", page(day, "lines"))
    db = tmp_path / "t.duckdb"
    run = run_tracker("backfill", "--db", db, "--source", "commoncrawl", "--cc-index-url",
                      archive.base, "--cc-data-url", archive.base, "--from", "2025-12-01",
                      "--max-rate", 600)
    assert run.code == 0, run.stderr
    got = snapshots(db)
    assert [(s[1], s[2], s[4], s[5]) for s in got] == [
        ("https://timesca.com/", day, "archive", "ingested") for day in DAYS]
    assert all(s[0].startswith(f"{archive.base}/crawl-data/") and "#offset=" in s[0] for s in got)
    assert sum(1 for _, p in archive.log if p.startswith("/crawl-data/")) == len(DAYS)


@pytest.mark.parametrize(("fault", "words"), [("short", "Content-Range"),
                                               ("ignore", "only HTTP 206 is expected")])
def test_a_broken_range_answer_is_a_recorded_reason(archive, tmp_path, fault, words):
    archive.add_record("CC-MAIN-2025-49", "20251201100000", "https://timesca.com/",
                       page(DAYS[0], "lines"))
    archive.faults.range = fault
    db = tmp_path / "t.duckdb"
    run = run_tracker("backfill", "--db", db, "--source", "commoncrawl", "--cc-index-url",
                      archive.base, "--cc-data-url", archive.base, "--max-rate", 600)
    assert run.code == 1
    [row] = queue(db)
    assert row["state"] == "failed" and words in row["last_error"]
    with Store.open(db, read_only=True) as store:
        [error] = store.runs(job="backfill").column("error").to_pylist()
    assert words in error


def test_a_cut_common_crawl_index_queues_nothing(archive, tmp_path):
    for day in DAYS:
        archive.add_record("CC-MAIN-2025-49", f"{day:%Y%m%d}100000", "https://timesca.com/",
                           page(day, "lines"))
    archive.faults.cdx = "cut"
    db = tmp_path / "t.duckdb"
    run = run_tracker("backfill", "--db", db, "--source", "commoncrawl", "--cc-index-url",
                      archive.base, "--cc-data-url", archive.base, "--max-rate", 600)
    assert run.code == 3 and "planning failed, nothing queued" in run.stderr
    assert "cut short" in run.stderr and "Traceback" not in run.stderr
    assert queue(db) == []


def test_status_prints_the_queue(archive, tmp_path):
    stock(archive, DAYS[:2])
    archive.add("20251203120000", "https://timesca.com/", b"x", replay="404")
    db = tmp_path / "t.duckdb"
    backfill(archive, db, "--per-day", 1)
    run = run_tracker("backfill", "--db", db, "--status")
    assert run.code == 0
    lines = run.stdout.splitlines()
    assert any(line.split()[:3] == ["wayback", "ingested", "2"] for line in lines), lines
    assert any(line.split()[:3] == ["wayback", "failed", "1"] and "HTTP 404" in line
               for line in lines), lines


def test_coverage_per_day_and_source(archive, tmp_path):
    archive.add("20251201120000", "https://timesca.com/", page(DAYS[0], "lines"))
    archive.add("20251203120000", "https://timesca.com/", page(DAYS[2], "lines"))
    db = tmp_path / "t.duckdb"
    assert backfill(archive, db).code == 0
    sample = tmp_path / "2025-12-03_x.txt"
    sample.write_bytes(page(DAYS[2], "tabs"))
    assert run_tracker("ingest", "--db", db, sample).code == 0
    with Store.open(db, read_only=True) as store:
        frame = coverage_frame(store)
    rows = zip(frame["captured_on"], frame["source"], frame["snapshots"], strict=True)
    assert [(d.date(), s, n) for d, s, n in rows] == [
        (DAYS[0], "archive", 1), (DAYS[2], "archive", 1), (DAYS[2], "file", 1)]


def test_killed_at_random_moments_then_rerun_converges_without_refetching(archive, tmp_path):
    """Runs SIGKILLed at random moments, then one to the end, store what one uninterrupted run
    stores. "Fetched" means the archive finished sending the capture (`archive.sent`): a
    capture is spooled the moment it is received, so a kill can only waste the one request in
    flight, which the next run asks again; nothing received is ever asked twice."""
    days = [dt.date(2025, 12, 1) + dt.timedelta(days=i) for i in range(12)]
    stock(archive, days)
    reference = tmp_path / "reference.duckdb"
    with serving(FakeArchive()) as other:
        stock(other, days)
        assert backfill(other, reference, "--per-day", 2).code == 0
    db = tmp_path / "t.duckdb"
    rng = random.Random(19)
    command = [sys.executable, "-m", "tracker", "backfill", "--db", str(db), "--wayback-url",
               archive.base, "--from", "2025-12-01", "--to", "2025-12-31", "--per-day", "2",
               "--max-rate", "300"]
    kills = 0
    for attempt in range(7):
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 env={**os.environ, "no_proxy": "127.0.0.1,localhost"})
        try:  # six runs killed at a random moment (if still going), the seventh to the end
            code = child.wait(timeout=rng.uniform(1.0, 3.5) if attempt < 6 else 120)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
            child.wait()
            kills += 1
            continue
        assert code == 0
        break
    assert kills >= 2
    strip = lambda rows: [(s[0].replace(archive.base, ""), *s[1:]) for s in rows]  # noqa: E731
    ref = [(s[0].split("/web/", 1)[1], *s[1:]) for s in snapshots(reference)]
    assert [(s[0].split("/web/", 1)[1], *s[1:]) for s in strip(snapshots(db))] == ref
    counts = Counter(path for _, path in archive.sent if path.startswith("/web/"))
    assert len(counts) == len(ref)
    assert max(counts.values()) <= 2 and sum(counts.values()) - len(counts) <= kills
    assert not list((tmp_path / "t.duckdb.backfill-spool").iterdir())  # all stored, all gone


def test_a_capture_stored_before_its_row_was_marked_is_not_fetched_again(archive, tmp_path):
    """The window a kill can hit between storing a batch and marking its rows."""
    stock(archive, DAYS[:2])
    db = tmp_path / "t.duckdb"
    options = Options(prefixes=("timesca.com/",), per_day=1, wayback_url=archive.base,
                      max_rate=600, timeout=2)
    stopping = threading.Event()  # plan only: stopped before the first fetch
    outcome = run_backfill(options, db_path=db, stop=stopping,
                           echo=lambda line: "listed" in line and stopping.set())
    assert outcome.halted == "stopped" and not replays(archive)
    first = queue(db)[0]
    body = next(c.body for c in archive.captures
                if first["archive_url"].endswith(f"/{c.timestamp}id_/{c.original}"))
    ingest([RawInput(source=first["archive_url"], data=body, captured_at=first["captured_at"],
                     captured_at_source="archive", original_url=first["original_url"])],
           db_path=db)
    assert run_backfill(options, db_path=db).halted is None
    assert [r["state"] for r in queue(db)] == ["ingested", "ingested"]
    assert len(replays(archive)) == 1 and first["archive_url"].split("/web/")[1] not in str(
        replays(archive))


def test_the_scheduler_runs_a_backfill_job_through_the_queue(archive, tmp_path):
    stock(archive, DAYS[:2])
    db = tmp_path / "t.duckdb"
    settings = Settings(db=db, folders=(), urls=(), every=3600, backfill=("timesca.com/",))
    stop = threading.Event()
    scheduler = build_scheduler(settings, stop=stop, backfill_options={
        "wayback_url": archive.base, "max_rate": 600, "per_day": 1})
    done = threading.Event()
    scheduler.add_listener(lambda event: done.set(), EVENT_JOB_EXECUTED)
    scheduler.start()
    try:
        assert done.wait(60)
    finally:
        stop.set()
        scheduler.shutdown(wait=True)
    assert [r["state"] for r in queue(db)] == ["ingested", "ingested"]
    with Store.open(db, read_only=True) as store:
        [run] = store.runs(job="backfill").to_pylist()
    assert (run["ingested"], run["error"]) == (2, None)


def test_schedule_backfill_is_an_option_of_the_command(tmp_path):
    run = run_tracker("schedule", "--help")
    assert "--backfill PREFIX" in run.stdout


def test_ctrl_c_stops_with_the_queue_ready_and_the_same_command_continues(archive, tmp_path):
    stock(archive)
    db = tmp_path / "t.duckdb"
    command = [sys.executable, "-m", "tracker", "backfill", "--db", str(db), "--wayback-url",
               archive.base, "--per-day", "3", "--max-rate", "60"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "no_proxy": "127.0.0.1,localhost"})
    deadline = 30.0
    while replays(archive).total() < 1 and deadline > 0:  # stop it while it fetches
        threading.Event().wait(0.1)
        deadline -= 0.1
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=30)
    assert child.returncode == 3, stderr
    assert "stopped:" in stderr and "run the same command again" in stderr
    assert "Traceback" not in stderr
    states = Counter(r["state"] for r in queue(db))
    assert states["planned"] >= 1
    run = run_tracker(*command[3:])
    assert run.code == 0, run.stderr
    assert set(replays(archive).values()) == {1}
    assert Counter(r["state"] for r in queue(db)) == {"ingested": 3 * len(DAYS)}


@pytest.mark.parametrize("first_to", ["2025-12-01", "2025-12-02", "2025-12-04"])
def test_overlapping_plans_keep_at_most_per_day_a_day(archive, tmp_path, first_to):
    stock(archive)
    db = tmp_path / "t.duckdb"
    assert backfill(archive, db, "--per-day", 2, "--to", first_to).code == 0
    assert backfill(archive, db, "--per-day", 2).code == 0  # the whole month: a new query
    per_day = Counter(r["captured_at"].date() for r in queue(db))
    assert per_day == dict.fromkeys(DAYS, 2)
    assert set(replays(archive).values()) == {1}
