"""Ingest benchmark: a synthetic corpus of ~20 KB snapshots through `tracker ingest`.

    .venv/bin/python bench/bench_ingest.py [--count 20000] [--workdir DIR | --keep] [--no-stages]
                                           [--runs 3] [--cold]

Generates the corpus (85% text, 10% HTML, 5% gzip; dated, undated, 4- and 5-currency pages),
then runs `tracker ingest` in a child process — read, hash, keep raw, parse, insert — into a
fresh database `--runs` times, and prints each run's time as a ratio to `grep -rc 'KGS/USD'`
over the same files (best of 3, measured just before the run: the same machine, the same page
cache, the same minute), its throughput, peak memory and CPU time, then the best run.
Before each run the corpus is read once, so the files come from the page cache as right after
they were written; `--cold` skips that (then the disk is measured too). Target: ≥ 5,000
snapshots/s, < 500 MB.
Then it times each stage alone over 2,000 of the snapshots, in this process, beside grep's time
per snapshot. `--workdir` reuses a corpus (and keeps it); `--keep` keeps the generated one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import best_of

from tracker.ingest import BATCH_SIZE, discover
from tracker.prepare import build_rows, parse_content, read_input
from tracker.raw import compress_many
from tracker.rows import quote_table, snapshot_table
from tracker.store import Store
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


def stage_breakdown(corpus: Path, work: Path, grep_us: float, count: int = 2000) -> None:
    """Each ingest stage alone over `count` snapshots: where the time of one snapshot goes."""
    items = discover([corpus]).inputs[:count]
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    times: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        times[name] = (time.perf_counter() - clock) / len(items) * 1e6
        clock = time.perf_counter()

    datas = [read_input(item) for item in items]
    lap("read")
    ids = [hashlib.sha256(data).hexdigest() for data in datas]
    lap("sha256")
    parsed = [parse_content(data, item.source) for data, item in zip(datas, items, strict=True)]
    lap("parse")
    rows = [build_rows(sid, item, data, page, error, user_date=None, ingested_at=now)
            for sid, item, data, (page, error) in zip(ids, items, datas, parsed, strict=True)]
    lap("rows")
    blobs = [blob for i in range(0, len(datas), BATCH_SIZE)  # per batch, as ingest does
             for blob in compress_many(datas[i : i + BATCH_SIZE])]
    lap("zstd")
    # its own database and raw folder: `work/raw` belongs to the timed runs' database
    db, raw_dir = work / "stages.duckdb", work / "stages-raw"

    def clean() -> None:
        for leftover in (db, db.with_name(db.name + ".wal")):
            leftover.unlink(missing_ok=True)
        shutil.rmtree(raw_dir, ignore_errors=True)

    clean()
    try:
        with Store.open(db, raw_dir=raw_dir) as store:
            clock = time.perf_counter()
            for i in range(0, len(rows), BATCH_SIZE):
                batch = slice(i, i + BATCH_SIZE)
                store.known_snapshots(ids[batch])
                store.add_snapshots(snapshot_table([snap for snap, _ in rows[batch]]),
                                    quote_table([q for _, quotes in rows[batch] for q in quotes]),
                                    list(zip(ids[batch], blobs[batch], strict=True)))
            lap("store")
    finally:
        clean()
    print(f"stages alone, µs per snapshot over {len(items):,}: "
          + ", ".join(f"{k} {v:.0f}" for k, v in times.items())
          + f"; sum {sum(times.values()):.0f} = {sum(times.values()) / grep_us:.0f}× grep -r's "
          f"{grep_us:.1f} µs. (`tracker ingest` runs zstd and store on a second thread, beside "
          "read, sha256, parse and rows.)")


def grep_seconds(corpus: Path) -> float:
    """`grep -rc 'KGS/USD'` over the corpus, end to end, best of 3: the baseline every ingest
    figure is a ratio to (reading the same files, on the same machine, in the same minute)."""
    return best_of(["grep", "-rc", "KGS/USD", str(corpus)])


def warm_page_cache(corpus: Path) -> float:
    """Read every file once, so the timed run reads from the page cache as right after the
    files were written or downloaded. (Some virtual machines drop the cache within seconds.)"""
    t = time.perf_counter()
    for item in discover([corpus]).inputs:
        Path(item.path).read_bytes()
    return time.perf_counter() - t


def timed_ingest(
    work: Path, db: Path, corpus: Path, count: int, warm: float | None
) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """`tracker ingest` of the corpus into a fresh database in a child process: its seconds
    and grep's, measured just before it."""
    for leftover in (db, work / "bench.duckdb.wal"):
        leftover.unlink(missing_ok=True)
    subprocess.run(["rm", "-rf", str(db) + ".raw"], check=True)
    grep = grep_seconds(corpus)
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "tracker", "ingest", "--db", str(db), str(corpus)],
        capture_output=True, text=True,
    )
    seconds = time.perf_counter() - t
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mb = usage.ru_maxrss / 1024  # the largest child so far: every run ingests the same
    cpu = (usage.ru_utime - before.ru_utime) + (usage.ru_stime - before.ru_stime)
    print(proc.stderr.strip().splitlines()[-1])
    cache = "cold page cache" if warm is None else f"corpus read once beforehand in {warm:.2f} s"
    print(f"ingest: {seconds / grep:.1f}× grep -r ({seconds:.2f} s vs {grep:.3f} s); {count:,} "
          f"snapshots, {count / seconds:,.0f}/s "
          f"(target ≥ {TARGET_RATE:,}); peak RSS {peak_mb:.0f} MB (target < {TARGET_MB}); "
          f"CPU {cpu:.1f} s; one process on {os.cpu_count()} cores, load average {load:.1f}; "
          f"{cache}")
    return seconds, grep, proc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=20_000)
    ap.add_argument("--workdir", type=Path, help="reuse/keep the corpus and database here")
    ap.add_argument("--keep", action="store_true", help="keep the generated corpus")
    ap.add_argument("--no-stages", dest="stages", action="store_false",
                    help="skip the per-stage timing")
    ap.add_argument("--runs", type=int, default=3, help="timed ingests into a fresh database")
    ap.add_argument("--cold", action="store_true",
                    help="do not read the corpus once before each run (measure the disk too)")
    ap.add_argument("--layouts", action="store_true",
                    help="also the layout mix (bench_layouts.py: parse rate per layout, WARC skip)")
    args = ap.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="tracker-bench-"))
    corpus = work / "corpus"
    if not corpus.exists():
        t = time.perf_counter()
        size = generate(corpus, args.count)
        print(f"generated {args.count:,} snapshots, {size / args.count / 1024:.1f} KB average, "
              f"in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    db = work / "bench.duckdb"
    runs = []
    for _ in range(max(1, args.runs)):
        warm = None if args.cold else warm_page_cache(corpus)
        runs.append(timed_ingest(work, db, corpus, args.count, warm))
    seconds, grep, proc = min(runs, key=lambda r: r[0] / r[1])
    print(f"best of {len(runs)}: {seconds / grep:.1f}× grep -r, {args.count / seconds:,.0f} "
          f"snapshots/s (all: {', '.join(f'{r[0] / r[1]:.1f}×' for r in runs)}; "
          f"{', '.join(f'{args.count / r[0]:,.0f}/s' for r in runs)}; target ≥ {TARGET_RATE:,}/s)")
    grep = grep_seconds(corpus)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tracker", "ingest", "--db", str(db), str(corpus)],
                   capture_output=True, check=False)
    again = time.perf_counter() - t
    print(f"re-ingest (all already present): {again / grep:.1f}× grep -r ({again:.2f} s vs "
          f"{grep:.3f} s) = {args.count / again:,.0f}/s")
    if args.stages:
        stage_breakdown(corpus, work, grep_seconds(corpus) / args.count * 1e6)
    if args.layouts:
        from bench_layouts import layout_mix  # (a separate module: its own corpus)

        layout_mix(work)
    if args.keep and not args.workdir:
        print(f"corpus kept in {corpus} (reuse it with --workdir {work})")
    elif not args.workdir:
        subprocess.run(["rm", "-rf", str(work)], check=True)
    sys.exit(0 if proc.returncode in (0, 1) else proc.returncode)


if __name__ == "__main__":
    main()
