"""One ticker written in every layout pages reach analysts in (the inverse of the parser).

Used by the layout corpus in the tests, the bundled samples and the ingest benchmark: the
same facts as browser text copies, lynx/w3m dumps, marquee `<span>`s, entries split over
source lines, a browser's saved page and XHTML.
"""

from __future__ import annotations

import datetime as dt
import html
import textwrap
from collections.abc import Sequence

from .synthetic import TickerEntry, format_date, render_html, render_text

LAYOUTS = (
    "lines", "one-line", "tabs", "nbsp", "lynx", "html-list", "html-marquee",
    "html-split", "saved-page", "xhtml",
)
_DATE_HTML = '<div class="date">{}</div>\n'


def _entry_texts(entries: Sequence[TickerEntry], copies: int) -> list[str]:
    return [f"\u2022 {e.line()}" for _ in range(copies) for e in entries]


def _html_page(ticker: str, day: dt.date | None, body: Sequence[str], head: str = "") -> str:
    date_div = _DATE_HTML.format(format_date(day)) if day else ""
    paras = "\n".join(f"<p>{html.escape(p)}</p>" for p in body)
    return (
        f"{head}<html lang=\"en\"><head><meta charset=\"utf-8\"><title>The Times of Central Asia"
        f"</title><script>var t = 'KGS/USD = 9.99999 5%';</script></head>\n<body>\n"
        f"{ticker}\n{date_div}<main>\n{paras}\n</main>\n</body></html>\n"
    )


def render_layout(
    entries: Sequence[TickerEntry],
    layout: str,
    *,
    day: dt.date | None = None,
    copies: int = 8,
    body: Sequence[str] = (),
) -> str:
    """The page in `layout` (one of `LAYOUTS`)."""
    texts = _entry_texts(entries, copies)
    date = f" {format_date(day)}" if day else ""
    prose = "".join(f"\n\n{p}" for p in body)
    if layout == "lines":
        return render_text(entries, day=day, copies=copies, body=body)
    if layout == "one-line":  # a browser's text copy of the marquee
        return "  ".join(texts) + date + prose + "\n"
    if layout == "tabs":
        return "\t".join(texts) + "\t" + date.strip() + prose + "\n"
    if layout == "nbsp":  # NBSP inside entries, thin and zero-width spaces between them
        return "\u2009\u200b".join(t.replace(" ", "\u00a0") for t in texts) + date + prose + "\n"
    if layout == "lynx":  # `lynx -dump`: wrapped at 76 columns, entries cut across lines
        wrapped = textwrap.fill("   " + "  ".join(texts) + date, 76, break_long_words=False,
                                break_on_hyphens=False, initial_indent="", subsequent_indent="   ")
        return wrapped + prose + "\n"
    if layout == "html-list":
        return render_html(entries, day=day, copies=copies, body=body)
    if layout == "html-marquee":
        spans = " ".join(f"<span class=\"item\">{html.escape(t)}</span>" for t in texts)
        return _html_page(f"<div class=\"ticker\"><marquee>{spans}</marquee></div>", day, body)
    if layout == "html-split":  # an entry over several source lines and elements
        items = "".join(
            f"<li>\n  <b>&#8226;</b> <span>{e.currency}</span>&#x2F;<span>{e.quote_currency}"
            f"</span> =\n  <span>{e.rate_text}</span>\n  <span>{e.change_text}%</span>\n</li>\n"
            for _ in range(copies) for e in entries
        )
        return _html_page(f"<ul class=\"ticker\">\n{items}</ul>", day, body)
    if layout == "saved-page":  # a browser's "Save Page As…"
        return ("<!-- saved from url=(0022)https://timesca.com/ -->\n"
                + render_html(entries, day=day, copies=copies, body=body).split("\n", 1)[1])
    if layout == "xhtml":
        page = render_html(entries, day=day, copies=copies, body=body).split("\n", 1)[1]
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 '
            'Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n'
            + page.replace('<html lang="en">', '<html xmlns="http://www.w3.org/1999/xhtml">')
        )
    raise ValueError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
