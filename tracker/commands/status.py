"""`tracker status`: an overview of one database — what it holds, from when to when, where the
captures have gaps, how the scheduler's last runs went, how big the raw archive is — without
SQL. Text for people, `--format json` for monitoring scripts; read-only, so it works while the
scheduler or the dashboard runs."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import click

from ..escape import printable
from ..humane import moment, plural, size
from ..store import Store, default_db_path
from .options import data_out, db_option

JOBS = ("watch", "fetch")  # the scheduler's own jobs (tracker.jobs)
DEFAULT_GAP_DAYS = 3  # a daily ticker: Friday to Monday is not a gap


@dataclass(frozen=True)
class Gap:
    after: dt.date  # the last capture before it
    before: dt.date  # the first capture after it
    days: int


@dataclass(frozen=True)
class LastRun:
    job: str
    run_id: int
    started: dt.datetime
    finished: dt.datetime | None
    files_seen: int
    ingested: int
    present: int
    rejected: int
    error: str | None
    outcome: str  # ok | rejected | failed | unfinished


@dataclass(frozen=True)
class Status:
    database: str
    schema_version: int
    counts: dict[str, int]
    first_capture: dt.date | None
    last_capture: dt.date | None
    capture_dates: int
    gap_days: int  # gaps are stretches longer than this
    gaps: tuple[Gap, ...]
    last_runs: tuple[LastRun, ...]
    raw_files: int
    raw_bytes: int


def outcome(run: dict[str, Any]) -> str:
    """How a `runs` row ended: `unfinished` (still running, or its process died), `failed`
    (an error kept it from its work), `rejected` (some inputs rejected) or `ok`."""
    if run["finished"] is None:
        return "unfinished"
    if run["rejected"]:
        return "rejected"
    return "failed" if run["error"] else "ok"


def collect(store: Store, gap_days: int = DEFAULT_GAP_DAYS) -> Status:
    """Everything `tracker status` shows, read in one transaction (one state of the file)."""
    with store.transaction():
        first, last, days = store.capture_span()
        gaps = tuple(Gap(*g) for g in store.capture_gaps(gap_days))
        runs = tuple(LastRun(**r, outcome=outcome(r)) for r in store.last_runs())
        counts = store.counts()
        version = store.schema_version()
    files, total = store.raw_size()
    return Status(str(store.path), version, counts, first, last, days, gap_days, gaps, runs,
                  files, total)


def text_lines(s: Status) -> list[str]:
    c = s.counts
    lines = [
        f"database     {s.database} (schema version {s.schema_version})",
        f"snapshots    {plural(c['snapshots'], 'snapshot')}: {c['ingested']:,} ingested "
        f"({c['undated']:,} of them undated), {c['rejected']:,} rejected; "
        f"{plural(c['quotes'], 'quote')}; {plural(c['input_errors'], 'input error')}",
    ]
    if s.first_capture is None:
        lines.append("captures     none yet: tracker ingest --db "
                     f"{s.database} <folder of snapshots>")
    else:
        lines.append(f"captures     {s.first_capture} to {s.last_capture} "
                     f"({plural(s.capture_dates, 'capture date')})")
        head = f"gaps         over {plural(s.gap_days, 'day')} without a capture: "
        if not s.gaps:
            lines.append(head + "none")
        else:
            lines.append(head + plural(len(s.gaps), "gap"))
            lines += [f"               {g.after} → {g.before} ({plural(g.days, 'day')})"
                      for g in s.gaps]
    ran = {r.job: r for r in s.last_runs}
    for i, job in enumerate([*JOBS, *sorted(set(ran) - set(JOBS))]):
        label = "last runs    " if i == 0 else "             "
        run = ran.get(job)
        if run is None:
            lines.append(f"{label}{job}: never (tracker schedule)")
            continue
        what = (f"{label}{job}: run {run.run_id} started {moment(run.started)} UTC, "
                f"{'finished ' + moment(run.finished) if run.finished else 'not finished'}; "
                f"ingested {run.ingested:,}, already present {run.present:,}, "
                f"rejected {run.rejected:,}: {run.outcome}")
        lines.append(what + (f" ({run.error})" if run.error else ""))
    lines.append(f"raw archive  {size(s.raw_bytes)} in {plural(s.raw_files, 'pack file')} "
                 f"for {plural(c['raw'], 'snapshot')}")
    return lines


def as_json(s: Status) -> str:
    data = asdict(s)
    data["raw_archive"] = {"files": data.pop("raw_files"), "bytes": data.pop("raw_bytes")}
    return json.dumps(data, default=_iso, ensure_ascii=False, indent=1)


def _iso(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


@click.command()
@db_option
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text",
              show_default=True)
@click.option("--gap-days", type=click.IntRange(min=1), default=DEFAULT_GAP_DAYS,
              show_default=True, metavar="DAYS",
              help="Report stretches of more than this many days without a capture.")
def status(db_path: Path | None, fmt: str, gap_days: int) -> None:
    """What the database holds: snapshots by status, the capture dates and their gaps, the
    scheduler's last runs, the raw archive's size, the schema version.

    \b
    Example:
      tracker status
      tracker status --gap-days 7 --format json
    """
    with Store.open(db_path or default_db_path(), read_only=True) as store:
        found = collect(store, gap_days)
    if fmt == "json":
        data_out(lambda out: out.write(as_json(found).encode("utf-8") + b"\n"))
    else:
        click.echo("\n".join(map(printable, text_lines(found))))
