"""The DuckDB store: the only package that speaks SQL.

- `connection`: opening the file, the one retry policy for a busy database, transactions;
- `schema`: the migrations and the series rule (the `series` view);
- `rawfolder`: the raw folder each database owns, and the databases that share one;
- `writes`, `reads`, `checkreads`: the named statements, by what they serve;
- `database`: `Store`, which combines them over one connection.

Reads return Arrow; `tracker.read` is where they become pandas.
"""

from .connection import (
    DEFAULT_DB,
    connect,
    default_db_path,
    default_raw_dir,
    lock_timeout,
    retry,
    transaction,
    utcnow,
)
from .database import Store
from .schema import MIGRATIONS, SCHEMA_VERSION, SERIES_SQL
from .writer import writing

__all__ = [
    "DEFAULT_DB", "MIGRATIONS", "SCHEMA_VERSION", "SERIES_SQL", "Store", "connect",
    "default_db_path", "default_raw_dir", "lock_timeout", "retry", "transaction", "utcnow", "writing",
]
