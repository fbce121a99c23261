"""`tracker reparse` parses a WARC or MHTML snapshot with the charset its container declared,
wherever it is run from: the declaration is kept with the snapshot at ingest. A database
ingested before it was kept reads it from the container again, and when that is not found
from the current folder keeps the snapshot as it was (with a `kept:` line), never turning it into a
rejection. Through the real command, run from another folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from tests.conftest import SAMPLES
from tests.proc import run_tracker

CONTAINERS = ("2025-11-17_crawl.warc.gz", "2025-11-17_tca-home.mhtml")


def ingested_from(tmp_path: Path) -> Path:
    """The sample WARC and MHTML files ingested by a relative path, from `tmp_path`."""
    (tmp_path / "in").mkdir()
    for name in CONTAINERS:
        shutil.copy(SAMPLES / name, tmp_path / "in" / name)
    db = tmp_path / "t.duckdb"
    done = run_tracker("ingest", "--db", db, "in", cwd=tmp_path)
    assert done.code == 0, done.stderr
    return db


def state(db: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        snaps = con.execute("SELECT source, status, reason, captured_on FROM snapshots "
                            "ORDER BY source").fetchall()
        quotes = con.execute("SELECT snapshot_id, position, rate_text, change_text FROM quotes "
                             "ORDER BY ALL").fetchall()
    return snaps, quotes


def as_ingested_before_the_charset_was_kept(db: Path) -> None:
    """The database as the tracker left it before schema version 9 (the next writable open
    migrates it: the column comes back empty)."""
    with duckdb.connect(str(db)) as con:
        con.execute("ALTER TABLE snapshots DROP COLUMN declared_charset")
        con.execute("DELETE FROM schema_info WHERE version >= 9")


def test_reparse_from_another_folder_keeps_container_snapshots_as_they_were(tmp_path):
    db = ingested_from(tmp_path)
    before = state(db)
    assert [s[1] for s in before[0]] == ["ingested", "ingested"] and before[1]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run_tracker("reparse", "--db", db, cwd=elsewhere)
    assert done.code == 0 and done.lines == [
        "reparsed: 2 ingested, 0 rejected, 0 changed, 0 with missing or damaged raw bytes "
        "(kept as they were, not parsed)"], done.stderr
    assert state(db) == before


def test_a_database_ingested_before_reads_the_container_or_keeps_the_snapshot(tmp_path):
    db = ingested_from(tmp_path)
    before = state(db)
    as_ingested_before_the_charset_was_kept(db)
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "in").mkdir(parents=True)  # another MHTML file by the same relative name
    (elsewhere / "in" / CONTAINERS[1]).write_bytes(
        b"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>another page")

    done = run_tracker("reparse", "--db", db, cwd=elsewhere)
    assert done.code == 1 and "Traceback" not in done.stderr, done.stderr  # (not all reparsed)
    notes = [line for line in done.lines if line.startswith("kept: ")]
    assert len(notes) == 2 and all("kept as it was: " in n and str(elsewhere) in n
                                   and "run `tracker reparse` from the folder" in n
                                   for n in notes), done.lines
    assert any("holds other bytes" in n for n in notes), notes
    assert done.lines[-1].endswith(
        ", 2 whose container is not found from here (kept as they were)"), done.lines
    assert state(db) == before

    again = run_tracker("reparse", "--db", db, cwd=tmp_path)  # where it was ingested from
    assert again.code == 0 and " 0 changed," in again.lines[-1], again.stderr
    assert not [line for line in again.lines if line.startswith("kept: ")], again.lines
    assert state(db) == before
    last = run_tracker("reparse", "--db", db, cwd=elsewhere)  # the declaration is kept now
    assert last.code == 0 and len(last.lines) == 1 and " 0 changed," in last.lines[0], last.lines
    assert state(db) == before


def test_a_lost_declaration_keeps_only_what_needs_it(tmp_path):
    """Ingested before schema version 9 and reparsed where nothing declares a charset any
    more: a UTF-8 crawl (its file not found from here) and a UTF-8 capture are parsed as any
    other; a windows-1251 capture whose charset only its HTTP answer declared is kept as it
    was (exit 1), never turned into a rejection."""
    from tests.test_containers import CYRILLIC, DATED, RESPONSE, record
    from tracker.ingest import ingest
    from tracker.prepare import RawInput

    (tmp_path / "in").mkdir()
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + DATED.encode()
    (tmp_path / "in" / "utf8.warc.gz").write_bytes(
        record("response", "https://timesca.com/", http, RESPONSE, member=True))
    db = tmp_path / "t.duckdb"
    assert run_tracker("ingest", "--db", db, "in", cwd=tmp_path).code == 0
    cyrillic = CYRILLIC.replace("</ul>", "</ul><p>10 December 2025</p>").encode("windows-1251")
    summary = ingest([
        RawInput("https://web.archive.org/web/2025/https://timesca.com/", data=cyrillic,
                 charset="windows-1251"),
        RawInput("https://timesca.com/live", data=DATED.replace("10 Dec", "11 Dec").encode(),
                 charset="utf-8")], db_path=db)
    assert [o.status for o in summary.outcomes] == ["ingested", "ingested"], summary.outcomes
    before = state(db)
    as_ingested_before_the_charset_was_kept(db)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run_tracker("reparse", "--db", db, cwd=elsewhere)
    assert done.code == 1, done.stderr
    kept = [line for line in done.lines if line.startswith("kept: ")]
    assert len(kept) == 1 and kept[0].startswith("kept: https://web.archive.org/") \
        and "HTTP answer declared was not kept" in kept[0], done.lines
    assert done.lines[-1].startswith("reparsed: 2 ingested, 0 rejected, 0 changed"), done.lines
    assert state(db) == before
