"""Backfill benchmark: does the polite client use its rate limit fully against the archive?

    .venv/bin/python bench/bench_backfill.py [--rate 1200] [--seconds 20] [--per-day 3]

A fake Wayback Machine on loopback (tests/fakearchive.py) holds a year of captures, several a
day. The client lists them through the CDX API (resume-key paging), plans `--per-day` a day and
fetches each plan's `id_` replay, all through one `tracker.http.Client` limited to `--rate`
requests per minute, until `--seconds` have passed. The archive's own request log gives the rate
it saw; printed as a ratio of the limit. Target: 0.97–1.00 (never above: that would be
impolite; well below: the limit is not what bounds a backfill).

Then the same end to end (`--end-to-end`, on by default): `tracker.backfill.backfill` into a
real DuckDB file, pages of ~20 KB in several layouts, fetched by its own thread while the
caller's thread ingests. Each capture is spooled to disk (fsync, rename) before it is handed
on, and handing on never waits, so ingestion cannot hold the fetching back; the ratio must hit
the same target, the time spent storing (ingesting and marking the queue) is printed per
capture against the limit's interval, and the backlog (the most captures waiting on the spool
at once) must stay within a batch: while it does, ingestion keeps up with the rate limit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakearchive import FakeArchive, serving
from tracker.archives.wayback import Wayback, plan
from tracker.backfill import Options, backfill
from tracker.http import Client
from tracker.layouts import LAYOUTS, render_layout
from tracker.synthetic import filler, random_walk

TARGET = (0.97, 1.0)
BACKLOG = 50  # one batch (tracker.backfill._BATCH): ingestion keeps up


def stock(archive: FakeArchive, days: int, per_day: int) -> None:
    start = dt.date(2024, 1, 1)
    for d in range(days):
        day = start + dt.timedelta(days=d)
        for h in range(0, 24, 24 // per_day):
            stamp = f"{day:%Y%m%d}{h:02d}1500"
            archive.add(stamp, "https://timesca.com/", f"<html>{stamp}</html>".encode())


def stock_pages(archive: FakeArchive, days: int, per_day: int) -> None:
    """Realistic captures: ~20 KB pages, a layout per capture, the day's rates and date."""
    rng = random.Random(19)
    walk = random_walk(rng, days, start=dt.date(2024, 1, 1))
    for n, (day, entries) in enumerate(walk):
        for i, h in enumerate(range(0, 24, 24 // per_day)):
            layout = LAYOUTS[(n + i) % len(LAYOUTS)]
            body = render_layout(entries, layout, day=day, body=filler(rng, paragraphs=20))
            url = "https://timesca.com/" if i % 2 else "https://timesca.com/news/"
            archive.add(f"{day:%Y%m%d}{h:02d}1500", url, body.encode())


def end_to_end(rate: float, seconds: float, per_day: int) -> bool:
    """The real backfill into a DuckDB file; True if the limit was used as targeted."""
    stop = threading.Event()
    with serving(FakeArchive()) as archive, tempfile.TemporaryDirectory() as tmp:
        stock_pages(archive, days=120, per_day=8)
        options = Options(prefixes=("timesca.com/",), per_day=per_day, wayback_url=archive.base,
                          max_rate=rate)
        timer = threading.Timer(seconds, stop.set)
        timer.start()
        outcome = backfill(options, db_path=Path(tmp) / "bench.duckdb", stop=stop)
        timer.cancel()
        replays = [t for t, p in archive.log if p.startswith("/web/")]
    report = outcome.report
    seen = (len(replays) - 1) / (replays[-1] - replays[0]) * 60
    ratio = seen / rate
    print(f"end to end: {report.files_seen} captures fetched, {report.ingested} ingested, "
          f"{report.rejected} rejected; replay rate {seen:.1f}/min against {rate:g}/min: "
          f"ratio {ratio:.3f}")
    print(f"storing took "
          f"{outcome.storing:.2f} s ({outcome.storing / max(report.files_seen, 1) * 1000:.1f} ms "
          f"per capture, interval {60000 / rate:.0f} ms); most captures waiting on the spool "
          f"{outcome.backlog} (target at most {BACKLOG})")
    return TARGET[0] <= ratio <= TARGET[1] + 0.005 and outcome.backlog <= BACKLOG


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=1200.0, help="requests per minute")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--per-day", type=int, default=3)
    parser.add_argument("--no-end-to-end", dest="end_to_end", action="store_false",
                        help="only the client's own rate, not the real backfill")
    args = parser.parse_args()

    with serving(FakeArchive()) as archive:
        stock(archive, days=366, per_day=8)
        with Client(rate=args.rate) as client:
            wayback = Wayback(client, archive.base, page_size=200)
            started = time.monotonic()
            captures = list(wayback.captures("timesca.com/"))
            listed = len(archive.log)
            fetched = 0
            for capture in plan(captures, args.per_day):
                if time.monotonic() - started > args.seconds:
                    break
                wayback.fetch(capture, max_bytes=1 << 20)
                fetched += 1
        times = [t for t, _ in archive.log]
    seen = (len(times) - 1) / (times[-1] - times[0]) * 60
    ratio = seen / args.rate
    print(f"{len(times)} requests ({listed} CDX pages, {fetched} captures) in "
          f"{times[-1] - times[0]:.1f} s: {seen:.1f}/min against a limit of {args.rate:g}/min")
    print(f"ratio {ratio:.3f} (target {TARGET[0]}–{TARGET[1]}); busiest second: "
          f"{archive.most_in_window(1.0)} requests (limit {args.rate / 60:g}/s)")
    ok = TARGET[0] <= ratio <= TARGET[1] + 0.005
    if args.end_to_end:
        ok = end_to_end(args.rate, args.seconds, args.per_day) and ok
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
