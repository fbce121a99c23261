"""The parser: every variant of ticker-format.md, text and HTML, and its errors."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.tickers import FIVE
from tracker.errors import (
    DecodeError,
    InvalidDateError,
    MalformedTickerError,
    NoTickerError,
    ParseError,
)
from tracker.parse import html_to_text, parse
from tracker.synthetic import (
    TickerEntry,
    format_date,
    render_html,
    render_text,
    ticker_lines,
)

FOUR = FIVE[:4]
DAY = dt.date(2025, 12, 10)
BODY = ["Some headline", "A paragraph of our own filler text about freight."]


def printed(page):
    return [(q.pair, q.rate_text, q.change_text) for q in page.quotes]


def expected(entries):
    return [(f"{e.currency}/USD", e.rate_text, e.change_text) for e in entries]


@pytest.mark.parametrize(
    ("entries", "copies", "day", "listing"),
    [
        pytest.param(FIVE, 8, DAY, None, id="5-currencies-8-copies-dated"),
        pytest.param(FIVE, 2, DAY, None, id="2-copies"),
        pytest.param(FOUR, 8, None, None, id="old-4-currency-layout-undated"),
        pytest.param(FIVE, 8, None, "Viewing results 1 - 6 of 45", id="listing-undated"),
        pytest.param(FIVE, 8, DAY, "Viewing results 19 - 24 of 911", id="dated-listing"),
        pytest.param(FIVE, 1, DAY, None, id="single-copy"),
    ],
)
def test_text_variants(entries, copies, day, listing):
    page = parse(render_text(entries, day=day, copies=copies, listing=listing, body=BODY))
    assert printed(page) == expected(entries)
    assert page.header_date == day
    assert page.ticker_copies == copies
    assert page.copies_agree
    assert page.meta.content_type == "text"
    assert (page.meta.listing.text if page.meta.listing else None) == listing
    assert len(page.ticker_lines) == copies * len(entries)
    assert page.warnings == ()


def test_first_line_unindented_and_later_lines_indented():
    text = render_text(FIVE, day=DAY)
    lines = text.splitlines()
    assert lines[0].startswith("• KGS") and lines[1].startswith("  • KZT")
    assert parse(text).quotes[0].rate == Decimal("0.01144")


@pytest.mark.parametrize(
    ("change_text", "value", "negative", "decimals"),
    [
        ("0", Decimal("0"), False, 0),
        ("-0", Decimal("0"), True, 0),
        ("0.1", Decimal("0.1"), False, 1),
        ("-0.28", Decimal("-0.28"), True, 2),
        ("0.44", Decimal("0.44"), False, 2),
        ("1.5", Decimal("1.5"), False, 1),
    ],
)
def test_changes_keep_value_sign_and_resolution(change_text, value, negative, decimals):
    page = parse(render_text([TickerEntry("KGS", "0.01144", change_text)], day=DAY))
    q = page.quotes[0]
    assert (q.change_pct, q.change_text, q.change_negative, q.change_decimals) == (
        value, change_text, negative, decimals
    )
    assert q.rate_decimals == 5


def test_header_date_directly_after_ticker():
    page = parse(render_text(FIVE, day=dt.date(2024, 12, 22)))
    assert page.header_date == dt.date(2024, 12, 22)


def test_a_date_in_the_article_is_not_the_header_date():
    text = render_text(FIVE, body=["Published on", "10 December 2025"])
    assert parse(text).header_date is None


def test_article_bullet_lines_are_not_ticker_lines():
    body = ["• Kyrgyzstan improved to 78th place from 81st.", "• Tajikistan climbed to 123rd."]
    page = parse(render_text(FIVE, day=DAY, body=body))
    assert printed(page) == expected(FIVE)
    assert page.warnings == ()


def test_spam_line_before_ticker_is_ignored():
    text = "Buy cheap flights at example.invalid\n\n" + render_text(FIVE, day=DAY)
    assert printed(parse(text)) == expected(FIVE)


@pytest.mark.parametrize(
    ("listing", "first", "last", "total", "sane"),
    [
        ("Viewing results 19 - 24 of 911", 19, 24, 911, True),
        ("Viewing results 1 - 6 of 2", 1, 6, 2, False),
        ("Viewing results 1 - 6 of", 1, 6, None, False),
    ],
)
def test_viewing_results_is_metadata_even_when_malformed(listing, first, last, total, sane):
    page = parse(render_text(FIVE, day=DAY, listing=listing, body=BODY))
    assert page.meta.listing is not None
    assert (page.meta.listing.first, page.meta.listing.last, page.meta.listing.total) == (
        first, last, total
    )
    assert printed(page) == expected(FIVE)
    assert any("implausible" in w for w in page.warnings) is not sane


def test_page_without_ticker_is_rejected_with_a_clear_reason():
    with pytest.raises(NoTickerError) as info:
        parse("Spam line\n\nAn old article with no ticker.\n", source="data/x.html")
    assert str(info.value) == (
        "no ticker found (expected lines like 'KGS/USD = 0.01144 0%') in data/x.html"
    )


def test_date_line_without_ticker_says_so():
    with pytest.raises(NoTickerError, match="date line '16 December 2025' but no ticker"):
        parse("16 December 2025\n\nProse.\n")


@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_bom_and_line_endings(bom, newline):
    data = render_text(FIVE, day=DAY, newline=newline, bom=bom).encode("utf-8")
    page = parse(data)
    assert printed(page) == expected(FIVE)
    assert page.header_date == DAY
    assert (page.meta.had_bom, page.meta.newline) == (bom, newline)


def test_undecodable_bytes_get_the_parsers_error():
    with pytest.raises(DecodeError, match=r"not UTF-8 text \(byte 0xff at offset 3\)"):
        parse(b"abc\xff\xfe", source="bad.txt")


def test_binary_content_is_rejected():
    with pytest.raises(DecodeError, match="binary content"):
        parse(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")


@pytest.mark.parametrize(
    "line",
    [
        "• KGS/USD = 0.0l144 0%",
        "• KGS/USD = 1e5 0%",
        "• KGS/USD = NaN 0%",
        "• KGS/USD = 0.01144",
        "• KGS/USD = 0.01144 0",
        "• KGS/USD = ",
    ],
)
def test_garbled_numbers_are_rejected_with_the_line(line):
    with pytest.raises(MalformedTickerError, match="garbled or truncated") as info:
        parse(line + "\n10 December 2025\n")
    assert "ticker line 1" in str(info.value)


@pytest.mark.parametrize("rate", ["0.00000", "0"])
def test_zero_rate_is_rejected(rate):
    with pytest.raises(MalformedTickerError, match="not positive"):
        parse(f"• KGS/USD = {rate} 0%\n")


def test_currency_repeated_inside_one_copy_is_rejected():
    lines = ticker_lines(FIVE, copies=2)
    lines.insert(2, "  • KZT/USD = 0.00199 0%")
    with pytest.raises(MalformedTickerError, match=re.escape(
        "KZT/USD appears twice in one copy of the ticker (lines 2 and 3) with different values "
        "(0.00193 -0% and 0.00199 0%); a copy lists each pair once"
    )):
        parse("\n".join(lines) + "\n")


@pytest.mark.parametrize(("edit", "message"), [
    (lambda ls: ls.insert(1, ls[0]),  # the first pair printed twice in a row, same value
     "KGS/USD appears twice in one copy of the ticker (lines 1 and 2) with the same value"),
    (lambda ls: ls.__setitem__(1, "  • KGS/USD = 0.01150 0%"),
     "KGS/USD appears twice in one copy of the ticker (lines 1 and 2) with different values"),
    (lambda ls: ls.pop(2),  # TJS missing from the first copy: the group restarts, a pair is missing
     "ticker line 7 is TJS/USD where the repeating group (KGS, KZT, UZS, TMT) expects UZS/USD: "
     "a pair repeated or missing inside one copy"),
])
def test_broken_copy_structure_is_named(edit, message):
    lines = ticker_lines(FIVE, copies=2)
    edit(lines)
    with pytest.raises(MalformedTickerError, match=re.escape(message)):
        parse("\n".join(lines) + "\n")


def test_negative_rate_and_cut_off_files_get_their_own_reason():
    with pytest.raises(MalformedTickerError, match=re.escape("rate -0.01144 for KGS is negative")):
        parse(b"\xe2\x80\xa2 KGS/USD = -0.01144 0%\n")
    with pytest.raises(DecodeError, match="ends in the middle of a UTF-8 character"):
        parse("• KGS/USD = 0.01144 0%\n  •".encode()[:-1])
    assert printed(parse("• KGS/USD = 0.01144 0%\n".encode("utf-16"))) == expected(FIVE[:1])
    for empty in (b"", b"\xef\xbb\xbf", b" \r\n\t"):
        with pytest.raises(NoTickerError, match="the file is empty"):
            parse(empty)


def test_impossible_header_date_is_rejected():
    with pytest.raises(InvalidDateError, match="'31 February 2025' is not a real day"):
        parse("\n".join(ticker_lines(FIVE)) + "\n31 February 2025\n")


def test_copies_that_disagree_are_reported_not_hidden():
    lines = ticker_lines(FIVE, copies=8)
    lines[5 * 4] = "  • KGS/USD = 0.01145 0.09%"  # copy 5
    page = parse("\n".join(lines) + "\n10 December 2025\n")
    assert not page.copies_agree
    assert page.ticker_copies == 8
    assert page.quote("KGS").rate_text == "0.01144"  # the majority, and it says so
    assert any(
        "copies disagree on KGS/USD" in w and "0.01145 0.09% in copies 5" in w
        for w in page.warnings
    )


def test_incomplete_last_copy_is_a_warning():
    lines = ticker_lines(FIVE, copies=3)[:-2]
    page = parse("\n".join(lines) + "\n")
    assert page.ticker_copies == 3
    assert page.copies_agree
    assert any("incomplete (3 of 5 pairs)" in w for w in page.warnings)


def test_unexpected_pairs_are_kept_and_reported():
    page = parse("• KGS/USD = 0.01144 0%\n  • AMD/USD = 0.00260 0.1%\n  • KGS/EUR = 0.00980 0%\n")
    assert [q.pair for q in page.quotes] == ["KGS/USD", "AMD/USD", "KGS/EUR"]
    assert any("AMD/USD, KGS/EUR" in w for w in page.warnings)


def test_ticker_like_lines_further_down_are_ignored_with_a_warning():
    text = render_text(FIVE, day=DAY, body=["Prose.", "• EUR/USD = 1.08000 0.1%"])
    page = parse(text)
    assert printed(page) == expected(FIVE)
    assert any("further down the page" in w for w in page.warnings)


# -- HTML ---------------------------------------------------------------------------------


def test_html_visible_text_only():
    page = parse(render_html(FIVE, day=DAY, body=BODY))
    assert page.meta.content_type == "html"
    assert printed(page) == expected(FIVE)
    assert page.header_date == DAY
    assert page.meta.title == "The Times of Central Asia"


def test_html_script_style_comments_and_attributes_are_never_data():
    markup = (
        "<html><head><style>.x{content:'KGS/USD = 5.00000 1%'}</style></head><body>"
        "<script>\nKGS/USD = 9.99999 5%\n</script>"
        "<!--\nKGS/USD = 1.00000 0%\n-->"
        '<div data-x="\nKGS/USD = 2.00000 0%\n">'
        "<ul><li>KGS/USD = 0.01144 0%</li><li>KZT/USD = 0.00193 -0%</li></ul></div>"
        "<div>10 December 2025</div></body></html>"
    )
    page = parse(markup)
    assert printed(page) == [("KGS/USD", "0.01144", "0"), ("KZT/USD", "0.00193", "-0")]
    assert page.header_date == DAY


def test_html_whose_only_ticker_is_in_a_script_has_no_ticker():
    markup = "<html><body><script>\nKGS/USD = 0.01144 0%\n</script><p>Hi</p></body></html>"
    with pytest.raises(NoTickerError):
        parse(markup)


def test_html_entities_and_block_elements():
    text, _ = html_to_text("<p>A&amp;B</p><div>KGS/USD&nbsp;= 0.01144 0%</div><br>x")
    assert [line for line in text.split("\n") if line] == [
        "A&B", "KGS/USD\u00a0= 0.01144 0%", "x"
    ]


# -- properties ---------------------------------------------------------------------------

currency = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3)
rate_text = st.builds(
    lambda whole, frac: f"{whole}.{frac}",
    st.integers(0, 99),
    st.text(alphabet="0123456789", min_size=1, max_size=8),
).filter(lambda t: Decimal(t) > 0)
change_text = st.builds(
    lambda sign, whole, frac: f"{sign}{whole}{'.' + frac if frac else ''}",
    st.sampled_from(["", "-"]),
    st.integers(0, 50),
    st.text(alphabet="0123456789", max_size=2),
)


@st.composite
def tickers(draw):
    n = draw(st.integers(1, 6))
    names = draw(st.lists(currency, min_size=n, max_size=n, unique=True))
    entries = [TickerEntry(c, draw(rate_text), draw(change_text)) for c in names]
    copies = draw(st.sampled_from([1, 2, 8]))
    day = draw(st.none() | st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)))
    fmt = draw(st.sampled_from(["text", "html", "crlf-bom"]))
    listing = draw(st.none() | st.just("Viewing results 1 - 6 of"))
    return entries, copies, day, fmt, listing


@given(tickers())
def test_generated_tickers_parse_back_exactly(case):
    entries, copies, day, fmt, listing = case
    if fmt == "html":
        data = render_html(entries, day=day, copies=copies, body=BODY)
    else:
        data = render_text(
            entries, day=day, copies=copies, listing=listing, body=BODY,
            newline="\r\n" if fmt == "crlf-bom" else "\n", bom=fmt == "crlf-bom",
        )
    page = parse(data.encode("utf-8"))
    assert printed(page) == [(f"{e.currency}/USD", e.rate_text, e.change_text) for e in entries]
    assert [q.rate for q in page.quotes] == [Decimal(e.rate_text) for e in entries]
    assert page.header_date == day
    assert page.ticker_copies == copies
    assert page.copies_agree


@given(st.binary(max_size=2000))
def test_arbitrary_bytes_raise_only_parse_errors(data):
    with contextlib.suppress(ParseError):
        parse(data)


@given(st.text(max_size=2000))
def test_arbitrary_text_raises_only_parse_errors(text):
    with contextlib.suppress(ParseError):
        parse(text)


@given(st.lists(st.sampled_from([
    "• KGS/USD = 0.01144 0%", "  • KZT/USD = 0.00193 -0%", "<li>", "</li>", "<script>",
    "</script>", "<!--", "-->", "10 December 2025", "31 February 2025", "", "garbage",
    "Viewing results 1 - 6 of", "• TJS/USD = 1e5 0%", "\x00", "\ufeff", "\r",
]), max_size=40))
def test_ticker_shaped_noise_raises_only_parse_errors(lines):
    try:
        page = parse("\n".join(lines))
    except ParseError:
        return
    assert page.quotes
    assert format_date(page.header_date) if page.header_date else True


# -- helpers agree with their plain definitions ------------------------------------------

parse_mod = importlib.import_module("tracker.parse")  # `tracker.parse` the function shadows it

ticker_fragments = st.lists(st.sampled_from([
    "• ", "  ", "\u00a0", "\t", "\n", "/", "//", "KGS", "/USD", "USD", " = ", "=", "0.01144 0%",
    "-0.28%", "Viewing results 1 - 6 of 2", "Viewing", "prose ", "a/b", "10 December 2025",
]), max_size=60).map("".join)


@given(ticker_fragments, st.integers(0, 40))
def test_listing_precheck_changes_nothing(text, pos):
    m = parse_mod._LISTING.search(text[pos : pos + 400])
    listing = parse_mod._listing(text, pos)
    assert (listing.text if listing else None) == (m.group(1).strip() if m else None)


def test_a_disagreeing_incomplete_last_copy_is_noticed():
    lines = ticker_lines(FIVE, copies=3)[:-2]
    lines[-1] = "  • TJS/USD = 0.10812 -0.28%"
    page = parse("\n".join(lines) + "\n")
    assert (page.copies_agree, page.ticker_copies) == (False, 3)
    assert any("copies disagree on TJS/USD" in w for w in page.warnings)


ENTRY_LINES = [
    "• KGS/USD = 0.01144 0%", "KZT/USD = 0.00193 -0%", "• KZT/USD = 0.00194 -0%",
    "• TJS/USD = 0.10811 -0.28%", "UZS/USD = 0.00008 0%", "• TJS/USD = 0 0%",
    "• UZS/USD = 0.0x 0%", "• KGS/USD = 0.01144 0.1%", "• EUR/USD = 1.1 0%",
]


@st.composite
def ticker_blocks(draw):
    """Ticker blocks as printed and as broken: copies, indents, blanks, edits, what follows."""
    copy = draw(st.lists(st.sampled_from(ENTRY_LINES), min_size=1, max_size=6))
    lines = []
    for _ in range(draw(st.sampled_from([1, 2, 3, 8, 150]))):  # 150 copies: past the window
        lines += [draw(st.sampled_from(["", "  ", "\u00a0", "\t"])) + line for line in copy]
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(lines)))
        edit = draw(st.sampled_from(["blank", "line", "delete", "cut"]))
        if edit == "blank":
            lines.insert(at, draw(st.sampled_from(["", "   ", "\u00a0"])))
        elif edit == "line":
            lines.insert(at, draw(st.sampled_from([*ENTRY_LINES, "prose", "10 December 2025"])))
        elif edit == "delete" and at < len(lines):
            del lines[at]
        elif edit == "cut":
            lines = lines[:at]
    after = draw(st.sampled_from(["", "\n", "\n  ", "\n\n10 December 2025\nprose\n",
                                  "\n\nprose • KGS/USD = 1 0%\n", "\n\n  • KGS/USD = 1 0%\n"]))
    return draw(st.sampled_from(["", "spam line\n"])) + "\n".join(lines) + after


def parse_outcome(text):
    try:
        return parse(text)
    except ParseError as exc:
        return type(exc), exc.reason



_LINE_NUMBERS = re.compile(r"\b(lines?) [0-9]+(?: and [0-9]+)?")
_QUOTED = re.compile(r"'([^']*)' is garbled")


def layout_free(outcome):
    """A parse outcome without what depends on line breaks: the line numbers in messages, and
    how much of the rest of its line a garbled entry's reason quotes (the entry's own four
    tokens are kept)."""
    if isinstance(outcome, tuple):
        reason = _QUOTED.sub(lambda m: " ".join(m.group(1).split()[:4]), outcome[1])
        return outcome[0], _LINE_NUMBERS.sub(r"\1 N", reason)
    return (printed(outcome), outcome.ticker_copies, outcome.copies_agree, outcome.header_date,
            [_LINE_NUMBERS.sub(r"\1 N", w) for w in outcome.warnings])


@given(ticker_blocks(), st.sampled_from([" ", "\t", "\u00a0 ", "\u2009", "\u200b", "\n\n"]))
def test_a_block_reads_the_same_on_one_line_as_on_many(text, separator):
    assert layout_free(parse_outcome(text)) == layout_free(
        parse_outcome(text.replace("\n", separator))
    )
