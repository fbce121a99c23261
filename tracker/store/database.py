"""`Store`: one open database, with the named reads and writes of its parts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb

from ..errors import StoreError
from ..raw import remove_partial_packs
from .backfillqueue import BackfillQueue
from .checkreads import CheckReads
from .connection import LEGACY_RAW, connect, default_db_path
from .coveragereads import CoverageReads
from .failures import database_failure
from .official import OfficialStore
from .rawfolder import recorded_raw_dir
from .rawindex import RawIndex
from .reads import Reads
from .schema import SCHEMA_VERSION, check_version, migrate
from .statusreads import StatusReads
from .writes import Writes


class Store(Writes, Reads, CheckReads, CoverageReads, OfficialStore, StatusReads, RawIndex,
            BackfillQueue):
    """A connection plus the named queries. Use `Store.open(...)` as a context manager.

    One writer process or many read-only readers (DuckDB's rule): writers keep a connection
    for one ingest run; readers open short-lived read-only ones, and both wait while the
    other holds the file (`connection.connect`).
    """

    @classmethod
    @contextmanager
    def open(
        cls,
        db_path: Path | str | None = None,
        *,
        read_only: bool = False,
        timeout: float | None = None,
        raw_dir: Path | str | None = None,
    ) -> Iterator[Store]:
        """Open (creating and migrating when writable); raw packs go to `raw_dir`, by default
        the folder the database records (`rawfolder.recorded_raw_dir`)."""
        path = Path(db_path) if db_path is not None else default_db_path()
        con = connect(path, read_only=read_only, timeout=timeout)
        try:
            if read_only:
                check_version(con, path)
            else:
                migrate(con, path)
            recorded = recorded_raw_dir(con, path, SCHEMA_VERSION)
            store = cls(con, path, read_only, Path(raw_dir) if raw_dir is not None else recorded)
            if not read_only:
                # `raw/` may be shared with other databases, whose writers this open does
                # not exclude: there, only day-old temporary packs of gone writers go
                remove_partial_packs(store.raw_dir, shared=recorded.name == LEGACY_RAW)
            yield store
        except duckdb.Error as exc:  # any I/O failure of the block: one line, exit status 3
            with suppress(duckdb.Error):
                con.close()
            raise StoreError(database_failure(path, exc)) from None
        except BaseException:
            with suppress(duckdb.Error):
                con.close()
            raise
        try:
            con.close()  # writes a checkpoint, which can fail as a commit can (a full disk)
        except duckdb.Error as exc:
            raise StoreError(database_failure(path, exc)) from None

    @contextmanager
    def second_connection(self) -> Iterator[Store]:
        """The same database on a connection of its own, for use by another thread (one
        DuckDB connection must not be used by two threads at once). It sees what is
        committed."""
        con = self.con.cursor()
        try:
            yield Store(con, self.path, self.read_only, self.raw_dir)
        finally:
            con.close()
