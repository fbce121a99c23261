"""The one export shape: the series (in one of the four views) or every quote, as CSV, JSON or
Parquet — the same columns under the same names in every format, for `tracker export` and the
dashboard's CSV download alike.

Series columns: `captured_on`, `currency`, `quote_currency`, `rate`, `rate_decimals`,
`change_pct`, `snapshots`, `distinct_rates`, `snapshot_id`, and for a view other than `rate`
its float value under the view's name (`per_usd`, `index`, `change`). CSV and JSON carry
`rate` and `change_pct` as the printed text (`0.00193`, `-0`: exact, with its resolution);
Parquet as exact decimals (DECIMAL(18,10), DECIMAL(18,6)) — the same numbers, typed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from . import read
from .errors import UsageError
from .store import Store
from .views import check_view

FORMATS = ("csv", "json", "parquet")
EXTENSIONS = {".csv": "csv", ".json": "json", ".parquet": "parquet", ".pq": "parquet"}
SERIES_COLUMNS = (
    "captured_on", "currency", "quote_currency", "rate", "rate_decimals", "change_pct",
    "snapshots", "distinct_rates", "snapshot_id",
)
ALL_COLUMNS = (
    "snapshot_id", "source", "captured_on", "date_source", "captured_at", "currency",
    "quote_currency", "rate", "rate_decimals", "change_pct", "ticker_copies", "copies_agree",
)
PRINTED = {"rate": "rate_text", "change_pct": "change_text"}  # CSV/JSON write these texts


def columns(view: str = "rate", *, all_snapshots: bool = False) -> tuple[str, ...]:
    """The export's column names, in order, for this view."""
    if all_snapshots:
        return ALL_COLUMNS
    return SERIES_COLUMNS if check_view(view) == "rate" else (*SERIES_COLUMNS, view)


def format_of(path: Path | str, given: str | None = None) -> str:
    """The format `-o PATH` asks for by its extension; `given` (--format) must agree."""
    suffix = Path(path).suffix.lower()
    fmt = EXTENSIONS.get(suffix)
    if fmt is None:
        raise UsageError(
            f"cannot tell the format of {path} from its extension {suffix or '(none)'}; "
            f"name it .csv, .json or .parquet"
        )
    if given is not None and given != fmt:
        raise UsageError(f"--format {given} contradicts the extension of {path} ({fmt}); "
                         "drop --format or rename the file")
    return fmt


def file_name(view: str = "rate", start: dt.date | None = None, end: dt.date | None = None,
              fmt: str = "csv", *, all_snapshots: bool = False) -> str:
    """`tracker-series-per_usd-2025-12-01_2025-12-22.csv`: what, which view, which dates."""
    what = "quotes" if all_snapshots else f"series-{check_view(view)}"
    span = f"{start or 'first'}_{end or 'last'}" if start or end else "all"
    return f"tracker-{what}-{span}.{fmt}"


def export_table(
    store: Store,
    wanted: Sequence[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    view: str = "rate",
    *,
    all_snapshots: bool = False,
) -> pa.Table:
    """The export's rows in the one shape (`columns`), exact decimals and printed texts;
    `write_table` turns it into a format."""
    check_view(view)
    if all_snapshots:
        if view != "rate":
            raise UsageError(f"--view {view} needs the series: every quote of every snapshot "
                             "has no view; drop --all-snapshots or --view")
        table = read.quotes_table(store, wanted, start, end)
    else:
        table = read.series_view_table(store, wanted, start, end, view)
        if view != "rate":
            table = table.append_column(view, table.column("value"))
    return table.select([*columns(view, all_snapshots=all_snapshots), *PRINTED.values()])


def visible(table: pa.Table, start: dt.date | None, end: dt.date | None) -> pa.Table:
    """Only the rows captured from `start` to `end` (the dashboard's visible range)."""
    if start is not None:
        table = table.filter(pc.greater_equal(table.column("captured_on"), pa.scalar(start)))
    if end is not None:
        table = table.filter(pc.less_equal(table.column("captured_on"), pa.scalar(end)))
    return table


def write_table(table: pa.Table, fmt: str, out: BinaryIO) -> None:
    """`table` (from `export_table`) as `fmt` to `out`."""
    names = [n for n in table.column_names if n not in PRINTED.values()]
    if fmt == "parquet":
        import pyarrow.parquet as pq  # (40 ms to import; only this format needs it)

        pq.write_table(table.select(names), out)
        return
    printed = table.select(names)
    for name, text in PRINTED.items():
        printed = printed.set_column(names.index(name), name, table.column(text))
    if fmt == "csv":
        pacsv.write_csv(printed, out)
    elif fmt == "json":
        rows = printed.to_pylist()
        text = json.dumps(rows, default=_json_default, ensure_ascii=False, indent=1,
                          allow_nan=False)
        out.write(text.encode("utf-8") + b"\n")
    else:
        raise UsageError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def csv_text(table: pa.Table) -> str:
    """`table` as the CSV `write_table` writes (the dashboard's download)."""
    sink = pa.BufferOutputStream()
    write_table(table, "csv", sink)
    return bytes(sink.getvalue()).decode("utf-8")


def _json_default(value: object) -> str:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)
