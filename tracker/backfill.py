"""`tracker backfill`: the past from web archives, politely, resumably, with provenance.

Two steps over one queue (`backfill_queue`). Planning asks the archive's index (Wayback CDX,
or Common Crawl's URL index) for status-200 HTML captures of the prefixes and keeps at most
`per_day` a day, spread over the day, all queued in one transaction. Fetching works through the
queue: each capture's exact bytes (Wayback `id_` replay, or one WARC record by range request),
ingested through the one ingest path with the archive's time as `captured_at` (`archive`), its
archive address as `source` and the page's own address as `original_url`. One HTTP client
carries every request of a run, so `max_rate` bounds them all; a separate thread fetches while
the caller's thread stores, so ingestion never holds the rate limit back. A run killed at any
moment leaves the queue consistent; running the same command again continues it.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from .archives import commoncrawl, wayback
from .archives.captures import ArchiveSource
from .errors import FetchError, RefusedError, TrackerError
from .http import DEFAULT_TIMEOUT, Client
from .ingest import MAX_BYTES, RawInput, ingest
from .schedule import DB_TIMEOUT, READER_GAP, RunReport, recorded_run
from .schedule import writer as store_writer
from .store import Store
from .store.backfillqueue import QueueItem, QueueResult

SOURCES = ("wayback", "commoncrawl")
DEFAULT_PREFIXES = ("timesca.com/",)  # the home page and every section page under it
DEFAULT_PER_DAY = 3
DEFAULT_RATE = wayback.DEFAULT_RATE  # 24/min: what the Wayback Machine's maintained clients keep to
RATES = {"wayback": DEFAULT_RATE, "commoncrawl": commoncrawl.DEFAULT_RATE}  # each archive's ask
MAX_ATTEMPTS = 3  # a capture failing transiently this many runs is given up (`failed`)
MAX_TRANSIENT = 3  # transient failures in a row: the archive is not answering; stop the run
_BATCH = 50  # captures stored per transaction at most (whatever has arrived meanwhile)
# The database stays open across batches for this long, then is let go for READER_GAP so that
# readers (dashboard, notebooks) get their turn: closing a DuckDB file after writing costs a
# checkpoint, ~200 ms here, so opening it per batch could not keep up with a fast archive.
HOLD = 2.0
LINGER = 0.25  # seconds a batch waits for more captures; a kill loses at most these
_PROGRESS_EVERY = 5.0  # seconds between progress lines

Echo = Callable[[str], None]
Writer = Callable[[Path, float], AbstractContextManager[Store]]


@dataclass(frozen=True)
class Options:
    """What to backfill from where; the command line's options."""

    source: str = "wayback"
    prefixes: tuple[str, ...] = DEFAULT_PREFIXES
    start: dt.date | None = None
    end: dt.date | None = None
    per_day: int = DEFAULT_PER_DAY
    wayback_url: str = wayback.DEFAULT_BASE
    cc_index_url: str = commoncrawl.DEFAULT_INDEX
    cc_data_url: str = commoncrawl.DEFAULT_DATA
    max_rate: float = DEFAULT_RATE
    timeout: float = DEFAULT_TIMEOUT
    max_bytes: int = MAX_BYTES

    def query(self) -> str:
        """The plan's identity: the same command plans once, then only continues."""
        base = self.wayback_url if self.source == "wayback" else self.cc_index_url
        return (f"{base} {' '.join(sorted(self.prefixes))} from={self.start or ''} "
                f"to={self.end or ''} per_day={self.per_day}")


@dataclass
class Outcome:
    """How a run ended, beyond its `runs` row: the exit status depends on it."""

    report: RunReport
    planned: int = 0  # rows added to the queue by this run
    left: int = 0  # planned captures not reached
    failed: int = 0  # captures given up on (`failed`) in this run
    retry: int = 0  # captures left `planned` after a transient failure, for the next run
    halted: str | None = None  # refused | not-answering | stopped | plan | error | None
    held_back: float = 0.0  # seconds the fetcher waited for ingestion (the benchmark's 0)
    storing: float = 0.0  # seconds spent ingesting and marking the queue
    lines: list[str] = field(default_factory=list)


def transient(exc: TrackerError) -> bool:
    """A failure worth another try in a later run: the client gave up retrying (timeouts, 5xx,
    connections closed mid-body all end "(N attempts)"); a 404, a redirect or a non-HTML
    answer is the capture itself, and stays so."""
    return isinstance(exc, FetchError) and str(getattr(exc, "reason", "")).endswith(
        ("attempt)", "attempts)"))


def backfill(
    options: Options,
    *,
    db_path: Path | str | None = None,
    stop: threading.Event | None = None,
    echo: Echo | None = None,
    db_timeout: float = DB_TIMEOUT,
    writer: Writer = store_writer,
) -> Outcome:
    """Plan (once per query) and work through the queue of `options.source`; one `runs` row
    (job `backfill`). The database is let go every `HOLD` seconds, so readers get their turn."""
    outcome = Outcome(RunReport("backfill", dt.datetime.min))
    say = echo or (lambda _line: None)

    def work(db: Path, report: RunReport) -> None:
        outcome.report = report
        try:
            with Client(rate=options.max_rate, timeout=options.timeout, stop=stop) as client:
                archive = ArchiveSource(options, client)
                if _plan(archive, options, db, db_timeout, writer, outcome, say, stop):
                    _work_queue(archive, options, db, db_timeout, writer, outcome, say, client,
                                stop)
        except TrackerError as exc:  # the database busy or unwritable, an unusable address
            _halt(outcome, "error", str(exc))

    outcome.report = recorded_run("backfill", db_path, db_timeout, work)
    if outcome.report.error and not outcome.halted:  # e.g. its `runs` row could not be written
        outcome.halted = "error"
        outcome.lines.append(outcome.report.error)
    return outcome


def _plan(archive: ArchiveSource, options: Options, db: Path, db_timeout: float, writer: Writer,
          outcome: Outcome, say: Echo, stop: threading.Event | None) -> bool:
    """Queue the query's captures unless planned before; False if the run must stop."""
    query = options.query()
    with writer(db, db_timeout) as store:
        if store.backfill_planned_before(options.source, query):
            return True
    say(f"backfill: asking the {options.source} index for captures of "
        f"{', '.join(options.prefixes)}")
    try:
        found = archive.captures()
    except RefusedError as exc:
        _halt(outcome, "refused", f"planning: {exc}; the queue is unchanged")
        return False
    except TrackerError as exc:  # an index answer empty, malformed or cut short
        if stop is not None and stop.is_set():
            _halt(outcome, "stopped", "stopped while planning; nothing queued: run the same "
                  "command again")
            return False
        _halt(outcome, "plan", f"planning failed, nothing queued: {exc}")
        return True  # captures queued by earlier runs can still be fetched
    with writer(db, db_timeout) as store:
        digests, per_day = store.backfill_known(options.source)
        chosen = _capped(wayback.plan(found, options.per_day, digests), options.per_day, per_day)
        outcome.planned = store.backfill_add_plan(options.source, query, len(found), chosen)
    say(f"backfill: {len(found)} captures listed, {outcome.planned} planned "
        f"(at most {options.per_day} a day)")
    return True


def _capped(chosen: list[QueueItem], per_day: int, queued: dict[dt.date, int]) -> list[QueueItem]:
    """At most `per_day` a day counting the captures an earlier plan queued."""
    room = dict.fromkeys({c.captured_at.date() for c in chosen}, per_day)
    for day, n in queued.items():
        if day in room:
            room[day] -= n
    kept = []
    for c in chosen:
        if room[c.captured_at.date()] > 0:
            room[c.captured_at.date()] -= 1
            kept.append(c)
    return kept


def _halt(outcome: Outcome, why: str, message: str) -> None:
    outcome.halted = outcome.halted or why
    outcome.report.fail(message)
    outcome.lines.append(message)


_END = object()


def _put(out: queue.Queue[object], value: object, halt: threading.Event,
         outcome: Outcome | None = None) -> bool:
    """Hand `value` on unless the consumer has gone (`halt`); False then. Time spent waiting
    for room (ingestion behind fetching) is added to `outcome.held_back`."""
    try:
        out.put_nowait(value)
        return True
    except queue.Full:
        pass
    began = time.monotonic()
    try:
        while not halt.is_set():
            try:
                out.put(value, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False
    finally:
        if outcome is not None:
            outcome.held_back += time.monotonic() - began


def _fetcher(archive: ArchiveSource, items: Sequence[QueueItem], out: queue.Queue[object],
             halt: threading.Event, stop: threading.Event | None, outcome: Outcome) -> None:
    """Fetch each item in turn (the rate limit paces it) and hand on what came of it."""
    in_a_row = 0
    try:
        for item in items:
            if halt.is_set() or (stop is not None and stop.is_set()):
                break
            try:
                if not _put(out, (item, archive.fetch(item), None), halt, outcome):
                    break
                in_a_row = 0
            except RefusedError as exc:
                _put(out, ("refused", item, exc), halt)
                break
            except TrackerError as exc:
                if stop is not None and stop.is_set():  # cut short by the stop request
                    break
                _put(out, (item, None, exc), halt)
                in_a_row = in_a_row + 1 if transient(exc) else 0
                if in_a_row >= MAX_TRANSIENT:
                    _put(out, ("not-answering", item, exc), halt)
                    break
    finally:
        _put(out, _END, halt)


def _work_queue(archive: ArchiveSource, options: Options, db: Path, db_timeout: float,
                writer: Writer, outcome: Outcome, say: Echo, client: Client,
                stop: threading.Event | None) -> None:
    with writer(db, db_timeout) as store:
        resolved, dupes = store.backfill_settle()
        todo = store.backfill_pending(options.source)
    if resolved or dupes:
        say(f"backfill: {resolved} capture(s) found stored already, {dupes} duplicate(s) of "
            "fetched bytes; not fetched")
    halt = threading.Event()
    results: queue.Queue[object] = queue.Queue(maxsize=2 * _BATCH)
    thread = threading.Thread(target=_fetcher, args=(archive, todo, results, halt, stop, outcome),
                              name="backfill-fetch", daemon=True)
    started, last, done = time.monotonic(), time.monotonic(), 0
    thread.start()
    session = _Session(writer, db, db_timeout)
    try:
        for batch in _batches(results):
            began = time.perf_counter()
            _store_batch(batch, options, session, outcome)
            outcome.storing += time.perf_counter() - began
            session.release(unless_fresh=True)
            done += sum(1 for b in batch if isinstance(b[0], QueueItem))
            if time.monotonic() - last > _PROGRESS_EVERY:
                last = time.monotonic()
                say(_progress(outcome, done, len(todo), client.requests, last - started))
    finally:
        session.release()
        halt.set()
        thread.join()
    outcome.left = len(todo) - done
    if stop is not None and stop.is_set() and outcome.left:
        _halt(outcome, "stopped", f"stopped: {outcome.left} capture(s) left in the queue; "
              "run the same command again to continue")
    say(_progress(outcome, done, len(todo), client.requests, time.monotonic() - started))


def _batches(results: queue.Queue[object]) -> Iterator[list[tuple[object, object, object]]]:
    """What arrives within `LINGER` of a first capture (at most `_BATCH`), batch after batch,
    until the fetcher ends: a batch's fixed cost (a transaction, a raw pack's fsync) is shared
    when the archive is fast, and nothing waits when it is slow."""
    while True:
        first = results.get()
        if first is _END:
            return
        batch = [first]
        until = time.monotonic() + LINGER
        while len(batch) < _BATCH:
            try:
                more = results.get(timeout=max(until - time.monotonic(), 0.0))
            except queue.Empty:
                break
            if more is _END:
                yield batch  # type: ignore[misc]
                return
            batch.append(more)
        yield batch  # type: ignore[misc]


class _Session:
    """The database held across batches for at most `HOLD` seconds at a time."""

    def __init__(self, writer: Writer, db: Path, timeout: float) -> None:
        self.writer, self.db, self.timeout = writer, db, timeout
        self.stack = ExitStack()
        self.store: Store | None = None
        self.opened = self.closed = 0.0

    def get(self) -> Store:
        if self.store is None:
            wait = READER_GAP - (time.monotonic() - self.closed)
            if wait > 0:
                time.sleep(wait)
            self.store = self.stack.enter_context(self.writer(self.db, self.timeout))
            self.opened = time.monotonic()
        return self.store

    def release(self, *, unless_fresh: bool = False) -> None:
        if self.store is not None and not (unless_fresh and time.monotonic() - self.opened < HOLD):
            self.store = None
            self.stack.close()
            self.closed = time.monotonic()


def _store_batch(batch: list[tuple[object, object, object]], options: Options,
                 session: _Session, outcome: Outcome) -> None:
    """Ingest the fetched captures, then record every outcome in the queue."""
    report, results = outcome.report, []
    fetched: list[tuple[QueueItem, RawInput]] = []
    for first, second, third in batch:
        if isinstance(first, str):  # the fetcher stopped the run
            item, exc = second, third
            assert isinstance(item, QueueItem) and isinstance(exc, TrackerError)
            if first == "refused":
                results.append(QueueResult(item, "planned", f"refused: {exc}"))
                _halt(outcome, "refused", f"{exc}; the queue is left ready: run the same "
                      "command again later")
            else:
                _halt(outcome, "not-answering", f"the archive is not answering ({MAX_TRANSIENT} "
                      f"failures in a row, the last: {exc}); run the same command again later")
        elif third is not None:
            assert isinstance(first, QueueItem) and isinstance(third, TrackerError)
            report.files_seen += 1
            retry = transient(third) and first.attempts + 1 < MAX_ATTEMPTS
            state = "planned" if retry else "failed"
            results.append(QueueResult(first, state, f"fetch failed: {third}"))
            if retry:
                outcome.retry += 1
            else:
                outcome.failed += 1
                report.rejected += 1
            report.problems.append(f"{first.archive_url}: fetch failed: "
                                   f"{getattr(third, 'reason', third)}")
        else:
            assert isinstance(first, QueueItem) and isinstance(second, RawInput)
            report.files_seen += 1
            fetched.append((first, second))
    store = session.get()
    if fetched:
        summary = ingest([raw for _, raw in fetched], store=store,
                         max_bytes=options.max_bytes, batch_size=len(fetched))
        report.add(summary)
        for (item, _), got in zip(fetched, summary.outcomes, strict=True):
            results.append(QueueResult(item, got.status, got.reason, got.snapshot_id))
    store.backfill_record(results)


def _progress(outcome: Outcome, done: int, total: int, requests: int, seconds: float) -> str:
    r = outcome.report
    rate = requests / seconds * 60 if seconds > 0 else 0.0
    per = seconds / done if done else 0.0
    eta = f"{(total - done) * per / 60:.0f} min" if done and total > done else "-"
    return (f"backfill: {done}/{total} captures fetched; ingested {r.ingested}, present "
            f"{r.present}, rejected {r.rejected} ({outcome.failed} fetch failures); "
            f"{rate:.1f} requests/min; ETA {eta}")


def backfill_job(db: Path, prefixes: Sequence[str], *, stop: threading.Event | None = None,
                 **options: object) -> RunReport:
    """The scheduler's backfill job: the function a person runs, on the default options."""
    chosen = Options(prefixes=tuple(prefixes) or DEFAULT_PREFIXES, **options)  # type: ignore[arg-type]
    return backfill(chosen, db_path=db, stop=stop).report
