"""Checking the raw archive as a whole: every snapshot's frame against its SHA-256, packs that
are missing or unreferenced. `tracker verify` prints what it finds and how to repair each.

Re-ingesting a damaged snapshot's source repairs it: the ingest compares the kept frame of
every snapshot it finds already stored with the bytes in hand (`damaged_frames`) and writes a
new frame for those that are lost or differ.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import zstandard

from .errors import ArchiveError
from .raw import CODEC, decompress, open_pack
from .store import Store
from .store.connection import LEGACY_RAW
from .store.rawfolder import Sharing, sharing
from .store.rawindex import Location

UPLOAD_PREFIX = "upload/"  # the dashboard's uploads (dashboards.upload.SOURCE_PREFIX)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the archive: `kind` is `missing`, `corrupt`, `orphan` or `partial`."""

    kind: str
    where: str  # the snapshot's source, or the pack's path
    reason: str
    repair: str


def _read_frame(fh: BinaryIO, offset: int, length: int) -> bytes | None:
    fh.seek(offset)
    blob = fh.read(length)
    return blob if len(blob) == length else None


def _frames(raw_dir: Path, items: Sequence[tuple[str, Location]]
            ) -> Iterator[tuple[str, bytes | None, str | None]]:
    """`(snapshot_id, frame or None, why not)` for each item, every pack opened once."""
    handles: dict[str, BinaryIO | str] = {}
    with ExitStack() as stack:
        for sid, (_codec, pack, offset, length) in items:
            if pack not in handles:
                try:
                    handles[pack] = stack.enter_context(open_pack(raw_dir / pack))
                except OSError as exc:
                    handles[pack] = f"pack {raw_dir / pack} cannot be read ({exc.strerror or exc})"
            fh = handles[pack]
            if isinstance(fh, str):
                yield sid, None, fh
                continue
            try:
                blob = _read_frame(fh, offset, length)
            except OSError as exc:
                yield sid, None, f"pack {raw_dir / pack} cannot be read ({exc.strerror or exc})"
                continue
            yield sid, blob, None if blob is not None else f"pack {raw_dir / pack} is truncated"


def damaged_frames(raw_dir: Path, kept: Sequence[tuple[str, Location, bytes]]) -> list[str]:
    """The ids whose kept frame is missing or does not decode to exactly the bytes in hand.

    The bytes in hand have the snapshot's SHA-256, so comparing them is the check (no hash).
    """
    data = {sid: content for sid, _, content in kept}
    bad = []
    decompressor = zstandard.ZstdDecompressor()
    for sid, blob, _why in _frames(raw_dir, [(sid, loc) for sid, loc, _ in kept]):
        want = data[sid]
        try:
            ok = blob is not None and decompressor.decompress(
                blob, max_output_size=len(want) + 1) == want
        except zstandard.ZstdError:
            ok = False
        if not ok:
            bad.append(sid)
    return bad


def repair_hint(source: str, db: Path) -> str:
    """How to bring a snapshot's bytes back: ingest (upload, fetch) its source again."""
    if source.startswith(UPLOAD_PREFIX):
        return f"upload {source.removeprefix(UPLOAD_PREFIX)} again in the dashboard"
    if "://" in source:
        return f"fetch it again: tracker schedule --db {shlex.quote(str(db))} --url " \
               f"{shlex.quote(source)} --every 1h (stop it after its first run)"
    return f"ingest its source again: tracker ingest --db {shlex.quote(str(db))} " \
           f"{shlex.quote(source)}"


def verify_archive(db_path: Path) -> tuple[int, list[Problem]]:
    """Check every snapshot's raw frame and every pack; `(frames checked, problems)`."""
    with Store.open(db_path, read_only=True) as store:
        raw_dir = store.raw_dir
        located = store.raw_locations()
        unrecorded = store.snapshots_without_raw()
        sources = store.sources_of(sorted(located))
        referenced = store.referenced_packs()
    problems = [
        Problem("missing", source, f"snapshot {sid[:12]} has no raw bytes recorded",
                repair_hint(source, db_path))
        for sid, source in unrecorded
    ]
    order = sorted(located.items(), key=lambda kv: (kv[1][1], kv[1][2]))
    for sid, blob, why in _frames(raw_dir, order):
        source = sources.get(sid, f"(snapshot {sid[:12]}, no longer in the database)")
        if blob is None:
            problems.append(Problem("missing", source, f"snapshot {sid[:12]}: {why}",
                                    repair_hint(source, db_path)))
            continue
        try:
            decompress(blob, located[sid][0], snapshot_id=sid)
        except ArchiveError as exc:
            reason = str(exc).partition("; run `tracker verify`")[0]
            problems.append(Problem("corrupt", source, reason, repair_hint(source, db_path)))
    problems += _stray_packs(raw_dir, referenced, db_path)
    return len(located), problems


def _stray_packs(raw_dir: Path, referenced: set[str], db_path: Path) -> list[Problem]:
    """Packs no snapshot points at (an ingest interrupted before its commit, or one in
    progress), and temporary packs a killed writer left.

    A pack this database does not point at may be another's that shares the folder (`raw/`
    of databases created before schema version 8): it is an orphan only when no database in
    the folder points at it, and never one to delete while a database there cannot be read.
    """
    try:
        with os.scandir(raw_dir) as entries:
            names = sorted(e.name for e in entries if e.is_file(follow_symlinks=False))
    except OSError:
        return []
    strays = [n for n in names if n.endswith(".pack") and not n.startswith(".")
              and n not in referenced]
    others = sharing(raw_dir, db_path) if strays else Sharing(frozenset(), ())
    shared = raw_dir.name == LEGACY_RAW
    out = []
    for name in names:
        path = raw_dir / name
        if name in strays and name in others.packs:
            continue  # another database's
        if name in strays and others.unknown:
            out.append(Problem(
                "orphan", str(path), "no snapshot of this database points at this pack, and "
                "whether another database in the folder does cannot be told: "
                + "; ".join(others.unknown),
                "keep it: it may hold that database's raw bytes; verify again once it can be "
                "read"))
        elif name in strays:
            out.append(Problem(
                "orphan", str(path), "no snapshot points at this pack (an ingest interrupted "
                "before its commit, or one still in progress)",
                f"nothing is lost; once no ingest runs, delete it: rm {shlex.quote(str(path))}"))
        elif name.endswith(".pack.tmp"):
            out.append(Problem(
                "partial", str(path), "a pack left half-written by an interrupted ingest",
                "nothing is lost; the next ingest removes it once its writer is gone"
                + (" and it is a day old (the folder may be shared)" if shared else "")))
    return out


__all__ = ["CODEC", "Problem", "damaged_frames", "repair_hint", "verify_archive"]
