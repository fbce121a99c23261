"""A header-shaped line that is not a date is reported, never silently replaced.

`09 Dеcember 2025` (a Cyrillic `е`) and `09 Decmber 2025` look like the header date but the
parser cannot read them; the snapshot then takes its date from other evidence (here its file
name) or stays undated, and ingest says so on a `warning:` line and in `date_note`.
"""

from __future__ import annotations

import datetime as dt
import shutil

from tests.conftest import REPO
from tests.proc import run_tracker
from tracker.read import to_frame
from tracker.store import Store

CORPUS = REPO / "tests" / "hostile"
CYRILLIC = "header-cyrillic-e-2025-12-10.txt"
MISSPELT = "header-misspelt-month.txt"


def test_an_unreadable_header_date_is_reported_with_a_warning_and_a_date_note(tmp_path, db_path):
    folder = tmp_path / "in"
    shutil.copytree(CORPUS, folder, ignore=shutil.ignore_patterns("README.md"))
    run = run_tracker("ingest", "--db", db_path, folder)
    assert run.code == 0 and "Traceback" not in run.stderr, run.stderr
    warnings = {line.split(": ")[1]: line for line in run.lines if line.startswith("warning: ")}
    assert warnings[str(folder / CYRILLIC)].endswith(
        "header line '09 Dеcember 2025' is not a date the tracker can read (the month has the "
        "non-Latin letter 'е' U+0435 CYRILLIC SMALL LETTER IE, which looks like 'December'); it "
        "is not used, so the date comes from other evidence — correct the page or give "
        "--captured-on"), warnings
    assert "'Decmber' is not a month; 'December' misspelt?" in warnings[str(folder / MISSPELT)]
    assert any(line.startswith(f"undated: {folder / MISSPELT}: ") for line in run.lines)

    with Store.open(db_path, read_only=True) as store:
        snaps = to_frame(store.snapshots()).set_index("source")
    cyrillic, misspelt = snaps.loc[str(folder / CYRILLIC)], snaps.loc[str(folder / MISSPELT)]
    assert cyrillic["captured_on"].date() == dt.date(2025, 12, 10)
    assert cyrillic["date_source"] == "filename"
    assert "U+0435" in cyrillic["date_note"]
    assert misspelt["date_source"] == "none" and "Decmber" in misspelt["date_note"]


def test_a_readable_header_date_carries_no_such_note(tmp_path, db_path):
    good = REPO / "tests" / "badinput" / "good-reference.txt"
    run = run_tracker("ingest", "--db", db_path, good)
    assert run.code == 0 and not [line for line in run.lines if "header line" in line]
