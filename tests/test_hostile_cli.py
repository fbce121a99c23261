"""The ingest-side commands given paths that are wrong: one line, the documented exit status,
nothing created or changed."""

from __future__ import annotations

from tests.proc import run_tracker


def test_reparse_of_a_database_that_is_not_there_creates_none(tmp_path):
    """A mistyped --db used to become a new, empty database ("reparsed: 0 ingested", exit 0),
    as if every snapshot had gone; like `status` and `verify`, it is exit 3 with one line."""
    db = tmp_path / "typo.duckdb"
    run = run_tracker("reparse", "--db", db)
    assert run.code == 3 and run.lines == [
        f"error: no database at {db}; nothing to reparse (is the --db path right?)"]
    assert list(tmp_path.iterdir()) == []
