"""`tracker check` as a user runs it: formats, filters, thresholds, exit statuses."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from tracker.cli import main
from tracker.ingest import ingest

from .test_checks import day, snap


def check(db_path, *args):
    """In-process run (fast); stdout and stderr kept apart."""
    return CliRunner().invoke(main, ["check", "--db", str(db_path), *map(str, args)])


@pytest.fixture
def mismatch_db(db_path):
    """TMT flips with a 0% change (error), TJS jumps 6.4% in a day (warning), one undated."""
    ingest([
        snap(day(-1), body="a"),
        snap(day(0), body="b", TMT=("0.28490", "0"), TJS=("0.11500", "6.37")),
        snap(None, "undated.txt", body="u"),
    ], db_path=db_path)
    return db_path


@pytest.fixture
def quiet_db(tmp_path):
    """Two days of a quiet ticker: only the (info) coarse UZS print to report."""
    db = tmp_path / "quiet.duckdb"
    ingest([snap(day(0), body="a"), snap(day(1), body="b")], db_path=db)
    return db


def test_table_to_stdout_summary_to_stderr_exit_one(mismatch_db):
    proc = subprocess.run(
        [sys.executable, "-m", "tracker", "check", "--db", str(mismatch_db)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["kind", "severity", "currency", "date", "message"]
    assert lines[1].split()[:4] == ["change_mismatch", "error", "TMT", "2025-12-10"]
    assert "TMT: change printed 0% on 10 Dec 2025, but the rate moved 0.28571 → 0.28490" \
        in lines[1]
    assert lines[-1].split()[:4] == ["undated", "warning", "-", "undated"]
    assert "4 findings: 1 error, 2 warnings, 1 info" in proc.stderr
    summary = proc.stderr.splitlines()
    assert summary[1].split() == ["currency", "change_mismatch", "jump", "undated",
                                  "coarse_resolution"]
    assert summary[2].split() == ["TJS", "·", "1", "·", "·"]
    assert summary[-1].split() == ["-", "·", "·", "1", "·"]


def test_exit_zero_without_error_findings(quiet_db, mismatch_db):
    result = check(quiet_db)
    assert result.exit_code == 0, result.stderr
    assert "coarse_resolution" in result.stdout  # info only
    result = check(mismatch_db, "--kind", "jump", "--kind", "undated")
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.stdout.splitlines()[1:]] == ["jump", "undated"]
    result = check(mismatch_db, "--severity", "error")
    assert result.exit_code == 1
    assert [line.split()[0] for line in result.stdout.splitlines()[1:]] == ["change_mismatch"]


def test_nothing_to_report(quiet_db):
    result = check(quiet_db, "--severity", "warning")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["kind  severity  currency  date  message"]
    assert result.stderr.strip() == "no findings"


def test_json_and_csv(mismatch_db):
    result = check(mismatch_db, "--format", "json")
    assert result.exit_code == 1
    rows = json.loads(result.stdout)
    assert [r["kind"] for r in rows] == ["change_mismatch", "jump", "coarse_resolution",
                                         "undated"]
    first = rows[0]
    assert set(first) == {"finding_id", "kind", "severity", "currency", "captured_on",
                          "snapshot_ids", "message"}
    assert (first["currency"], first["captured_on"], len(first["snapshot_ids"])) == (
        "TMT", "2025-12-10", 2)
    assert rows[-1]["captured_on"] is None and rows[-1]["currency"] is None

    result = check(mismatch_db, "--format", "csv")
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["finding_id"] for r in table] == [r["finding_id"] for r in rows]
    assert table[0]["snapshot_ids"].split(" ") == first["snapshot_ids"]
    assert table[-1]["captured_on"] == ""


def test_filters(mismatch_db):
    result = check(mismatch_db, "--currency", "tmt", "--format", "json")
    assert [r["currency"] for r in json.loads(result.stdout)] == ["TMT"]
    result = check(mismatch_db, "--from", "2025-12-11", "--format", "json")
    assert json.loads(result.stdout) == []
    assert result.exit_code == 0
    result = check(mismatch_db, "--to", "2025-12-09", "--format", "json")
    assert json.loads(result.stdout) == []


def test_thresholds_from_options_and_config(mismatch_db, tmp_path):
    def jumps(*args):
        result = check(mismatch_db, "--kind", "jump", "--format", "json", *args)
        assert result.exit_code == 0, result.stderr
        return [r["currency"] for r in json.loads(result.stdout)]

    assert jumps() == ["TJS"]
    assert jumps("--jump-threshold", "TJS=7") == []
    config = tmp_path / "tracker.toml"
    config.write_text("[checks.jump_pct_per_day]\nTJS = 7\n")
    assert jumps("--config", config) == []
    assert jumps("--config", config, "--jump-threshold", "tjs=2") == ["TJS"]  # option wins
    assert jumps("--jump-threshold", "default=0.1") == ["TJS"]  # TJS keeps its own 3 %


def test_other_thresholds(db_path):
    moving = {"TJS": ("0.10811", "-0.28")}
    ingest([snap(day(0), body="a", **moving), snap(day(3), body="b", **moving),
            snap(day(3), "2025-12-11_page.txt", body="c")], db_path=db_path)
    kinds = {r["kind"] for r in json.loads(check(db_path, "--format", "json").stdout)}
    assert {"stale_ticker", "date_disagreement"} <= kinds
    result = check(db_path, "--format", "json", "--stale-min-gap-days", "4",
                   "--date-tolerance-days", "2")
    kinds = {r["kind"] for r in json.loads(result.stdout)}
    assert not {"stale_ticker", "date_disagreement"} & kinds


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--jump-threshold", "TJS"], "is not CCY=PCT"),
        (["--jump-threshold", "TJS=-1"], "is not CCY=PCT"),
        (["--kind", "jumps"], "'jumps' is not one of"),
        (["--severity", "fatal"], "'fatal' is not one of"),
        (["--from", "2025-13-01"], "is not a date"),
        (["--stale-min-gap-days", "0"], "0 is not in the range"),
        (["--format", "xml"], "'xml' is not one of"),
    ],
)
def test_usage_errors_exit_two(quiet_db, args, message):
    result = check(quiet_db, *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_bad_config_file_exits_two_and_names_the_key(quiet_db, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[checks]\njump_threshold = 3\n")
    result = check(quiet_db, "--config", config)
    assert result.exit_code == 2
    assert f"config file {config}: unknown key(s) in [checks]: jump_threshold" in result.stderr
    result = check(quiet_db, "--config", tmp_path / "missing.toml")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_missing_database_exits_three(tmp_path):
    result = check(tmp_path / "nope.duckdb")
    assert result.exit_code == 3
    assert "no database at" in result.stderr


def test_help_has_an_example():
    result = CliRunner().invoke(main, ["check", "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.stdout and "--jump-threshold" in result.stdout
