"""What `--help` says is what the command does: the inputs it reads, the config keys it takes,
and the README sections it points at (read from the real `tracker` command's help)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO
from tests.proc import run_tracker
from tracker.containers import MHTML_SUFFIXES, WARC_SUFFIXES
from tracker.discovery import SNAPSHOT_SUFFIXES, is_snapshot_name
from tracker.schedule import CONFIG_KEYS

COMMANDS = ["ingest", "status", "show", "export", "reparse", "verify", "check", "schedule",
            "backfill", "dashboard", "official", "official fetch"]


def help_text(command: str) -> str:
    run = run_tracker(*command.split(), "--help")
    assert run.code == 0, run.stderr
    return " ".join(run.stdout.split())  # click wraps lines: compare words


def test_the_ingest_help_names_every_kind_of_file_ingest_reads():
    text = help_text("ingest")
    pages = [s for s in (*SNAPSHOT_SUFFIXES, ".xhtml") if is_snapshot_name("x" + s)]
    for suffix in (*pages, ".gz", *WARC_SUFFIXES, *MHTML_SUFFIXES):
        assert re.search(rf"{re.escape(suffix)}\b", text), suffix


def test_the_schedule_config_help_names_every_key_the_file_may_hold():
    text = help_text("schedule")
    config = re.search(r"--config FILE (.*?) --timeout", text).group(1)
    for key in CONFIG_KEYS:
        assert re.search(rf"\b{key}\b", config), key


@pytest.mark.parametrize("command", COMMANDS)
def test_a_readme_section_a_help_points_at_exists(command):
    headings = re.findall(r"^#+ (.+)$", (REPO / "README.md").read_text(), re.M)
    for named in re.findall(r'README(?:\.md)?, "([^"]+)"', help_text(command)):
        assert named in headings, (command, named)
