"""Shared by the benchmarks: a random walk per currency, printed with the ticker's rounding.

`walk_sql(days, sigmas)` creates the temp table `walk(d, currency, pos, rate_text,
change_text)`: rates to 5 decimals, changes to 2 decimals with trailing zeros dropped and `-0`
kept — built in SQL so that hundreds of thousands of snapshots take a second, not minutes.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BASES = {"KGS": 0.01144, "KZT": 0.00193, "TJS": 0.10811, "UZS": 0.0000794, "TMT": 0.28571}


def walk_sql(days: int, sigmas: dict[str, float]) -> str:
    """SQL for the walk; `sigmas` is each currency's largest daily step in %."""
    values = ", ".join(
        f"('{c}', {i}, {BASES[c]}, {sigmas[c]})" for i, c in enumerate(BASES)
    )
    return f"""
CREATE TEMP TABLE walk AS
WITH c(currency, pos, base, sigma) AS (VALUES {values}),
steps AS (
    SELECT d, currency, pos, base,
           CASE WHEN d = 0 THEN 0.0 ELSE (random() * 2 - 1) * sigma END AS step
    FROM range({days}) r(d), c
), levels AS (
    SELECT d, currency, pos, step,
           base * exp(sum(ln(1 + step / 100)) OVER (PARTITION BY currency ORDER BY d)) AS r
    FROM steps
)
SELECT d, currency, pos, printf('%.5f', r) AS rate_text,
       CASE WHEN round(step, 2) = 0 AND step < 0 THEN '-0'
            ELSE rtrim(rtrim(printf('%.2f', round(step, 2)), '0'), '.') END AS change_text
FROM levels;
"""


def quotes_sql(
    glitch: tuple[int, int], stale: tuple[int, int, int], missing: tuple[int, int]
) -> str:
    """`INSERT INTO quotes` from the walk for the temp table `ids(i, sid, d, day)`, with three
    kinds of inconsistency: snapshot i prints a TJS rate 0.001 off where i % glitch[0] ==
    glitch[1], the walk of stale[2] days before where i % stale[0] == stale[1], and no TMT
    where i % missing[0] == missing[1]."""
    (g_every, g_at), (s_every, s_at, lag), (m_every, m_at) = glitch, stale, missing
    return f"""
INSERT INTO quotes
SELECT sid, w.pos, w.currency, 'USD', CAST(rt AS DECIMAL(18,10)), rt, 5,
       CAST(w.change_text AS DECIMAL(18,6)), w.change_text,
       length(split_part(w.change_text, '.', 2))
FROM (
    SELECT ids.sid, ids.i, w.*,
           CASE WHEN ids.i % {g_every} = {g_at} AND w.currency = 'TJS'
                THEN printf('%.5f', CAST(w.rate_text AS DOUBLE) + 0.001)
                ELSE w.rate_text END AS rt
    FROM ids JOIN walk w
      ON w.d = CASE WHEN ids.i % {s_every} = {s_at} AND ids.d >= {lag} THEN ids.d - {lag}
                    ELSE ids.d END
) w
WHERE NOT (w.i % {m_every} = {m_at} AND w.currency = 'TMT');
"""


def build_in_sql(db: Path, days: int, sigmas: dict[str, float], *statements: str) -> None:
    """A new database: the walk over `days`, then `statements`."""
    from tracker.store import Store

    with Store.open(db) as store:
        store.con.execute("SET threads = 2")
        store.con.execute(walk_sql(days, sigmas))
        for sql in statements:
            store.con.execute(sql)
        counts = store.counts()
    print(f"built {counts['snapshots']:,} snapshots, {counts['quotes']:,} quotes over "
          f"{days:,} days", file=sys.stderr)


def database(workdir: Path | None, prefix: str, name: str,
             build: Callable[[Path], None]) -> tuple[Path, Path]:
    """(work folder, database): `workdir`'s database, built first when it is not there yet
    (migrated to this tracker's schema when it is), or a new one in a temporary folder."""
    work = workdir or Path(tempfile.mkdtemp(prefix=prefix))
    work.mkdir(parents=True, exist_ok=True)
    db = work / name
    if not db.exists():
        t = time.perf_counter()
        build(db)
        print(f"database built in SQL in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    else:  # kept from an earlier version of tracker: migrated, as any writing command would
        from tracker.store import Store

        with Store.open(db):
            pass
    return work, db


# -- baselines: every benchmark prints its figures as ratios to one measured in the same run ---
# (the machine is a shared VM whose speed drifts by up to ~1.7× within an hour; a ratio to
# work of the same kind measured minutes apart stays comparable across days)

SCAN_SQL = "SELECT * FROM quotes JOIN snapshots USING (snapshot_id)"


def scan(db: str) -> float:
    """Seconds to read every quote with its snapshot into Arrow, read-only, best of 3: the
    floor under any read of the database (the checks and the dashboard do more)."""
    import duckdb

    best = float("inf")
    with duckdb.connect(str(db), read_only=True) as con:
        for _ in range(3):
            t = time.perf_counter()
            con.execute(SCAN_SQL).to_arrow_table()
            best = min(best, time.perf_counter() - t)
    return best


def best_of(command: list[str], runs: int = 3) -> float:
    """Seconds of the fastest of `runs` runs of a command, end to end, output discarded."""
    import subprocess

    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        best = min(best, time.perf_counter() - t)
    return best
