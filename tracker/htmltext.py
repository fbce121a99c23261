"""HTML → the text a reader sees, through an HTML5 parser (selectolax, the lexbor engine).

Only visible text counts: scripts, styles, templates, noscript, the head, comments and
attributes are never data. Block elements become line breaks, so that their texts are
separate tokens; inline elements (`<span>`, `<b>`, `<a>`) join their texts as a browser does.
"""

from __future__ import annotations

import contextlib
import operator
import re
from itertools import accumulate

from selectolax.lexbor import LexborHTMLParser

from .errors import MarkupError

MAX_DEPTH = 256  # open elements; HTML5 tree building walks this stack per tag (libxml2's cap)

_INVISIBLE = ["script", "style", "template", "noscript", "head", "iframe", "object", "svg", "math"]
_HIDDEN = ",".join(["title", *_INVISIBLE])
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
_TOKEN = re.compile(r"(</?[A-Za-z][A-Za-z0-9-]*+)")  # a tag's `<name` or `</name`
_RAW_END = {"script": re.compile(r"</script", re.IGNORECASE),
            "style": re.compile(r"</style", re.IGNORECASE)}
_NOT_NESTING = frozenset(
    "area base br col embed hr img input link meta source track wbr param keygen p li dt dd "
    "option optgroup tr td th tbody thead tfoot rb rt rp rtc colgroup caption".split()
)
_COMMON = (  # names given an entry below, so that the usual page never calls `__missing__`
    "html head body title div span a b i em strong small u s sub sup code nav header footer "
    "main section article aside ul ol form label img picture figure source svg path g use "
    "button select table iframe noscript script style template time abbr cite q mark"
).split()


class _Weights(dict[str, int]):
    """A tag token's step in the depth of open elements: +1, -1, or 0 for elements that do
    not nest (void elements, `<p>`, `<li>`, …) and for scripts and styles (skipped whole)."""

    def __missing__(self, token: str) -> int:
        low = token.lower()
        if low != token:
            return self[low]
        return -1 if token.startswith("</") else 1


class _Separated(dict[str, str]):
    """A tag token with its name in lower case, and a line break before it for a block
    element."""

    def __missing__(self, token: str) -> str:
        low = token.lower()
        return self[low] if low != token else token


_WEIGHT = _Weights()
_SEPARATED = _Separated()
for _name in {*_COMMON, *_NOT_NESTING, *_BLOCKS.split(",")}:
    _nests = _name not in _NOT_NESTING and _name not in _RAW_END
    _WEIGHT["<" + _name], _WEIGHT["</" + _name] = (1, -1) if _nests else (0, 0)
    _block = _name in _BLOCKS.split(",")
    for _token in ("<" + _name, "</" + _name):
        _SEPARATED[_token] = "\n" + _token if _block else _token


def _depth_within_bound(tokens: list[str]) -> bool:
    """Whether the markup whose tag tokens these are stays within `MAX_DEPTH` open elements.

    The same count as `check_depth`, over every token at once with C-level iteration: the
    steps summed (`accumulate`), and the depth never below zero, i.e. each prefix sum less
    the lowest prefix sum before it."""
    if len(tokens) <= MAX_DEPTH:
        return True  # (each token adds one at most)
    steps = list(map(_WEIGHT.__getitem__, tokens))
    low = list(map(str.lower, tokens))
    for raw in _RAW_END:  # a script's or style's contents are no tags
        at = 0
        with contextlib.suppress(ValueError):  # (no more of them)
            while True:
                at = low.index("<" + raw, at)
                try:
                    stop = low.index("</" + raw, at)
                except ValueError:
                    stop = len(low)
                steps[at:stop] = [0] * (stop - at)
                at = stop
    sums = list(accumulate(steps, initial=0))
    deepest: int = max(map(operator.sub, sums, accumulate(sums, min)))
    return deepest <= MAX_DEPTH


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
    """(visible text with block elements on their own lines, the page's title or None).

    One regex pass cuts the markup at its tag names: their tokens give the depth bound and
    get a line break before every block element's start and end tag, so that the HTML5
    parser's own text walk (C) keeps block texts apart; marking the blocks in the parsed tree
    instead cost a Python call per block (~150 µs of a 20 KB page's ~330)."""
    parts = _TOKEN.split(markup)
    tokens = parts[1::2]
    if not _depth_within_bound(tokens):
        check_depth(markup, source)  # (says where)
        raise MarkupError(f"HTML nested more than {MAX_DEPTH} elements deep; no browser lays "
                          "that out as written: is it really a page snapshot?", source)
    parts[1::2] = tokens = list(map(_SEPARATED.__getitem__, tokens))  # (lower-case names)
    tree = LexborHTMLParser("".join(parts))
    body = tree.body
    if body is None:  # (a frameset)
        return _visible_text(tree)
    head = tree.head
    node = head.css_first("title") if head is not None else None  # (the head comes first)
    if node is None:
        node = tree.css_first("title")
    title = " ".join(node.text(deep=True).split()) if node is not None else ""
    present = set(tokens)
    hidden = ",".join(name for name in _INVISIBLE if "<" + name in present and name != "head")
    if hidden:  # (the usual page: scripts and styles only, so the query looks for those only)
        for node in reversed(body.css(hidden)):  # (inner ones first: removal empties a node)
            node.decompose()
    text = body.text(deep=True, separator="", strip=False)  # (the head is never visible)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, title or None


def _visible_text(tree: LexborHTMLParser) -> tuple[str, str | None]:
    """The whole document's visible text and title, for one without a body."""
    title = ""
    for node in reversed(tree.css(_HIDDEN)):  # (inner ones first: removal empties a node)
        if node.tag == "title":
            title = " ".join(node.text(deep=True).split())  # the first one wins
        else:
            node.decompose()
    root = tree.root
    text = root.text(deep=True, separator="", strip=False) if root is not None else ""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, title or None
