"""One table of a TOML configuration file, with errors that say how to fix the file.

A file may configure several parts of the tracker (`[checks]`, `[schedule]`); each part reads
its own table through `read_table` and ignores the others.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from .errors import UsageError


def read_table(path: Path, name: str, example: str) -> dict[str, Any]:
    """The `[name]` table of the TOML file at `path`; `example` shows a valid table."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"config file {path} does not exist; check the path") from None
    except OSError as exc:
        raise UsageError(f"config file {path} cannot be read ({exc.strerror or exc})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"config file {path} is not valid TOML: {exc}") from None
    table = data.get(name)
    if not isinstance(table, dict):
        raise UsageError(f"config file {path} has no [{name}] table; write e.g.\n{example}")
    return table
