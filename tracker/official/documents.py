"""Untrusted bank answers → an XML tree or JSON value, or one clear reason why not.

Banks answer errors and maintenance with HTML pages and status 200, so the shape is sniffed
before parsing. XML with a DOCTYPE is refused: the documented answers have none, and refusing
it rules out entity expansion (billion laughs, external entities); expat then parses in linear
time.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any
from xml.parsers import expat

from ..errors import BankResponseError, ErrorPageError
from ..escape import printable

MAX_BYTES = 4 * 1024 * 1024  # a day's rates are a few KB; the NBKR archive a year is ~200 KB
_TITLE = re.compile(rb"<title[^>]{0,200}>([^<]{0,200})", re.I)


def looks_like_html(body: bytes) -> bool:
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or (
        b"<html" in head and not head.startswith((b"[", b"{"))  # XHTML starts with <?xml
    )


def page_title(body: bytes) -> str:
    match = _TITLE.search(body[:8192])
    if not match:
        return ""
    return printable(" ".join(match.group(1).decode("utf-8", "replace").split())[:80])


def _common(body: bytes, url: str, expected: str) -> None:
    if not body.strip():
        raise BankResponseError(f"empty answer where {expected} was expected", url)
    if len(body) > MAX_BYTES:
        raise BankResponseError(
            f"answer of {len(body)} bytes is too large for {expected} "
            f"(limit {MAX_BYTES}); is this the right URL?", url)
    if looks_like_html(body):
        title = page_title(body)
        raise ErrorPageError(
            f"the bank answered with an HTML page{f' titled {title!r}' if title else ''}, "
            f"not {expected}: an error or maintenance page; try again later", url)


def xml_root(body: bytes, url: str, root_tag: str) -> ET.Element:
    """The root element, which must be `root_tag`; the XML declaration picks the encoding."""
    _common(body, url, f"the bank's XML <{root_tag}>")
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body or _declares_a_dtd(body):
        raise BankResponseError("XML with a DOCTYPE or ENTITY declaration is refused (the "
                                "bank's documents have none)", url)
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise BankResponseError(f"not well-formed XML ({exc})", url) from None
    except (LookupError, ValueError) as exc:  # an encoding Python does not know
        raise BankResponseError(f"XML in an unreadable encoding ({exc})", url) from None
    if root.tag != root_tag:
        raise BankResponseError(f"XML root is <{root.tag[:40]}>, expected <{root_tag}>", url)
    return root


class _Dtd(Exception):
    pass


def _dtd(*_args: object) -> None:
    raise _Dtd


def _declares_a_dtd(body: bytes) -> bool:
    """Whether expat meets a DOCTYPE: the bytes test above misses one in UTF-16 or another
    encoding the declaration names. Stops at the declaration, before any entity is expanded."""
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _dtd
    parser.EntityDeclHandler = _dtd
    try:
        parser.Parse(body, True)
    except _Dtd:
        return True
    except (expat.ExpatError, LookupError, ValueError):
        return False  # not well-formed: ElementTree says so in its own words
    return False


def json_value(body: bytes, url: str) -> Any:
    """JSON, numbers kept exact (Decimal) in case the bank stops quoting them."""
    _common(body, url, "the bank's JSON")
    try:
        return json.loads(body.decode("utf-8-sig"), parse_float=Decimal)
    except UnicodeDecodeError:
        raise BankResponseError("JSON that is not UTF-8 text", url) from None
    except json.JSONDecodeError as exc:
        raise BankResponseError(f"not valid JSON ({exc})", url) from None
    except RecursionError:
        raise BankResponseError("JSON nested too deeply to be the bank's list", url) from None
    except ValueError:  # an integer of more digits than int() reads (4300)
        raise BankResponseError("JSON with a number too long to read; not the bank's list",
                                url) from None


def child_text(element: ET.Element, tag: str) -> str | None:
    found = element.find(tag)
    return None if found is None else (found.text or "")
