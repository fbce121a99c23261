"""Rows of the store's `snapshots` and `quotes` tables, and their Arrow form.

Light to import (no DuckDB, no pandas): ingest builds these tables and the store inserts
them as they are. Rows are named tuples in column order, so a batch of them turns into
columns with one `zip(*rows)` instead of an attribute lookup per cell.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple, cast

import numpy as np
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
    original_url: str | None  # the page's address: fetched URL or WARC-Target-URI
    declared_charset: str | None  # by the container or HTTP header; '' none, None not known
    warnings: tuple[str, ...]  # (last: `Store.snapshot_rows` reads it as `r[-1]`)


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
SNAPSHOT_SCHEMA = pa.schema([
    ("snapshot_id", pa.string()), ("source", pa.string()), ("captured_on", pa.date32()),
    ("date_source", pa.string()), ("captured_at", pa.timestamp("us")),
    ("captured_at_source", pa.string()),
    ("ingested_at", pa.timestamp("us")), ("status", pa.string()), ("reason", pa.string()),
    ("ticker_copies", pa.int32()), ("copies_agree", pa.bool_()),
    ("parser_version", pa.string()), ("header_date", pa.date32()),
    ("filename_date", pa.date32()), ("user_date", pa.date32()), ("date_note", pa.string()),
    ("content_type", pa.string()), ("size_bytes", pa.int64()), ("listing", pa.string()),
    ("title", pa.string()), ("original_url", pa.string()), ("declared_charset", pa.string()),
    ("warnings", pa.list_(pa.string())),
])
QUOTE_SCHEMA = pa.schema([
    ("snapshot_id", pa.string()), ("position", pa.int16()), ("currency", pa.string()),
    ("quote_currency", pa.string()), ("rate_text", pa.string()), ("rate_decimals", pa.int8()),
    ("change_text", pa.string()), ("change_decimals", pa.int8()),
])


def to_arrow(rows: Sequence[tuple[object, ...]], schema: pa.Schema) -> pa.Table:
    if not rows:
        return schema.empty_table()
    return arrow_table(dict(zip(schema.names, zip(*rows, strict=True), strict=True)), schema)


def snapshot_table(rows: Sequence[SnapshotRow]) -> pa.Table:
    return to_arrow(rows, SNAPSHOT_SCHEMA)


def quote_table(rows: Sequence[QuoteRow]) -> pa.Table:
    return to_arrow(rows, QUOTE_SCHEMA)


def arrow_table(columns: Mapping[str, Sequence[object]], schema: pa.Schema) -> pa.Table:
    """`pa.table(columns, schema=schema)`, built with `arrow_array`."""
    return pa.Table.from_arrays(
        [arrow_array(columns[f.name], f.type) for f in schema], schema=schema
    )


def ids_table(name: str, values: Sequence[str]) -> pa.Table:
    """A one-column table of strings (ids or paths to look up)."""
    return arrow_table({name: values}, pa.schema([(name, pa.string())]))


_EPOCH_DAY = dt.date(1970, 1, 1).toordinal()
_EPOCH = dt.datetime(1970, 1, 1)
_MICROSECOND = dt.timedelta(microseconds=1)
_INTEGERS: dict[pa.DataType, type[np.integer]] = {
    pa.int8(): np.int8, pa.int16(): np.int16, pa.int32(): np.int32, pa.int64(): np.int64}


def arrow_array(values: Sequence[object], type_: pa.DataType) -> pa.Array:
    """`pa.array(values, type_)` for the store's column types, assembled from buffers.

    pyarrow's own conversion of Python objects imports pandas the first time it runs (to
    check whether they are pandas objects): a GIL-holding import in every ingest process,
    stalling the parsing thread, for a library ingest never uses. Buys: 0.18–0.20 s per
    `tracker ingest` (the import), against 2 µs per snapshot slower than `pa.array` once
    pandas is loaded (4.6 vs 2.5 µs): 0.14 s net over 20,000 snapshots, the whole 0.19 s on a
    small run. Types: string, the integers, bool, date32, timestamp[us] (naive UTC),
    list<string>; `None` is null.
    """
    n = len(values)
    nulls = [v is None for v in values]
    null_count = sum(nulls)
    valid = (
        pa.py_buffer(np.packbits(np.logical_not(nulls), bitorder="little")) if null_count else None
    )
    if pa.types.is_string(type_):
        texts = cast("Sequence[str]", [v or "" for v in values] if null_count else values)
        joined = "".join(texts)
        if joined.isascii():  # (ids, currencies, numbers: one encode, lengths as they are)
            lengths: Iterable[int] = map(len, texts)
            data = joined.encode("ascii")
        else:
            encoded = [t.encode() for t in texts]
            lengths, data = map(len, encoded), b"".join(encoded)
        return pa.Array.from_buffers(
            type_, n, [valid, _offsets(lengths, n), pa.py_buffer(data)], null_count
        )
    if pa.types.is_list(type_):
        items = cast("list[Sequence[str]]", [() if v is None else v for v in values])
        child = arrow_array([x for v in items for x in v], type_.value_type)
        return pa.Array.from_buffers(
            type_, n, [valid, _offsets(map(len, items), n)], null_count, children=[child]
        )
    if pa.types.is_boolean(type_):
        bits = np.packbits(np.array([bool(v) for v in values], dtype=bool), bitorder="little")
        return pa.Array.from_buffers(type_, n, [valid, pa.py_buffer(bits)], null_count)
    if pa.types.is_date32(type_):
        numbers = [0 if v is None else v.toordinal() - _EPOCH_DAY for v in values]  # type: ignore[attr-defined]
        kind: type[np.integer] = np.int32
    elif pa.types.is_timestamp(type_) and type_.unit == "us" and type_.tz is None:
        numbers = [0 if v is None else _micros(v) for v in values]  # type: ignore[arg-type]
        kind = np.int64
    elif type_ in _INTEGERS:
        numbers = [0 if v is None else v for v in values]
        kind = _INTEGERS[type_]
    else:
        raise TypeError(f"no Arrow builder for {type_}")
    return pa.Array.from_buffers(
        type_, n, [valid, pa.py_buffer(np.array(numbers, dtype=kind))], null_count
    )


def _offsets(lengths: Iterable[int], n: int) -> pa.Buffer:
    ends = np.cumsum(np.fromiter(lengths, dtype=np.int64, count=n))
    if n and ends[-1] > np.iinfo(np.int32).max:
        raise OverflowError("over 2 GiB of text in one Arrow column; use smaller batches")
    offsets = np.zeros(n + 1, dtype=np.int32)
    offsets[1:] = ends
    return pa.py_buffer(offsets)


def _micros(value: dt.datetime) -> int:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return (value - _EPOCH) // _MICROSECOND
