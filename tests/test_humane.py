"""Numbers, sizes and times for people (tracker/humane.py): the examples, and the rules."""

from __future__ import annotations

import datetime as dt
import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker import humane


def test_the_examples_run():
    assert doctest.testmod(humane).failed == 0


@pytest.mark.parametrize(("n_bytes", "text"), [
    (0, "0 bytes"), (1, "1 byte"), (1023, "1,023 bytes"), (1024, "1 KiB"), (1536, "1.5 KiB"),
    (5 * 1024 * 1024, "5 MiB"), (5_242_881, "5 MiB"), (1000 * 1024, "1000 KiB"),
    (3 * 1024**3 + 1, "3 GiB"), (2**50, "1024 TiB"),
])
def test_sizes_in_binary_units(n_bytes, text):
    assert humane.size(n_bytes) == text


@given(st.integers(min_value=0, max_value=2**60))
def test_a_size_is_a_number_and_a_unit_within_half_a_percent(n_bytes):
    number, unit = humane.size(n_bytes).split(" ")
    scale = {"byte": 1, "bytes": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3,
             "TiB": 1024**4}[unit]
    assert abs(float(number.replace(",", "")) * scale - n_bytes) <= 0.005 * n_bytes


def test_plurals_and_moments():
    assert [humane.plural(n, "snapshot") for n in (0, 1, 2, 1500)] == [
        "0 snapshots", "1 snapshot", "2 snapshots", "1,500 snapshots"]
    assert humane.plural(1, "entry", "entries") == "1 entry"
    assert humane.moment(dt.datetime(2025, 12, 10, 8, 30, 5, 999999)) == "2025-12-10 08:30:05"
    assert humane.moment(None) == "—"
