"""File names as sources: any bytes a file system allows, kept losslessly as text.

POSIX names are bytes; Python hands names that are not UTF-8 over as strings with lone
surrogates (`surrogateescape`), which neither Arrow nor DuckDB can store. `source_name` turns
such a name into text with an unambiguous escape: a name that is UTF-8 and has no backslash is
kept as it is (nearly every name); any other name has each backslash doubled and each byte
that is not UTF-8 written `\\xNN`. So `bad\\xff.txt` is the name with the byte 0xFF, and
`path_bytes` gives the exact bytes back.
"""

from __future__ import annotations

import os
import re

_ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2})")


def source_name(path: str | os.PathLike[str]) -> str:
    """The source text of a path: the path itself unless it needs the escape."""
    text = os.fspath(path)
    if "\\" not in text:
        try:
            text.encode("utf-8")
            return text
        except UnicodeEncodeError:
            pass
    raw = text.encode("utf-8", "surrogateescape" if _escaped_only(text) else "surrogatepass")
    return raw.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")


def _escaped_only(text: str) -> bool:
    """Whether every lone surrogate in `text` stands for a byte (as `os` functions make them)."""
    return all(not 0xD800 <= ord(c) <= 0xDFFF or 0xDC80 <= ord(c) <= 0xDCFF for c in text)


def path_bytes(source: str) -> bytes:
    """The exact bytes of the name `source_name` made `source` from."""
    if "\\" not in source:
        return source.encode("utf-8")
    out = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(source):
        out += source[pos : m.start()].encode("utf-8")
        token = m.group(1)
        out += b"\\" if token == "\\" else bytes([int(token[1:], 16)])
        pos = m.end()
    out += source[pos:].encode("utf-8")
    return bytes(out)


def storable(text: str) -> str:
    """`text` itself when it is valid text, else its `source_name` escape: for sources made
    elsewhere than by the folder walk (a library caller's own `RawInput`, a fetch address
    given on the command line), which may carry lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return source_name(text)
    return text
