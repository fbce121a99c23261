"""Bytes → text: which charset a snapshot is in, and a clear reason when it is not text.

Order of evidence (as browsers do): a byte-order mark, then the charset the container
declares (a WARC record's HTTP `Content-Type`, an MHTML part's header), then the page's own
`<meta charset>` / `<meta http-equiv>` / XML declaration, then UTF-8. A declared charset
other than UTF-8 on bytes that are valid UTF-8 (and not plain ASCII) is taken for a lie.
Only the first 4 KB are looked at for a declaration, so this is linear in the input.
"""

from __future__ import annotations

import codecs
import re

from .errors import DecodeError, NoTickerError

_BOMS = (  # longest first: a UTF-32 LE mark starts like a UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_PRESCAN = 4096  # bytes of the page searched for a declaration (HTML's prescan uses 1024)
_META = re.compile(rb"<!--|<meta\b([^<>]{0,1024})", re.IGNORECASE)  # (comments: skipped)
_META_CHARSET = re.compile(rb"charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]{1,40})", re.IGNORECASE)
_XML_DECL = re.compile(
    rb"\s{0,64}<\?xml\b[^<>]{0,200}?\bencoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})[\"']"
)
_CHARSET_PARAM = re.compile(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]{1,40})", re.IGNORECASE)


def charset_of_content_type(value: str | None) -> str | None:
    """`windows-1251` of `text/html; charset="windows-1251"`; None when there is none."""
    m = _CHARSET_PARAM.search(value or "")
    return m.group(1) if m else None


def declared_charset(data: bytes) -> tuple[str, str] | None:
    """(charset, where it is declared) from the page's first 4 KB, or None."""
    head = data[:_PRESCAN]
    xml = _XML_DECL.match(head)
    if xml:
        return xml.group(1).decode("ascii"), "XML declaration"
    if b"<" not in head:
        return None
    pos = 0
    while (meta := _META.search(head, pos)) is not None:
        pos = meta.end()
        if meta.group(1) is None:  # a comment: what it holds declares nothing (HTML's prescan)
            end = head.find(b"-->", meta.start() + 2)
            if end == -1:
                return None
            pos = end + 3
            continue
        m = _META_CHARSET.search(meta.group(1))
        if m:
            return m.group(1).decode("ascii"), "<meta> charset"
    return None


def decode(data: bytes, *, source: str = "<input>", charset: str | None = None) -> tuple[str, bool]:
    """The text of `data` and whether it began with a byte-order mark.

    `charset` is what the container declares (None when there is no container).
    Raises `DecodeError` naming the charset and the offset of the first bad byte.
    """
    for bom, name in _BOMS:
        if data.startswith(bom):
            return _decode(data[len(bom):], name, "its byte-order mark", source, len(bom)), True
    if not data.strip():
        raise NoTickerError("the file is empty (no text at all); was the download cut off?", source)
    nul = data.find(b"\x00", 0, 65536)
    if nul != -1:
        raise DecodeError(
            f"binary content, not a page (NUL byte at offset {nul}); "
            "ingest the page's text or HTML",
            source,
        )
    where = "its container's Content-Type"
    if charset is None:
        found = declared_charset(data)
        charset, where = found if found else (None, "")
    if charset is None:
        return _decode(data, "utf-8", "", source, 0), False
    info = text_codec(charset)
    if info is None:
        try:
            unknown = codecs.lookup(charset) is None
        except LookupError:
            unknown = True
        raise DecodeError(
            f"declares charset '{charset}' ({where}), which is "
            f"{'unknown' if unknown else 'no text encoding'}; "
            "correct the declaration or save the page as UTF-8",
            source,
        ) from None
    name = info.name
    if name.startswith(("utf-16", "utf-32")):
        name = "utf-8"  # a declaration read as ASCII cannot be true: browsers use UTF-8
    elif name != "utf-8" and not data.isascii() and _is_utf8(data):
        name = "utf-8"  # the declaration lies (a server's default ISO-8859-1, a page re-saved
        # as UTF-8): text in another charset is next to never valid UTF-8, and read in that
        # charset a UTF-8 bullet becomes three letters that cut the ticker after its first entry
    return _decode(data, name, where, source, 0), False


def text_codec(label: str) -> codecs.CodecInfo | None:
    """The codec a charset label names, if Python knows it and it decodes text (`base64`,
    `rot13` and the like are codecs too, of bytes to bytes or str to str)."""
    try:
        info = codecs.lookup(label)
    except LookupError:
        return None
    return info if getattr(info, "_is_text_encoding", True) else None


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode(data: bytes, codec: str, where: str, source: str, base: int) -> str:
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        offset = base + exc.start
        bad = data[exc.start : exc.start + 1].hex()
        if not where:  # the default: say what the old parser said
            if exc.reason == "unexpected end of data":
                raise DecodeError(
                    f"ends in the middle of a UTF-8 character (offset {offset}): the file is "
                    "cut short; download or save it again",
                    source,
                ) from None
            raise DecodeError(
                f"not UTF-8 text (byte 0x{bad} at offset {offset}); no charset is declared: "
                "save the page as UTF-8 or declare its charset, and ingest it again",
                source,
            ) from None
        raise DecodeError(
            f"not valid {codec} text (byte 0x{bad} at offset {offset}), the charset "
            f"{where} declares; correct the declaration or save the page again",
            source,
        ) from None
    except UnicodeError as exc:  # a codec that fails without saying where (`undefined`, `idna`)
        raise DecodeError(
            f"cannot be read as {codec} ({exc}), the charset {where} declares; correct the "
            "declaration or save the page as UTF-8",
            source,
        ) from None
    if not text.strip():
        raise NoTickerError("the file is empty (no text at all); was the download cut off?", source)
    return text
