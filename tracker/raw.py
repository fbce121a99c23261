"""The raw-snapshot archive: every snapshot's bytes, zstd-compressed, content-addressed.

`data/raw/ab/abcdef….zst` for snapshot id `abcdef…`. Files are written to a temporary
name and renamed, so a crash never leaves a half-written snapshot under its real name.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import zstandard

from .errors import ArchiveError

_LEVEL = 3


def raw_path(raw_dir: Path, snapshot_id: str) -> Path:
    return Path(raw_dir) / snapshot_id[:2] / f"{snapshot_id}.zst"


def keep_raw(raw_dir: Path, snapshot_id: str, data: bytes) -> Path:
    """Store `data` under its id unless it is already there; returns the file's path."""
    path = raw_path(raw_dir, snapshot_id)
    if path.exists():
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".zst")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(zstandard.ZstdCompressor(level=_LEVEL).compress(data))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ArchiveError(
            f"cannot keep the raw snapshot in {path.parent} ({exc.strerror or exc}); "
            "make the raw folder writable (or free space) and ingest again"
        ) from None
    return path


def load_raw(raw_dir: Path, snapshot_id: str) -> bytes:
    path = raw_path(raw_dir, snapshot_id)
    try:
        return zstandard.ZstdDecompressor().decompress(path.read_bytes())
    except FileNotFoundError:
        raise ArchiveError(
            f"raw snapshot {snapshot_id[:12]}… is missing from {raw_dir}; "
            "ingest its source file again to restore it"
        ) from None
    except (OSError, zstandard.ZstdError) as exc:
        raise ArchiveError(f"cannot read raw snapshot {path}: {exc}") from None
