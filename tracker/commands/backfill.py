"""`tracker backfill`: the command line over `tracker.backfill` (registered in `tracker.cli`)."""

from __future__ import annotations

import datetime as dt
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..archives import commoncrawl, wayback
from ..archives.bases import RATES, SOURCES, ArchiveBases
from ..backfill import (
    DEFAULT_PER_DAY,
    DEFAULT_PREFIXES,
    DEFAULT_RATE,
    Options,
    backfill,
)
from ..errors import UsageError
from ..escape import printable
from ..http import DEFAULT_TIMEOUT
from ..ingest import MAX_BYTES
from ..store import Store, default_db_path
from .options import EXIT_FAILED, EXIT_OK, EXIT_REJECTED, db_option, err
from .options import date_value as _date


def archive_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--source, --wayback-url, --cc-index-url, --cc-data-url, --max-rate: the archive a
    backfill asks (`tracker.archives.bases.ArchiveBases`), for every command that runs one."""
    for option in reversed((
        click.option("--source", type=click.Choice(SOURCES), default="wayback",
                     show_default=True, help="The archive to backfill from."),
        click.option("--wayback-url", default=wayback.DEFAULT_BASE, show_default=True,
                     metavar="URL", help="Base of the Wayback CDX API and replay."),
        click.option("--cc-index-url", default=commoncrawl.DEFAULT_INDEX, show_default=True,
                     metavar="URL", help="Base of the Common Crawl URL index."),
        click.option("--cc-data-url", default=commoncrawl.DEFAULT_DATA, show_default=True,
                     metavar="URL", help="Base of the Common Crawl WARC files."),
        click.option("--max-rate", type=click.FloatRange(min=0.1), default=None, metavar="N",
                     help=f"Requests per minute, over every request of a backfill run "
                          f"(default: the archive's ask, {DEFAULT_RATE:g} for wayback, "
                          f"{RATES['commoncrawl']:g} for commoncrawl)."),
    )):
        f = option(f)
    return f


@click.command("backfill")
@db_option
@click.option("--from", "start", callback=_date, metavar="DATE",
              help="First capture day (YYYY-MM-DD); default: the archive's first.")
@click.option("--to", "end", callback=_date, metavar="DATE", help="Last capture day.")
@click.option("--url", "prefixes", multiple=True, metavar="PREFIX",
              help=f"Pages whose address starts so (repeatable; default {DEFAULT_PREFIXES[0]}: "
                   "the home page and every section page).")
@click.option("--per-day", type=click.IntRange(min=1), default=DEFAULT_PER_DAY,
              show_default=True, help="At most this many captures a day, spread over the day.")
@archive_options
@click.option("--timeout", type=click.FloatRange(min=0.1), default=DEFAULT_TIMEOUT,
              show_default=True, help="Seconds before one request gives up.")
@click.option("--max-bytes", type=click.IntRange(min=1), default=MAX_BYTES, show_default=True,
              help="Largest capture read.")
@click.option("--status", is_flag=True, help="Print the queue's state and exit.")
def backfill_command(
    db_path: Path | None, start: dt.date | None, end: dt.date | None, prefixes: tuple[str, ...],
    per_day: int, source: str, wayback_url: str, cc_index_url: str, cc_data_url: str,
    max_rate: float | None, timeout: float, max_bytes: int, status: bool,
) -> None:
    """Fill the past from a web archive: plan captures, fetch each once, ingest them.

    Plans at most --per-day captures a day into the database's queue, then fetches each
    capture's original bytes within --max-rate requests a minute and ingests them (source:
    the capture's archive address; captured_at: the archive's time). Ctrl-C, a kill or a
    refusal leaves the queue ready: run the same command again to continue.

    \b
    Example:
      tracker backfill --from 2024-01-01 --to 2024-12-31
      tracker backfill --status
    """
    db = db_path or default_db_path()
    if status:
        _print_status(db)
        sys.exit(EXIT_OK)
    if start and end and start > end:
        raise UsageError(f"--from {start} is after --to {end}")
    bases = ArchiveBases(source, wayback_url, cc_index_url, cc_data_url, max_rate).checked()
    max_rate = bases.rate
    options = Options(
        prefixes=tuple(p.strip() for p in prefixes) or DEFAULT_PREFIXES, start=start, end=end,
        per_day=per_day, timeout=timeout, max_bytes=max_bytes, **bases.options(),
    )
    stop = threading.Event()
    seen: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        if seen:
            raise KeyboardInterrupt
        seen.append(signum)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        err(f"backfill from {source} into {db}: at most {max_rate:g} requests/min "
            "(Ctrl-C stops; the same command continues)")
        outcome = backfill(options, db_path=db, stop=stop, echo=err)
    except KeyboardInterrupt:  # the second signal: no waiting for the stop to complete
        err("error: stopped at once (a second Ctrl-C or SIGTERM); what arrived is spooled or "
            "stored: run the same command again to continue")
        sys.exit(EXIT_FAILED)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    report = outcome.report
    for problem in report.problems:
        err(f"rejected: {problem}")
    for line in outcome.lines:
        err(f"error: {line}")
    err(report.line())
    if outcome.halted:
        sys.exit(EXIT_FAILED)
    if outcome.retry:
        err(f"{outcome.retry} capture(s) left planned after a timeout or a broken connection; "
            "run the same command again to retry them")
    sys.exit(EXIT_REJECTED if report.rejected or outcome.failed or outcome.retry else EXIT_OK)


COMMAND: click.Command = backfill_command  # typed, for the one line that registers it


def _print_status(db: Path) -> None:
    """The queue per source and state, on stdout."""
    with Store.open(db, read_only=True) as store:
        from ..read import backfill_status_frame  # pandas: only for --status

        frame = backfill_status_frame(store)
    if frame.empty:
        click.echo("the backfill queue is empty (run `tracker backfill` to plan captures)")
        return
    for row in frame.itertuples(index=False):
        days = f"{row.first_day} .. {row.last_day}"
        line = f"{row.source:<12} {row.state:<10} {row.captures:>7}  {days}"
        if row.last_error and row.state in ("failed", "rejected", "planned"):
            line += f"  last: {row.last_error!s}"
        click.echo(printable(line))
