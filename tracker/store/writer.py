"""One writer per database per process, holding DuckDB's write lock only while it writes.

DuckDB locks the whole file for as long as a writable connection is open, so readers in other
processes wait for every moment a writer keeps the file open. Ingestion therefore reads, parses
and dates its inputs with the database closed and opens it here only to store a prepared batch
(`tracker.ingest`). Threads of one process share DuckDB's database instance, so the file lock
does not keep them apart: the per-file lock here does (two uploads of the same bytes, the
scheduler's watch and fetch jobs), so each writer checks what is stored and writes in turn.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from ..errors import DatabaseBusyError, StoreError
from .connection import MAX_DELAY, default_db_path, lock_timeout
from .database import Store
from .failures import database_failure

# A writer that wants the file again right after letting go leaves it closed this long first:
# longer than a waiting reader's longest backoff sleep (MAX_DELAY, jittered up to 1.5×), so
# back-to-back batches cannot starve readers. Costs nothing while parsing is the slower side.
READER_TURN = 2 * MAX_DELAY

_locks: dict[str, threading.RLock] = {}
_released: dict[str, float] = {}  # when this process last closed each file after writing
_guard = threading.Lock()


def _lock_for(key: str) -> threading.RLock:
    with _guard:
        return _locks.setdefault(key, threading.RLock())


@contextmanager
def writing(
    db_path: Path | str | None = None,
    *,
    timeout: float | None = None,
    raw_dir: Path | str | None = None,
) -> Iterator[Store]:
    """A writable store for one short write: this process's turn first, then the file's.

    Both waits are bounded by `timeout` (default `$TRACKER_LOCK_TIMEOUT`), then
    `DatabaseBusyError`.
    """
    path = Path(db_path) if db_path is not None else default_db_path()
    wait = lock_timeout() if timeout is None else timeout
    key = str(path.absolute())
    lock = _lock_for(key)
    if not lock.acquire(timeout=wait):
        raise DatabaseBusyError(
            f"database {path} is busy: another writer in this process holds it (waited "
            f"{wait:g} s); try again when it has finished, or wait longer with "
            "TRACKER_LOCK_TIMEOUT=<seconds>"
        )
    try:
        outermost = _released.get(key, 0.0) >= 0  # not already held by this thread
        if outermost:
            time.sleep(max(0.0, _released.get(key, 0.0) + READER_TURN - time.monotonic()))
            _released[key] = -1.0
        try:
            with Store.open(path, timeout=timeout, raw_dir=raw_dir) as store:
                yield store
        finally:
            if outermost:
                _released[key] = time.monotonic()
    finally:
        lock.release()



class Lookup:
    """A read-only store for one thread's brief lookups between this process's writes, kept
    open across lookups for at most `HOLD` seconds, then closed for a reader's turn's length
    (a writer of another process gets in). Buys: a re-ingest asks once per batch for a
    connection's price of ~1 ms instead of an open's ~50 ms.

    A writer of this process writes inside `excluded()`: DuckDB admits no read-only connection
    beside a writable one in one process.
    """

    HOLD = 1.0

    def __init__(self, db_path: Path, timeout: float | None = None) -> None:
        self.path = db_path
        self.timeout = timeout
        self._mutex = threading.Lock()
        self._open: tuple[Store, contextlib.ExitStack, float] | None = None
        self._closed_at = 0.0

    @contextmanager
    def store(self) -> Iterator[Store]:
        with self._mutex:
            if self._open is not None and time.monotonic() - self._open[2] > self.HOLD:
                self._close()
            if self._open is None:
                time.sleep(max(0.0, self._closed_at + READER_TURN - time.monotonic()))
                stack = contextlib.ExitStack()
                opened = stack.enter_context(
                    Store.open(self.path, read_only=True, timeout=self.timeout))
                self._open = (opened, stack, time.monotonic())
            try:
                yield self._open[0]
            except duckdb.Error as exc:  # as `Store.open` turns them: one line, exit status 3
                self._close()
                raise StoreError(database_failure(self.path, exc)) from None

    def close(self) -> None:
        with self._mutex:
            self._close()

    @contextmanager
    def excluded(self) -> Iterator[None]:
        """Closed, and no lookup until the block (a write of this process) is done."""
        with self._mutex:
            self._close()
            yield

    def _close(self) -> None:
        if self._open is not None:
            self._open[1].close()
            self._open = None
            self._closed_at = time.monotonic()
