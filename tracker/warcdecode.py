"""warcio as the tracker reads pages with it: `Content-Encoding: br` on the `brotli` package,
a page body's decoding failures as a reason rather than stderr lines or a silent cut, and no
lines of warcio's own on stderr. Imported by `tracker.containers`, which registers nothing
else with warcio."""

from __future__ import annotations

from typing import Any

import brotli
from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import BufferedReader


class Brotli:
    """`Content-Encoding: br` for warcio, on the `brotli` package this project installs.

    warcio's own `br` decompressor was written for `brotlipy` (`decompress()`, a writable
    `unused_data`); on `brotli` it fails on the first byte, so every brotli page of a crawl,
    and every record after it, was lost as "corrupt". Its output is bounded: past `limit`
    bytes (set per record to just over the size limit) it stops inflating, so a brotli bomb
    costs what a page over the limit does."""

    unused_data = None  # (warcio's reader asks: a brotli stream has no member after it)
    limit = 64 << 20

    def __init__(self) -> None:
        self._inflate = brotli.Decompressor()
        self._out = 0

    @property
    def eof(self) -> bool:  # (as zlib's decompressors say the end of their data was read)
        return bool(self._inflate.is_finished()) or self._out >= self.limit

    def decompress(self, data: bytes) -> bytes:
        parts = []
        chunk = bytes(data)
        while self._out < self.limit:
            part = self._inflate.process(chunk, output_buffer_limit=1 << 20)
            chunk = b""
            parts.append(part)
            self._out += len(part)
            if not part or self._inflate.is_finished():  # (output may be held back while
                break  # it accepts more: warcio never calls again with b"" at the record's end)
        return b"".join(parts)


BufferedReader.DECOMPRESSORS["br"] = Brotli


class Quiet:
    """A page body's decompressor as warcio uses it, failing in silence once it has given
    output (warcio prints each failure on stderr, a line per block read after it); the page
    is then rejected as cut short or corrupt (`encoding_damage`). A failure before any
    output is still warcio's call: a body sent unencoded despite its header."""

    def __init__(self, inner: Any) -> None:
        self._inner, self._given, self._failed = inner, False, False

    @property
    def unused_data(self) -> bytes | None:
        return self._inner.unused_data  # type: ignore[no-any-return]

    @property
    def eof(self) -> bool:
        return not self._failed and bool(getattr(self._inner, "eof", True))

    def decompress(self, data: bytes) -> bytes:
        if self._failed:
            return b""
        try:
            out: bytes = self._inner.decompress(data)
        except Exception:  # (zlib.error, brotli.error: the codec's own)
            if not self._given:
                raise
            self._failed = True
            return b""
        self._given = self._given or bool(out)
        return out


class Records(ArchiveIterator):  # type: ignore[misc]  # (warcio is untyped)
    """warcio's reader without its own lines on stderr (`WARNING: Record not followed by
    newline…`, with page bytes in them): what it finds wrong is reported by the tracker, as
    one line naming the file and the offset."""

    INC_RECORD = ""


def encoding_damage(http: object, stream: object, payload: bytes) -> str | None:
    """Why a page's body was not decoded whole, or None. warcio gives up in silence: a body
    cut short inflates to its first bytes, a corrupt one (or one in an encoding it does not
    read) comes out still compressed, and either page was dropped as "no ticker"."""
    encoding = (http.get_header("Content-Encoding") or "").strip().lower() if http else ""  # type: ignore[attr-defined]
    if encoding in ("", "identity"):
        return None
    if encoding not in BufferedReader.get_supported_decompressors():
        return (f"its Content-Encoding '{encoding[:40]}' is not one the tracker reads (gzip, "
                "deflate, br); save the page again without it")
    inflate = getattr(stream, "decompressor", None)
    if inflate is None:  # warcio took the body for one sent unencoded despite its header
        return None if not payload.startswith(b"\x1f\x8b") else (
            f"its {encoding} Content-Encoding data is corrupt; re-crawl the page")
    if not getattr(inflate, "eof", True):
        return (f"its {encoding} Content-Encoding data ends before its end (cut short or "
                "corrupt); re-crawl the page")
    return None
