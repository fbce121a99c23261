"""The same ticker facts in every layout and charset parse to the same reading."""

from __future__ import annotations

import datetime as dt
import html
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tickers import FIVE
from tracker.errors import DecodeError
from tracker.layouts import LAYOUTS, render_layout
from tracker.parse import parse
from tracker.synthetic import TickerEntry, format_date

DAY = dt.date(2025, 12, 10)
BODY = ["Freight volumes on the corridor rose again in our own filler prose.",
        "A second paragraph mentions 3 December 2025 and the KGS/USD rate in passing."]
FACTS = [(f"{e.currency}/USD", e.rate_text, e.change_text) for e in FIVE]


def reading(page):
    return ([(q.pair, q.rate_text, q.change_text) for q in page.quotes], page.header_date,
            page.ticker_copies, page.copies_agree, page.warnings)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("copies", [1, 2, 8])
def test_every_layout_reads_the_same(layout, copies):
    page = parse(render_layout(FIVE, layout, day=DAY, copies=copies, body=BODY).encode())
    assert reading(page) == (FACTS, DAY, copies, True, ())
    assert page.meta.content_type == ("html" if layout.startswith(("html", "saved", "xhtml"))
                                      else "text")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_copies_that_disagree_are_reported_in_every_layout(layout):
    markup = render_layout(FIVE, layout, day=DAY, copies=3, body=BODY)
    last = markup.rindex("0.10811")
    page = parse(markup[:last] + "0.10812" + markup[last + 7:])
    assert not page.copies_agree
    assert any("copies disagree on TJS/USD" in w and "0.10812 -0.28% in copies 3" in w
               for w in page.warnings)


def test_the_same_pair_in_two_layouts_on_one_page_disagrees():
    markup = (render_layout(FIVE, "html-marquee", copies=1).replace("</marquee></div>", "")
              .replace("0.01144", "0.01145") + "<ul>" + "".join(
                  f"<li>{e.line()}</li>" for e in FIVE) + "</ul></marquee></div>")
    page = parse(markup)
    assert page.ticker_copies == 2 and not page.copies_agree
    assert any("copies disagree on KGS/USD" in w for w in page.warnings)


def test_header_date_on_the_same_line_and_article_dates_ignored():
    text = "• KGS/USD = 0.01144 0% • KZT/USD = 0.00193 -0% 10 December 2025 Viewing results 1 - 6 of 9"
    page = parse(text)
    assert page.header_date == DAY and page.meta.listing.text.startswith("Viewing results 1 - 6")
    assert parse("• KGS/USD = 0.01144 0% Published on 10 December 2025").header_date is None


WHITESPACE = [" ", "  ", "\t", "\n", "\u00a0", "\u2009", "\u202f", "\u200b", "\u3000", " \n  "]


@st.composite
def rendered_pages(draw):
    """A random ticker rendered in a random layout: whitespace kinds, wrapping, elements split
    across tokens, entities for the bullet, slash and spaces."""
    names = draw(st.lists(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3),
                          min_size=1, max_size=6, unique=True))
    entries = [
        TickerEntry(c, draw(st.from_regex(r"[0-9]{1,2}\.[0-9]{1,8}", fullmatch=True)
                            .filter(lambda t: Decimal(t) > 0)),
                    draw(st.from_regex(r"-?[0-9]{1,2}(\.[0-9]{1,2})?", fullmatch=True)))
        for c in names
    ]
    copies = draw(st.sampled_from([1, 2, 3, 8]))
    day = draw(st.none() | st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)))
    as_html = draw(st.booleans())
    gap = st.sampled_from(WHITESPACE)
    tokens = []
    for _ in range(copies):
        for e in entries:
            bullet = draw(st.sampled_from(["\u2022", "\u2022" + draw(gap), ""]))
            tokens.append([bullet + f"{e.currency}/{e.quote_currency}", "=", e.rate_text,
                           e.change_text + "%"])
    words = [w for entry in tokens for w in entry] + (format_date(day).split() if day else [])
    if not as_html:
        width = draw(st.integers(20, 120))
        out, column = [], 0
        for w in words:
            sep = draw(gap)
            if column + len(w) > width:
                sep, column = "\n", 0
            out.append(sep + w)
            column += len(sep) + len(w)
        return "".join(out).lstrip() + "\n\nProse follows.\n", entries, copies, day
    parts = []
    for w in words:
        w = html.escape(w).replace("/", draw(st.sampled_from(["/", "&#x2F;", "&sol;"])))
        w = w.replace("\u2022", draw(st.sampled_from(["\u2022", "&#8226;", "&bull;"])))
        wrap = draw(st.sampled_from(["{}", "<span>{}</span>", "<li>{}</li>", "<div>{}</div>",
                                     "<b>{}</b><br>"]))
        sep = draw(st.sampled_from([" ", "&nbsp;", "&#x2009;", "\n", "<br>", "<p>", "&#8203;"]))
        parts.append(sep + wrap.format(w))
    body = "".join(parts)
    return (f"<!DOCTYPE html><html><body><div>{body}</div><p>Prose follows.</p></body></html>",
            entries, copies, day)


@settings(max_examples=200, deadline=None)
@given(rendered_pages())
def test_any_ticker_in_any_layout_parses_back_exactly(case):
    markup, entries, copies, day = case
    page = parse(markup.encode())
    assert [(q.pair, q.rate_text, q.change_text) for q in page.quotes] == [
        (f"{e.currency}/USD", e.rate_text, e.change_text) for e in entries]
    assert page.header_date == day
    assert page.ticker_copies == copies and page.copies_agree


# -- charsets ------------------------------------------------------------------------------

CYRILLIC = "Курс валют. Бишкек, Алматы, Душанбе."


def page_in(charset: str, declare: str) -> bytes:
    markup = render_layout(FIVE, "html-list", day=DAY, body=[CYRILLIC])
    markup = markup.replace('<meta charset="utf-8">', declare.format(charset))
    return markup.encode(charset)


@pytest.mark.parametrize(("charset", "declare"), [
    ("windows-1251", '<meta charset="{}">'),
    ("koi8-r", '<meta http-equiv="Content-Type" content="text/html; charset={}">'),
    ("iso-8859-5", '<meta charset=\'{}\'>'),
    ("cp866", '<META CHARSET={}>'),
])
def test_declared_charsets_are_honoured(charset, declare):
    page = parse(page_in(charset, declare))
    assert reading(page)[:2] == (FACTS, DAY)
    assert page.meta.content_type == "html"


def test_xml_declaration_names_the_charset():
    markup = render_layout(FIVE, "xhtml", day=DAY, body=[CYRILLIC]).replace(
        'encoding="utf-8"', 'encoding="koi8-r"').replace('<meta charset="utf-8">', "")
    assert reading(parse(markup.encode("koi8-r")))[:2] == (FACTS, DAY)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-8-sig", "utf-32"])
def test_byte_order_marks_win(codec):
    text = render_layout(FIVE, "lines", day=DAY, body=[CYRILLIC])
    data = text.encode(codec) if codec in ("utf-16", "utf-8-sig", "utf-32") else (
        "\ufeff" + text).encode(codec)
    page = parse(data)
    assert reading(page)[:2] == (FACTS, DAY) and page.meta.had_bom


def test_container_charset_comes_before_the_pages_own():
    data = page_in("windows-1251", '<meta charset="utf-8">')  # the page lies, the header not
    assert reading(parse(data, charset="windows-1251"))[:2] == (FACTS, DAY)
    with pytest.raises(DecodeError, match=r"not UTF-8 text \(byte 0x\w\w at offset \d+\)"):
        parse(page_in("windows-1251", ""))


def test_a_lying_declaration_is_rejected_naming_charset_and_offset():
    """(Bytes that are valid UTF-8 are read as UTF-8 whatever is declared:
    tests/test_hostile_pages.py; these are not: Latin-1 under an ASCII declaration.)"""
    data = render_layout(FIVE, "html-list", day=DAY).replace(
        '<meta charset="utf-8">', '<meta charset="ascii">').replace("\u2022", "&bull;").replace(
        "Asia", "Asia é").encode("latin-1")
    with pytest.raises(DecodeError, match=r"not valid ascii text \(byte 0xe9 at offset \d+\), "
                                          r"the charset <meta> charset declares"):
        parse(data, source="lies.html")


def test_an_unknown_charset_is_rejected():
    data = page_in("utf-8", '<meta charset="x-klingon-9">')
    with pytest.raises(DecodeError, match=r"declares charset 'x-klingon-9' .* which is unknown"):
        parse(data)
    with pytest.raises(DecodeError, match="which is unknown"):
        parse(page_in("utf-8", ""), charset="nope-8")
