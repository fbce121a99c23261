"""Backfill benchmark: does the polite client use its rate limit fully against the archive?

    .venv/bin/python bench/bench_backfill.py [--rate 1200] [--seconds 20] [--per-day 3]

A fake Wayback Machine on loopback (tests/fakearchive.py) holds a year of captures, several a
day. The client lists them through the CDX API (resume-key paging), plans `--per-day` a day and
fetches each plan's `id_` replay, all through one `tracker.http.Client` limited to `--rate`
requests per minute, until `--seconds` have passed. The archive's own request log gives the rate
it saw; printed as a ratio of the limit. Target: 0.97–1.00 (never above: that would be
impolite; well below: the limit is not what bounds a backfill).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakearchive import FakeArchive, serving
from tracker.archives.wayback import Wayback, plan
from tracker.http import Client

TARGET = (0.97, 1.0)


def stock(archive: FakeArchive, days: int, per_day: int) -> None:
    start = dt.date(2024, 1, 1)
    for d in range(days):
        day = start + dt.timedelta(days=d)
        for h in range(0, 24, 24 // per_day):
            stamp = f"{day:%Y%m%d}{h:02d}1500"
            archive.add(stamp, "https://timesca.com/", f"<html>{stamp}</html>".encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=1200.0, help="requests per minute")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--per-day", type=int, default=3)
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
    if not TARGET[0] <= ratio <= TARGET[1] + 0.005:
        sys.exit(1)


if __name__ == "__main__":
    main()
