"""`tracker show` and `tracker export`: the series in one of the four views (`rate`, `per_usd`,
`index`, `change` — the notebook API's and the dashboard's names, computed by `tracker.read`),
after the filters are checked against the database (an unknown code or an empty range is a
usage error that says why, never an empty answer)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import click
import pyarrow as pa

from .. import export as export_mod
from .. import read
from ..errors import TrackerError
from ..humane import plural, significant
from ..models import label_order
from ..store import Store, default_db_path
from ..views import VIEWS
from .options import data_out, db_option, err, filter_options

VIEW_HELP = "; ".join(f"{name}: {what}" for name, what in VIEWS.items())


def checked_filters(store: Store, currencies: Sequence[str], start: dt.date | None,
                    end: dt.date | None) -> list[str] | None:
    """The pair labels asked for (None: all), refusing unknown codes and an empty range."""
    read.date_range(start, end)
    wanted = read.parse_labels(currencies) if currencies else None
    if wanted:
        read.check_known(store, wanted)
    return wanted


def validate_filters(db_path: Path | None, currencies: Sequence[str], start: dt.date | None,
                     end: dt.date | None) -> None:
    """`checked_filters` on its own read-only connection (for `tracker check`)."""
    read.date_range(start, end)
    if currencies:
        with Store.open(db_path, read_only=True) as store:
            checked_filters(store, currencies, start, end)


def _nothing_shown(store: Store, wanted: Sequence[str] | None, start: dt.date | None,
                   end: dt.date | None) -> str:
    """Why the series came out empty: nothing ingested yet, or nothing in the range asked."""
    first, last, _days = store.capture_span()
    if first is None:
        return (f"the series is empty; ingest snapshots first: tracker ingest --db {store.path} "
                "data/samples")
    what = ", ".join(wanted) if wanted else "any currency"
    return (f"no capture of {what} from {start or 'the first'} to {end or 'the last'}; "
            f"the database's captures run from {first} to {last}")


def view_option(f: click.decorators.FC) -> click.decorators.FC:
    return click.option("--view", type=click.Choice(tuple(VIEWS)), default="rate",
                        show_default=True, help=f"What to show: {VIEW_HELP}.")(f)


# -- show -----------------------------------------------------------------------------------------


def _cell(row: dict[str, object], view: str) -> str:
    if view == "rate":
        cell = f"{row['rate_text']} {row['change_text']}%"
        distinct = row["distinct_rates"]
        return cell + (f" ({distinct} rates)" if isinstance(distinct, int) and distinct > 1
                       else "")
    value = row["value"]
    if not isinstance(value, float):
        return "—"
    if view == "per_usd":
        return significant(value)
    return f"{value:.2f}" if view == "index" else f"{value:+.2f}%"


def _value(row: dict[str, object], view: str) -> object:
    return row["rate_text"] if view == "rate" else row["value"]


@click.command()
@db_option
@filter_options
@view_option
@click.option("--format", "fmt", type=click.Choice(("table", "csv", "json")), default="table",
              show_default=True, help="A table for reading, or CSV/JSON with a column per "
                                      "currency (exact printed rates; floats for other views).")
@click.option("--last", "last", type=click.IntRange(min=1), metavar="N",
              help="Only the last N capture dates (after the other filters).")
def show(db_path: Path | None, currencies: tuple[str, ...], start: dt.date | None,
         end: dt.date | None, view: str, fmt: str, last: int | None) -> None:
    """Print the series: a row per capture date, a column per currency.

    \b
    Example:
      tracker show --currency TJS --from 2025-12-01
      tracker show --view per_usd --last 10
      tracker show --view index --format csv > index.csv
    """
    with Store.open(db_path, read_only=True) as store:
        wanted = checked_filters(store, currencies, start, end)
        table = read.series_view_table(store, wanted, start, end, view)
        counts = store.counts()
        empty = _nothing_shown(store, wanted, start, end) if table.num_rows == 0 else None
    rows: dict[dt.date, dict[str, dict[str, object]]] = {}
    for r in table.to_pylist():
        rows.setdefault(r["captured_on"], {})[r["label"]] = r
    if empty is not None:
        err(empty)
        return
    days = sorted(rows)
    shown = days[-last:] if last else days
    names = sorted({lab for day in shown for lab in rows[day]}, key=label_order)
    if fmt == "table":
        cells = {d: {n: _cell(rows[d][n], view) if n in rows[d] else "-" for n in names}
                 for d in shown}
        widths = {n: max(len(n), *(len(c[n]) for c in cells.values())) for n in names}
        click.echo("captured_on  " + "  ".join(n.ljust(widths[n]) for n in names).rstrip())
        for d in shown:
            click.echo(f"{d}   " + "  ".join(cells[d][n].ljust(widths[n]) for n in names).rstrip())
    else:
        records = [{"captured_on": d.isoformat(),
                    **{n: _value(rows[d][n], view) if n in rows[d] else None for n in names}}
                   for d in shown]
        if fmt == "json":
            click.echo(json.dumps(records, ensure_ascii=False, indent=1))
        else:
            import pyarrow.csv as pacsv

            columns = {"captured_on": pa.array([r["captured_on"] for r in records])}
            for n in names:
                values = [r[n] for r in records]
                columns[n] = pa.array(values, pa.string() if view == "rate" else pa.float64())
            pacsv.write_csv(pa.table(columns), sys.stdout.buffer)
            sys.stdout.flush()
    of = f"the last {len(shown)} of {len(days)}" if len(shown) < len(days) else f"{len(days)}"
    err(f"{of} capture date{'' if len(days) == 1 else 's'} ({view}) from "
        f"{plural(counts['ingested'], 'snapshot')} ({counts['undated']:,} undated, "
        f"{counts['rejected']:,} rejected)")


# -- export ---------------------------------------------------------------------------------------


@click.command()
@db_option
@click.option("--format", "fmt", type=click.Choice(export_mod.FORMATS),
              help="csv, json or parquet [default: from --output's extension, else csv].")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here instead of stdout; the format follows the extension (.csv, "
                   ".json, .parquet), e.g. -o tracker-series-per_usd.parquet.")
@filter_options
@view_option
@click.option("--all-snapshots", is_flag=True,
              help="Every quote of every snapshot (undated too), with snapshot id and source.")
def export(db_path: Path | None, fmt: str | None, output: Path | None,
           currencies: tuple[str, ...], start: dt.date | None, end: dt.date | None, view: str,
           all_snapshots: bool) -> None:
    """Export the series: one row per capture date and currency, in one shape for every
    format (columns in README.md, "Views, filters and the export shape"); rates and changes
    exactly as printed.

    \b
    Example:
      tracker export --currency KGS --from 2025-12-01 > kgs.csv
      tracker export --view per_usd -o per-usd.parquet
      tracker export --all-snapshots -o quotes.json
    """
    if output is not None:
        fmt = export_mod.format_of(output, fmt)
    fmt = fmt or "csv"
    if fmt == "parquet" and output is None and sys.stdout.isatty():
        raise click.UsageError("parquet is binary: give --output FILE or redirect stdout")
    with Store.open(db_path or default_db_path(), read_only=True) as store:
        wanted = checked_filters(store, currencies, start, end)
        table = export_mod.export_table(store, wanted, start, end, view,
                                        all_snapshots=all_snapshots)
        empty = _nothing_shown(store, wanted, start, end) if table.num_rows == 0 else None
    if empty is not None:
        err(empty)
    if output is None:
        data_out(lambda out: export_mod.write_table(table, fmt, out))
        return
    partial = output.with_name(f".{output.name}.partial")
    try:
        with open(partial, "wb") as fh:
            export_mod.write_table(table, fmt, fh)
        partial.replace(output)  # never a half-written file under the name asked for
    except OSError as exc:
        raise TrackerError(f"cannot write {output}: {exc.strerror or exc}; choose another "
                           "--output") from None  # (an I/O failure: exit 3, as the README says)
    finally:
        partial.unlink(missing_ok=True)
    err(f"wrote {plural(table.num_rows, 'row')} to {output}")
