"""Which database a notebook reads, said out loud: the bundled notebooks' first cell.

A notebook that quietly analysed the bundled samples when `$TRACKER_DB` was unset or mistyped
would show plausible numbers that are not the user's; `for_notebook` prints which file it
reads and why, and refuses a `$TRACKER_DB` without a database behind it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from .api import Tracker, open, sample_db
from .errors import DatabaseMissingError

__all__ = ["for_notebook"]


def for_notebook(env: str = "TRACKER_DB", *, echo: Callable[[str], object] = print) -> Tracker:
    """The database a notebook reads, and a loud line saying which one and why.

    `$TRACKER_DB` when it is set; a path there without a database is an error (a typo must
    not quietly turn into an analysis of other data). Unset, the bundled samples are
    ingested into a temporary database, with a banner saying that this is not your data.

    >>> import os; os.environ["MY_TRACKER_DB"] = str(db)
    >>> t = tracker.for_notebook("MY_TRACKER_DB")
    reading .../tracker.duckdb (from $MY_TRACKER_DB)
    >>> del os.environ["MY_TRACKER_DB"]
    """
    value = os.environ.get(env, "").strip()
    if value:
        path = Path(value).expanduser()
        if not path.is_absolute():
            path = Path.cwd() / path
        if not path.is_file():
            where = "" if Path(value).is_absolute() else f" (relative to {Path.cwd()})"
            raise DatabaseMissingError(
                f"${env} is {value!r}, but there is no database at {path}{where}; set it to "
                f"the absolute path of your tracker.duckdb, or unset {env} to explore the "
                "bundled samples instead"
            )
        echo(f"reading {path} (from ${env})")
        return open(path)
    path = sample_db()
    echo(f"⚠ ${env} is not set: reading the BUNDLED SAMPLES (data/samples), ingested into "
         f"a temporary database {path} — not your data. To read yours, start Jupyter with "
         f"{env}=/absolute/path/to/tracker.duckdb")
    return open(path)
