"""Configuration files: every way a file can be wrong is a usage error saying how to fix it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker import schedule
from tracker.check_config import load_config as load_checks
from tracker.errors import UsageError

LOADERS = {
    "checks": (load_checks, "[checks]\nstale_min_gap_days = 3\n"),
    "schedule": (schedule.load_config, '[schedule]\nevery = "5m"\n'),
}


@pytest.mark.parametrize("part", sorted(LOADERS))
@pytest.mark.parametrize(("content", "expected"), [
    (None, "does not exist; check the path"),
    (b"[checks\n", "is not valid TOML"),
    (b"every = \xff\n", "is not valid TOML"),
    (b"[other]\nx = 1\n", "has no [{part}] table; write e.g.\n[{part}]"),
])
def test_a_bad_file_says_what_to_fix(tmp_path: Path, part: str, content: bytes | None,
                                     expected: str):
    load, _ = LOADERS[part]
    path = tmp_path / "tracker.toml"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UsageError) as err:
        load(path)
    assert f"config file {path}" in str(err.value)
    assert expected.format(part=part) in str(err.value)


@pytest.mark.parametrize("part", sorted(LOADERS))
def test_a_folder_is_not_a_config_file(tmp_path: Path, part: str):
    load, _ = LOADERS[part]
    with pytest.raises(UsageError, match="cannot be read"):
        load(tmp_path)


def test_one_file_configures_both_parts(tmp_path: Path):
    path = tmp_path / "tracker.toml"
    path.write_text(LOADERS["checks"][1] + LOADERS["schedule"][1])
    assert load_checks(path).stale_min_gap_days == 3
    assert schedule.load_config(path) == {"every": "5m"}
