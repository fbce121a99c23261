"""DuckDB's errors while a store is open, as one line that says what to do (exit status 3).

Every database access happens inside `Store.open(...)`, which turns any `duckdb.Error` raised
in its block into a `StoreError` with this text: a full disk during a commit, a truncated or
overwritten file, a file or folder that may not be written.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

_HINTS = (
    (("no space left", "file too large", "disk quota"),
     "the disk is full (or the file hit a size limit): free space and run the command again; "
     "nothing of the failed batch was recorded (`tracker verify` lists a raw pack it may leave)"),
    (("could not read enough bytes", "corrupt", "checksum", "not a valid duckdb",
      "invalid", "malformed", "serializ"),
     "the file is damaged (truncated or overwritten): restore it from a backup, or ingest the "
     "sources again into a new file (--db NEW); the raw archive beside it is not touched"),
    (("permission denied", "read-only", "read only", "cannot open file"),
     "make the file and its folder writable (or readable) for you, or pass another --db"),
)


def database_failure(path: Path, exc: duckdb.Error) -> str:
    """`database PATH failed: <DuckDB's first line>; <what to do>`."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    lower = first.lower()
    hint = next((h for keys, h in _HINTS if any(k in lower for k in keys)),
                "check the disk and the file, then run the command again")
    return f"database {path} failed: {first}; {hint}"
