"""The jobs a schedule runs, callable by hand too: watch folders, fetch pages, and the
`runs` row every job writes (also the backfill's and the official rates' jobs).

Guarantees:
- Each run calls the same `tracker.ingest.ingest` as `tracker ingest`; snapshots are
  content-addressed, so a file or page seen twice is `present`, never a second snapshot.
- Watched files are only read when their (size, mtime) changed since they were last ingested
  (the `watch_state` table); the user's files are never moved or deleted.
- The database is opened per batch and closed after it, so readers (dashboard, notebooks)
  get in between batches; at most one batch is in flight, and a stop request is honoured
  between batches. A batch is one transaction: after a crash it is simply redone by the
  next run.
- Every run writes a `runs` row (started first, finished at the end) and a one-line summary;
  failed fetches are recorded in `input_errors` with their reason and counted as rejected.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .errors import FetchError, TrackerError
from .fetch import DEFAULT_BACKOFF, DEFAULT_RETRIES, DEFAULT_TIMEOUT, fetch, page_client
from .humane import plural
from .ingest import MAX_BYTES, RawInput, discover, ingest
from .models import IngestOutcome, IngestSummary
from .store import Store, default_db_path, utcnow, writing
from .store.writes import RunCounts

WATCH_BATCH = 100  # files per transaction: the most a stop request waits for
SETTLE_SECONDS = 2.0  # files modified more recently may still be being written
DB_TIMEOUT = 60.0  # how long a run waits for readers to let go of the database
READER_GAP = 0.1  # pause between batches, with the database closed, for waiting readers
_MAX_PROBLEMS = 10


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
