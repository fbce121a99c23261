"""Hostile inputs: each ends with its reason in time linear in its size, through the real command.

Times are bounded by a generous multiple of a linear baseline measured in the same test on the
same machine (a quadratic decoder or parser takes minutes on these inputs), never by seconds.
"""

from __future__ import annotations

import gzip
import re
import time

from tests.proc import run_tracker
from tracker.prepare import MAX_BYTES, RawInput, read_input


def _linear_baseline(data: bytes) -> float:
    """Seconds for Python-level work per gzip member of `data`: what a linear decoder pays."""
    started = time.perf_counter()
    for _ in re.finditer(rb"\x1f\x8b", data):
        bytearray(32)
    return time.perf_counter() - started


def test_five_megabytes_of_empty_gzip_members_are_read_in_linear_time(tmp_path):
    member = gzip.compress(b"", mtime=0)
    data = member * (MAX_BYTES // len(member))
    started = time.perf_counter()
    assert read_input(RawInput(source="empty.gz", data=data)) == b""
    elapsed = time.perf_counter() - started
    assert elapsed < 50 * _linear_baseline(data) + 1.0, elapsed

    path = tmp_path / "members.txt.gz"
    path.write_bytes(data)
    result = run_tracker("ingest", "--db", tmp_path / "t.duckdb", path)
    assert result.code == 1
    assert re.search(r"rejected: .*members\.txt\.gz: .*empty", result.stderr), result.stderr


def test_many_members_decode_to_their_concatenation():
    parts = [b"\xe2\x80\xa2 KGS/USD = 0.01144 0%\n" * k for k in range(200)]
    data = b"".join(gzip.compress(p, mtime=0) + b"\x00" * (k % 3) for k, p in enumerate(parts))
    assert read_input(RawInput(source="m.gz", data=data)) == b"".join(parts)
