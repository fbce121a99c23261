"""Rows of the store's `snapshots` and `quotes` tables, and their Arrow form.

Light to import (no DuckDB, no pandas): ingest workers build these tables and the
store inserts them as they are. Rows are named tuples in column order, so a batch of them
turns into columns with one `zip(*rows)` instead of an attribute lookup per cell.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

import pyarrow as pa


class SnapshotRow(NamedTuple):
    """One row of `snapshots`, as the ingest layer hands it over."""

    snapshot_id: str
    source: str
    captured_on: dt.date | None
    date_source: str
    captured_at: dt.datetime | None
    captured_at_source: str | None
    ingested_at: dt.datetime
    status: str
    reason: str | None
    ticker_copies: int | None
    copies_agree: bool | None
    parser_version: str
    header_date: dt.date | None
    filename_date: dt.date | None
    user_date: dt.date | None
    date_note: str | None
    content_type: str | None
    size_bytes: int
    listing: str | None
    title: str | None
    warnings: tuple[str, ...]


class QuoteRow(NamedTuple):
    snapshot_id: str
    position: int
    currency: str
    quote_currency: str
    rate_text: str
    rate_decimals: int
    change_text: str
    change_decimals: int


SNAPSHOT_COLUMNS = SnapshotRow._fields
QUOTE_COLUMNS = QuoteRow._fields
SNAPSHOT_SCHEMA = pa.schema([
    ("snapshot_id", pa.string()), ("source", pa.string()), ("captured_on", pa.date32()),
    ("date_source", pa.string()), ("captured_at", pa.timestamp("us")),
    ("captured_at_source", pa.string()),
    ("ingested_at", pa.timestamp("us")), ("status", pa.string()), ("reason", pa.string()),
    ("ticker_copies", pa.int32()), ("copies_agree", pa.bool_()),
    ("parser_version", pa.string()), ("header_date", pa.date32()),
    ("filename_date", pa.date32()), ("user_date", pa.date32()), ("date_note", pa.string()),
    ("content_type", pa.string()), ("size_bytes", pa.int64()), ("listing", pa.string()),
    ("title", pa.string()), ("warnings", pa.list_(pa.string())),
])
QUOTE_SCHEMA = pa.schema([
    ("snapshot_id", pa.string()), ("position", pa.int16()), ("currency", pa.string()),
    ("quote_currency", pa.string()), ("rate_text", pa.string()), ("rate_decimals", pa.int8()),
    ("change_text", pa.string()), ("change_decimals", pa.int8()),
])


def to_arrow(rows: Sequence[tuple], columns: Sequence[str], schema: pa.Schema) -> pa.Table:
    if not rows:
        return schema.empty_table()
    return pa.table(dict(zip(columns, zip(*rows, strict=True), strict=True)), schema=schema)


def snapshot_table(rows: Sequence[SnapshotRow]) -> pa.Table:
    return to_arrow(rows, SNAPSHOT_COLUMNS, SNAPSHOT_SCHEMA)


def quote_table(rows: Sequence[QuoteRow]) -> pa.Table:
    return to_arrow(rows, QUOTE_COLUMNS, QUOTE_SCHEMA)
