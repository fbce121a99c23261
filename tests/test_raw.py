"""The raw archive's compression: `compress_many` is `compress` of each, empty inputs too."""

from __future__ import annotations

import os

import pytest

from tracker.raw import compress, compress_many, decompress


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
    assert [decompress(f) for f in frames] == datas  # empty inputs get a valid frame too
