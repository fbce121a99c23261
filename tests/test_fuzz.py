"""Property-based fuzzing of the parser and the whole ingest path with mutated real-looking pages.

Arbitrary bytes (tests/test_parse.py) rarely get past the first check; these start from valid
snapshots and break them the way downloads, editors and hostile pages do, so the mutations
reach the ticker, date and HTML code. More examples: `HYPOTHESIS_PROFILE=fuzz pytest ...`.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.errors import ParseError
from tracker.ingest import RawInput, ingest
from tracker.parse import parse
from tracker.store import Store
from tracker.synthetic import TickerEntry, render_html, render_text

ENTRIES = [TickerEntry("KGS", "0.01144", "0"), TickerEntry("KZT", "0.00193", "-0.05"),
           TickerEntry("TJS", "0.10730", "0.12"), TickerEntry("UZS", "0.00008", "-0"),
           TickerEntry("TMT", "0.28571", "0")]
BODY = ["Filler prose for the fuzzer: no rates here.", "• A bullet line in the article text."]
SNIPPETS = [
    b"\x00", b"\xff", b"\xe2\x80", b"\xef\xbb\xbf", b"\r", b"\n", b"\r\n", b"%", b"-", b".", b"=",
    b"/USD", b"KGS/USD = ", b"0.01144", b"1e5", b"NaN", b"\xe2\x80\xa2 ", b"<script>", b"</script>",
    b"<!--", b"-->", b"<li>", b"</li>", b"<p>", b"&amp;", b"&#0;", b"&#x110000;", b"&nbsp;",
    b"<title>", b"31 February 2025", b"10 December 2099", b"Viewing results 1 - 6 of 45",
    b"**md**", b"[x](javascript:alert(1))", b"\x1b[31m", b"\x07", b"\t", "\u00a0".encode(),
]


@st.composite
def pages(draw: st.DrawFn) -> bytes:
    """A valid snapshot (text or HTML, 2 or 8 copies, dated or not) with a few mutations."""
    copies = draw(st.sampled_from([2, 8]))
    day = draw(st.none() | st.just(dt.date(2025, 12, 10)))
    entries = ENTRIES[: draw(st.sampled_from([4, 5]))]
    if draw(st.booleans()):
        data = render_html(entries, day=day, copies=copies, body=BODY).encode()
    else:
        data = render_text(entries, day=day, copies=copies, body=BODY).encode()
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "flip", "truncate", "duplicate"]))
        if action == "insert":
            data = data[:at] + draw(st.sampled_from(SNIPPETS) | st.binary(max_size=8)) + data[at:]
        elif action == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 40)) :]
        elif action == "flip" and at < len(data):
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
        elif action == "truncate":
            data = data[:at]
        elif action == "duplicate":
            end = data.find(b"\n", at) + 1 or len(data)
            data = data[:end] + data[at:end] + data[end:]
    return data


@settings(max_examples=max(400, settings.default.max_examples))
@given(pages())
def test_mutated_pages_parse_or_raise_the_parsers_own_error(data):
    try:
        page = parse(data, source="fuzz.txt")
    except ParseError as exc:
        assert exc.reason and "\n" not in exc.reason  # one line, said plainly
        return
    assert page.quotes and page.ticker_copies >= 1
    for q in page.quotes:
        assert q.rate > 0 and q.rate == Decimal(q.rate_text)  # exact as printed
        assert q.change_pct == Decimal(q.change_text)


_DB = Path(tempfile.mkdtemp(prefix="tracker-fuzz-")) / "fuzz.duckdb"


@settings(max_examples=max(100, settings.default.max_examples))
@given(st.lists(st.tuples(pages(), st.booleans()), min_size=1, max_size=6))
def test_the_ingest_path_takes_anything_and_stays_whole(batch):
    inputs = [RawInput(f"fuzz-{i}.txt", data=gzip.compress(d, mtime=0) if gz else d)
              for i, (d, gz) in enumerate(batch)]
    summary = ingest(inputs, db_path=_DB)
    assert len(summary.outcomes) == len(inputs)
    for outcome in summary.outcomes:
        assert outcome.status in ("ingested", "present", "rejected")
        if outcome.status == "rejected":
            assert outcome.reason and "\n" not in outcome.reason
    with Store.open(_DB, read_only=True) as store:
        ids = [o.snapshot_id for o in summary.outcomes if o.snapshot_id]
        rows = {r.snapshot_id: r for r in store.snapshot_rows(ids)}
        quotes = store.snapshot_quotes(ids).to_pandas()
        raw = {sid: store.load_raw(sid) for sid in ids}
        counts = store.counts()
    per_snapshot = quotes.groupby("snapshot_id").size().to_dict()
    for sid, row in rows.items():
        assert hashlib.sha256(raw[sid]).hexdigest() == sid  # the bytes are kept
        if row.status == "rejected":
            assert sid not in per_snapshot
        else:  # every quote of the page, never part of them
            assert per_snapshot[sid] == len(parse(raw[sid]).quotes)
    assert counts["raw"] == counts["snapshots"]
