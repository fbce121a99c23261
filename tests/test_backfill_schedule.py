"""The scheduler's backfill job asks the archive its options name: `tracker schedule --backfill`
with `--wayback-url`/`--source`/the Common Crawl bases/`--max-rate`, and the dashboard's companion
scheduler, which runs what `tracker schedule` with the same settings runs (every job, every
address)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

from tests.fakebanks import FakeBanks
from tests.officialdb import KZT, TODAY
from tracker.archives.bases import ArchiveBases
from tracker.companion import scheduler_command, spawn_scheduler, stop_spawned
from tracker.schedule import resolve_settings

from .fakearchive import FakeArchive, serving
from .proc import run_tracker
from .test_backfill import DAYS, page, queue, stock
from .test_schedule import read, wait_for


@pytest.fixture
def archive(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeArchive]:
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with serving(FakeArchive()) as served:
        yield served


def finished(db: Path, job: str) -> bool:
    runs = read(db, lambda s: s.runs(job=job).to_pylist())
    return bool(runs) and all(r["finished"] is not None for r in runs)


def bases(archive: FakeArchive, source: str) -> list[str]:
    if source == "wayback":
        return ["--wayback-url", archive.base]
    return ["--source", "commoncrawl", "--cc-index-url", archive.base, "--cc-data-url",
            archive.base]


def stock_source(archive: FakeArchive, source: str) -> None:
    if source == "wayback":
        stock(archive, DAYS[:2])
    else:
        for day in DAYS[:2]:
            for hour in (3, 9, 15, 21):
                archive.add_record("CC-MAIN-2025-49", f"{day:%Y%m%d}{hour:02d}0000",
                                   "https://timesca.com/", page(day, "lines") + bytes([hour]))


@pytest.mark.parametrize("source", ["wayback", "commoncrawl"])
def test_schedule_backfill_asks_the_archive_its_options_name(archive, tmp_path, source):
    stock_source(archive, source)
    db = tmp_path / "t.duckdb"
    child = subprocess.Popen(
        [sys.executable, "-m", "tracker", "schedule", "--db", str(db), "--backfill",
         "timesca.com/", *bases(archive, source), "--max-rate", "600", "--every", "1h"],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "no_proxy": "127.0.0.1"})
    try:
        wait_for(lambda: finished(db, "backfill"), timeout=90, what="a finished backfill run")
    finally:
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=60)
    assert child.returncode == 0, stderr
    assert "backfilling from the web archive" in stderr and "backfill run 1" in stderr
    rows = queue(db)
    assert [r["state"] for r in rows] == ["ingested"] * 3 * len(DAYS[:2])  # 3 a day, by default
    assert all(str(r["archive_url"]).startswith(archive.base) for r in rows)
    fetches = [t for t, p in archive.log if p.startswith(("/web/", "/crawl-data/"))]
    assert len(fetches) == len(rows)
    # 600/min, not the archive's default ask (24 or 20/min: 2.5 or 3 s apart)
    assert min(b - a for a, b in pairwise(fetches)) < 1.0


@pytest.mark.parametrize(("args", "words"), [
    (["--wayback-url", "http://127.0.0.1:9"], "--wayback-url is for the backfill job: add "
                                              "--backfill PREFIX"),
    (["--max-rate", "5"], "--max-rate is for the backfill job"),
    (["--backfill", "timesca.com/", "--wayback-url", "ftp://x"], "--wayback-url"),
    (["--backfill", "timesca.com/", "--cc-data-url", "nowhere"], "--cc-data-url"),
])
def test_schedule_archive_options_are_checked_up_front(tmp_path, args, words):
    run = run_tracker("schedule", "--db", tmp_path / "t.duckdb", "--watch", tmp_path, *args)
    assert run.code == 2 and words in run.stderr and "Traceback" not in run.stderr, run.stderr


def settings_of(tmp_path: Path, archive: FakeArchive, banks: FakeBanks):
    inbox = tmp_path / "inbox"
    inbox.mkdir(exist_ok=True)
    return resolve_settings(
        db=tmp_path / "t.duckdb", folders=[inbox], urls=[], every="1h", config=None,
        official=True, bank_urls=list(banks.bases.items()), backfill=["timesca.com/"],
        archive=ArchiveBases(wayback_url=archive.base, max_rate=600))


def test_the_companion_command_line_names_every_job_and_address(archive, tmp_path):
    with FakeBanks({"KZT": KZT}, today=TODAY) as banks:
        settings = settings_of(tmp_path, archive, banks)
    command = scheduler_command(settings)
    assert command[:4] == [sys.executable, "-m", "tracker", "schedule"]
    args = command[4:]
    pairs = {(a, b) for a, b in pairwise(args)}
    assert {("--db", str(settings.db)), ("--every", "3600s"),
            ("--watch", str(tmp_path / "inbox")), ("--backfill", "timesca.com/"),
            ("--wayback-url", archive.base), ("--max-rate", "600")} <= pairs
    assert "--official" in args
    assert {("--bank-url", f"{n}={b}") for n, b in banks.bases.items()} <= pairs
    assert "--source" not in args and "--cc-index-url" not in args  # the defaults, unsaid
    assert "--wayback-url" not in scheduler_command(resolve_settings(  # no backfill: no archive
        db=settings.db, folders=settings.folders, urls=[], every="1h", config=None))


def test_the_companion_runs_every_job_schedule_would(archive, tmp_path):
    """The process the dashboard spawns fetches the official rates from the banks' addresses
    and backfills from the archive's, as `tracker schedule` with the same settings does."""
    stock(archive, DAYS[:2])
    with FakeBanks({"KZT": KZT}, today=TODAY) as banks:
        settings = settings_of(tmp_path, archive, banks)
        child = spawn_scheduler(settings)
        try:
            wait_for(lambda: finished(settings.db, "backfill") and finished(settings.db,
                                                                              "official"),
                     timeout=120, what="the backfill and official runs")
        finally:
            code = stop_spawned(child)
    assert code == 0
    assert [r["state"] for r in queue(settings.db)] == ["ingested"] * 6
    rates = read(settings.db, lambda s: s.official_rates(["KZT"]).to_pylist())
    window = {TODAY - dt.timedelta(days=i) for i in range(7)}
    assert {(r["rate_date"], r["per_usd"]) for r in rates} == {
        (d, v) for d, v in KZT.items() if d in window}
    assert read(settings.db, lambda s: s.runs(job="watch").num_rows) >= 1
