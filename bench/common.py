"""Shared by the benchmarks: a random walk per currency, printed with the ticker's rounding.

`walk_sql(days, sigmas)` creates the temp table `walk(d, currency, pos, rate_text,
change_text)`: rates to 5 decimals, changes to 2 decimals with trailing zeros dropped and `-0`
kept — built in SQL so that hundreds of thousands of snapshots take a second, not minutes.
"""

from __future__ import annotations

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
