"""Every bundled sample parses exactly as its golden file says (`python -m tests.golden`)."""

from __future__ import annotations

import json

import pytest

from tests.golden import SAMPLES as FOLDER
from tests.golden import describe, golden_path, sample_files

SAMPLES = sample_files()


def test_there_are_enough_samples():
    assert len(SAMPLES) >= 12


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_sample_matches_golden(sample):
    expected = json.loads(golden_path(sample).read_text(encoding="utf-8"))
    assert describe(sample) == expected


def test_every_golden_has_a_sample():
    goldens = set(FOLDER.glob("*.expected.json"))
    assert goldens == {golden_path(p) for p in SAMPLES}
