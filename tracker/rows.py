"""Rows of the store's `snapshots` and `quotes` tables, and their Arrow form.

Light to import (no DuckDB, no pandas): ingest workers build these tables and the
store inserts them as they are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter

import pyarrow as pa


@dataclass(frozen=True)
class SnapshotRow:
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


@dataclass(frozen=True)
class QuoteRow:
    snapshot_id: str
    position: int
    currency: str
    quote_currency: str
    rate_text: str
    rate_decimals: int
    change_text: str
    change_decimals: int


SNAPSHOT_COLUMNS = (
    "snapshot_id", "source", "captured_on", "date_source", "captured_at", "captured_at_source",
    "ingested_at",
    "status", "reason", "ticker_copies", "copies_agree", "parser_version", "header_date",
    "filename_date", "user_date", "date_note", "content_type", "size_bytes", "listing",
    "title", "warnings",
)
QUOTE_COLUMNS = (
    "snapshot_id", "position", "currency", "quote_currency", "rate_text", "rate_decimals",
    "change_text", "change_decimals",
)
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


def to_arrow(rows: Sequence[object], columns: Sequence[str], schema: pa.Schema) -> pa.Table:
    if not rows:
        return schema.empty_table()
    values = zip(*map(attrgetter(*columns), rows), strict=True)
    return pa.table(dict(zip(columns, map(list, values), strict=True)), schema=schema)


def snapshot_table(rows: Sequence[SnapshotRow]) -> pa.Table:
    return to_arrow(rows, SNAPSHOT_COLUMNS, SNAPSHOT_SCHEMA)


def quote_table(rows: Sequence[QuoteRow]) -> pa.Table:
    return to_arrow(rows, QUOTE_COLUMNS, QUOTE_SCHEMA)
