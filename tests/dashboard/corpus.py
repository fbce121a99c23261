"""Small deterministic snapshot corpora for the dashboard tests, built with the real writer
(`tracker.synthetic`) and ingested through the real ingest path."""

from __future__ import annotations

import base64
import datetime as dt
import random
from pathlib import Path

from tracker.ingest import RawInput, ingest, ingest_paths
from tracker.prepare import prepare_many
from tracker.raw import compress
from tracker.rows import quote_table, snapshot_table
from tracker.store import Store, utcnow
from tracker.synthetic import TickerEntry, random_walk, render_html, render_text

START = dt.date(2025, 9, 1)
DAYS = 60
CONFLICT_DAY = START + dt.timedelta(days=20)  # TJS printed twice that day, differently
CONFLICT_RATE = "0.10999"
HOSTILE = "<script>window.__pwned=1</script> **bold** [x](javascript:alert(1))"
CONTROL = "\x1b[31m\x07\u202e"  # an ANSI colour, a bell, a right-to-left override
CONTROL_SHOWN = "\u241b[31m\u2407<U+202E>"  # as the dashboard shows them


def walk() -> list[tuple[dt.date, list[TickerEntry]]]:
    return random_walk(random.Random(11), DAYS, start=START, daily_sigma_pct=0.15)


def write_corpus(folder: Path) -> Path:
    """60 daily pages, a same-day conflict, an undated page and an unparseable one."""
    folder.mkdir(parents=True, exist_ok=True)
    days = walk()
    for i, (day, entries) in enumerate(days):
        (folder / f"page-{i:03d}.txt").write_text(render_text(entries, day=day))
    conflict = dict(days)[CONFLICT_DAY]
    second = [TickerEntry(e.currency, CONFLICT_RATE if e.currency == "TJS" else e.rate_text,
                          e.change_text) for e in conflict]
    (folder / "conflict.txt").write_text(render_text(second, day=CONFLICT_DAY, copies=2))
    (folder / "undated.txt").write_text(render_text(days[0][1], day=None))
    (folder / "notes.txt").write_text("no ticker on this page\n")
    return folder


def build_db(folder: Path, db: Path) -> Path:
    ingest_paths([write_corpus(folder)], db_path=db)
    return db


def page_bytes(offset: int = 0, day: dt.date | None = None) -> bytes:
    """One more valid page, for uploads: the corpus's last day moved `offset` days on."""
    last_day, entries = walk()[-1]
    return render_text(entries, day=day or last_day + dt.timedelta(days=offset)).encode()


def data_url(data: bytes, mime: str = "text/plain") -> str:
    """What dcc.Upload hands to the server for a dropped file."""
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def add_hostile(db: Path) -> None:
    """Snapshots that carry markup and markdown where a careless page would render it.

    - a page whose source name and HTML title are hostile (ingested normally),
    - one whose source name and title carry control characters (ingested normally),
    - a page whose ticker line is hostile (rejected: the reason quotes the line),
    - a page whose parser warnings are hostile and whose copies disagree (written through
      `Store.add_snapshots`, as a future parser's warnings could read): the checks then
      raise a dated copies_disagree finding whose message quotes the warning.
    """
    days = walk()
    day, entries = days[5]
    ingest([
        RawInput(source=f"evil {HOSTILE}.html",
                 data=render_html(entries, day=day, title=HOSTILE, body=[HOSTILE]).encode()),
        RawInput(source=f"evil-control-{CONTROL}.txt",
                 data=render_html(entries, day=day, title=f"title {CONTROL}",
                                  body=[CONTROL]).encode()),
        RawInput(source="evil-ticker.txt",
                 data=(f"• KGS/USD = 0.01144 0%\n  • KZT/USD = {HOSTILE} 0%\n"
                       f"10 December 2025\n").encode()),
    ], db_path=db)
    day, entries = days[7]
    item = RawInput(source="evil-warnings.txt",
                    data=render_text(entries, day=day, body=["copies"]).encode())
    chunk = prepare_many([item], 10_000_000, None, utcnow())
    warning = f"copies disagree on KGS/USD: {HOSTILE}"
    snap = chunk.snapshots[0]._replace(warnings=(warning,), copies_agree=False)
    with Store.open(db) as store:
        store.add_snapshots(snapshot_table([snap]), quote_table(chunk.quotes[0]),
                            [(snap.snapshot_id, compress(chunk.contents[0]))])
