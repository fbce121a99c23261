"""`tracker backfill`: the past from web archives, politely, resumably, with provenance.

Two steps over one queue (`backfill_queue`). Planning asks the archive's index (Wayback CDX,
or Common Crawl's URL index) for status-200 HTML captures of the prefixes, keeping each page's
captures and the resume point as it goes (`backfill_listed`, `backfill_paging`), then keeps at
most `per_day` a day, spread over the day, queued in one transaction. Fetching works through the
queue: each capture's exact bytes (Wayback `id_` replay, or one WARC record by range request),
spooled to disk the moment they arrive (`tracker.archives.spool`), then ingested through the one
ingest path with the archive's time as `captured_at` (`archive`), its archive address as
`source` and the page's own address as `original_url`. One HTTP client carries every request of
a run, so `max_rate` bounds them all; a separate thread fetches while the caller's thread
stores, so ingestion never holds the rate limit back. A run killed at any moment leaves the
queue consistent and loses at most the one request in flight; the same command continues it.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from .archives import commoncrawl, wayback
from .archives.captures import ArchiveSource
from .archives.spool import Spool, one_run
from .errors import RefusedError, StoreError, TrackerError
from .http import DEFAULT_TIMEOUT, MAX_TRANSIENT, Client, transient
from .ingest import MAX_BYTES, RawInput, ingest
from .jobs import DB_TIMEOUT, RunReport, recorded_run, stopping
from .jobs import writer as store_writer
from .models import IngestOutcome
from .store import Store
from .store.backfillqueue import QueueItem, QueueResult

DEFAULT_PREFIXES = ("timesca.com/",)  # the home page and every section page under it
DEFAULT_PER_DAY = 3
DEFAULT_RATE = wayback.DEFAULT_RATE  # 24/min: what the Wayback Machine's maintained clients keep to
MAX_ATTEMPTS = 3  # a capture failing transiently this many runs is given up (`failed`)
_BATCH = 50  # captures stored per ingest at most (whatever has arrived meanwhile)
LINGER = 0.25  # seconds a batch waits for more captures (they wait on the spool: nothing lost)
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
    backlog: int = 0  # most fetched captures waiting on the spool to be stored at once
    storing: float = 0.0  # seconds spent ingesting and marking the queue
    lines: list[str] = field(default_factory=list)


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
    (job `backfill`). The database is opened only to write, so readers get their turns."""
    outcome = Outcome(RunReport("backfill", dt.datetime.min))
    say = echo or (lambda _line: None)

    def work(db: Path, report: RunReport) -> None:
        outcome.report = report
        try:
            with one_run(db), Client(rate=options.max_rate, timeout=options.timeout,
                                     stop=stop) as client:
                archive = ArchiveSource(options, client)
                run = _Run(options, db, db_timeout, writer, outcome, say, stop)
                if _plan(archive, run):
                    _work_queue(archive, run, client)
        except TrackerError as exc:  # the database busy or unwritable, an unusable address
            _halt(outcome, "error", str(exc))

    outcome.report = recorded_run("backfill", db_path, db_timeout, work)
    if outcome.report.error and not outcome.halted:  # e.g. its `runs` row could not be written
        outcome.halted = "error"
        outcome.lines.append(outcome.report.error)
    return outcome


@dataclass
class _Run:
    """What planning and storing work with: the options, the database, the run's tallies."""

    options: Options
    db: Path
    db_timeout: float
    writer: Writer
    outcome: Outcome
    say: Echo
    stop: threading.Event | None


def _plan(archive: ArchiveSource, run: _Run) -> bool:
    """Queue the query's captures unless planned before; False if the run must stop.

    The index is listed page by page, each page's captures kept with where the index goes on
    (one transaction a page), so a run killed while paging continues from there; the choosing
    waits for the last page, so each day's spreading sees all of the day's captures."""
    options, db, db_timeout, writer, outcome, say = (run.options, run.db, run.db_timeout,
                                                     run.writer, run.outcome, run.say)
    query, source = options.query(), options.source
    with writer(db, db_timeout) as store:
        if store.backfill_planned_before(source, query):
            return True
        paging = store.backfill_paging(source, query)
    if paging is None or not paging.complete:
        where = f" (continuing after page {paging.pages})" if paging else ""
        say(f"backfill: asking the {source} index for captures of "
            f"{', '.join(options.prefixes)}{where}")
        kept = paging.pages if paging else 0
        try:
            for items, after in archive.pages(paging.cursor if paging else None):
                with writer(db, db_timeout) as store:
                    store.backfill_list_page(source, query, items, after)
                kept += 1
        except RefusedError as exc:
            _halt(outcome, "refused", f"planning: {exc}; the queue is unchanged, {kept} index "
                  "page(s) kept: the same command continues from there")
            return False
        except StoreError:
            raise
        except TrackerError as exc:  # an index answer empty, malformed or cut short
            if stopping(run.stop):
                _halt(outcome, "stopped", f"stopped while planning; nothing queued, {kept} index "
                      "page(s) kept: run the same command again to continue")
                return False
            _halt(outcome, "plan", f"planning failed, nothing queued: {exc} ({kept} index "
                  "page(s) kept: the same command continues from there)")
            return True  # captures queued by earlier runs can still be fetched
    with writer(db, db_timeout) as store:
        found = store.backfill_listed(source, query)
        digests, per_day = store.backfill_known(source)
        chosen = _capped(wayback.plan(found, options.per_day, digests), options.per_day, per_day)
        outcome.planned = store.backfill_add_plan(source, query, len(found), chosen)
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


def _fetcher(archive: ArchiveSource, items: Sequence[QueueItem], spool: Spool,
             out: queue.Queue[object], halt: threading.Event, stop: threading.Event | None) -> None:
    """Fetch each item in turn (the rate limit paces it), spool what arrives, hand on what
    came of it. The queue is unbounded (a spooled capture is a name), so ingestion never holds
    the fetching back."""
    in_a_row = 0
    try:
        for item in items:
            if halt.is_set() or stopping(stop):
                break
            try:
                spool.put(item, archive.fetch(item))
                out.put((item, None, None))
                in_a_row = 0
            except RefusedError as exc:
                out.put(("refused", item, exc))
                break
            except StoreError as exc:  # the spool could not be written
                out.put(("error", item, exc))
                break
            except TrackerError as exc:
                if stopping(stop):  # cut short by the stop request
                    break
                out.put((item, None, exc))
                in_a_row = in_a_row + 1 if transient(exc) else 0
                if in_a_row >= MAX_TRANSIENT:
                    out.put(("not-answering", item, exc))
                    break
    finally:
        out.put(_END)


def _work_queue(archive: ArchiveSource, run: _Run, client: Client) -> None:
    """Store what an earlier run spooled, then fetch the rest on a thread of its own while
    this one stores what arrives."""
    options, outcome, say, stop = run.options, run.outcome, run.say, run.stop
    with run.writer(run.db, run.db_timeout) as store:
        resolved, dupes = store.backfill_settle()
        todo = store.backfill_pending(options.source)
        everyone = store.backfill_pending(None)
    if resolved or dupes:
        say(f"backfill: {resolved} capture(s) found stored already, {dupes} duplicate(s) of "
            "fetched bytes; not fetched")
    spool = Spool(run.db, options.max_bytes)
    spool.sweep(everyone)
    started, last, done = time.monotonic(), time.monotonic(), 0
    asked = client.requests  # the index's: made before `started`, not part of the rate
    on_disk = [item for item in todo if spool.path(item).exists()]
    if on_disk:  # fetched by a run that was killed before storing them: stored first
        say(f"backfill: {len(on_disk)} capture(s) fetched before are spooled; storing them")
    again: list[QueueItem] = []
    for at in range(0, len(on_disk), _BATCH):
        chunk = on_disk[at:at + _BATCH]
        again += _store_batch([(item, None, None) for item in chunk], run, spool, retry=False)
        done += len(chunk)
    spooled = set(on_disk) - set(again)
    to_fetch = [item for item in todo if item not in spooled]
    done -= len(again)
    halt = threading.Event()
    results: queue.Queue[object] = queue.Queue()
    thread = threading.Thread(target=_fetcher, args=(archive, to_fetch, spool, results, halt,
                                                     stop), name="backfill-fetch", daemon=True)
    thread.start()
    try:
        for batch in _batches(results):
            outcome.backlog = max(outcome.backlog, len(batch) + results.qsize())
            began = time.perf_counter()
            _store_batch(batch, run, spool)
            outcome.storing += time.perf_counter() - began
            done += sum(1 for b in batch if isinstance(b[0], QueueItem))
            if time.monotonic() - last > _PROGRESS_EVERY:
                last = time.monotonic()
                say(_progress(outcome, done, len(todo), client.requests - asked,
                              last - started))
    finally:
        halt.set()
        thread.join()
    outcome.left = len(todo) - done
    if stopping(stop) and outcome.left:
        _halt(outcome, "stopped", f"stopped: {outcome.left} capture(s) left in the queue; "
              "run the same command again to continue")
    say(_progress(outcome, done, len(todo), client.requests - asked,
                  time.monotonic() - started))


def _batches(results: queue.Queue[object]) -> Iterator[list[tuple[object, object, object]]]:
    """What arrives within `LINGER` of a first capture (at most `_BATCH`), batch after batch,
    until the fetcher ends: a batch's fixed cost (opening the database, a transaction, a raw
    pack's fsync) is shared when the archive is fast, and nothing waits when it is slow."""
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


def _store_batch(batch: list[tuple[object, object, object]], run: _Run, spool: Spool, *,
                 retry: bool = True) -> list[QueueItem]:
    """Ingest the spooled captures through the one ingest path (parsed with the database
    closed; it is opened only to store), record every outcome in the queue in the same write
    turn, then forget the spooled copies. Captures whose spooled copy was damaged are returned
    (with `retry=False`, for the caller to fetch) or left planned with the reason."""
    report, outcome = run.outcome.report, run.outcome
    results: list[QueueResult] = []
    fetched: dict[str, tuple[QueueItem, RawInput]] = {}
    damaged: list[QueueItem] = []
    for first, second, third in batch:
        if isinstance(first, str):  # the fetcher stopped the run
            item, exc = second, third
            assert isinstance(item, QueueItem) and isinstance(exc, TrackerError)
            if first == "refused":
                results.append(QueueResult(item, "planned", f"refused: {exc}"))
                _halt(outcome, "refused", f"{exc}; the queue is left ready: run the same "
                      "command again later")
            elif first == "error":
                _halt(outcome, "error", f"{exc}; the queue is left ready")
            else:
                _halt(outcome, "not-answering", f"the archive is not answering ({MAX_TRANSIENT} "
                      f"failures in a row, the last: {exc}); run the same command again later")
        elif third is not None:
            assert isinstance(first, QueueItem) and isinstance(third, TrackerError)
            report.files_seen += 1
            again = transient(third) and first.attempts + 1 < MAX_ATTEMPTS
            state = "planned" if again else "failed"
            results.append(QueueResult(first, state, f"fetch failed: {third}"))
            if again:
                outcome.retry += 1
            else:
                outcome.failed += 1
                report.rejected += 1
            report.problems.append(f"{first.archive_url}: fetch failed: "
                                   f"{getattr(third, 'reason', third)}")
        else:
            assert isinstance(first, QueueItem)
            got = spool.get(first)
            if isinstance(got, RawInput):
                report.files_seen += 1
                fetched[got.source] = (first, got)
                continue
            reason = got or "its spooled copy is missing"
            run.say(f"backfill: {first.archive_url}: {reason}; fetched again")
            damaged.append(first)
            if retry:
                outcome.retry += 1
                results.append(QueueResult(first, "planned", reason))
    recorded: set[QueueItem] = set()

    def record(store: Store, outcomes: Sequence[IngestOutcome]) -> None:
        rows = [QueueResult(fetched[o.source][0], o.status, o.reason, o.snapshot_id)
                for o in outcomes if o.source in fetched] + results
        store.backfill_record(rows)
        recorded.update(r.item for r in rows)
        results.clear()

    if fetched:
        summary = ingest([raw for _, raw in fetched.values()], db_path=run.db,
                         timeout=run.db_timeout, max_bytes=run.options.max_bytes,
                         batch_size=len(fetched), on_stored=record)
        report.add(summary)
        results += [QueueResult(fetched[o.source][0], o.status, o.reason, o.snapshot_id)
                    for o in summary.outcomes if fetched[o.source][0] not in recorded]
    if results:  # fetch failures, or captures all stored before (no write turn was needed)
        with run.writer(run.db, run.db_timeout) as store:
            record(store, ())
    spool.remove(item for item, _ in fetched.values())
    return damaged


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
