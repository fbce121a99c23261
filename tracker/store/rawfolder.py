"""Which raw folder a database owns, and which other databases use the same folder.

A database records its raw folder's name (schema version 8, table `raw_folder`): a folder
beside the file. New databases get one of their own (`<file name>.raw/`); databases created
before keep `raw/`, which every such database in one folder shares. So nothing that deletes
packs may trust one database's index alone: `sharing` reads the index of every other
database that uses the folder, and says which it cannot read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ..errors import DatabaseBusyError, StoreError
from .connection import LEGACY_RAW, connect
from .schema import RAW_FOLDER_VERSION, SCHEMA_VERSION, schema_version

_DUCKDB_MAGIC = b"DUCK"  # bytes 8-12 of every DuckDB file
OFFICIAL_VERSION = 5  # the first version with `official_responses`, which also points at packs


def recorded_raw_dir(con: duckdb.DuckDBPyConnection, path: Path, version: int) -> Path:
    """The raw folder the database at `path` records (`raw/` before version 8)."""
    name = LEGACY_RAW
    if version >= RAW_FOLDER_VERSION:
        rows = con.execute("SELECT name FROM raw_folder").fetchall()
        name = str(rows[0][0]) if rows else LEGACY_RAW
    if name in ("", ".", "..") or any(c in name for c in "/\\\0"):
        raise StoreError(
            f"database {path} records {name!r} as its raw folder, which is not a folder name "
            "beside it; open it with a tracker that wrote it, or restore it from a backup"
        )
    return path.parent / name


def referenced_packs(con: duckdb.DuckDBPyConnection, version: int = SCHEMA_VERSION) -> set[str]:
    """The pack files a database's rows point at: snapshots' and official responses'."""
    sql = "SELECT DISTINCT pack FROM raw_snapshots"
    if version >= OFFICIAL_VERSION:
        sql += " UNION SELECT DISTINCT pack FROM official_responses"
    return {str(r[0]) for r in con.execute(sql).fetchall()}


@dataclass(frozen=True)
class Sharing:
    """What the other databases that use a raw folder say about its packs."""

    packs: frozenset[str]  # packs another database's rows point at
    unknown: tuple[str, ...]  # "FILE (why)" of each database whose use cannot be told


def _is_duckdb(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(12)[8:12] == _DUCKDB_MAGIC


def _packs_of(path: Path, raw_dir: Path) -> set[str] | None:
    """The packs the database at `path` refers to in `raw_dir`; None when it uses another
    folder or is not a tracker database. Raises `StoreError` when it cannot be told."""
    con = connect(path, read_only=True)
    try:
        version = schema_version(con)
        if version == 0:
            return None
        if version > SCHEMA_VERSION:
            raise StoreError(f"schema version {version}, newer than this tracker's")
        if os.path.abspath(recorded_raw_dir(con, path, version)) != os.path.abspath(raw_dir):
            return None
        return referenced_packs(con, version)
    except duckdb.Error as exc:
        raise StoreError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    finally:
        con.close()


def sharing(raw_dir: Path, me: Path) -> Sharing:
    """The packs in `raw_dir` that databases other than `me` refer to: every DuckDB file in
    the folder that holds `raw_dir` (the only place a database's recorded folder can be) is
    read; one that is busy or cannot be read is listed as unknown, with why."""
    packs: set[str] = set()
    unknown: list[str] = []
    try:
        with os.scandir(raw_dir.parent) as entries:
            candidates = sorted(Path(e.path) for e in entries if e.is_file())
    except OSError:
        return Sharing(frozenset(), ())
    for path in candidates:
        try:
            if (path.exists() and me.exists() and path.samefile(me)) or not _is_duckdb(path):
                continue
        except OSError as exc:
            unknown.append(f"{path} (cannot be read: {exc.strerror or exc})")
            continue
        try:
            found = _packs_of(path, raw_dir)
        except DatabaseBusyError:
            unknown.append(f"{path} (another process is writing to it)")
            continue
        except StoreError as exc:
            unknown.append(f"{path} ({exc})")
            continue
        packs |= found or set()
    return Sharing(frozenset(packs), tuple(unknown))
