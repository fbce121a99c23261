"""Writing the series (or every quote) as CSV, JSON or Parquet, exact as printed."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv

from . import read
from .store import Store

FORMATS = ("csv", "json", "parquet")
SERIES_COLUMNS = (
    "captured_on", "currency", "quote_currency", "rate", "change_pct", "snapshots",
    "distinct_rates",
)
ALL_COLUMNS = (
    "snapshot_id", "source", "captured_on", "date_source", "captured_at", "currency",
    "quote_currency", "rate", "change_pct", "ticker_copies", "copies_agree",
)


def export_table(
    db_path: Path | str | None,
    *,
    all_snapshots: bool = False,
    currencies: Sequence[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pa.Table:
    """The table `tracker export` writes.

    `rate` and `change_pct` are the printed texts (exact, with their resolution: `-0` stays
    `-0`) in CSV and JSON; Parquet gets exact decimals and keeps the texts beside them.
    """
    wanted = read.parse_labels(currencies) if currencies else None
    with Store.open(db_path, read_only=True) as store:
        if all_snapshots:
            return read.quotes_table(store, wanted, start, end)
        return read.series_table(store, wanted, start, end)


def write_table(table: pa.Table, fmt: str, out: BinaryIO, *, all_snapshots: bool = False) -> None:
    columns = ALL_COLUMNS if all_snapshots else SERIES_COLUMNS
    if fmt == "parquet":
        keep = [*columns, "rate_text", "change_text"]
        import pyarrow.parquet as pq  # (40 ms to import; only this format needs it)

        pq.write_table(table.select(keep), out)
        return
    printed = table.select(list(columns)).set_column(
        columns.index("rate"), "rate", table.column("rate_text")
    )
    printed = printed.set_column(columns.index("change_pct"), "change_pct", table.column("change_text"))
    if fmt == "csv":
        pacsv.write_csv(printed, out)
    elif fmt == "json":
        rows = printed.to_pylist()
        text = json.dumps(rows, default=_json_default, ensure_ascii=False, indent=1)
        out.write(text.encode("utf-8") + b"\n")
    else:  # pragma: no cover - the CLI restricts the choice
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _json_default(value: object) -> str:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)
