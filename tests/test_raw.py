"""The raw archive: `compress_many` is `compress` of each; every read is checked against the id."""

from __future__ import annotations

import hashlib
import os

import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from tracker.errors import ArchiveError
from tracker.raw import compress, compress_many, decompress


def _id(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("datas", [
    [],
    [b""],
    [b"", b""],
    [b"a"],
    [b"", b"ticker KGS 0.01144", b"", os.urandom(50_000), b"x" * 100_000, b""],
])
def test_compress_many_makes_the_frames_compress_makes(datas):
    frames = compress_many(datas)
    assert frames == [compress(d) for d in datas]
    # empty inputs get a valid frame too
    assert [decompress(f, snapshot_id=_id(d)) for f, d in zip(frames, datas, strict=True)] == datas


PAGE = "• KGS/USD = 0.01144 0%\n  • KZT/USD = 0.00193 -0%\n10 December 2025\n".encode() * 20


def test_frames_carry_a_checksum():
    params = zstandard.get_frame_parameters(compress(PAGE))
    assert params.has_checksum


@given(st.integers(min_value=0), st.integers(min_value=0, max_value=7))
def test_a_flipped_bit_is_never_decoded_into_other_bytes(position, bit):
    frame = bytearray(compress(PAGE))
    frame[position % len(frame)] ^= 1 << bit
    try:
        data = decompress(bytes(frame), snapshot_id=_id(PAGE))
    except ArchiveError as exc:
        assert "tracker verify" in str(exc)
    else:  # a flip zstd cannot even notice (e.g. in an unused header bit) must give the same bytes
        assert data == PAGE


def test_bytes_that_decode_but_do_not_match_the_id_are_refused():
    # a frame without checksum (as packs written before checksums were) holding other bytes
    other = zstandard.ZstdCompressor().compress(PAGE.replace(b"0.01144", b"0.01147"))
    with pytest.raises(ArchiveError, match="do not match its SHA-256"):
        decompress(other, snapshot_id=_id(PAGE))
