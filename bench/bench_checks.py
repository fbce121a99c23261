"""Checks benchmark: `run_checks` over 200,000 snapshots (1,000,000 quotes).

    .venv/bin/python bench/bench_checks.py [--snapshots 200000] [--workdir DIR]

The database is built directly in SQL (a random walk per currency over 2,000 days, printed with
the ticker's rounding, 100 snapshots a day), not through the parser, with a sprinkling of every
kind of inconsistency: undated and old-layout snapshots, disagreeing copies, stale tickers,
same-day conflicts, header dates that disagree with the file name. Then `run_checks` runs in a
child process (read-only open, SQL, pandas, findings) and its time and peak memory are printed,
as is the whole `tracker check` command. Each time is also printed as a ratio to reading every
quote with its snapshot into Arrow from the same database in the same run (`common.scan`; for
the command, that read in a fresh interpreter, end to end). Target: ≤ 2 s.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from common import SCAN_SQL, best_of, build_in_sql, database, quotes_sql

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

"""

CHILD = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[2])
from common import scan
t0 = time.perf_counter()
from tracker.checks import run_checks, findings_frame
t1 = time.perf_counter()
findings = run_checks(sys.argv[1])
t2 = time.perf_counter()
frame = findings_frame(findings)
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "checks": t2 - t1, "frame": t3 - t2, "scan": scan(sys.argv[1]),
                  "kinds": frame["kind"].value_counts().to_dict(),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def build(db: Path, n: int) -> None:
    build_in_sql(db, DAYS, SIGMAS, BUILD.format(n=n, per_day=max(1, n // DAYS)),
                 quotes_sql((3000, 19), (4000, 17, 3), (1000, 7)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--snapshots", type=int, default=200_000)
    ap.add_argument("--workdir", type=Path, help="keep (and reuse) the database here")
    ap.add_argument("--runs", type=int, default=3, help="timed runs (the best is reported)")
    args = ap.parse_args()

    work, db = database(args.workdir, "tracker-bench-checks-", "checks.duckdb",
                        lambda db: build(db, args.snapshots))

    results = []
    for _ in range(args.runs):
        proc = subprocess.run([sys.executable, "-c", CHILD, str(db), str(Path(__file__).parent)],
                              capture_output=True, text=True, check=True)
        results.append(json.loads(proc.stdout))
    best = min(results, key=lambda r: r["checks"] / r["scan"])
    peak = max(r["rss_mb"] for r in results)

    cli_times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "tracker", "check", "--db", str(db),
                               "--format", "csv"], capture_output=True, text=True)
        cli_times.append(time.perf_counter() - t)
        if proc.returncode not in (0, 1):
            sys.exit(f"tracker check failed ({proc.returncode}): {proc.stderr}")
    cli_scan = best_of([sys.executable, "-c", "import sys, duckdb; duckdb.connect(sys.argv[1], "
                        f"read_only=True).execute('{SCAN_SQL}').to_arrow_table()", str(db)], args.runs)
    cli_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    total = sum(best["kinds"].values())
    kinds = ", ".join(f"{k} {v:,}" for k, v in sorted(best["kinds"].items()))
    runs = ", ".join(f"{r['checks'] / r['scan']:.1f}× ({r['checks']:.2f} s)" for r in results)
    print(f"findings: {total:,} ({kinds})")
    print(f"run_checks: {best['checks'] / best['scan']:.1f}× the scan ({best['checks']:.2f} s vs "
          f"{best['scan']:.2f} s); {args.snapshots:,} snapshots "
          f"(best of {args.runs}; all: {runs}; "
          f"target ≤ {TARGET_SECONDS:.0f} s); findings_frame {best['frame'] * 1000:.0f} ms; "
          f"peak RSS {peak:.0f} MB")
    print(f"`tracker check --format csv` end to end (interpreter start and imports included): "
          f"{min(cli_times) / cli_scan:.1f}× the scan in a fresh interpreter ({min(cli_times):.2f} s "
          f"vs {cli_scan:.2f} s), best of {args.runs}; peak RSS of children {cli_peak:.0f} MB; "
          f"2-core machine")
    if not args.workdir:
        subprocess.run(["rm", "-rf", str(work)], check=True)
    sys.exit(0 if best["checks"] <= TARGET_SECONDS else 1)


if __name__ == "__main__":
    main()
