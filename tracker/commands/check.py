"""`tracker check`: the findings from the command line (registered lazily in `tracker.cli`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import sys
from pathlib import Path
from typing import Any

import click

from .. import check_config
from .options import EXIT_OK, EXIT_REJECTED, data_out, db_option, err, filter_options


def _jump_thresholds(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, float]:
    out: dict[str, float] = {}
    for value in values:
        code, sep, pct = value.partition("=")
        try:
            number = float(pct.strip().rstrip("%"))
        except ValueError:
            number = float("nan")
        if not sep or not code.strip() or not number > 0 or number == float("inf"):
            raise click.BadParameter(
                f"'{value}' is not CCY=PCT with a positive PCT; write e.g. "
                "--jump-threshold TMT=0.5 (or default=3 for currencies not named)"
            )
        out[code.strip()] = number
    return out


@click.command()
@db_option
@click.option("--format", "fmt", type=click.Choice(check_config.FORMATS), default="table",
              show_default=True, help="Findings to stdout as a table, CSV or JSON.")
@click.option("--severity", type=click.Choice(check_config.SEVERITIES),
              help="Only findings at least this severe.")
@click.option("--kind", "kinds", multiple=True, metavar="KIND",
              type=click.Choice(list(check_config.KINDS)),
              help="Only this kind (repeatable), e.g. --kind change_mismatch --kind jump; "
                   f"one of {', '.join(check_config.KINDS)}.")
@filter_options
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              envvar="TRACKER_CHECKS_CONFIG",
              help="TOML file with a [checks] table of thresholds and/or an [official] table "
                   "(see docs/checks.md, docs/official.md).")
@click.option("--jump-threshold", "jumps", multiple=True, metavar="CCY=PCT",
              callback=_jump_thresholds,
              help="Largest plausible move in % per day of gap, e.g. TMT=0.5 or default=3 "
                   "(repeatable; defaults " + ", ".join(
                       f"{c} {v:g}" for c, v in check_config.DEFAULT_JUMP_PCT_PER_DAY.items())
                   + f", others {check_config.DEFAULT_JUMP_PCT:g}).")
@click.option("--stale-min-gap-days", metavar="DAYS", type=click.IntRange(min=1),
              help="Identical tickers this many days apart are stale "
                   f"[default {check_config.CheckConfig.stale_min_gap_days}].")
@click.option("--missing-window-days", metavar="DAYS", type=click.IntRange(min=0),
              help="Compare a snapshot's currencies with snapshots ± this many days "
                   f"[default {check_config.CheckConfig.missing_window_days}].")
@click.option("--future-tolerance-days", metavar="DAYS", type=click.IntRange(min=0),
              help="Capture dates up to today + this many days are not in the future "
                   f"[default {check_config.CheckConfig.future_tolerance_days}].")
@click.option("--date-tolerance-days", metavar="DAYS", type=click.IntRange(min=0),
              help="Header date may differ from other date evidence by this many days "
                   f"[default {check_config.CheckConfig.date_tolerance_days}].")
@click.option("--min-significant-digits", metavar="N", type=click.IntRange(min=1),
              help="Rates printed with fewer significant digits are coarse "
                   f"[default {check_config.CheckConfig.min_significant_digits}].")
def check(
    db_path: Path | None,
    fmt: str,
    severity: str | None,
    kinds: tuple[str, ...],
    currencies: tuple[str, ...],
    start: dt.date | None,
    end: dt.date | None,
    config_path: Path | None,
    jumps: dict[str, float],
    **thresholds: int | None,
) -> None:
    """Find where snapshots contradict each other, beyond the ticker's own rounding.

    Findings go to stdout newest first; a summary per currency and kind goes to stderr.
    Thresholds: defaults, then --config FILE, then these options. Exit status 0 when no
    error-severity finding is shown, 1 when one is (like a linter), 2 for usage errors,
    3 when the database cannot be read. The kinds and rules are in docs/checks.md.

    \b
    Example:
      tracker check
      tracker check --severity error --currency TMT --from 2025-12-01
      tracker check --kind jump --jump-threshold TJS=5 --format csv > jumps.csv
    """
    from .. import checks as checks_mod  # numpy and pandas: loaded only for this command
    from ..official.config import OfficialConfig, load_check_configs
    from .analyst import validate_filters

    validate_filters(db_path, currencies, start, end)

    config, official = check_config.CheckConfig(), OfficialConfig()
    if config_path is not None:
        config, official = load_check_configs(config_path, config)
    changes: dict[str, Any] = {k: v for k, v in thresholds.items() if v is not None}  # int fields
    config = dataclasses.replace(config, **changes).with_jump_thresholds(jumps)
    findings = checks_mod.filter_findings(
        checks_mod.run_checks(db_path, config=config, official=official), severity=severity,
        kinds=kinds,
        currencies=currencies, start=start, end=end,
    )
    text = io.StringIO()
    checks_mod.write_findings(findings, fmt, text)
    data_out(lambda out: out.write(text.getvalue().encode("utf-8")))
    for line in checks_mod.summary_lines(findings):
        err(line)
    sys.exit(EXIT_REJECTED if checks_mod.has_errors(findings) else EXIT_OK)
