"""Fetching and storing official rates: `tracker official fetch` and the scheduler's daily job.

One polite `tracker.http.Client` per run (rate limit, User-Agent, backoff), one adapter per
bank (`tracker.official.banks`), the TMT peg stored as data. Every answer's bytes go to the
raw archive (`official_responses`), every rate to `official_rates`, one bank at a time, so the
database is never held while downloading. Each failed request (timeout, 5xx, an HTML page
with status 200, malformed, another date than asked, zero or negative) is a reason in the
run's `runs` row (job `official`) and on stderr; it never becomes a number.

No publication is not a failure: a day without rates (NBK's document without USD, a weekend
for which a bank answers another day's rates) is noted and skipped; the findings carry the
last publication forward (`carry_days`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from ..errors import (
    FetchError,
    MissingRateError,
    OfficialRateError,
    RefusedError,
    UsageError,
    WrongDateError,
)
from ..http import (
    DEFAULT_BACKOFF,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    MAX_TRANSIENT,
    Client,
    transient,
)
from ..jobs import DB_TIMEOUT, RunReport, recorded_run, stopping, writer
from ..models import EXPECTED_CURRENCIES
from ..schedule import Settings
from ..store import utcnow
from ..store.official import RawResponse
from .banks import BANK_OF_CURRENCY, TMT_PEG, Bank, Request
from .compare import plain
from .documents import MAX_BYTES
from .records import OfficialRate

JOB = "official"
PROGRESS_EVERY = 5.0  # seconds between progress lines of a long range
PARSER_VERSION = "official-1"  # of tracker.official's adapters; bump when they read differently
DEFAULT_DAYS = 7  # without --from: the week up to --to, so a missed day is caught up
RATE = 60.0  # requests per minute over all banks (four hosts), after a burst of BURST
BURST = 10
_STORED_PLACES = 10  # official_rates.per_usd is DECIMAL(18,10)
_STORED_WHOLE = 8

Echo = Callable[[str], None]
Row = tuple[str, dt.date, Decimal, str, str, dt.datetime, str]


@dataclass
class OfficialReport(RunReport):
    """A run of `fetch_official`: `files_seen` counts answers asked for, `ingested` new rates,
    `present` rates already stored, `rejected` failed requests (their reasons in `problems`)."""

    quiet: int = 0  # days without a publication (weekends, holidays)
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        when = f"{self.finished or self.started:%Y-%m-%d %H:%M:%S}Z"
        seconds = ((self.finished or utcnow()) - self.started).total_seconds()
        ident = f"{self.job} run {self.run_id}" if self.run_id is not None else self.job
        text = (f"{when} {ident}: {self.files_seen} answer{'' if self.files_seen == 1 else 's'}; "
                f"{self.ingested} new official rate{'' if self.ingested == 1 else 's'}, already "
                f"present {self.present}, no publication {self.quiet}, failed {self.rejected} "
                f"({seconds:.1f} s)")
        detail = self.error_text()
        return text + (f"; {detail}" if detail else "")


def check_currencies(currencies: Sequence[str] | None) -> list[str]:
    """Currency codes in ticker order (default: all five); a `UsageError` for others."""
    if not currencies:
        return list(EXPECTED_CURRENCIES)
    wanted = {c.strip().upper() for c in currencies}
    unknown = sorted(wanted - set(EXPECTED_CURRENCIES))
    if unknown:
        raise UsageError(f"no official source for {', '.join(unknown)}; use one of "
                         f"{', '.join(EXPECTED_CURRENCIES)}")
    return [c for c in EXPECTED_CURRENCIES if c in wanted]


def date_window(start: dt.date | None, end: dt.date | None,
                today: dt.date) -> tuple[dt.date, dt.date]:
    """[start, end] with the defaults: `end` today, `start` the week up to `end`."""
    last = end or today
    first = start or last - dt.timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise UsageError(f"--from {first} is after --to {last}; swap them")
    if first > today:
        raise UsageError(f"--from {first} is in the future: banks publish no rates for it yet")
    return first, last


def fetch_official(
    db_path: Path | str | None,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    currencies: Sequence[str] | None = None,
    bases: Mapping[str, str] | None = None,
    today: dt.date | None = None,
    stop: threading.Event | None = None,
    echo: Echo | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    rate: float = RATE,
    db_timeout: float = DB_TIMEOUT,
) -> OfficialReport:
    """Fetch and store the official rates of `currencies` from `start` to `end`; one `runs` row.

    What `tracker official fetch` and `tracker schedule --official` run. `bases` maps bank
    names (`nbk`, `nbkr`, `cbu`, `nbt`) to base URLs (tests: a loopback server); `echo`
    receives the progress and failure lines; `rate` is requests per minute over all banks.
    """
    today = today or dt.date.today()
    first, last = date_window(start, end, today)
    wanted = check_currencies(currencies)
    say = echo or (lambda _line: None)

    def work(db: Path, report: RunReport) -> None:
        assert isinstance(report, OfficialReport)
        with Client(rate=rate, burst=BURST, timeout=timeout, retries=retries, backoff=backoff,
                    stop=stop) as client:
            for currency in wanted:
                if stopping(stop):
                    report.fail(f"stopped before {currency}; run the same command again")
                    break
                if currency == TMT_PEG.currency:
                    rates = TMT_PEG.rates(first, min(last, today))
                    _store(db, db_timeout, report, [], rates, say, f"TMT: peg of {TMT_PEG.per_usd} "
                           f"per USD ({TMT_PEG.source}, since {TMT_PEG.since})")
                    continue
                bank = BANK_OF_CURRENCY[currency]
                base = (bases or {}).get(bank.name)
                _fetch_bank(bank, bank.requests(first, last, today=today, base=base), client,
                            db, db_timeout, report, say, stop)

    report = OfficialReport(JOB, utcnow())
    recorded_run(JOB, db_path, db_timeout, work, report=report)
    return report


def _fetch_bank(bank: Bank, requests: list[Request], client: Client, db: Path,
                db_timeout: float, report: OfficialReport, say: Echo,
                stop: threading.Event | None) -> None:
    """Every request of one bank, then its answers and rates in one write."""
    responses: list[RawResponse] = []
    kept: dict[tuple[str, dt.date, str], OfficialRate] = {}  # the first rate of each day
    ambiguous: set[tuple[str, dt.date, str]] = set()
    failed = quiet = silent = 0  # silent: requests in a row that timed out or got 5xx
    last = time.monotonic()
    for i, request in enumerate(requests):
        if time.monotonic() - last > PROGRESS_EVERY:
            last = time.monotonic()
            say(f"{bank.source}: {i}/{len(requests)} requests")
        if stopping(stop):
            report.fail(f"stopped: {len(requests) - i} {bank.source} request(s) left")
            break
        report.files_seen += 1
        try:
            got = client.get(request.url, max_bytes=MAX_BYTES)
        except FetchError as exc:
            if stopping(stop):
                report.files_seen -= 1
                report.fail(f"stopped: {len(requests) - i} {bank.source} request(s) left")
                break
            failed += 1
            _failure(report, say, bank, request, exc.reason)
            silent = silent + 1 if transient(exc) else 0
            if isinstance(exc, RefusedError) or silent >= MAX_TRANSIENT:
                why = ("refused the one before" if isinstance(exc, RefusedError) else
                       f"did not answer the {silent} before")
                failed += _not_sent(report, say, bank, requests[i + 1:], why)
                break
            continue
        silent = 0
        body = got.body
        responses.append(RawResponse(hashlib.sha256(body).hexdigest(), request.url,
                                     got.fetched_at, got.status, body))
        try:
            parsed = bank.parse(body, request)
            for rate in parsed:
                _check_storable(rate)
        except MissingRateError as exc:
            quiet += 1
            _note(report, say, bank, request, f"no publication ({exc.reason})")
            continue
        except WrongDateError as exc:
            if request.start == request.end and request.start.weekday() >= 5:
                quiet += 1  # a weekend: the bank answered another day's rates instead
                _note(report, say, bank, request, f"no publication on a "
                      f"{request.start:%A} ({exc.reason})")
                continue
            failed += 1
            _failure(report, say, bank, request, exc.reason)
            continue
        except OfficialRateError as exc:
            failed += 1
            _failure(report, say, bank, request, exc.reason)
            continue
        for rate in parsed:  # one day stated twice must say one thing, else neither is kept
            key = (rate.currency, rate.rate_date, rate.source)
            first = kept.setdefault(key, rate)
            if first.per_usd != rate.per_usd and key not in ambiguous:
                ambiguous.add(key)
                failed += 1
                other = "" if first.url == rate.url else f" (the first in {first.url})"
                _failure(report, say, bank, request, f"{rate.rate_date} is stated with two rates, "
                         f"{plain(first.per_usd)} and {plain(rate.per_usd)} per USD{other}; "
                         "neither is stored")
    report.quiet += quiet
    summary = (f"{bank.currency}: {bank.title} ({bank.source}), {len(requests)} request"
               f"{'' if len(requests) == 1 else 's'}, {quiet} without publication, {failed} "
               "failed")
    rates = [rate for key, rate in kept.items() if key not in ambiguous]
    _store(db, db_timeout, report, responses, rates, say, summary)


def _store(db: Path, db_timeout: float, report: OfficialReport, responses: list[RawResponse],
           rates: list[OfficialRate], say: Echo, summary: str) -> None:
    now = utcnow()
    rows: list[Row] = [(r.currency, r.rate_date, r.per_usd, r.source, r.url, now, PARSER_VERSION)
                       for r in rates]
    with writer(db, db_timeout) as store:
        done = store.add_official(responses, rows)
    report.ingested += done.added
    report.present += done.present
    for rev in done.revisions:
        reason = (f"{rev.source} now publishes {rev.published} {rev.currency} per USD for "
                  f"{rev.rate_date}, {plain(rev.stored)} is stored; the stored value is kept "
                  "(both answers are in the raw archive, table official_responses)")
        report.rejected += 1
        report.problems.append(reason)
        say(f"failed: {reason}")
    say(f"{summary}: {done.added} new rate{'' if done.added == 1 else 's'}, {done.present} "
        "already present")


def _check_storable(rate: OfficialRate) -> None:
    """A rate `official_rates.per_usd` holds exactly, or an `InvalidRateError`-like reason."""
    exponent = rate.per_usd.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if places > _STORED_PLACES or rate.per_usd.adjusted() >= _STORED_WHOLE:
        raise OfficialRateError(
            f"{rate.currency} rate {rate.per_usd} per USD for {rate.rate_date} has more digits "
            f"than are stored (up to {_STORED_WHOLE} before and {_STORED_PLACES} after the "
            "point); not stored rather than rounded", rate.url)


def _failure(report: OfficialReport, say: Echo, bank: Bank, request: Request,
             reason: str) -> None:
    what = f"{bank.source} {_days(request)}: {request.url}: {reason}"
    report.rejected += 1
    report.problems.append(what)
    say(f"failed: {what}")


def _not_sent(report: OfficialReport, say: Echo, bank: Bank, left: list[Request],
              why: str) -> int:
    """The requests not sent to a bank that refused us or stopped answering (asking day after
    day would only ask again): failed, for the same command later."""
    if not left:
        return 0
    span = Request(bank.name, "", left[0].start, left[-1].end)
    what = (f"{bank.source} {_days(span)}: {len(left)} request(s) not sent: the bank {why}; "
            "run the same command again later")
    report.rejected += len(left)
    report.problems.append(what)
    say(f"failed: {what}")
    return len(left)


def _note(report: OfficialReport, say: Echo, bank: Bank, request: Request, text: str) -> None:
    line = f"{bank.source} {_days(request)}: {text}"
    report.notes.append(line)
    say(f"note: {line}")


def _days(request: Request) -> str:
    if request.start == request.end:
        return request.start.isoformat()
    return f"{request.start.isoformat()}..{request.end.isoformat()}"


EVERY = 86400  # the banks publish once a day: `tracker schedule --official` fetches daily


def official_job(db: Path, _targets: object, **options: object) -> OfficialReport:
    """The scheduler's daily job: the same function as `tracker official fetch`."""
    return fetch_official(db, **options)  # type: ignore[arg-type]


def add_official_job(scheduler: BackgroundScheduler, settings: Settings,
                     run_job: Callable[..., RunReport], first: dict[str, Any],
                     **options: Any) -> None:
    """The `official` job of `tracker schedule --official`: daily (a run late by up to a day
    still happens once), first at `first`, with the settings' bank URLs."""
    scheduler.add_job(
        run_job, "interval", seconds=EVERY, id=JOB, name=JOB,
        args=(official_job, settings.db, None),
        kwargs={"bases": dict(settings.bank_urls), **options},
        misfire_grace_time=EVERY, **first,
    )
