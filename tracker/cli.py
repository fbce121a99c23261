"""`tracker`: a thin click shell over the library. Data to stdout, status to stderr.

Exit statuses: 0 success; 1 some input was rejected (or, for `check`, an error-severity
finding exists); 2 usage error; 3 the command could not run (database busy or unreadable,
raw archive not writable).
"""

from __future__ import annotations

import datetime as dt
import gc
import importlib
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import click

from .archives.bases import ArchiveBases
from .commands import backfill
from .commands.options import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_USAGE,
    db_option,
    err,
)
from .commands.options import date_value as _date
from .errors import TrackerError, UsageError
from .humane import plural, size
from .ingest import BATCH_SIZE, MAX_BYTES, ingest_paths
from .ingest import reparse as reparse_snapshots
from .models import IngestOutcome, IngestSummary
from .store import default_db_path


def schedule_options(
    watch: str, url: str, every: str
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--watch, --url and --every, with help texts that suit the command."""

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        f = click.option("--every", metavar="INTERVAL", help=every)(f)
        f = click.option("--url", "urls", multiple=True, metavar="URL", help=url)(f)
        return click.option("--watch", "folders", multiple=True, metavar="DIR",
                            type=click.Path(file_okay=False, path_type=Path), help=watch)(f)

    return decorate


def job_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--official, --bank-url, --backfill and the backfill's archive options: the scheduler's
    jobs beyond watching and fetching (`tracker schedule`, the dashboard's companion)."""
    f = backfill.archive_options(f)
    f = click.option("--backfill", "backfill", multiple=True, metavar="PREFIX",
                     help="Also work through the backfill queue for pages under this prefix "
                          "(`tracker backfill --url`), within its rate limit (repeatable).")(f)
    f = click.option("--bank-url", "bank_urls", multiple=True, metavar="NAME=URL",
                     help="With --official: ask bank NAME at this base URL (repeatable; see "
                          "`tracker official fetch --help`).")(f)
    return click.option("--official", is_flag=True,
                        help="Also fetch the central banks' official rates daily (as `tracker "
                             "official fetch`, the week up to today).")(f)


class TrackerGroup(click.Group):
    """Turns the tracker's own errors (the database's I/O failures among them: see
    `tracker.store.failures`) and the system's into one clear line and exit status 3 (2 for
    usage). Commands in `LAZY` are imported when asked for: pandas and the read layer cost
    `tracker ingest` ~0.3 s of start-up it never uses."""

    LAZY: ClassVar[dict[str, str]] = {"show": "analyst", "export": "analyst", "status": "status",
                                      "official": "official", "verify": "verify",
                                      "check": "check"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.LAZY})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.LAZY and cmd_name not in self.commands:
            module = importlib.import_module(f".commands.{self.LAZY[cmd_name]}", __package__)
            command = getattr(module, cmd_name)
            assert isinstance(command, click.Command)
            self.add_command(command)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            err(f"error: {exc}")
            ctx.exit(EXIT_USAGE)
        except TrackerError as exc:
            err(f"error: {exc}")
            ctx.exit(EXIT_FAILED)
        except BrokenPipeError:  # the reader of stdout stopped early (`| head`): not ours to report
            ctx.exit(EXIT_REJECTED)
        except OSError as exc:  # an output file or folder the command could not write
            where = f"{exc.filename}: " if exc.filename else ""
            err(f"error: {where}{exc.strerror or exc}; check the path, its permissions and "
                "free space")
            ctx.exit(EXIT_FAILED)


@click.group(cls=TrackerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tracker")
def main() -> None:
    """Turn timesca.com page snapshots into an exact exchange-rate series.

    \b
    Example:
      tracker ingest data/samples
      tracker export --format csv --currency KGS
    """


class _Progress:
    """A bar on a terminal; a line every few seconds otherwise (logs stay readable)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.tty = sys.stderr.isatty()
        self.last = time.monotonic()
        self.bar = (
            click.progressbar(length=total, label="ingesting", file=sys.stderr)
            if self.tty and total > 20 else None
        )
        if self.bar is not None:
            self.bar.__enter__()

    def __call__(self, _outcome: IngestOutcome) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        elif self.total > 200 and time.monotonic() - self.last > 5:
            self.last = time.monotonic()
            err(f"ingesting: {self.done:,}/{self.total:,}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _tune_own_process() -> None:
    """`tracker ingest` and `tracker schedule` own their process, so they (never the library,
    which a notebook or the dashboard's upload thread shares) run the cyclic garbage collector
    less often: parsing allocates millions of short-lived objects, which at the default
    thresholds made it rescan the rows in flight ~700 times per 20,000 snapshots. Buys: 3–7%
    less CPU time (medians 4.65 vs 4.79 s and 4.79 vs 5.14 s over 20,000 snapshots in two
    side-by-side series). Every object is still collected."""
    gc.set_threshold(20_000, 20, 20)


def print_summary(summary: IngestSummary, seconds: float) -> None:
    for outcome in summary.rejections:
        err(f"rejected: {outcome.source}: {outcome.reason}")
    for outcome in summary.warned:
        for note in outcome.warnings:
            err(f"warning: {outcome.source}: {note}")
    for outcome in summary.undated:
        err(
            f"undated: {outcome.source}: no header date, archive time or date in the file "
            "name; kept out of the series (give --captured-on DATE to place it)"
        )
    rate = len(summary.outcomes) / seconds if seconds > 0 else 0.0
    err(
        f"ingested {summary.ingested}, already present {summary.present}, "
        f"rejected {summary.rejected}"
        + (f", undated {len(summary.undated)}" if summary.undated else "")
        + (f", {len(summary.warned)} with warnings" if summary.warned else "")
        + (f", skipped {plural(len(summary.skipped), 'non-snapshot file')}"
           if summary.skipped else "")
        + f" in {seconds:.1f} s ({rate:,.0f}/s)"
    )


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@db_option
@click.option("--captured-on", callback=_date, metavar="DATE",
              help="Capture date for snapshots that carry no date of their own.")
@click.option("--max-bytes", type=click.IntRange(min=1), default=MAX_BYTES, metavar="BYTES",
              help=f"Largest snapshot accepted [default: {MAX_BYTES} ({size(MAX_BYTES)})].")
@click.option("--batch-size", type=click.IntRange(min=1), default=BATCH_SIZE, show_default=True,
              help="Snapshots committed per transaction (an interrupted run keeps whole batches).")
def ingest(
    paths: tuple[Path, ...],
    db_path: Path | None,
    captured_on: dt.date | None,
    max_bytes: int,
    batch_size: int,
) -> None:
    """Ingest snapshot files or folders: pages, WARC crawls, saved MHTML pages.

    Pages are .txt, .html, .htm and .xhtml files, optionally gzipped (.gz); every page record
    of a WARC crawl (.warc, .warc.gz) and the page of an MHTML file (.mhtml, .mht) is a
    snapshot. Folders are read recursively. Ingesting the same bytes again is a no-op. Exit status 0
    when every input was ingested or already present, 1 when any was rejected (the rest are
    still ingested), 2 for usage errors, 3 when the database or raw archive is unusable.

    \b
    Example:
      tracker ingest data/samples
      tracker ingest --captured-on 2025-12-10 ~/Downloads/page.html
    """
    from .ingest import discover

    _tune_own_process()
    started = time.monotonic()
    found = discover(paths)
    progress = _Progress(total=len(found.inputs))
    try:
        summary = ingest_paths(
            found, db_path=db_path, progress=progress,
            captured_on=captured_on, max_bytes=max_bytes, batch_size=batch_size,
        )
    finally:
        progress.close()
    print_summary(summary, time.monotonic() - started)
    sys.exit(EXIT_OK if summary.ok else EXIT_REJECTED)


@main.command()
@db_option
def reparse(db_path: Path | None) -> None:
    """Rebuild all quotes from the kept raw snapshots with the current parser.

    Use after upgrading the tracker: rejected snapshots the new parser understands become
    data, and every snapshot's quotes and dates are recomputed.

    \b
    Example:
      tracker reparse --db data/tracker.duckdb
    """
    def left(source: str, status: str, why: str) -> None:
        if status in ("damaged", "kept"):  # raw bytes lost, or their charset: left as they were
            err(f"{status}: {source}: {why}")

    counts = reparse_snapshots(db_path=db_path, progress=left)
    err(
        f"reparsed: {counts['ingested']} ingested, {counts['rejected']} rejected, "
        f"{counts['changed']} changed, {counts['missing_raw']} with missing or damaged raw "
        "bytes (kept as they were, not parsed)"
        + (f", {counts['kept']} whose container is not found from here (kept as they were)"
           if counts["kept"] else "")
    )
    sys.exit(EXIT_REJECTED if counts["missing_raw"] or counts["kept"] else EXIT_OK)


@main.command()
@db_option
@schedule_options(
    watch="Ingest new or changed snapshot files under this folder (repeatable).",
    url="Fetch and ingest this http(s) page (repeatable).",
    every="How often: 15m, 1h, 1d, 30s or plain seconds (default 1h).",
)
@click.option("--config", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="TOML file with a [schedule] table (every, watch, url, db, official); "
                   "command-line options win.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=20.0, show_default=True,
              help="Seconds before a fetch attempt gives up.")
@click.option("--settle", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Leave files modified less than this many seconds ago for the next run.")
@click.option("--batch-size", type=click.IntRange(min=1), default=100, show_default=True,
              help="Files per transaction; a stop request waits for at most one batch.")
@job_options
def schedule(
    db_path: Path | None,
    folders: tuple[Path, ...],
    urls: tuple[str, ...],
    every: str | None,
    config: Path | None,
    timeout: float,
    settle: float,
    batch_size: int,
    official: bool,
    bank_urls: tuple[str, ...],
    backfill: tuple[str, ...],
    **archive: Any,
) -> None:
    """Keep ingesting: watch folders and fetch pages on an interval, until stopped.

    Runs in the foreground; each run prints one line and is recorded in the `runs` table.
    Unchanged files are skipped without being read; the same bytes are never stored twice.
    Ctrl-C or SIGTERM stops after the batch in progress (exit status 0). Readers (dashboard,
    notebooks) can query the database meanwhile: it is only held while a batch is written.

    \b
    Example:
      tracker schedule --watch ~/snapshots --every 15m
      tracker schedule --url https://timesca.com/ --every 1h --db data/tracker.duckdb
      tracker schedule --config tracker.toml
      tracker schedule --official
      tracker schedule --backfill timesca.com/ --max-rate 12
    """
    import logging

    from .schedule import resolve_settings, run_scheduler

    _tune_own_process()
    from .official.banks import parse_bank_url

    settings = resolve_settings(
        db=db_path, folders=folders, urls=urls, every=every, config=config,
        official=official, bank_urls=[parse_bank_url(v) for v in bank_urls], backfill=backfill,
        archive=ArchiveBases(**archive),
    )
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # its skips are reported by us
    run_scheduler(
        settings, echo=err,
        watch_options={"settle": settle, "batch_size": batch_size},
        fetch_options={"timeout": timeout},
    )
    sys.exit(EXIT_OK)


@main.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on; any other than loopback (e.g. 0.0.0.0) needs "
                   "--read-only or --password-file.")
@click.option("--port", type=click.IntRange(1, 65535), default=8050, show_default=True)
@click.option("--read-only", is_flag=True, help="No upload tab: the dashboard only reads.")
@click.option("--password-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Require HTTP basic auth with the `user:password` on this file's first line.")
@click.option("--verbose", is_flag=True, help="Log every request on stderr.")
@click.option("--refresh", "refresh_seconds", type=click.FloatRange(min=1), default=10.0,
              show_default=True, metavar="SECONDS",
              help="How often the page looks for newly ingested data.")
@click.option("--debug", is_flag=True,
              help="Dash debug mode (auto-reload, error pop-ups); for development only.")
@schedule_options(
    watch="Also run `tracker schedule` on this folder, in its own process (repeatable).",
    url="Also fetch this page on a schedule, in the same companion process.",
    every="The companion scheduler's interval (15m, 1h, 1d, 30s; default 1h).",
)
@job_options
def dashboard(
    db_path: Path | None, host: str, port: int, read_only: bool, password_file: Path | None,
    verbose: bool, refresh_seconds: float, debug: bool,
    folders: tuple[Path, ...], urls: tuple[str, ...], every: str | None,
    official: bool, bank_urls: tuple[str, ...], backfill: tuple[str, ...], **archive: Any,
) -> None:
    """Serve the dashboard: movements, findings, snapshots, upload.

    Works on an empty or missing database (the page says how to fill it) and picks up data
    that other processes ingest, without a restart. With --watch or --url it also runs the
    scheduler, in a process of its own that stops with the dashboard (so do --official and
    --backfill, as in `tracker schedule`). Stop it with Ctrl-C.
    Exit status 3 when the port is taken.

    \b
    Example:
      tracker dashboard
      tracker dashboard --db data/tracker.duckdb --port 8060
      tracker dashboard --watch ~/snapshots --every 15m
      tracker dashboard --host 0.0.0.0 --read-only
    """
    from dashboards import serve  # Dash is slow to import: only for this command
    from dashboards.app import WARM, create_app

    from .companion import spawn_scheduler, stop_spawned
    from .schedule import resolve_settings

    credentials = serve.read_password_file(password_file) if password_file else None
    serve.check_exposure(host, read_only=read_only, credentials=credentials)
    jobs = folders or urls or official or backfill
    if every and not jobs:
        raise click.UsageError("--every needs --watch DIR or --url URL (or --official, --backfill)")
    db = db_path or default_db_path()
    app = create_app(db, refresh_seconds=refresh_seconds, read_only=read_only)
    if credentials is not None:
        app.server.wsgi_app = serve.with_basic_auth(app.server.wsgi_app, credentials)
    if verbose:
        app.server.wsgi_app = serve.with_access_log(app.server.wsgi_app)
    server = None if debug else serve.listen(app.server, host, port)  # a busy port: said first
    companion = None
    if jobs and os.environ.get("WERKZEUG_RUN_MAIN") != "true":
        # not in the debug reloader's serving child: one scheduler, however often it reloads
        from .official.banks import parse_bank_url

        settings = resolve_settings(
            db=db, folders=folders, urls=urls, every=every, config=None, official=official,
            bank_urls=[parse_bank_url(v) for v in bank_urls], backfill=backfill,
            archive=ArchiveBases(**archive))
        companion = spawn_scheduler(settings)
        extra = ["official rates daily"] if official else []
        extra += [f"backfill {p}" for p in settings.backfill]
        err(f"scheduler (pid {companion.pid}) every {settings.every} s: "
            + ", ".join([*map(str, settings.folders), *settings.urls, *extra]))
    err(f"dashboard for {db} on http://{host}:{port}/ (Ctrl-C to stop)")
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        if debug:
            app.run(host=host, port=port, debug=True)
        else:
            serve.serve(server, on_listening=app.server.extensions.get(WARM))
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        if companion is not None:
            err("stopping the scheduler after its batch in progress…")
            stop_spawned(companion)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


main.add_command(backfill.COMMAND)

if __name__ == "__main__":  # pragma: no cover
    main()
