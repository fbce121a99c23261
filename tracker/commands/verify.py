"""`tracker verify`: check the whole raw archive and say how to repair what is damaged."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..escape import printable
from ..store import default_db_path
from ..verify import verify_archive
from .options import db_option


@click.command()
@db_option
def verify(db_path: Path | None) -> None:
    """Check every snapshot's raw bytes against its SHA-256, and every raw pack.

    Reports snapshots whose bytes are missing or corrupt (with how to restore them: ingest,
    upload or fetch the source again) and packs no snapshot points at. Exit status 0 when
    the archive is whole, 1 when anything is reported, 3 when the database cannot be read.

    \b
    Example:
      tracker verify --db data/tracker.duckdb
    """
    db = db_path or default_db_path()
    checked, problems = verify_archive(db)
    for p in problems:
        click.echo(printable(f"{p.kind}: {p.where}: {p.reason}; {p.repair}"), err=True)
    damaged = sum(p.kind in ("missing", "corrupt") for p in problems)
    click.echo(printable(f"verified {checked} raw snapshot(s) in {db}: {damaged} missing or "
                         f"corrupt, {len(problems) - damaged} stray pack(s)"), err=True)
    sys.exit(1 if problems else 0)  # as `tracker check`: 1 when anything needs a look
