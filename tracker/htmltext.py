"""HTML → the text a reader sees, through an HTML5 parser (selectolax, the lexbor engine).

Only visible text counts: scripts, styles, templates, noscript, the head, comments and
attributes are never data. Block elements become line breaks, so that their texts are
separate tokens; inline elements (`<span>`, `<b>`, `<a>`) join their texts as a browser does.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser

from .errors import MarkupError

MAX_DEPTH = 256  # open elements; HTML5 tree building walks this stack per tag (libxml2's cap)

_INVISIBLE = ["script", "style", "template", "noscript", "head", "iframe", "object", "svg", "math"]
_BLOCKS = (
    "address,article,aside,blockquote,br,dd,details,dialog,div,dl,dt,fieldset,figcaption,"
    "figure,footer,form,h1,h2,h3,h4,h5,h6,header,hgroup,hr,li,main,nav,ol,p,pre,section,"
    "summary,table,tbody,td,tfoot,th,thead,tr,ul,body,html,option,marquee,caption,center,"
    "frameset,legend,menu,search,button,select,textarea"
)
_SPACE = re.compile(r"[\s\u00a0\ufeff]*")
_OPENING = re.compile(
    r"<(?:!doctype\s+html|\?xml|html|head|body|meta|title|div|ul|ol|li|p|span|section|"
    r"header|marquee|table|a|br|main|article|link|script|style|base)\b",
    re.IGNORECASE,
)


def looks_like_html(text: str) -> bool:
    """Whether a page is HTML, judged by how it begins (never by the file's name).

    Leading whitespace, a byte-order mark and comments (a browser's `<!-- saved from url=…
    -->`) are skipped; then a doctype, an XML prolog or a common opening tag decides.
    Each character is looked at once at most.
    """
    space = _SPACE.match(text)
    assert space is not None  # (it matches the empty string)
    pos = space.end()
    while text.startswith("<!--", pos):
        end = text.find("-->", pos + 4)
        if end == -1:
            return True  # an unclosed comment at the top: only markup does that
        space = _SPACE.match(text, end + 3)
        assert space is not None
        pos = space.end()
    return _OPENING.match(text, pos) is not None


_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*+)")
_RAW_END = {"script": re.compile(r"</script", re.IGNORECASE),
            "style": re.compile(r"</style", re.IGNORECASE)}
_NOT_NESTING = frozenset(
    "area base br col embed hr img input link meta source track wbr param keygen p li dt dd "
    "option optgroup tr td th tbody thead tfoot rb rt rp rtc colgroup caption".split()
)


def check_depth(markup: str, source: str = "<input>") -> None:
    """Refuse markup nested deeper than `MAX_DEPTH` elements, before the HTML5 parser sees it.

    HTML5 tree building looks down the stack of open elements for most start tags, so its
    time grows with depth × tags: 1 MB of `<div>` takes minutes. Browsers cap the depth
    (Blink at 512); a page nested this deep is hostile, not a snapshot. One forward scan:
    elements that close themselves (`<p>`, `<li>`, void elements) do not count, and the
    contents of scripts and styles are skipped.
    """
    depth, pos = 0, 0
    while (m := _TAG.search(markup, pos)) is not None:
        pos = m.end()
        name = m.group(2).lower()
        if name in _NOT_NESTING:
            continue
        if m.group(1):
            depth -= depth > 0
            continue
        depth += 1
        if depth > MAX_DEPTH:
            raise MarkupError(
                f"HTML nested more than {MAX_DEPTH} elements deep (at offset {m.start()}); "
                "no browser lays that out as written: is it really a page snapshot?",
                source,
            )
        end = _RAW_END.get(name)
        if end is not None:
            close = end.search(markup, pos)
            pos = close.end() if close else len(markup)


def html_to_text(markup: str, source: str = "<input>") -> tuple[str, str | None]:
    """(visible text with block elements on their own lines, the page's title or None)."""
    check_depth(markup, source)
    tree = LexborHTMLParser(markup)
    title_node = tree.css_first("title")
    title = " ".join(title_node.text(deep=True).split()) if title_node is not None else ""
    tree.strip_tags(_INVISIBLE, recursive=True)
    for node in tree.css(_BLOCKS):
        node.insert_before("\n")
        node.insert_after("\n")
    root = tree.root
    text = root.text(deep=True, separator="", strip=False) if root is not None else ""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, title or None
