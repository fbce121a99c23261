"""`tracker official …`: the central banks' official rates (issue 22). Registered in
`tracker.cli` with one line; the work is `tracker.official.fetching.fetch_official`."""

from __future__ import annotations

import datetime as dt
import signal
import sys
import threading
from contextlib import suppress
from pathlib import Path
from typing import Any

import click

from ..errors import UsageError
from ..official.banks import BANKS, parse_bank_url
from .options import EXIT_FAILED, EXIT_OK, EXIT_REJECTED, db_option, err
from .options import date_value as _date

RATE, BURST = 60.0, 10  # as tracker.official.fetching (not imported: it loads the scheduler)


def bank_urls(_ctx: click.Context, _param: click.Parameter,
              values: tuple[str, ...]) -> dict[str, str]:
    """`--bank-url NAME=URL` (repeatable) → {name: base}."""
    out: dict[str, str] = {}
    for value in values:
        try:
            name, base = parse_bank_url(value)
        except UsageError as exc:
            raise click.BadParameter(str(exc)) from None
        out[name] = base
    return out


def bank_url_option(f: Any) -> Any:
    return click.option(
        "--bank-url", "bases", multiple=True, metavar="NAME=URL", callback=bank_urls,
        help=f"Ask bank NAME ({', '.join(BANKS)}) at this base URL instead of its own site, "
             "on the same paths (repeatable), e.g. nbk=http://127.0.0.1:8080.")(f)


@click.group()
def official() -> None:
    """The central banks' official rates against the US dollar.

    \b
    Example:
      tracker official fetch --from 2025-12-01
      tracker check --kind official_mismatch --kind ticker_lag
    """


@official.command("fetch")
@db_option
@click.option("--from", "start", callback=_date, metavar="DATE",
              help="First day (YYYY-MM-DD) [default: 6 days before --to].")
@click.option("--to", "end", callback=_date, metavar="DATE", help="Last day [default: today].")
@click.option("--currency", "currencies", multiple=True, metavar="CCY",
              help="Only this currency (repeatable): KGS, KZT, TJS, UZS or TMT [default: all].")
@bank_url_option
@click.option("--timeout", type=click.FloatRange(min=0.1), default=20.0, show_default=True,
              help="Seconds before a request attempt gives up.")
@click.option("--retries", type=click.IntRange(min=0), default=2, show_default=True,
              help="Retries of a timeout or 5xx answer, waiting 1 s, 2 s, … in between.")
@click.option("--rate", type=click.FloatRange(min=1), default=RATE, show_default=True,
              metavar="PER_MINUTE", help="Requests per minute over all banks (after a burst "
              f"of {BURST}).")
def fetch(db_path: Path | None, start: dt.date | None, end: dt.date | None,
          currencies: tuple[str, ...], bases: dict[str, str], timeout: float,
          retries: int, rate: float) -> None:
    """Fetch the official daily USD rates from the central banks into the database.

    KZT from the National Bank of Kazakhstan (nbk), KGS from the National Bank of the
    Kyrgyz Republic (nbkr), UZS from the Central Bank of Uzbekistan (cbu), TJS from the
    National Bank of Tajikistan (nbt); TMT is the official peg of 3.5 per USD, stored as
    data. Fetching a publication again changes nothing. Every answer's bytes are kept in the
    raw archive. Progress and each failure (with its reason) go to stderr; the run is
    recorded in the `runs` table (job `official`). Exit status 0 when every day and bank
    was fetched or had no publication, 1 when some failed (the rest is stored), 2 for
    usage errors, 3 when the command could not run (database busy, raw archive unwritable)
    or was stopped (Ctrl-C, SIGTERM: what arrived is stored; run it again).

    \b
    Example:
      tracker official fetch
      tracker official fetch --from 2025-01-01 --to 2025-12-31 --currency KZT
      tracker official fetch --bank-url nbk=http://127.0.0.1:8080
    """
    from ..official.fetching import check_currencies, date_window, fetch_official
    from ..store import lock_timeout

    today = dt.date.today()
    date_window(start, end, today)  # usage errors before anything is opened
    check_currencies(currencies)
    stop = threading.Event()
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        report = fetch_official(db_path, start=start, end=end, currencies=currencies or None,
                                bases=bases, today=today, stop=stop, echo=err,
                                timeout=timeout, retries=retries, rate=rate,
                                db_timeout=lock_timeout())
    finally:
        for sig, handler in previous.items():
            with suppress(ValueError, TypeError):
                signal.signal(sig, handler)
    err(report.line())
    if report.error:
        sys.exit(EXIT_FAILED)
    sys.exit(EXIT_REJECTED if report.rejected else EXIT_OK)
