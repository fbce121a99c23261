"""The backfill spool: each fetched capture on disk the moment it arrives, until it is stored.

A folder beside the database (`<db>.backfill-spool/`) holds one file per queue row whose capture
was fetched but whose row is not yet recorded. The fetching thread writes it atomically (a
temporary file, fsync, rename, the folder fsynced), so a run killed at any moment has either the
whole capture or none of it; the storing side removes it only after the row is recorded, and a
rerun ingests what is spooled before fetching anything. So a kill can cost at most the one
request in flight, never a capture already received.

A file is a line `tracker-spool 1`, a line of JSON (the queue row it belongs to, the ingest
input's fields, the body's length, and a SHA-256 over those fields and the body) and the body.
A file that does not match its row, its length or its hash (damaged, cut short, put there by
someone else) is discarded and its capture fetched again: never ingested.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import stat
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

from ..errors import DatabaseBusyError, StoreError
from ..prepare import RawInput
from ..store.backfillqueue import QueueItem

MAGIC = b"tracker-spool 1\n"
MAX_HEADER = 64 * 1024  # the JSON line: addresses and a hash, far below this
SUFFIX = ".capture"
_FIELDS = {"row", "captured_at", "original_url", "charset", "length", "sha256"}


def row_key(item: QueueItem) -> str:
    """The file name of a queue row's capture: its identity (source, time, address) hashed."""
    ident = f"{item.source}\n{item.captured_at:%Y%m%d%H%M%S}\n{item.original_url}"
    return hashlib.sha256(ident.encode()).hexdigest()[:40] + SUFFIX


def _folder(db: Path) -> Path:
    folder = db.with_name(db.name + ".backfill-spool")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the backfill spool {folder}: "
                         f"{exc.strerror or exc}; check the folder's permissions") from None
    return folder


@contextmanager
def one_run(db: Path) -> Iterator[None]:
    """One backfill of a database at a time: two would fetch the same captures twice, each
    at the whole rate, and take each other's spooled copies for lost. The spool folder itself
    is locked (flock), so a killed run's lock goes with it and no lock file is left."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no guard
        yield
        return
    fd = os.open(_folder(db), os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseBusyError(
                f"another backfill (`tracker backfill`, or `tracker schedule --backfill`) is "
                f"working through the queue of {db}; let it finish, or stop it, then run this "
                "again") from None
        except OSError as exc:  # (no locks on some network or FUSE file systems)
            raise StoreError(
                f"the backfill spool folder {_folder(db)} cannot be locked "
                f"({exc.strerror or exc}); keep the database on a local disk") from None
        yield
    finally:
        os.close(fd)


class Spool:
    """The spool folder of one database."""

    def __init__(self, db: Path, max_bytes: int) -> None:
        self.folder = _folder(db)
        self.max_bytes = max_bytes

    def path(self, item: QueueItem) -> Path:
        return self.folder / row_key(item)

    def put(self, item: QueueItem, raw: RawInput) -> None:
        """Keep the capture durably before anything else happens to it."""
        assert raw.data is not None
        fields = {
            "row": [item.source, item.captured_at.isoformat(), item.original_url],
            "captured_at": raw.captured_at.isoformat() if raw.captured_at else None,
            "original_url": raw.original_url, "charset": raw.charset, "length": len(raw.data),
        }
        header = {**fields, "sha256": _digest(fields, raw.data)}
        final = self.path(item)
        tmp = final.with_name(f"{final.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.write(fd, MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n")
                view = memoryview(raw.data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, final)
            self._sync_folder()
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StoreError(f"cannot spool a fetched capture to {final}: "
                             f"{exc.strerror or exc}; free some space or check permissions"
                             ) from None

    def get(self, item: QueueItem) -> RawInput | str | None:
        """The spooled capture of `item` as an ingest input; None if there is none; a reason
        (the file discarded) if it is damaged."""
        path = self.path(item)
        try:  # never a FIFO's wait nor a link's target: only a regular file is read
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
        except FileNotFoundError:
            return None
        except OSError as exc:
            return self._discard(path, f"unreadable ({exc.strerror or exc})")
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return self._discard(path, "not a regular file")
            with os.fdopen(fd, "rb", closefd=False) as f:
                data = f.read(len(MAGIC) + MAX_HEADER + self.max_bytes + 1)
        except OSError as exc:
            return self._discard(path, f"unreadable ({exc.strerror or exc})")
        finally:
            os.close(fd)
        raw = _parse(data, item)
        return raw if isinstance(raw, RawInput) else self._discard(path, raw)

    def remove(self, items: Iterable[QueueItem]) -> None:
        """Forget captures whose rows are recorded."""
        for item in items:
            self.path(item).unlink(missing_ok=True)

    def sweep(self, pending: Iterable[QueueItem]) -> list[str]:
        """Remove what no planned row will claim: files of rows recorded meanwhile (a run
        killed between recording and removing), strangers, and temporary files of dead runs.
        The names removed."""
        wanted = {row_key(item) for item in pending}
        removed = []
        for path in self.folder.iterdir():
            if path.name in wanted or (path.suffix == ".tmp" and _alive(path)):
                continue
            with suppress(OSError):  # a folder someone made here stays; writing over it fails
                path.unlink(missing_ok=True)
                removed.append(path.name)
        return removed

    def _discard(self, path: Path, reason: str) -> str:
        with suppress(OSError):
            path.unlink(missing_ok=True)
        return f"spooled copy {path.name} discarded: {reason}"

    def _sync_folder(self) -> None:
        fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _parse(data: bytes, item: QueueItem) -> RawInput | str:
    """The file's capture if it is whole and belongs to `item`; else why not."""
    if not data.startswith(MAGIC):
        return "not a spool file"
    end = data.find(b"\n", len(MAGIC), len(MAGIC) + MAX_HEADER)
    if end < 0:
        return "no header line (cut short?)"
    try:
        header = json.loads(data[len(MAGIC):end])
    except (ValueError, RecursionError):
        return "unreadable header (cut short?)"
    if not isinstance(header, dict) or set(header) != _FIELDS:
        return "header fields are not the spool's"
    body = data[end + 1:]
    expected = [item.source, item.captured_at.isoformat(), item.original_url]
    if header["row"] != expected:
        return "it belongs to another queue row"
    if header["length"] != len(body):
        return f"{len(body)} bytes, not the {header['length']} spooled (cut short?)"
    if header["sha256"] != _digest({k: v for k, v in header.items() if k != "sha256"}, body):
        return "its bytes do not match their SHA-256 (damaged)"
    try:
        captured_at = dt.datetime.fromisoformat(header["captured_at"]) \
            if header["captured_at"] is not None else None
    except (TypeError, ValueError):
        return "unreadable capture time"
    if not isinstance(header["original_url"], (str, type(None))) or not isinstance(
            header["charset"], (str, type(None))):
        return "header fields of the wrong type"
    return RawInput(source=item.archive_url, data=body, captured_at=captured_at,
                    captured_at_source="archive", original_url=header["original_url"],
                    charset=header["charset"])


def _digest(fields: Mapping[str, object], body: bytes) -> str:
    """SHA-256 over the header's fields and the body: a change to either is damage."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode() + b"\n" + body).hexdigest()


def _alive(path: Path) -> bool:
    """Whether the run that is writing this temporary file (its pid in the name) still runs."""
    try:
        pid = int(path.name.split(".")[-2])
        if pid == os.getpid():
            return False  # a kill's leftover under a reused pid: this run writes none yet
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True
