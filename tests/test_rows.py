"""Arrow tables of store rows: built from buffers, equal to what pyarrow's conversion makes."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.rows import (
    QUOTE_SCHEMA,
    SNAPSHOT_SCHEMA,
    QuoteRow,
    SnapshotRow,
    arrow_array,
    arrow_table,
)

from .golden import SAMPLES

naive = st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2200, 1, 1))
VALUES = {
    pa.string(): st.text(),
    pa.int8(): st.integers(-128, 127),
    pa.int16(): st.integers(-(2**15), 2**15 - 1),
    pa.int32(): st.integers(-(2**31), 2**31 - 1),
    pa.int64(): st.integers(-(2**63), 2**63 - 1),
    pa.bool_(): st.booleans(),
    pa.date32(): st.dates(),
    pa.timestamp("us"): naive,
    pa.list_(pa.string()): st.lists(st.text(), max_size=3).map(tuple),
}


@pytest.mark.parametrize("type_", list(VALUES), ids=str)
@given(data=st.data())
def test_arrow_array_is_pyarrows_conversion(type_, data):
    values = data.draw(st.lists(st.none() | VALUES[type_], max_size=40))
    built = arrow_array(values, type_)
    built.validate(full=True)
    assert built.equals(pa.array(values, type_))


def test_aware_timestamps_are_stored_in_utc():
    aware = dt.datetime(2025, 12, 10, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    assert arrow_array([aware], pa.timestamp("us")).to_pylist() == [dt.datetime(2025, 12, 10, 3, 30)]


def test_out_of_range_numbers_are_refused_not_wrapped():
    with pytest.raises(OverflowError):
        arrow_array([300], pa.int8())


def test_every_column_type_of_the_store_rows_has_a_builder():
    for schema in (SNAPSHOT_SCHEMA, QUOTE_SCHEMA):
        table = arrow_table({name: [None] for name in schema.names}, schema)
        assert table.schema == schema and table.num_rows == 1


def test_schemas_name_the_row_fields_in_order():
    """`to_arrow` pairs columns by position: a renamed or reordered field must show here."""
    assert SNAPSHOT_SCHEMA.names == list(SnapshotRow._fields)
    assert QUOTE_SCHEMA.names == list(QuoteRow._fields)


def test_ingest_does_not_import_pandas(tmp_path):
    """pyarrow's conversion would import it: ~0.3 s holding the GIL in every ingest."""
    code = (
        "import sys; from tracker.ingest import ingest_paths; "
        f"s = ingest_paths([{str(SAMPLES)!r}], db_path={str(tmp_path / 't.duckdb')!r}); "
        "assert s.outcomes; print('pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
