"""Checks benchmark: `run_checks` over 200,000 snapshots (1,000,000 quotes).

    .venv/bin/python bench/bench_checks.py [--snapshots 200000] [--workdir DIR]

The database is built directly in SQL (a random walk per currency over 2,000 days, printed with
the ticker's rounding, 100 snapshots a day), not through the parser, with a sprinkling of every
kind of inconsistency: undated and old-layout snapshots, disagreeing copies, stale tickers,
same-day conflicts, header dates that disagree with the file name. Then `run_checks` runs in a
child process (read-only open, SQL, pandas, findings) and its time and peak memory are printed,
as is the whole `tracker check` command. Target: ≤ 2 s.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import walk_sql

from tracker.store import Store

TARGET_SECONDS = 2.0
DAYS = 2000

SIGMAS = {"KGS": 0.5, "KZT": 0.8, "TJS": 1.2, "UZS": 1.2, "TMT": 0.1}
BUILD = """
CREATE TEMP TABLE ids AS
SELECT i, sha256(CAST(i AS VARCHAR)) AS sid, CAST(i // {per_day} AS INTEGER) AS d,
       DATE '2020-01-01' + CAST(i // {per_day} AS INTEGER) AS day
FROM range({n}) t(i);

INSERT INTO snapshots
SELECT sid, 'bench/' || day || '_' || i || '.txt',
       CASE WHEN i % 5000 = 11 THEN NULL ELSE day END,
       CASE WHEN i % 5000 = 11 THEN 'none' ELSE 'header' END,
       NULL, NULL, now(), 'ingested', NULL, 8, i % 10000 <> 13, '1',
       CASE WHEN i % 5000 = 11 THEN NULL ELSE day END,
       CASE WHEN i % 5000 = 11 THEN NULL WHEN i % 2500 = 23 THEN day - 3 ELSE day END,
       NULL, NULL, 'text', 20000, NULL, NULL,
       CASE WHEN i % 10000 = 13 THEN ['copies disagree on KGS/USD: 0.01144 0% in copies 1, 2; '
                                      || '0.01145 0% in copies 3; kept 0.01144 0% (most copies)']
            ELSE [] END
FROM ids;

INSERT INTO quotes
SELECT sid, w.pos, w.currency, 'USD', CAST(rt AS DECIMAL(18,10)), rt, 5,
       CAST(w.change_text AS DECIMAL(18,6)), w.change_text,
       length(split_part(w.change_text, '.', 2))
FROM (
    SELECT ids.sid, ids.i, w.*,
           CASE WHEN ids.i % 3000 = 19 AND w.currency = 'TJS'
                THEN printf('%.5f', CAST(w.rate_text AS DOUBLE) + 0.001)
                ELSE w.rate_text END AS rt
    FROM ids JOIN walk w
      ON w.d = CASE WHEN ids.i % 4000 = 17 AND ids.d >= 3 THEN ids.d - 3 ELSE ids.d END
) w
WHERE NOT (w.i % 1000 = 7 AND w.currency = 'TMT');
"""

CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from tracker.checks import run_checks, findings_frame
t1 = time.perf_counter()
findings = run_checks(sys.argv[1])
t2 = time.perf_counter()
frame = findings_frame(findings)
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "checks": t2 - t1, "frame": t3 - t2,
                  "kinds": frame["kind"].value_counts().to_dict(),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def build(db: Path, n: int) -> None:
    with Store.open(db) as store:
        store.con.execute("SET threads = 2")
        store.con.execute(walk_sql(DAYS, SIGMAS))
        store.con.execute(BUILD.format(n=n, per_day=max(1, n // DAYS)))
        counts = store.counts()
    print(f"built {counts['snapshots']:,} snapshots, {counts['quotes']:,} quotes "
          f"({DAYS:,} days)", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--snapshots", type=int, default=200_000)
    ap.add_argument("--workdir", type=Path, help="keep (and reuse) the database here")
    ap.add_argument("--runs", type=int, default=3, help="timed runs (the best is reported)")
    args = ap.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="tracker-bench-checks-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "checks.duckdb"
    if not db.exists():
        t = time.perf_counter()
        build(db, args.snapshots)
        print(f"database built in SQL in {time.perf_counter() - t:.1f} s", file=sys.stderr)

    results = []
    for _ in range(args.runs):
        proc = subprocess.run([sys.executable, "-c", CHILD, str(db)], capture_output=True,
                              text=True, check=True)
        results.append(json.loads(proc.stdout))
    best = min(results, key=lambda r: r["checks"])
    peak = max(r["rss_mb"] for r in results)

    cli_times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "tracker", "check", "--db", str(db),
                               "--format", "csv"], capture_output=True, text=True)
        cli_times.append(time.perf_counter() - t)
        if proc.returncode not in (0, 1):
            sys.exit(f"tracker check failed ({proc.returncode}): {proc.stderr}")
    cli_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    total = sum(best["kinds"].values())
    kinds = ", ".join(f"{k} {v:,}" for k, v in sorted(best["kinds"].items()))
    runs = ", ".join(f"{r['checks']:.2f}" for r in results)
    print(f"findings: {total:,} ({kinds})")
    print(f"run_checks: {args.snapshots:,} snapshots in {best['checks']:.2f} s "
          f"(best of {args.runs}; all: {runs} s; "
          f"target ≤ {TARGET_SECONDS:.0f} s); findings_frame {best['frame'] * 1000:.0f} ms; "
          f"peak RSS {peak:.0f} MB")
    print(f"`tracker check --format csv` end to end (interpreter start and imports included): "
          f"{min(cli_times):.2f} s best of {args.runs}; peak RSS of children {cli_peak:.0f} MB; "
          f"2-core machine")
    if not args.workdir:
        subprocess.run(["rm", "-rf", str(work)], check=True)
    sys.exit(0 if best["checks"] <= TARGET_SECONDS else 1)


if __name__ == "__main__":
    main()
