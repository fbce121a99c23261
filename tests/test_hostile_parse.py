"""Hostile inputs up to the size limit parse in time linear in their size.

Each pathological input (the causes of the old parser's quadratic times among them) is
bounded by a generous multiple of a linear baseline measured here: parsing an ordinary HTML
page of the same size (ticker, then paragraphs of prose). A quadratic path takes hours at
this size, so the bound separates the two by orders of magnitude, whatever the machine.
"""

from __future__ import annotations

import contextlib
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.errors import MarkupError, ParseError
from tracker.htmltext import check_depth, html_to_text
from tracker.layouts import render_layout
from tracker.parse import parse
from tracker.prepare import MAX_BYTES
from tracker.synthetic import TickerEntry

N = MAX_BYTES - 1024
TWO = [TickerEntry("KGS", "0.01144", "0"), TickerEntry("KZT", "0.00193", "-0")]
GOOD = render_layout(TWO, "lines")


def fill(unit: str, prefix: str = "") -> bytes:
    return (prefix + unit * ((N - len(prefix.encode())) // len(unit.encode()))).encode()


HOSTILE = {
    "spaces-then-x": fill(" ", "") + b"x",
    "pair-then-spaces": b"KGS/USD" + fill(" ") + b"=",
    "bullets": fill("\u2022 "),
    "nbsp-zero-width": fill("\u00a0\u200b", GOOD),
    "unclosed-a-tags": fill("<a ", "<html>"),
    "good-page-then-x-usd": fill("x/USD = ", GOOD + "\n"),
    "good-page-then-pair-hints": fill("KGS/USD ", GOOD + "\n"),
    "good-page-then-slashes": fill("AB/", GOOD + "\n"),
    "garbled-hints": fill("XYZ/USD = ", GOOD + "\nprose\n"),
    "one-long-entry": b"KGS/USD = " + fill("1"),
    "millions-of-entries": fill("\u2022 KGS/USD = 0.01144 0% "),
    "deep-nesting": fill("<div>", "<html><body>"),
    "deep-formatting": fill("<b></p>", "<html><body>"),
    "max-depth-then-blocks": fill("<ul></ul>", "<html><body>" + "<div>" * 250),
    "max-depth-then-end-p": fill("</p>", "<html><body>" + "<div>" * 250),
    "unclosed-comment": fill(" ", "<!--"),
    "many-comments": fill("<!-- -->"),
    "many-metas": fill("<meta "),
    "uppercase": fill("A"),
    "digits-and-dates": fill("10 December ", GOOD),
    "unclosed-script": fill("<div>", "<html><body><script>"),
    "copies-that-all-differ": " ".join(  # (each copy a value of its own: one warning line)
        f"KGS/USD = 0.{i:07d} 0%" for i in range(1, N // 23)).encode()[: N - 8].rsplit(b" ", 3)[0],
}


def _time(data: bytes) -> float:
    start = time.perf_counter()
    with contextlib.suppress(ParseError):
        parse(data, source="hostile")
    return time.perf_counter() - start


@pytest.fixture(scope="module")
def baseline() -> float:
    page = render_layout(TWO, "html-list")
    ordinary = page.replace("</main>", "<p>Freight and tea, our filler prose.</p>\n" * (N // 45))
    return min(_time(ordinary.encode()[:N]) for _ in range(2))


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_input_parses_in_linear_time(name, baseline):
    data = HOSTILE[name]
    assert MAX_BYTES - 2048 < len(data) <= MAX_BYTES
    assert _time(data) < 20 * baseline + 0.5, f"{name}: not linear"


def test_too_deep_markup_is_refused_with_a_reason():
    with pytest.raises(MarkupError, match=r"nested more than 256 elements deep \(at offset \d+\)"):
        parse(HOSTILE["deep-nesting"], source="deep.html")
    page = render_layout(TWO, "html-list").replace("<body>", "<body>" + "<div>" * 200)
    assert [q.pair for q in parse(page).quotes] == ["KGS/USD", "KZT/USD"]


_TAGS = ["<div>", "</div>", "<span>", "</span>", "<p>", "</p>", "<li>", "<br>", "<DIV>", "</Div>",
         "<b>", "</b>", "<my-el>", "</my-el>", "<img src=a>", "x", " "]


@settings(max_examples=300)
@given(st.lists(st.sampled_from(_TAGS), max_size=40), st.integers(0, 300), st.integers(0, 300))
def test_the_depth_bound_is_the_same_count_as_the_forward_scan(soup, opened, closed):
    """The depth bound checked over all tag tokens at once refuses exactly the markup the
    tag-by-tag forward scan refuses."""
    markup = "<html><body>" + "<div>" * opened + "".join(soup) + "</div>" * closed + "".join(soup)
    try:
        check_depth(markup)
    except MarkupError:
        with pytest.raises(MarkupError, match="nested more than 256"):
            html_to_text(markup)
    else:
        html_to_text(markup)


def test_tags_inside_scripts_and_styles_do_not_count():
    inside = "<script>" + "'<div>' + " * 400 + "''</script><style>" + "<div>" * 400 + "</style>"
    text, _ = html_to_text("<html><body>" + inside + "<p>KGS/USD</p>")
    assert text.split() == ["KGS/USD"]
