"""tracker: timesca.com currency-ticker snapshots → an exact, checked exchange-rate series.

In a notebook (the API is in tracker/api.py, docs/notebooks.md):

    import tracker
    t = tracker.open("data/tracker.duckdb")   # read-only: works while ingestion runs
    rates = t.series()                         # a row per capture date, a column per currency

Importing the package stays light (no pandas, no DuckDB, no data): `open`, `Tracker`,
`for_notebook`, `sample_db` and `VIEWS` load their modules on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    DatabaseBusyError,
    DatabaseMissingError,
    ParseError,
    QueryError,
    StoreError,
    TrackerError,
    UsageError,
)
from .models import ParsedPage, Quote
from .parse import parse

if TYPE_CHECKING:
    from .api import Tracker, open, sample_db
    from .notebook import for_notebook
    from .views import VIEWS

__version__ = "0.1.0"
__all__ = [
    "VIEWS",
    "DatabaseBusyError",
    "DatabaseMissingError",
    "ParseError",
    "ParsedPage",
    "QueryError",
    "Quote",
    "StoreError",
    "Tracker",
    "TrackerError",
    "UsageError",
    "__version__",
    "for_notebook",
    "open",
    "parse",
    "sample_db",
]

_LAZY = {"Tracker": ".api", "for_notebook": ".notebook", "open": ".api", "sample_db": ".api",
         "VIEWS": ".views"}


def __getattr__(name: str) -> Any:
    """Load the notebook API (pandas, DuckDB) only when it is first used."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
