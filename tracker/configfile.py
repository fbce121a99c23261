"""The one TOML loader: a table of a configuration file, with errors that say how to fix it.

A file may configure several parts of the tracker (`[checks]`, `[schedule]`); each part reads
its own table through `read_table` (which refuses keys it does not know, so a typo never
silently leaves a default in place) and ignores the others.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import UsageError


def read_table(path: Path, name: str, example: str, keys: Sequence[str]) -> dict[str, Any]:
    """The `[name]` table of the TOML file at `path`, whose keys must be among `keys`;
    `example` shows a valid table."""
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
    unknown = sorted(set(table) - set(keys))
    if unknown:
        raise UsageError(f"config file {path}: unknown key(s) in [{name}]: {', '.join(unknown)}; "
                         f"known keys: {', '.join(keys)}")
    return table


def strings(path: Path, name: str, table: dict[str, Any], key: str) -> list[str]:
    """`table[key]` as a list of strings (one string is a list of one)."""
    value = table[key]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"config file {path}: [{name}] {key} must be a list of strings")
    return list(value)
