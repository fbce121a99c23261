"""Opening the database, and the one policy for waiting while it is busy.

DuckDB admits one writing process or many reading ones per file, and inside one process
refuses a read-only and a writable connection to the same file at once. Every command, the
scheduler and the dashboard open the database through `connect`, so they all wait the same
way: jittered exponential backoff until a deadline, then `DatabaseBusyError`.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TypeVar

import duckdb
import pyarrow as pa

from ..errors import DatabaseBusyError, DatabaseMissingError, StoreError, UsageError

T = TypeVar("T")

DEFAULT_DB = Path("data/tracker.duckdb")
DEFAULT_LOCK_TIMEOUT = 10.0
FIRST_DELAY = 0.005  # seconds before the second attempt; doubles (jittered) up to MAX_DELAY
MAX_DELAY = 0.05  # short: readers and writers both get in between another's brief holds


def default_db_path() -> Path:
    return Path(os.environ.get("TRACKER_DB") or DEFAULT_DB)


LEGACY_RAW = "raw"  # the raw folder of databases created before schema version 8


def default_raw_dir(db_path: Path | str) -> Path:
    """A new database's raw folder: beside it, named after it as DuckDB names its WAL
    (`data/tracker.duckdb` → `data/tracker.duckdb.raw/`), so that no two databases share one.

    Databases created before schema version 8 keep the folder they have (`raw/`, shared by
    every such database in their folder); each database records its own (`store.rawfolder`).
    """
    path = Path(db_path)
    return path.with_name(path.name + ".raw")


def utcnow() -> dt.datetime:
    """Naive UTC: DuckDB TIMESTAMP columns hold UTC without a zone."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def lock_timeout() -> float:
    """How long to wait for a busy database: `$TRACKER_LOCK_TIMEOUT` seconds, default 10."""
    value = os.environ.get("TRACKER_LOCK_TIMEOUT", "")
    try:
        seconds = float(value) if value else DEFAULT_LOCK_TIMEOUT
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < math.inf:  # (also NaN)
        raise UsageError(
            f"TRACKER_LOCK_TIMEOUT={value!r} is not a number of seconds (0 or "
            "more); set it like TRACKER_LOCK_TIMEOUT=30"
        )
    return seconds


class Busy(Exception):
    """One attempt found the database held; `why` says by whom (for the final message)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def retry(attempt: Callable[[], T], *, timeout: float, what: str) -> T:
    """`attempt()` until it does not raise `Busy`, backing off; `DatabaseBusyError` at the
    deadline. The one retry loop of the tracker: `connect` runs every open through it."""
    deadline = time.monotonic() + timeout
    delay = FIRST_DELAY
    while True:
        try:
            return attempt()
        except Busy as busy:
            if time.monotonic() >= deadline:
                raise DatabaseBusyError(
                    f"{what} is busy: {busy.why} (waited {timeout:g} s); try again when it "
                    "has finished, or wait longer with TRACKER_LOCK_TIMEOUT=<seconds>"
                ) from None
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, MAX_DELAY)


def _lock_held(path: Path) -> bool:
    """Whether another process holds a lock on `path` (DuckDB locks the file with fcntl).

    Read from the kernel's lock table, without opening the file: closing any descriptor of a
    file drops every fcntl lock this process holds on it, the DuckDB connections' of other
    threads included. Elsewhere than Linux, an existing file that DuckDB could not open is
    taken as held (the wait is bounded, then says so).
    """
    try:
        st = path.stat()
    except OSError:
        return False
    try:
        table = Path("/proc/locks").read_text()
    except OSError:  # pragma: no cover - not Linux
        return True
    device = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    me = str(os.getpid())
    for line in table.splitlines():
        fields = line.split()
        if "->" in fields or len(fields) < 6:
            continue  # a process waiting for a lock, not holding one
        if fields[5] == device and fields[4] != me:
            return True
    return False


def _open_once(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """One attempt; `Busy` when the file is held, `StoreError` when it cannot be opened.

    Classified by DuckDB's exception type: a `ConnectionException` is this process's own
    other connection (another configuration: read-only versus writable); an `IOException` is
    another process's lock or an unusable file, told apart by the kernel's lock table.
    """
    error: duckdb.Error | None = None
    for _ in range(3):  # a lock released between DuckDB's failure and our look: try again
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.ConnectionException:
            raise Busy("another connection in this process (an upload or an ingest) holds "
                       "it") from None
        except duckdb.IOException as exc:
            if _lock_held(path):
                raise Busy("another process is writing to it") from None
            error = exc
        except duckdb.Error as exc:
            error = exc
            break
    raise StoreError(
        f"cannot open database {path}: {error}; check that the path is a DuckDB "
        "file (or a new file) in a folder you may write, or pass another --db"
    )


def connect(
    db_path: Path | str, *, read_only: bool = False, timeout: float | None = None
) -> duckdb.DuckDBPyConnection:
    """Open the database, waiting (the one retry policy) while another holds it.

    A read-only open of a missing file is a `DatabaseMissingError` that says how to create it.
    """
    path = Path(db_path)
    if read_only and not path.exists():
        raise DatabaseMissingError(
            f"no database at {path}; create it with `tracker ingest --db {path} data/samples`"
        )
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    return retry(lambda: _open_once(path, read_only),
                 timeout=lock_timeout() if timeout is None else timeout,
                 what=f"database {path}")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Commit what the block did, or roll it all back (also on KeyboardInterrupt)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


class Connected:
    """A connection and where its database lives; the base of `Store`'s parts."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        path: Path,
        read_only: bool,
        raw_dir: Path | None = None,
    ) -> None:
        self.con = con
        self.path = path
        self.read_only = read_only
        self.raw_dir = raw_dir if raw_dir is not None else default_raw_dir(path)

    def transaction(self) -> AbstractContextManager[None]:
        return transaction(self.con)

    @contextmanager
    def registered(self, name: str, table: pa.Table) -> Iterator[None]:
        """`table` visible to SQL as `name` for the block (how id lists reach a query)."""
        self.con.register(name, table)
        try:
            yield
        finally:
            self.con.unregister(name)

    def arrow(self, sql: str, params: Sequence[object] = ()) -> pa.Table:
        """A query's result: every read of the store returns Arrow."""
        relation = self.con.sql(sql, params=list(params) or None)
        return relation.to_arrow_table() if relation is not None else pa.table({})
