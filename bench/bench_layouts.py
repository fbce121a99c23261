"""Layout mix: parsing throughput per page layout, and a WARC of other sites' pages skipped.

    .venv/bin/python bench/bench_layouts.py [--pages 500] [--warc-mb 200] [--ingest 2000]

Prints, for ~20 KB pages in every layout of `tracker.layouts`, how many pages a second the
parser reads (in this process: decode, HTML → text, ticker, date; layouts round-robin, best
of 5 rounds), text layouts against the line layout and HTML layouts against half of it (the
issue's targets), and how many a second `tracker ingest` stores (read, hash, parse, zstd,
DuckDB) from a folder of each layout; then the time
`tracker ingest` takes over a `.warc.gz` of other sites' pages next to the time to read the
file (`cat`), i.e. how close skipping comes to disk speed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tracker.layouts import LAYOUTS, render_layout
from tracker.parse import parse
from tracker.synthetic import TickerEntry, filler, print_change, print_rate

FIVE = ("KGS", "KZT", "TJS", "UZS", "TMT")


def pages(layout: str, count: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    prose = [filler(rng, paragraphs=22, words=140) for _ in range(20)]
    out = []
    for i in range(count):
        entries = [TickerEntry(c, print_rate(rng.uniform(0.001, 0.3)), print_change(rng.uniform(-1, 1)))
                   for c in FIVE]
        day = dt.date(2025, 1, 1) + dt.timedelta(days=i % 365)
        out.append(render_layout(entries, layout, day=day, body=prose[i % len(prose)]).encode())
    return out


def parse_rates(count: int, rounds: int = 5) -> dict[str, float]:
    """Pages a second per layout: every layout timed once per round, round after round (side
    by side in the same minutes: this VM's speed drifts), the best round of each kept."""
    for data in pages("lines", 50) + pages("html-list", 50):  # warm-up: imports, caches
        parse(data)
    batches = {layout: pages(layout, count) for layout in LAYOUTS}
    best = dict.fromkeys(LAYOUTS, float("inf"))
    for _ in range(rounds):
        for layout, batch in batches.items():
            t = time.perf_counter()
            for data in batch:
                parse(data)
            best[layout] = min(best[layout], time.perf_counter() - t)
    return {layout: count / seconds for layout, seconds in best.items()}


def ingest_rates(work: Path, count: int, rounds: int = 2) -> dict[str, float]:
    """Snapshots a second `tracker ingest` reaches per layout (a folder of `count` pages each,
    into a fresh database, in a child process), layouts round-robin, best round kept."""
    folders = {}
    for layout in LAYOUTS:
        folder = work / "layouts" / layout
        folder.mkdir(parents=True, exist_ok=True)
        suffix = ".html" if layout.startswith(("html", "saved")) else \
            ".xhtml" if layout == "xhtml" else ".txt"
        for i, data in enumerate(pages(layout, count, seed=11)):
            (folder / f"p{i}{suffix}").write_bytes(data)
        folders[layout] = folder
    best = dict.fromkeys(LAYOUTS, float("inf"))
    for _ in range(rounds):
        for layout, folder in folders.items():
            db = work / f"{layout}.duckdb"
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "tracker", "ingest", "--db", str(db), str(folder)],
                           capture_output=True, check=True)
            best[layout] = min(best[layout], time.perf_counter() - t)
            subprocess.run(["rm", "-rf", str(db), str(db) + ".wal", str(db) + ".raw"], check=True)
    return {layout: count / seconds for layout, seconds in best.items()}


def warc_of_other_sites(path: Path, megabytes: int) -> int:
    """Responses of other sites (no ticker), one gzip member each, as crawlers write."""
    rng = random.Random(3)
    body = ("<html><body>" + "".join(f"<p>{p}</p>" for p in filler(rng, 30, 120))
            + "</body></html>").encode()
    records = 0
    with open(path, "wb") as fh:
        while fh.tell() < megabytes * 1024 * 1024:
            http = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
                    + str(len(body)).encode() + b"\r\n\r\n" + body)
            head = (f"WARC/1.1\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:{records}>\r\n"
                    f"WARC-Date: 2025-12-10T00:00:00Z\r\nWARC-Target-URI: https://other{records}.example/"
                    f"\r\nContent-Type: application/http; msgtype=response\r\n"
                    f"Content-Length: {len(http)}\r\n\r\n").encode()
            fh.write(gzip.compress(head + http + b"\r\n\r\n", 1))
            records += 1
    return records


def warc_skip(work: Path, megabytes: int) -> None:
    warc = work / "others.warc.gz"
    records = warc_of_other_sites(warc, megabytes)
    t = time.perf_counter()
    subprocess.run(["cat", str(warc)], stdout=subprocess.DEVNULL, check=True)
    cat = time.perf_counter() - t
    t = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "tracker", "ingest", "--db", str(work / "w.duckdb"),
                          str(warc)], capture_output=True, text=True)
    took = time.perf_counter() - t
    size = warc.stat().st_size / 1024 / 1024
    print(f"WARC of other sites: {size:.0f} MB, {records:,} records: ingest {took:.1f} s "
          f"({size / took:.0f} MB/s), cat {cat:.2f} s ({size / cat:.0f} MB/s); "
          f"{run.stderr.strip().splitlines()[-1] if run.stderr.strip() else run.stdout.strip()}")


def layout_mix(work: Path, count: int = 500, warc_mb: int = 200, ingest: int = 2000) -> None:
    """The layout part of the ingest benchmark (`bench_ingest.py --layouts`)."""
    rates = parse_rates(count)
    ingested = ingest_rates(work, ingest) if ingest else {}
    lines, lines_in = rates["lines"], ingested.get("lines")
    for layout, rate in rates.items():
        target = lines if layout in ("one-line", "tabs", "nbsp", "lynx") else lines / 2
        note = "" if layout == "lines" else f" ({rate / lines:.2f}× lines; target ≥ {target / lines:.1f}×)"
        if lines_in:
            got = ingested[layout]
            note += f"; tracker ingest {got:,.0f}/s" + (
                "" if layout == "lines" else f" ({got / lines_in:.2f}× lines)")
        print(f"parse {layout:13s} {rate:8,.0f} pages/s{note}")
    warc_skip(work, warc_mb)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=500)
    ap.add_argument("--warc-mb", type=int, default=200)
    ap.add_argument("--ingest", type=int, default=2000,
                    help="pages per layout for `tracker ingest` (0: skip)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tracker-layouts-") as work:
        layout_mix(Path(work), args.pages, args.warc_mb, args.ingest)


if __name__ == "__main__":
    main()
