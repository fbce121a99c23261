"""Inconsistency checks: where snapshots contradict each other beyond the ticker's own rounding.

Every printed number stands for an interval: a rate printed with d decimals for ±0.5·10^-d, a
change for ±0.005 percentage points (the ticker rounds changes to 2 decimals and drops trailing
zeros: `0%` is [−0.005, +0.005], `-0%` is [−0.005, 0)). A finding that depends on numbers is
raised only when no values inside those intervals make the snapshots agree, so quantization
never cries wolf. The interval comparisons use exact integer arithmetic on the printed digits
(no float noise).

Layers: `Store.check_*()` (the SQL, in tracker/store/checkreads.py) reduce the store to small frames; the
pure `*_findings(frame, ...)` functions (`snapshots`, `series`) turn frames into finding rows,
vectorized over rows, on the exact bounds of `arith`; `findings` holds the record, filters and
output; `run_checks` glues them together. docs/checks.md documents kinds, rounding and defaults.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from ..check_config import DEFAULT_JUMP_PCT as DEFAULT_JUMP_PCT  # re-exported
from ..check_config import DEFAULT_JUMP_PCT_PER_DAY as DEFAULT_JUMP_PCT_PER_DAY
from ..check_config import FORMATS as FORMATS
from ..check_config import KINDS as KINDS
from ..check_config import SEVERITIES as SEVERITIES
from ..check_config import SEVERITY_RANK as SEVERITY_RANK
from ..check_config import CheckConfig as CheckConfig
from ..check_config import load_config as load_config
from ..official.config import OfficialConfig
from ..read import to_frame
from ..store import Store
from .arith import CHANGE_DECIMALS as CHANGE_DECIMALS
from .arith import CHANGE_PLACES as CHANGE_PLACES
from .arith import RATE_PLACES as RATE_PLACES
from .findings import FINDING_COLUMNS as FINDING_COLUMNS
from .findings import Finding as Finding
from .findings import filter_findings as filter_findings
from .findings import finding_id as finding_id
from .findings import findings_frame as findings_frame
from .findings import has_errors as has_errors
from .findings import sort_findings as sort_findings
from .findings import summary_frame as summary_frame
from .findings import summary_lines as summary_lines
from .findings import to_findings as to_findings
from .findings import write_findings as write_findings
from .series import coarse_findings as coarse_findings
from .series import move_findings as move_findings
from .series import same_day_findings as same_day_findings
from .snapshots import missing_findings as missing_findings
from .snapshots import snapshot_findings as snapshot_findings
from .snapshots import stale_findings as stale_findings


def run_checks(
    db_path: Path | str | None = None,
    *,
    store: Store | None = None,
    config: CheckConfig | None = None,
    today: dt.date | None = None,
    official: OfficialConfig | None = None,
) -> list[Finding]:
    """Every finding over the store, newest first. Opens the database read-only unless given one.

    `today` (default: the local date) is what `future_date` compares capture dates with;
    `official` the thresholds of the findings against official rates, run when some are stored.
    """
    if store is None:
        with Store.open(db_path, read_only=True) as opened:
            return run_checks(store=opened, config=config, today=today, official=official)
    config = config or CheckConfig()
    today = today or dt.date.today()
    snapshots, day_rates, series = (to_frame(t, exact=False) for t in store.check_tables())
    frames = [
        snapshot_findings(snapshots, config, today),
        stale_findings(snapshots, config),
        missing_findings(snapshots, config),
        same_day_findings(day_rates),
        move_findings(series, config),
        coarse_findings(series, config),
    ]
    found = to_findings(pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True))
    if store.has_official_rates():
        from ..official.findings import official_findings
        from ..read import official_records

        found = sort_findings(found + official_findings(series, official_records(store),
                                                        official))
    return found
