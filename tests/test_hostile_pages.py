"""Pages that lie or carry invisible characters: read as a browser shows them, or refused
with one short reason, never read in part in silence."""

from __future__ import annotations

import pytest

from tests.proc import run_tracker
from tests.tickers import FIVE
from tracker.encoding import declared_charset, decode
from tracker.errors import DecodeError, MalformedTickerError
from tracker.layouts import render_layout
from tracker.parse import parse

TEXT = render_layout(FIVE, "lines", day=None, copies=8) + "10 December 2025\n"
PAIRS = ["KGS/USD", "KZT/USD", "TJS/USD", "UZS/USD", "TMT/USD"]


@pytest.mark.parametrize("mark", ["\u200e", "\u200f", "\u061c", "\u2066", "\u2069", "\u202b"],
                         ids=["LRM", "RLM", "ALM", "LRI", "PDI", "RLE"])
def test_direction_marks_between_entries_are_invisible(mark):
    """A direction mark before a pair or a bullet is no character a reader sees: every entry
    is read (it used to end the ticker: a currency and the header date lost)."""
    page = parse(TEXT.replace("\u2022 KGS", f"{mark}\u2022 {mark}KGS").replace(" 10 ", f" {mark}10 "))
    assert [q.pair for q in page.quotes] == PAIRS
    assert (page.ticker_copies, str(page.header_date), page.warnings) == (8, "2025-12-10", ())


@pytest.mark.parametrize("hidden", [
    '<!-- <meta charset="koi8-r"> -->',
    "<!--[if IE]><meta charset=koi8-r><![endif]-->",
])
def test_a_meta_inside_a_comment_declares_nothing(hidden):
    """HTML's charset prescan skips comments: a `<meta>` in one declares nothing, so a UTF-8
    page is read as UTF-8 (it was read as KOI8-R: one currency kept, the header date lost)."""
    html = f"<!doctype html><html><head>{hidden}</head><body><pre>{TEXT}</pre><p>Курс</p>"
    page = parse(html.encode())
    assert [q.pair for q in page.quotes] == PAIRS
    assert str(page.header_date) == "2025-12-10"
    assert declared_charset(b"<!--> <meta charset=koi8-r> -->") == ("koi8-r", "<meta> charset")


def test_a_number_of_any_length_is_named_in_one_short_line(tmp_path):
    """A rate or change of 100,000 digits is refused with a reason that quotes its start and
    length, not a 100 KB line on stderr and in the store."""
    long = "1" * 100_000
    files = {
        "rate-decimals.txt": TEXT.replace("0.01144", "0." + long),
        "rate-integer.txt": TEXT.replace("0.01144", long + ".5"),
        "change.txt": TEXT.replace("-0.28%", f"-{long}%"),
        "negative.txt": TEXT.replace("0.01144", "-" + long),
        "zero.txt": TEXT.replace("0.01144", "0.0" + "0" * 100_000),
        "copies.txt": TEXT.replace("0.10811", "0.1" + long, 2).replace("0.1" + long, "0.10811", 1),
    }  # (the last: one copy of eight disagrees, kept with a warning that quotes it)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    run = run_tracker("ingest", "--db", tmp_path / "t.duckdb", *(tmp_path / n for n in files))
    assert run.code == 1
    assert max(map(len, run.lines)) < 400, max(run.lines, key=len)[:500]
    rejected = [line for line in run.lines if line.startswith("rejected: ")]
    warned = [line for line in run.lines if line.startswith("warning: ")]
    assert len(rejected) == len(files) - 1 and len(warned) == 1, run.stderr[:2000]
    assert all("(100,00" in line and "characters)" in line for line in rejected + warned)


WORD = {"iso-8859-1": "café", "windows-1252": "café", "windows-1251": "Курс", "koi8-r": "Курс"}


@pytest.mark.parametrize("declared", WORD)
@pytest.mark.parametrize("where", ["container", "meta"])
def test_a_declared_charset_that_utf8_bytes_contradict_is_a_lie(declared, where):
    """A server's default `charset=ISO-8859-1` on a UTF-8 page (common in crawls), or a page
    re-saved as UTF-8 with its old `<meta>`: the bullet read as three letters cut the ticker
    after its first entry (one currency kept, the header date lost, in silence). A true
    declaration is still obeyed."""
    meta = f'<meta charset="{declared}">' if where == "meta" else ""
    html = f"<!doctype html><html><head>{meta}</head><body><pre>{TEXT}</pre><p>{WORD[declared]}</p>"
    container = declared if where == "container" else None
    page = parse(html.encode(), charset=container)
    assert [q.pair for q in page.quotes] == PAIRS
    assert (str(page.header_date), page.warnings) == ("2025-12-10", ())
    true = html.replace("\u2022", "&bull;").encode(declared)
    assert decode(true, charset=container)[0] == html.replace("\u2022", "&bull;")


def test_the_entries_left_out_after_the_ticker_are_all_counted():
    """Entries separated by something a reader sees (`|`) end the ticker after its first
    one: the warning counts every entry left out (it said 1 of 39, as if one stray line)."""
    piped = TEXT.replace("\n  \u2022 ", " | ").replace("\n\u2022 ", " | ")
    page = parse(piped)
    assert [q.pair for q in page.quotes] == ["KGS/USD"]
    assert page.warnings == ("ignored 39 ticker-like line(s) further down the page (line 1); "
                             "only the ticker at the top counts",)


@pytest.mark.parametrize(("old", "new", "hint"), [
    ("-0.28%", "\u22120.28%", "it holds '\u2212' U+2212 MINUS SIGN, not an ASCII digit"),
    ("-0%", "\u22120%", "it holds '\u2212' U+2212 MINUS SIGN, not an ASCII digit"),
    ("0.01144", "\uff10.\uff10\uff11\uff11\uff14\uff14", "U+FF10 FULLWIDTH DIGIT ZERO"),
    ("0.01144", "0.01\u200d144", "it holds U+200D ZERO WIDTH JOINER, inside a number"),
    ("0.01144", "0.01\u200b144", "it holds U+200B ZERO WIDTH SPACE, inside a number"),
])
def test_a_value_that_looks_right_but_is_not_ascii_is_named(old, new, hint):
    """`TJS/USD = 0.10811 −0.28%` quoted in a rejection looks exactly like the expected form;
    the reason names the character that is not what it looks like."""
    with pytest.raises(MalformedTickerError, match="is garbled or truncated") as caught:
        parse(TEXT.replace(old, new, 1))
    assert str(caught.value).endswith(hint) or hint in str(caught.value)
    with pytest.raises(MalformedTickerError) as plain:  # (no hint where nothing is odd)
        parse(TEXT.replace("0.01144", "1e-5", 1))
    assert "it holds" not in str(plain.value)


@pytest.mark.parametrize("charset", ["base64", "hex", "rot13", "zlib", "uu", "undefined"])
def test_a_charset_no_text_is_in_is_a_rejection_not_a_crash(charset, tmp_path):
    """`<meta charset="base64">` named a codec Python knows but that decodes no text: the
    LookupError (or UnicodeError) ended the whole `tracker ingest` with a traceback."""
    html = f'<!doctype html><html><head><meta charset="{charset}"></head><body><pre>'
    ascii_page = html + TEXT.replace("\u2022", "&bull;") + "</pre></body></html>"
    with pytest.raises(DecodeError, match=rf"'{charset}'|as {charset}"):
        parse(ascii_page.encode())
    with pytest.raises(DecodeError):
        parse(TEXT.replace("\u2022", "*").encode(), charset=charset)  # (a container's word)
    (tmp_path / "odd.html").write_text(ascii_page)
    (tmp_path / "good.txt").write_text(TEXT)
    run = run_tracker("ingest", "--db", tmp_path / "t.duckdb", tmp_path)
    assert run.code == 1 and "Traceback" not in run.stderr
    assert run.lines[0].startswith(f"rejected: {tmp_path / 'odd.html'}: ")
    assert run.lines[-1].startswith("ingested 1, already present 0, rejected 1")
