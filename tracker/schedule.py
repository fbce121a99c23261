"""Scheduled ingestion: watch folders and fetch pages on an interval, through `ingest`.

Guarantees:
- Each run calls the same `tracker.ingest.ingest` as `tracker ingest`; snapshots are
  content-addressed, so a file or page seen twice is `present`, never a second snapshot.
- Watched files are only read when their (size, mtime) changed since they were last ingested
  (the `watch_state` table); the user's files are never moved or deleted.
- The database is opened per batch and closed after it, so readers (dashboard, notebooks)
  get in between batches; at most one batch is in flight, and a stop request (SIGINT,
  SIGTERM) is honoured between batches. A batch is one transaction: after a crash it is
  simply redone by the next run.
- Every run writes a `runs` row (started first, finished at the end) and a one-line summary;
  failed fetches are recorded in `input_errors` with their reason and counted as rejected.
- Jobs are coalesced, never overlap (`max_instances=1`), and a late run still happens once
  (`misfire_grace_time` = the interval; APScheduler 3's default of 1 s silently drops it).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
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
from .errors import FetchError, StoreError, TrackerError, UsageError
from .escape import printable
from .fetch import DEFAULT_BACKOFF, DEFAULT_RETRIES, DEFAULT_TIMEOUT, check_url, fetch, page_client
from .humane import plural
from .ingest import MAX_BYTES, RawInput, discover, ingest
from .models import IngestOutcome, IngestSummary
from .store import Store, default_db_path, utcnow, writing
from .store.writes import RunCounts

DEFAULT_EVERY = "1h"
WATCH_BATCH = 100  # files per transaction: the most a stop request waits for
SETTLE_SECONDS = 2.0  # files modified more recently may still be being written
DB_TIMEOUT = 60.0  # how long a run waits for readers to let go of the database
READER_GAP = 0.1  # pause between batches, with the database closed, for waiting readers
CONFIG_KEYS = ("every", "watch", "url", "db", "official")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_INTERVAL = re.compile(r"([0-9]+)\s*([smhd]?)")
_MAX_PROBLEMS = 10

Echo = Callable[[str], None]

def parse_interval(text: str | int) -> int:
    """`90`, `5s`, `15m`, `1h`, `1d` → seconds; a `UsageError` for anything else."""
    m = _INTERVAL.fullmatch(str(text).strip().lower())
    seconds = int(m.group(1)) * _UNITS[m.group(2)] if m else 0
    if seconds <= 0:
        raise UsageError(
            f"'{text}' is not an interval; write a whole number with s, m, h or d, "
            "e.g. 15m, 1h, 1d, 30s, or plain seconds such as 90"
        )
    return seconds


def misfire_grace(every: int) -> int:
    """A run may start up to one interval late and still happen (once, coalesced)."""
    return max(1, every)


@dataclass
class RunReport:
    """What one scheduled run did; it becomes a `runs` row and one summary line."""

    job: str
    started: dt.datetime
    finished: dt.datetime | None = None
    run_id: int | None = None
    files_seen: int = 0
    ingested: int = 0
    present: int = 0
    rejected: int = 0
    unchanged: int = 0  # watch: skipped because size and mtime are as last ingested
    deferred: int = 0  # watch: modified too recently; left for the next run
    left: int = 0  # not reached because the scheduler is stopping
    problems: list[str] = field(default_factory=list)  # "source: reason" of rejected inputs
    error: str | None = None  # what kept the run from finishing its work

    def add(self, summary: IngestSummary) -> None:
        """Count a batch. Bytes stored before as a rejected snapshot (a page still without a
        ticker) come back from ingest as rejected again, never as `present`."""
        for o in summary.outcomes:
            if o.status == "present":
                self.present += 1
            elif o.status == "ingested":
                self.ingested += 1
            else:
                self.rejected += 1
                self.problems.append(f"{o.source}: {o.reason}")

    def fail(self, message: str) -> None:
        self.error = f"{self.error}; {message}" if self.error else message

    def error_text(self) -> str | None:
        """The run's `error` column: run-level errors, then the rejected inputs' reasons."""
        parts = [self.error] if self.error else []
        parts += self.problems[:_MAX_PROBLEMS]
        if len(self.problems) > _MAX_PROBLEMS:
            parts.append(f"and {len(self.problems) - _MAX_PROBLEMS} more rejected")
        return "; ".join(parts) or None

    def line(self) -> str:
        """The one-line summary printed after each run."""
        when = f"{self.finished or self.started:%Y-%m-%d %H:%M:%S}Z"
        seconds = ((self.finished or utcnow()) - self.started).total_seconds()
        ident = f"{self.job} run {self.run_id}" if self.run_id is not None else self.job
        if self.job == "watch":
            head = f"{self.files_seen:,} files, {self.unchanged:,} unchanged"
            if self.deferred:
                head += f", {self.deferred} still being written"
        else:
            head = f"{self.files_seen} page{'' if self.files_seen == 1 else 's'}"
        text = (
            f"{when} {ident}: {head}; ingested {self.ingested}, already present "
            f"{self.present}, rejected {self.rejected} ({seconds:.1f} s)"
        )
        detail = self.error_text()
        return text + (f"; {detail}" if detail else "")


@contextmanager
def writer(db_path: Path, timeout: float) -> Iterator[Store]:
    """A short-lived writable store, one at a time per process (watch and fetch jobs take
    turns: `tracker.store.writing`), waiting for readers like every open does."""
    with writing(db_path, timeout=timeout) as store:
        yield store


def stopping(stop: threading.Event | None) -> bool:
    return stop is not None and stop.is_set()


def _pause(stop: threading.Event | None, seconds: float) -> None:
    if stop is None:
        time.sleep(seconds)
    else:
        stop.wait(seconds)


def watch_once(
    db_path: Path | str | None,
    folders: Sequence[Path | str],
    *,
    stop: threading.Event | None = None,
    batch_size: int = WATCH_BATCH,
    settle: float = SETTLE_SECONDS,
    max_bytes: int = MAX_BYTES,
    db_timeout: float = DB_TIMEOUT,
    reader_gap: float = READER_GAP,
) -> RunReport:
    """Ingest the new and changed snapshot files under `folders`; one `runs` row.

    Usable without a scheduler (a cron job, a test). Files are listed and stat'ed; only those
    whose size or mtime differ from `watch_state` are read. Files modified less than `settle`
    seconds ago are left for the next run, so a half-written file is not ingested. Each
    batch opens and closes the database, then waits `reader_gap` seconds before the next
    one, so read-only processes retrying on the lock get their turn during long runs.
    """

    def work(db: Path, report: RunReport) -> None:
        found = discover(folders)
        for source, reason in found.errors:  # a missing or unreadable folder
            report.fail(f"{source}: {reason}")
        listed: list[tuple[RawInput, int, int]] = []
        for item in found.inputs:
            try:
                st = os.stat(item.path or item.source)
            except OSError:
                continue  # gone since it was listed; if it comes back, a later run sees it
            listed.append((item, st.st_size, st.st_mtime_ns))
        report.files_seen = len(listed)
        with writer(db, db_timeout) as store:
            known = store.watch_state([item.source for item, _, _ in listed])
        now_ns = time.time_ns()
        todo: list[tuple[RawInput, int, int]] = []
        for item, size, mtime_ns in listed:
            if known.get(item.source) == (size, mtime_ns):
                report.unchanged += 1
            elif 0 <= now_ns - mtime_ns < settle * 1e9:
                report.deferred += 1
            else:
                todo.append((item, size, mtime_ns))
        for start in range(0, len(todo), batch_size):
            if start and reader_gap > 0:
                _pause(stop, reader_gap)
            if stopping(stop):
                report.left = len(todo) - start
                report.fail(f"stopped: {plural(report.left, 'file')} left for the next run")
                break
            batch = todo[start : start + batch_size]
            states: dict[str, tuple[int, int]] = {item.source: (size, mtime_ns)
                                                  for item, size, mtime_ns in batch}
            remembered: list[bool] = []
            remember = _remembering(states, remembered)
            summary = ingest(  # parses with the database closed; holds it only to write
                [item for item, _, _ in batch], db_path=db, max_bytes=max_bytes,
                batch_size=len(batch), timeout=db_timeout, on_stored=remember,
            )
            report.add(summary)
            if not remembered:  # every file was stored before: no write turn was needed
                with writer(db, db_timeout) as store:
                    remember(store, list(summary.outcomes))

    return recorded_run("watch", db_path, db_timeout, work)


def _remembering(states: dict[str, tuple[int, int]], done: list[bool]
                 ) -> Callable[[Store, list[IngestOutcome]], None]:
    """Records the watched files' state in the ingest's own write turn.

    The stat taken before reading: a file changed meanwhile is read again later. A file that
    could not be read (no snapshot id) is not remembered: it is tried again on every run until
    it can be read, also after a restart.
    """

    def remember(store: Store, outcomes: list[IngestOutcome]) -> None:
        store.update_watch_state([(o.source, *states[o.source], o.snapshot_id)
                                  for o in outcomes if o.snapshot_id is not None])
        done.append(True)

    return remember


def fetch_once(
    db_path: Path | str | None,
    urls: Sequence[str],
    *,
    stop: threading.Event | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    max_bytes: int = MAX_BYTES,
    db_timeout: float = DB_TIMEOUT,
) -> RunReport:
    """Fetch each page and ingest it; failed fetches go to `input_errors`. One `runs` row.

    The database is not held while downloading: each page is written in its own short
    transaction once it has arrived.
    """

    def work(db: Path, report: RunReport) -> None:
        with page_client(timeout=timeout, retries=retries, backoff=backoff, stop=stop) as client:
            for i, url in enumerate(urls):
                if stopping(stop):
                    report.left = len(urls) - i
                    report.fail(f"stopped: {plural(report.left, 'page')} left for the next run")
                    break
                report.files_seen += 1
                try:
                    page = fetch(url, max_bytes=max_bytes, client=client)
                except FetchError as exc:
                    if stopping(stop):  # cut short by the stop request: not the page's fault
                        report.files_seen -= 1
                        report.left = len(urls) - i
                        report.fail(f"stopped: {plural(report.left, 'page')} left for the next run")
                        break
                    with writer(db, db_timeout) as store:
                        store.record_input_errors([(url, f"fetch failed: {exc.reason}")])
                    report.rejected += 1
                    report.problems.append(f"{url}: fetch failed: {exc.reason}")
                    continue
                summary = ingest([page.as_input()], db_path=db, max_bytes=max_bytes,
                                 timeout=db_timeout)
                report.add(summary)

    return recorded_run("fetch", db_path, db_timeout, work)


def recorded_run(
    job: str, db_path: Path | str | None, db_timeout: float,
    work: Callable[[Path, RunReport], None], *, report: RunReport | None = None,
) -> RunReport:
    """`work(db, report)` inside one `runs` row: started first, finished whatever happens.
    (`report`: the job's own kind of report, started now.)

    The tracker's own errors end the work and become the run's error; anything else is
    recorded too, then raised (a bug must not pass as a failed run).
    """
    db = Path(db_path) if db_path is not None else default_db_path()
    report = report or RunReport(job, utcnow())
    unexpected: BaseException | None = None
    try:
        with writer(db, db_timeout) as store:
            report.run_id = store.start_run(job, report.started)
        work(db, report)
    except TrackerError as exc:
        report.fail(str(exc))
    except Exception as exc:
        report.fail(f"unexpected {type(exc).__name__}: {exc}")
        unexpected = exc
    _finish(db, report, db_timeout)
    if unexpected is not None:
        raise unexpected
    return report


def _finish(db: Path, report: RunReport, db_timeout: float) -> None:
    """Complete the run's row (or write it whole if its start could not be recorded)."""
    report.finished = utcnow()
    counts: RunCounts = {
        "finished": report.finished, "files_seen": report.files_seen,
        "ingested": report.ingested, "present": report.present, "rejected": report.rejected,
        "error": report.error_text(),
    }
    try:
        with writer(db, db_timeout) as store:
            if report.run_id is None:
                report.run_id = store.record_run(report.job, started=report.started, **counts)
            else:
                store.finish_run(report.run_id, **counts)
    except TrackerError as exc:
        report.fail(f"run not recorded: {exc}")


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
        if not isinstance(table["db"], str):
            raise UsageError(f"config file {path}: `db` must be a string (a file path)")
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
            raise UsageError(f"--watch {folder}: no such folder; create it or fix the path")
    for url in chosen_urls:
        try:
            check_url(url)
        except FetchError as exc:
            raise UsageError(f"--url {exc}") from None
    return Settings(
        db=Path(db or conf.get("db") or default_db_path()),
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
