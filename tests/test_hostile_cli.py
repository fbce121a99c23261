"""The ingest-side commands given paths that are wrong: one line, the documented exit status,
nothing created or changed."""

from __future__ import annotations

import os

from tests.proc import run_tracker
from tests.test_hostile_pages import TEXT
from tracker.store import default_raw_dir


def test_reparse_of_a_database_that_is_not_there_creates_none(tmp_path):
    """A mistyped --db used to become a new, empty database ("reparsed: 0 ingested", exit 0),
    as if every snapshot had gone; like `status` and `verify`, it is exit 3 with one line."""
    db = tmp_path / "typo.duckdb"
    run = run_tracker("reparse", "--db", db)
    assert run.code == 3 and run.lines == [
        f"error: no database at {db}; nothing to reparse (is the --db path right?)"]
    assert list(tmp_path.iterdir()) == []


def test_a_fifo_where_a_pack_was_is_damage_never_a_hang(tmp_path):
    """`verify`, `reparse` and `ingest` opened packs with a blocking open: a FIFO in the
    raw folder made each wait for a writer forever. It is a pack that cannot be read, and
    ingesting the source again restores the snapshot's bytes."""
    page = tmp_path / "page.txt"
    page.write_text(TEXT)
    db = tmp_path / "t.duckdb"
    assert run_tracker("ingest", "--db", db, page).code == 0
    (pack,) = default_raw_dir(db).glob("*.pack")
    pack.unlink()
    os.mkfifo(pack)
    verify = run_tracker("verify", "--db", db, timeout=60)
    assert verify.code == 1
    assert verify.lines[0].startswith(f"missing: {page}: snapshot ")
    assert f"pack {pack} cannot be read (not a regular file)" in verify.lines[0]
    reparse = run_tracker("reparse", "--db", db, timeout=60)
    assert reparse.code == 1 and reparse.lines[0].startswith(f"damaged: {page}: kept as it was")
    again = run_tracker("ingest", "--db", db, page, timeout=60)
    assert again.code == 0 and "restored from this input" in again.stderr
    assert run_tracker("verify", "--db", db, timeout=60).code == 0


def test_ingest_help_names_every_kind_of_file_it_reads():
    """`--help` said '.txt, .html, .htm, and .gz of them': no .xhtml, WARC or MHTML."""
    from tracker.containers import MHTML_SUFFIXES, WARC_SUFFIXES
    from tracker.discovery import _OTHER_PAGES, SNAPSHOT_SUFFIXES

    text = " ".join(run_tracker("ingest", "--help").stdout.split())
    for suffix in (*SNAPSHOT_SUFFIXES, *_OTHER_PAGES, *WARC_SUFFIXES, *MHTML_SUFFIXES, ".gz"):
        assert f"{suffix}," in text or f"{suffix} " in text or f"{suffix})" in text, suffix
