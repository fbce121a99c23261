"""Which inputs a list of files and folders stands for: the walk of `tracker ingest` and of
the scheduler's watched folders."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .containers import is_container_name
from .names import source_name
from .prepare import RawInput, container_inputs

SNAPSHOT_SUFFIXES = (".txt", ".html", ".htm")
_OTHER_PAGES = (".xhtml",)  # read too, not offered for upload; containers: `is_container_name`


@dataclass(frozen=True)
class Discovery:
    """What a list of paths expands to."""

    inputs: tuple[RawInput, ...]
    errors: tuple[tuple[str, str], ...]  # (path, reason) for paths that cannot be inputs
    skipped: tuple[str, ...]  # files in folders that are not snapshot files


def is_snapshot_name(name: str) -> bool:
    lower = name.lower()
    if lower.endswith(".gz"):
        lower = lower[:-3]
    return lower.endswith(SNAPSHOT_SUFFIXES + _OTHER_PAGES)


def discover(paths: Iterable[str | Path]) -> Discovery:
    """Expand files and folders (recursively, following links once) into inputs.

    A file named explicitly is always an input; inside folders only snapshot files
    (`.txt`, `.html`, `.htm`, `.xhtml`, optionally `.gz`) are, the rest is listed as skipped.
    WARC and MHTML files, named or in folders, stand for the snapshots inside them. Whatever
    the name's bytes, its source is text (`tracker.names.source_name`). Anything that is not
    a regular file (a FIFO, socket or device) is refused from its `stat`, never opened: opening
    a FIFO would wait for a writer forever.
    """
    inputs: list[RawInput] = []
    errors: list[tuple[str, str]] = []
    skipped: list[str] = []
    for given in paths:
        path = Path(given)
        name = source_name(path)
        try:
            st = path.stat()
        except FileNotFoundError:
            errors.append((name, "no such file or folder; check the path"))
            continue
        except OSError as exc:
            errors.append((name, f"cannot be read ({exc.strerror or exc})"))
            continue
        if stat.S_ISDIR(st.st_mode):
            for found, reason in _walk(path):
                source = source_name(found)
                if reason == "input" and is_container_name(str(found)):
                    _expand(found, inputs, skipped, errors)
                elif reason == "input":
                    inputs.append(RawInput(source=source, path=found))
                elif reason == "skipped":
                    skipped.append(source)
                else:
                    errors.append((source, reason))
        elif not stat.S_ISREG(st.st_mode):
            errors.append((name, not_a_file(st.st_mode)))
        elif is_container_name(str(given)):
            _expand(str(given), inputs, skipped, errors)
        else:
            inputs.append(RawInput(source=name, path=path))
    return Discovery(tuple(inputs), tuple(errors), tuple(skipped))


def _expand(path: str | Path, inputs: list[RawInput], skipped: list[str],
            errors: list[tuple[str, str]]) -> None:
    """A WARC or MHTML file's snapshots, its other records, what could not be read."""
    found, other, bad = container_inputs(path)
    inputs.extend(found)
    skipped.extend(other)
    errors.extend(bad)


_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def not_a_file(mode: int) -> str:
    """Why something that is not a regular file is not read."""
    kind = next((what for test, what in _KINDS if test(mode)), "not a regular file")
    return f"is {kind}, not a regular file; skipped without opening it"


def _walk(root: Path) -> Iterator[tuple[Path | str, str]]:
    """(path, "input" | "skipped" | why not read) under `root`; files as plain strings
    (a `Path` per file cost more than the rest of the walk)."""
    visited: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            st = folder.stat()
            key = (st.st_dev, st.st_ino)
            if key in visited:
                continue  # a symlink loop or a folder linked twice
            visited.add(key)
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            yield folder, f"folder cannot be read ({exc.strerror or exc})"
            continue
        subfolders = []
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError:
                is_dir = False
            if is_dir:
                subfolders.append(Path(entry.path))
            elif is_snapshot_name(entry.name) or is_container_name(entry.name):
                try:
                    regular = entry.is_file(follow_symlinks=True)  # d_type: no extra stat
                except OSError:  # a link loop
                    regular = False
                yield entry.path, "input" if regular else _why_not_a_file(entry)
            elif not entry.name.startswith("."):
                yield entry.path, "skipped"
        stack.extend(reversed(subfolders))


def _why_not_a_file(entry: os.DirEntry[str]) -> str:
    try:
        return not_a_file(entry.stat(follow_symlinks=True).st_mode)
    except OSError as exc:  # a dangling link, a link loop
        return f"cannot be read ({exc.strerror or exc})"
