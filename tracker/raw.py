"""Raw snapshot bytes as kept in the store: zstd-compressed, addressed by their SHA-256.

The bytes live in the `raw_snapshots` table of the same DuckDB file, written in the same
transaction as the snapshot's rows: a snapshot is never recorded without its raw bytes, and
raw bytes never linger without their snapshot.
"""

from __future__ import annotations

import zstandard

from .errors import ArchiveError

CODEC = "zstd"
_LEVEL = 1


def compress(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=_LEVEL).compress(data)


def decompress(blob: bytes, codec: str = CODEC, *, snapshot_id: str = "?") -> bytes:
    if codec != CODEC:
        raise ArchiveError(f"raw snapshot {snapshot_id[:12]} uses unknown codec {codec!r}")
    try:
        return zstandard.ZstdDecompressor().decompress(blob)
    except zstandard.ZstdError as exc:
        raise ArchiveError(f"raw snapshot {snapshot_id[:12]} is corrupt: {exc}") from None
