"""The raw archive: every snapshot's original bytes, zstd-compressed, addressed by SHA-256.

Each ingest batch appends its snapshots to one pack file
(`data/tracker.duckdb.raw/<time>-<pid>-<uuid8>.pack`, a sequence of zstd frames) written under a temporary
name (`.<pack name>.tmp`), flushed to disk and renamed before the batch's database transaction
commits; the `raw_snapshots` table maps every snapshot id to its frame. So a snapshot is never
recorded without its raw bytes, and a crash can at worst leave an unreferenced pack behind. One
file per batch instead of one per snapshot keeps ingestion fast (thousands of snapshots a
second).

A killed writer may also leave a half-written temporary pack. Opening a writable store removes
those whose writer is certainly gone: the pid in the name is no live process (see
`remove_partial_packs`). A temporary pack that this process, or another live one, is writing is
never touched: one process may hold several writable stores at once, each of them mid-pack.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import os
import re
import stat
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import zstandard

from .errors import ArchiveError

CODEC = "zstd"
_LEVEL = 1
REPAIR = "run `tracker verify` to list what is damaged, then ingest its source again to restore it"


_local = threading.local()  # zstd contexts are reusable but not thread-safe


def _compressor() -> zstandard.ZstdCompressor:
    """This thread's compressor, made on first use."""
    compressor = getattr(_local, "compressor", None)
    if compressor is None:
        # the frame checksum catches damage zstd would otherwise decode into other bytes
        compressor = _local.compressor = zstandard.ZstdCompressor(level=_LEVEL, write_checksum=True)
    return compressor


def compress(data: bytes) -> bytes:
    return _compressor().compress(data)


def compress_many(datas: Sequence[bytes]) -> list[bytes]:
    """`compress` of each, in one call that releases the GIL once for the whole batch.

    (Per-call release and re-acquisition lets a busy parsing thread hold the store thread up
    for a switch interval, 5 ms, after every page.) Buys: nothing measurable at load 6–7 on
    2 cores (median 38× grep -r vs 42× per page, 4 runs each); kept for an idle machine, where
    that wait is what paces the store thread. The frames are the same as `compress` makes.
    """
    compressor = _compressor()
    full: list[bytes | bytearray | memoryview]  # the element type zstd's batch call declares
    full = [data for data in datas if data]  # zstd's batch call refuses an empty input...
    frames = iter(compressor.multi_compress_to_buffer(full, threads=1) if full else ())
    empty = compressor.compress(b"")  # ...which gets the frame `compress(b"")` makes
    return [next(frames).tobytes() if data else empty for data in datas]


def decompress(blob: bytes, codec: str = CODEC, *, snapshot_id: str) -> bytes:
    """The snapshot's original bytes, checked against its id (their SHA-256).

    Packs written before frames carried checksums still decode, so the hash is what
    guarantees that a damaged pack is never parsed into other numbers.
    """
    if codec != CODEC:
        raise ArchiveError(f"raw snapshot {snapshot_id[:12]} uses unknown codec {codec!r}")
    try:
        data = zstandard.ZstdDecompressor().decompress(blob)
    except zstandard.ZstdError as exc:
        raise ArchiveError(
            f"raw bytes of snapshot {snapshot_id[:12]} are corrupt ({exc}); {REPAIR}"
        ) from None
    if hashlib.sha256(data).hexdigest() != snapshot_id:
        raise ArchiveError(
            f"raw bytes of snapshot {snapshot_id[:12]} do not match its SHA-256 "
            f"(the pack is damaged); {REPAIR}"
        )
    return data


def write_pack(raw_dir: Path, blobs: Sequence[tuple[str, bytes]]) -> list[tuple[str, str, int, int]]:
    """Write compressed blobs to a new pack; returns (snapshot_id, pack, offset, length) rows."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    name = f"{stamp}-{os.getpid()}-{uuid.uuid4().hex[:8]}.pack"
    path = Path(raw_dir) / name
    tmp = path.with_name("." + name + ".tmp")
    index = []
    offset = 0
    for sid, blob in blobs:
        index.append((sid, name, offset, len(blob)))
        offset += len(blob)
    with _writing_lock:
        _writing.add(tmp.name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(b"".join(blob for _, blob in blobs))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        why = exc.strerror or str(exc)
        if path.parent.exists() and not path.parent.is_dir():
            why = "a file is in the way, not a folder"
        raise ArchiveError(
            f"cannot keep raw snapshots in {path.parent} ({why}); make the raw "
            "folder writable (or free space) and ingest again — the snapshots of this batch "
            "were not recorded, those committed before it are kept"
        ) from None
    finally:
        with _writing_lock:
            _writing.discard(tmp.name)
    return index


# temporary packs this process is writing right now (another store may open meanwhile)
_writing: set[str] = set()
_writing_lock = threading.Lock()


# `.<time>-<pid>-<uuid8>.pack.tmp`, as `write_pack` names its temporary files
_TEMP_PACK = re.compile(r"\.\d{8}T\d{6}-(\d{1,10})-[0-9a-f]{8}\.pack\.tmp")
# seconds unmodified after which a temporary pack whose writer cannot be told counts as abandoned
ABANDONED_AFTER = 24 * 3600.0


def remove_partial_packs(raw_dir: Path, *, shared: bool = False) -> int:
    """Delete temporary packs that killed writers left half-written; returns how many.

    Such a pack is never referenced by the database, but a writer may still be writing it:
    DuckDB's write lock keeps other processes out while this one holds the database, yet this
    process may hold several writable stores at once (two dashboard uploads, `Tracker.ingest`
    from two threads), each writing its own packs. So a temporary pack is removed only when its
    writer is certainly gone:

    - its name carries a pid (`.<time>-<pid>-<uuid8>.pack.tmp`): removed when no process has
      that pid, or when the pid is this process's own but this process is not writing it
      (an earlier process with the same pid, as in containers); never when it is a live
      process's;
    - otherwise (an unexpected name, or a system where liveness cannot be asked): removed once
      it has not been modified for `ABANDONED_AFTER` (a day).

    In a folder `shared` with other databases (the `raw/` of databases created before schema
    version 8), their writers are not kept out by this database's lock, and one in another pid
    namespace (a container) looks gone: there a temporary pack must also be untouched for
    `ABANDONED_AFTER`.

    Cheap enough for every writable open: one directory scan, and a `stat` only of a temporary
    pack whose writer cannot be told.
    """
    try:
        with os.scandir(raw_dir) as entries:
            leftovers = [e for e in entries
                         if e.name.startswith(".") and e.name.endswith(".pack.tmp")]
    except OSError:
        return 0
    removed = 0
    alive: dict[int, bool | None] = {}
    for entry in leftovers:
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            match = _TEMP_PACK.fullmatch(entry.name)
            pid = int(match[1]) if match else 0
            if pid == os.getpid():  # otherwise an earlier process with this pid left it
                with _writing_lock:
                    live: bool | None = entry.name in _writing
            else:
                if pid > 0 and pid not in alive:
                    alive[pid] = _pid_alive(pid)
                live = alive[pid] if pid > 0 else None
            if live is None or (shared and not live):  # abandoned only when untouched for long
                live = entry.stat(follow_symlinks=False).st_mtime > time.time() - ABANDONED_AFTER
            if not live:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue
    return removed


def _pid_alive(pid: int) -> bool | None:
    """Whether a process has this pid; None when that cannot be asked."""
    if os.name == "nt":  # os.kill would terminate the process there
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except (OSError, OverflowError, ValueError):
        return None
    return True


def open_pack(path: Path) -> BinaryIO:
    """A pack opened for reading. Anything but a regular file is an `OSError`, found without
    blocking: opening a FIFO put where a pack was would wait for a writer forever."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_blob(raw_dir: Path, pack: str, offset: int, length: int, *, snapshot_id: str) -> bytes:
    path = Path(raw_dir) / pack
    try:
        with open_pack(path) as fh:
            fh.seek(offset)
            blob = fh.read(length)
    except OSError as exc:
        raise ArchiveError(
            f"raw bytes of snapshot {snapshot_id[:12]} cannot be read from {path} "
            f"({exc.strerror or exc}); {REPAIR}"
        ) from None
    if len(blob) != length:
        raise ArchiveError(f"raw pack {path} is truncated at snapshot {snapshot_id[:12]}; {REPAIR}")
    return blob
