"""Options and output helpers shared by every `tracker` command (tracker/cli.py and
tracker/commands/*): the database, the currency and date filters, one line on stderr."""

from __future__ import annotations

import datetime as dt
import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import click

from ..dates import parse_user_date
from ..errors import UsageError
from ..escape import printable

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3


def date_value(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    """A --from/--to/--captured-on value as a date; a malformed one is a usage error."""
    if value is None:
        return None
    try:
        return parse_user_date(value)
    except UsageError as exc:
        raise click.BadParameter(str(exc)) from None


def db_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False, readable=False, path_type=Path),  # unreadable: exit 3
        envvar="TRACKER_DB",
        default=None,
        callback=_named_file,
        help="DuckDB file (default data/tracker.duckdb, or $TRACKER_DB).",
    )(f)


def _named_file(_ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
    if value is not None and not value.name:  # (`--db ""`: Path('.'), a folder)
        raise click.BadParameter("give the database's file name, e.g. --db data/tracker.duckdb")
    return value


def filter_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--to", "end", callback=date_value, metavar="DATE", help="Last capture date.")(f)
    f = click.option(
        "--from", "start", callback=date_value, metavar="DATE", help="First capture date (YYYY-MM-DD)."
    )(f)
    return click.option(
        "--currency", "currencies", multiple=True, metavar="CCY",
        help="Only this currency (repeatable), e.g. --currency KGS --currency TJS.",
    )(f)


def err(message: str) -> None:
    """One status line on stderr; anything from input in it shows its control characters
    (a newline in a file name cannot forge a line of ours, an escape cannot reach the terminal)."""
    click.echo(printable(message), err=True)


def data_out(write: Callable[[BinaryIO], object]) -> None:
    """Data to stdout exactly as written, unless stdout is a terminal: there (as `ls` does)
    control characters of stored input (a source's escape sequence) are shown, not obeyed;
    newlines and tabs stay. Piped or redirected, the bytes are untouched."""
    out = sys.stdout.buffer
    if not sys.stdout.isatty():
        write(out)
    else:
        buffer = io.BytesIO()
        write(buffer)
        out.write(printable(buffer.getvalue().decode("utf-8", "replace"),
                            keep_lines=True).encode("utf-8"))
    out.flush()
