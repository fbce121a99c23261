"""Scheduled ingestion: the jobs of `tracker.jobs` (and the backfill's and the official
rates') on an interval, in one process per database.

Guarantees (the jobs' own are in `tracker.jobs`):
- A stop request (SIGINT, SIGTERM) is honoured between batches; a second one stops at once.
- Jobs are coalesced, never overlap (`max_instances=1`), and a late run still happens once
  (`misfire_grace_time` = the interval; APScheduler 3's default of 1 s silently drops it).
- One scheduler per database (a lock file beside it).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from .archives.bases import DEFAULT as DEFAULT_ARCHIVE
from .archives.bases import ArchiveBases
from .configfile import read_table, strings
from .errors import FetchError, StoreError, UsageError
from .escape import printable
from .fetch import check_url
from .humane import plural
from .jobs import RunReport, fetch_once, watch_once
from .store import default_db_path

DEFAULT_EVERY = "1h"
CONFIG_KEYS = ("every", "watch", "url", "db", "official")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_INTERVAL = re.compile(r"([0-9]+)\s*([smhd]?)")
MAX_EVERY = 366 * 86400  # a year and a day: longer ones overflow APScheduler's datetimes

Echo = Callable[[str], None]


def parse_interval(text: str | int) -> int:
    """`90`, `5s`, `15m`, `1h`, `1d` (up to 366d) → seconds; a `UsageError` for anything else."""
    m = _INTERVAL.fullmatch(str(text).strip().lower())
    # at most 20 digits: more is surely no interval (and int() refuses over 4,300 digits)
    seconds = int(m.group(1)) * _UNITS[m.group(2)] if m and len(m.group(1)) <= 20 else 0
    if seconds > MAX_EVERY:
        raise UsageError(f"'{text}' is too long an interval; the longest is 366d")
    if seconds <= 0:
        raise UsageError(
            f"'{text}' is not an interval; write a whole number with s, m, h or d, "
            "e.g. 15m, 1h, 1d, 30s, or plain seconds such as 90"
        )
    return seconds


def misfire_grace(every: int) -> int:
    """A run may start up to one interval late and still happen (once, coalesced)."""
    return max(1, every)


# -- the scheduler ----------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """What `tracker schedule` runs: from the command line, over a config file."""

    db: Path
    folders: tuple[Path, ...]
    urls: tuple[str, ...]
    every: int
    official: bool = False  # also fetch official rates daily (`tracker official fetch`)
    bank_urls: tuple[tuple[str, str], ...] = ()  # (bank name, base URL) for the official job
    backfill: tuple[str, ...] = ()  # URL prefixes a backfill job works through (tracker.backfill)
    archive: ArchiveBases = DEFAULT_ARCHIVE  # which archive the backfill job asks, how fast


def load_config(path: Path) -> dict[str, Any]:
    """The `[schedule]` table of a TOML file; relative paths are relative to the file."""
    table = read_table(
        path, "schedule",
        '[schedule]\nevery = "1h"\nwatch = ["snapshots"]\nurl = ["https://timesca.com/"]',
        CONFIG_KEYS,
    )
    out: dict[str, Any] = {}
    base = path.parent
    if "watch" in table:
        out["watch"] = [base / v for v in strings(path, "schedule", table, "watch")]
    if "url" in table:
        out["url"] = strings(path, "schedule", table, "url")
    if "db" in table:
        if not isinstance(table["db"], str) or not table["db"].strip():
            raise UsageError(f"config file {path}: `db` must be a file path (a non-empty string)")
        out["db"] = base / table["db"]
    if "every" in table:
        if not isinstance(table["every"], (str, int)) or isinstance(table["every"], bool):
            raise UsageError(f"config file {path}: `every` must be a string like \"15m\"")
        out["every"] = table["every"]
    if "official" in table:
        if not isinstance(table["official"], bool):
            raise UsageError(f"config file {path}: `official` must be true or false")
        out["official"] = table["official"]
    return out


def resolve_settings(
    *,
    db: Path | None,
    folders: Sequence[Path],
    urls: Sequence[str],
    every: str | None,
    config: Path | None,
    official: bool = False,
    bank_urls: Sequence[tuple[str, str]] = (),
    backfill: Sequence[str] = (),
    archive: ArchiveBases = DEFAULT_ARCHIVE,
) -> Settings:
    """Command-line values over the config file's; checks folders and addresses up front."""
    conf = load_config(config) if config is not None else {}
    chosen_folders = list(folders) or conf.get("watch", [])
    chosen_urls = list(urls) or conf.get("url", [])
    official = official or bool(conf.get("official", False))
    if not chosen_folders and not chosen_urls and not official and not backfill:
        raise UsageError(
            "nothing to schedule: give --watch DIR, --url URL, --backfill PREFIX and/or "
            "--official (or a --config file), e.g. tracker schedule --watch snapshots --every 1h"
        )
    if bank_urls and not official:
        raise UsageError("--bank-url is for the official rates: add --official")
    if archive.arguments() and not backfill:
        raise UsageError(f"{archive.arguments()[0]} is for the backfill job: add --backfill PREFIX")
    for folder in chosen_folders:
        if not Path(folder).is_dir():
            if Path(folder).exists():  # a file, a FIFO: watch the folder that holds it
                raise UsageError(f"--watch {folder}: not a folder; give the folder the "
                                 "snapshots are saved into")
            raise UsageError(f"--watch {folder}: no such folder; create it or fix the path")
    for url in chosen_urls:
        try:
            check_url(url)
        except FetchError as exc:
            raise UsageError(f"--url {exc}") from None
    chosen_db = Path(db or conf.get("db") or default_db_path())
    if not chosen_db.name or (chosen_db.exists() and not chosen_db.is_file()):
        # `--db ""` is the current folder; a FIFO would block DuckDB's open forever
        raise UsageError(f"--db {chosen_db}: is a folder, a FIFO or a device; give a database "
                         "file, e.g. --db data/tracker.duckdb")
    return Settings(
        db=chosen_db,
        folders=tuple(Path(f).absolute() for f in chosen_folders),
        urls=tuple(u.strip() for u in chosen_urls),
        every=parse_interval(every or conf.get("every") or DEFAULT_EVERY),
        official=official,
        bank_urls=tuple(bank_urls),
        backfill=tuple(p.strip() for p in backfill),
        archive=archive.checked(),
    )


def build_scheduler(
    settings: Settings,
    *,
    stop: threading.Event,
    echo: Echo | None = None,
    start_now: bool = True,
    watch_options: dict[str, Any] | None = None,
    fetch_options: dict[str, Any] | None = None,
    official_options: dict[str, Any] | None = None,
    backfill_options: dict[str, Any] | None = None,
) -> BackgroundScheduler:
    """A scheduler (not started) with a `watch` and/or a `fetch` job on the interval."""
    scheduler = BackgroundScheduler(
        timezone=dt.UTC,
        executors={"default": ThreadPoolExecutor(max_workers=2)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": misfire_grace(settings.every),
        },
    )
    first = {"next_run_time": dt.datetime.now(dt.UTC)} if start_now else {}
    jobs: list[tuple[str, Callable[..., RunReport], Any, dict[str, Any]]] = []
    if settings.folders:
        jobs.append(("watch", watch_once, list(settings.folders), watch_options or {}))
    if settings.urls:
        jobs.append(("fetch", fetch_once, list(settings.urls), fetch_options or {}))
    if settings.backfill:
        from .backfill import backfill_job
        jobs.append(("backfill", backfill_job, list(settings.backfill),
                     {**settings.archive.options(), **(backfill_options or {})}))
    for name, func, targets, options in jobs:
        scheduler.add_job(
            _run_job, "interval", seconds=settings.every, id=name, name=name,
            args=(func, settings.db, targets),
            kwargs={"stop": stop, "echo": echo, **options},
            **first,
        )
    if settings.official:  # daily, whatever the interval (tracker/official/fetching.py)
        from .official.fetching import add_official_job
        add_official_job(scheduler, settings, _run_job, first, stop=stop, echo=echo,
                         **(official_options or {}))
    if echo is not None:
        scheduler.add_listener(
            _listener(echo), EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED | EVENT_JOB_ERROR
        )
    return scheduler


def _run_job(
    func: Callable[..., RunReport], db: Path, targets: list[Any], *,
    echo: Echo | None, **options: Any,
) -> RunReport:
    report = func(db, targets, **options)
    if echo is not None:
        echo(report.line())
    return report


def _listener(echo: Echo) -> Callable[[JobEvent], None]:
    def on_event(event: JobEvent) -> None:
        if event.code == EVENT_JOB_MAX_INSTANCES:
            echo(f"{event.job_id}: the previous run is still going; this one is skipped")
        elif event.code == EVENT_JOB_MISSED:
            echo(f"{event.job_id}: a run was missed by more than the grace time; "
                 "the next one catches up")
        elif event.code == EVENT_JOB_ERROR:
            echo(f"{event.job_id}: the run failed unexpectedly ({event.exception!r}); "
                 "the scheduler keeps going")
    return on_event


@contextmanager
def scheduler_lock(db: Path) -> Iterator[None]:
    """One scheduler per database: a lock file beside it, held while the scheduler runs."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no guard
        yield
        return
    db.parent.mkdir(parents=True, exist_ok=True)
    path = db.with_name(db.name + ".schedule.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise StoreError(
                f"another `tracker schedule` (pid {holder}) is already running for {db}; "
                "stop it first (one scheduler per database)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def run_scheduler(
    settings: Settings,
    *,
    stop: threading.Event | None = None,
    echo: Echo | None = None,
    handle_signals: bool = True,
    **options: Any,
) -> None:
    """Run in the foreground until `stop` is set or SIGINT/SIGTERM arrives.

    A first signal lets the runs in progress finish their current batch and then returns;
    a second one ends the process at once (a batch in flight is rolled back and redone by
    the next run). `options` go to `build_scheduler` (watch_options, fetch_options).
    """
    stop = stop or threading.Event()
    echo = echo or _stderr
    received: list[int] = []
    previous: dict[signal.Signals, Any] = {}

    def on_signal(signum: int, _frame: object) -> None:
        if received:
            os.write(2, b"second signal: stopping at once\n")
            os._exit(128 + signum)
        received.append(signum)
        stop.set()

    with scheduler_lock(settings.db):
        scheduler = build_scheduler(settings, stop=stop, echo=echo, **options)
        if handle_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, on_signal)
        try:
            what = [f"watching {plural(len(settings.folders), 'folder')}"] if settings.folders else []
            what += [f"fetching {plural(len(settings.urls), 'page')}"] if settings.urls else []
            what += ["backfilling from the web archive"] if settings.backfill else []
            jobs = [f"{' and '.join(what)} every {_human(settings.every)}"] if what else []
            jobs += ["fetching official rates daily"] if settings.official else []
            echo(f"scheduler started: {'; '.join(jobs)} into {settings.db}; stop with Ctrl-C")
            scheduler.start()
            while not stop.wait(0.2):
                pass
            if received:
                echo(f"{signal.Signals(received[0]).name}: stopping after the batch in progress")
        finally:
            scheduler.shutdown(wait=True)
            for sig, handler in previous.items():
                with suppress(ValueError, TypeError):
                    signal.signal(sig, handler)
    echo("scheduler stopped")


def _stderr(line: str) -> None:
    print(printable(line), file=sys.stderr, flush=True)


def _human(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
