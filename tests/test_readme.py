"""The README's promises point at tests that exist, and its first commands are the real ones."""

from __future__ import annotations

import re

from tests.conftest import REPO

README = (REPO / "README.md").read_text()


def section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def test_the_readme_starts_with_the_two_commands_and_ci_runs_the_second():
    block = re.search(r"```bash\n(.*?)```", README, re.S).group(1).splitlines()
    assert block[0].startswith("bash scripts/demo.sh")
    assert block[1].startswith("bash scripts/test.sh")
    assert "bash scripts/test.sh" in (REPO / ".ci" / "run").read_text()


def test_every_guarantee_names_tests_that_exist():
    rows = [line for line in section("Guarantees").splitlines() if line.startswith("| **")]
    assert len(rows) >= 6
    for row in rows:
        cited = re.findall(r"`((?:dashboard/)?test_\w+\.py)(?:::(\w+))?`", row)
        assert cited, row
        for path, name in cited:
            source = (REPO / "tests" / path).read_text()
            if name:
                assert re.search(rf"^def {name}\(", source, re.M), f"{path}::{name}"


def test_the_environment_variables_the_readme_lists_are_read_by_the_code():
    code = "\n".join(p.read_text() for p in (REPO / "tracker").rglob("*.py"))
    for name in re.findall(r"^\| `(TRACKER_\w+)`", README, re.M):
        assert name in code, name
