"""Ingest benchmark: a synthetic corpus of ~20 KB snapshots through `tracker ingest`.

    .venv/bin/python bench/bench_ingest.py [--count 20000] [--keep]

Generates the corpus (85% text, 10% HTML, 5% gzip; dated, undated, 4- and 5-currency pages),
then runs `tracker ingest` in a child process — read, hash, keep raw, parse, insert — and
prints throughput and the child's peak memory. Target: ≥ 5,000 snapshots/s, < 500 MB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tracker.synthetic import (
    TickerEntry,
    filler,
    print_change,
    print_rate,
    random_walk,
    render_html,
    render_text,
)

TARGET_RATE = 5000
TARGET_MB = 500


def generate(folder: Path, count: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    days = random_walk(rng, 2000, start=dt.date(2020, 1, 1))
    prose = [filler(rng, paragraphs=22, words=140) for _ in range(50)]
    total = 0
    for i in range(count):
        day, entries = days[i % len(days)]
        if i % 17 == 0:
            entries = entries[:4]
        entries = list(entries)
        # make every page distinct even when the day repeats
        k = entries[0]
        entries[0] = TickerEntry(k.currency, print_rate(rng.uniform(0.0111, 0.0119)),
                                 print_change(rng.uniform(-0.5, 0.5)))
        body = [f"Story {i}", *prose[i % len(prose)]]
        dated = day if i % 3 else None
        sub = folder / f"{i // 1000:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        if i % 20 == 0:
            data = gzip.compress(render_text(entries, day=dated, body=body).encode(), 1)
            path = sub / f"{day.isoformat()}_{i}.txt.gz"
        elif i % 10 == 1:
            data = render_html(entries, day=dated, body=body).encode()
            path = sub / f"page_{i}.html"
        else:
            data = render_text(entries, day=dated, body=body).encode()
            path = sub / f"page_{i}.txt"
        path.write_bytes(data)
        total += len(data)
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=20_000)
    ap.add_argument("--workdir", type=Path, help="reuse/keep the corpus and database here")
    args = ap.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="tracker-bench-"))
    corpus = work / "corpus"
    if not corpus.exists():
        t = time.perf_counter()
        size = generate(corpus, args.count)
        print(f"generated {args.count:,} snapshots, {size / args.count / 1024:.1f} KB average, "
              f"in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    db = work / "bench.duckdb"
    for leftover in (db, work / "bench.duckdb.wal"):
        leftover.unlink(missing_ok=True)
    subprocess.run(["rm", "-rf", str(work / "raw")], check=True)

    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "tracker", "ingest", "--db", str(db), str(corpus)],
        capture_output=True, text=True,
    )
    seconds = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(proc.stderr.strip().splitlines()[-1])
    rate = args.count / seconds
    print(f"ingest: {args.count:,} snapshots in {seconds:.2f} s = {rate:,.0f} snapshots/s "
          f"(target ≥ {TARGET_RATE:,}); peak RSS {peak_mb:.0f} MB (target < {TARGET_MB}); "
          f"2-core machine, one process")
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tracker", "ingest", "--db", str(db), str(corpus)],
                   capture_output=True, check=False)
    again = time.perf_counter() - t
    print(f"re-ingest (all already present): {again:.2f} s = {args.count / again:,.0f}/s")
    if not args.workdir:
        subprocess.run(["rm", "-rf", str(work)], check=True)
    sys.exit(0 if proc.returncode in (0, 1) else proc.returncode)


if __name__ == "__main__":
    main()
