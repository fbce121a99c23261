"""The bad-input corpus (`tests/badinput/`, plus cases only a live file system can make),
ingested in one run of the real `tracker ingest`.

For every case: one line naming the input and the reason, the rest of the batch ingested,
no partial rows, the rejection recorded (a rejected snapshot with its raw bytes, or the path
in `input_errors` when there are no bytes to keep), and exit status 1 for the run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.proc import Run, run_tracker, unprivileged
from tracker.read import to_frame
from tracker.store import Store

CORPUS = REPO / "tests" / "badinput"

# file → (what happens, a fragment of the one-line reason or warning)
#   rejected:   a rejected snapshot (bytes kept for `tracker reparse`), no quotes
#   unreadable: no usable bytes; the path and reason go to `input_errors`
#   warning:    ingested, with a `warning:` line
#   ingested:   ingested without remark
CASES: dict[str, tuple[str, str | None]] = {
    "empty.txt": ("rejected", "the file is empty (no text at all)"),
    "whitespace-only.txt": ("rejected", "the file is empty"),
    "bom-only.txt": ("rejected", "the file is empty"),
    "binary-png.html": ("rejected", "binary content, not a page (NUL byte at offset 8)"),
    "nul-in-text.txt": ("rejected", "binary content, not a page"),
    "truncated-ticker.txt": ("rejected", "ticker line 2 'KZT/USD = 0.00' is garbled or truncated"),
    "truncated-mid-character.txt": ("rejected", "ends in the middle of a UTF-8 character"),
    "garbled-letter-l.txt": ("rejected", "'KGS/USD = 0.0l144 0%' is garbled or truncated"),
    "garbled-exponent.txt": ("rejected", "'KGS/USD = 1e5 0%' is garbled or truncated"),
    "garbled-nan.txt": ("rejected", "'KGS/USD = NaN 0%' is garbled or truncated"),
    "garbled-change.txt": ("rejected", "'TJS/USD = 0.10730 0.1.2%' is garbled or truncated"),
    "change-without-percent.txt": ("rejected", "'TJS/USD = 0.10730 0.12' is garbled or truncated"),
    "zero-rate.txt": ("rejected", "rate 0.00000 for KGS is not positive"),
    "negative-rate.txt": ("rejected", "rate -0.01144 for KGS is negative"),
    "too-many-digits.txt": ("rejected", "has more digits than the tracker stores"),
    "pair-twice-in-one-copy.txt": ("rejected", "KGS/USD appears twice in one copy of the ticker "
                                   "(lines 1 and 2) with different values"),
    "impossible-date.txt": ("rejected", "header date '31 February 2025' is not a real day"),
    "latin-1.txt": ("rejected", "not UTF-8 text (byte 0xe9"),
    "utf-16.txt": ("ingested", None),  # a byte-order mark says which charset
    "ticker-only-in-script.html": ("rejected", "no ticker found (there is a date line "
                                   "'10 December 2025' but no ticker)"),
    "ticker-only-in-comment-and-attribute.html": ("rejected", "no ticker found"),
    "one-huge-line.txt": ("rejected", "no ticker found"),
    "corrupt.txt.gz": ("unreadable", "corrupt gzip data"),
    "truncated.txt.gz": ("unreadable", "gzip data is truncated"),
    "gzip-bomb.html.gz": ("unreadable", "decompresses to more than the limit of 5 MiB"),
    "unknown-pair.txt": ("warning", "unexpected pair(s) XYZ/USD kept as printed"),
    "far-future-date.txt": ("warning", "capture date 2099-12-10 is in the future"),
    "copies-disagree.txt": ("warning", "copies disagree on KGS/USD"),
    "hostile-content.html": ("ingested", None),
    "plain-text-named-gz.txt.gz": ("ingested", None),
    "cr-only-line-endings.txt": ("ingested", None),
    "good-reference.txt": ("ingested", None),
    # made by `corpus()` below: things a file in git cannot be
    "oversized.txt": ("unreadable", "is 2 GiB (2,147,483,648 bytes), over the limit of 5 MiB"),
    "dangling-link.txt": ("unreadable", "cannot be read (No such file or directory)"),
    "unreadable.txt": ("unreadable", "cannot be read (Permission denied)"),
    "dir with spaces/Алматы — курс 10.12.txt": ("ingested", None),
    "looks-like-a-file.html/inside.txt": ("ingested", None),
}
GOOD = "good-reference.txt"


def corpus(root: Path) -> Path:
    folder = root / "in"
    shutil.copytree(CORPUS, folder, ignore=shutil.ignore_patterns("README.md"))
    with open(folder / "oversized.txt", "wb") as fh:  # sparse: 2 GiB that take no disk
        fh.truncate(2 * 1024**3)
    (folder / "dangling-link.txt").symlink_to(folder / "gone.txt")
    unreadable = folder / "unreadable.txt"
    unreadable.write_bytes((CORPUS / GOOD).read_bytes().replace(b"9 December", b"7 December"))
    unreadable.chmod(0)
    spaced = folder / "dir with spaces" / "Алматы — курс 10.12.txt"
    spaced.parent.mkdir()
    spaced.write_bytes((CORPUS / GOOD).read_bytes().replace(b"9 December", b"5 December"))
    inside = folder / "looks-like-a-file.html" / "inside.txt"
    inside.parent.mkdir()
    inside.write_bytes((CORPUS / GOOD).read_bytes().replace(b"9 December", b"6 December"))
    (folder / "loop").mkdir()
    (folder / "loop" / "back-to-the-top").symlink_to(folder, target_is_directory=True)
    return folder


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Run]:
    prefix = unprivileged()
    if prefix is None:
        pytest.skip("running as root without setpriv: file permissions cannot be tested")
    root = tmp_path_factory.mktemp("badinput")
    folder = corpus(root)
    db = root / "db" / "tracker.duckdb"
    # the folder, one file twice more, a path with spaces again, and a path that is not there
    args = ["ingest", "--db", db, folder, folder / GOOD, folder / GOOD,
            folder / "dir with spaces" / "Алматы — курс 10.12.txt", folder / "missing.txt"]
    run = run_tracker(*args, prefix=prefix)
    return folder, db, run


def source(folder: Path, name: str) -> str:
    return str(folder / name)


def test_the_corpus_is_documented_and_large_enough():
    files = {p.name for p in CORPUS.iterdir() if p.name != "README.md"}
    assert files == {n for n in CASES if "/" not in n} - {
        "oversized.txt", "dangling-link.txt", "unreadable.txt"}
    readme = (CORPUS / "README.md").read_text()
    for name in CASES:
        assert f"`{name}`" in readme, f"{name} is missing from tests/badinput/README.md"
    assert len(CASES) >= 25


def test_one_line_per_bad_input_naming_it_and_the_reason(first_run):
    folder, _, run = first_run
    assert run.code == 1, run.stderr  # something was rejected; the rest was ingested
    assert "Traceback" not in run.stderr
    for name, (what, fragment) in CASES.items():
        prefix = {"rejected": "rejected", "unreadable": "rejected", "warning": "warning"}.get(what)
        mine = [line for line in run.lines if line.split(": ", 2)[1:2] == [source(folder, name)]]
        if prefix is None:
            assert not mine, f"{name}: {mine}"
            continue
        assert len(mine) == 1, f"{name}: {mine}"
        assert mine[0].startswith(f"{prefix}: {source(folder, name)}: "), mine[0]
        assert fragment in mine[0], f"{name}: {mine[0]}"
    missing = [line for line in run.lines if "missing.txt" in line]
    assert missing == [f"rejected: {source(folder, 'missing.txt')}: no such file or folder; "
                       "check the path"]


def test_the_rest_of_the_batch_is_ingested_exactly_once(first_run):
    folder, db, run = first_run
    good = [n for n, (what, _) in CASES.items() if what in ("ingested", "warning")]
    bad = [n for n, (what, _) in CASES.items() if what in ("rejected", "unreadable")]
    warned = sum(what == "warning" for what, _ in CASES.values())
    assert run.lines[-1].startswith(  # the same file twice more, the spaced path again
        f"ingested {len(good)}, already present 3, rejected {len(bad) + 1}, "
        f"{warned} with warnings in "
    ), run.lines[-1]
    with Store.open(db, read_only=True) as store:
        snaps = to_frame(store.snapshots())
    by_source = dict(zip(snaps["source"], snaps["status"], strict=True))
    for name in good:
        assert by_source.get(source(folder, name)) == "ingested", name
    # the symlink loop was walked once: nothing under loop/ became a second source
    assert not [s for s in by_source if "/loop/" in s]
    assert str(folder / "dir with spaces" / "Алматы — курс 10.12.txt") in by_source


def test_no_partial_rows_and_every_rejection_recorded(first_run):
    folder, db, _ = first_run
    with Store.open(db, read_only=True) as store:
        snaps = to_frame(store.snapshots())
        errors = to_frame(store.input_errors())
        quotes = store.snapshot_quotes(list(snaps["snapshot_id"])).to_pandas()
        raw = {sid: store.load_raw(sid) for sid in snaps["snapshot_id"]}
    per_snapshot = quotes.groupby("snapshot_id").size().to_dict()
    for row in snaps.itertuples():
        assert hashlib.sha256(raw[row.snapshot_id]).hexdigest() == row.snapshot_id  # bytes kept
        if row.status == "rejected":
            assert row.snapshot_id not in per_snapshot, row.source
            assert row.reason
        else:
            assert per_snapshot[row.snapshot_id] == 5, row.source  # whole, never half
    rejected = dict(zip(snaps.loc[snaps["status"] == "rejected", "source"],
                        snaps.loc[snaps["status"] == "rejected", "reason"], strict=True))
    unreadable = dict(zip(errors["source"], errors["reason"], strict=True))
    for name, (what, fragment) in CASES.items():
        if what == "rejected":
            assert fragment in rejected[source(folder, name)], name
        elif what == "unreadable":
            assert fragment in unreadable[source(folder, name)], name
            assert source(folder, name) not in set(snaps["source"])
    assert "no such file" in unreadable[source(folder, "missing.txt")]


def test_the_size_limit_is_checked_before_reading(first_run):
    _, _, run = first_run
    assert run.peak_mb < 400, f"peak {run.peak_mb:.0f} MB: was the 2 GiB file read?"


def test_running_the_same_command_again_changes_nothing(first_run):
    folder, db, _ = first_run
    with Store.open(db, read_only=True) as store:
        before = (to_frame(store.snapshots()).drop(columns=["ingested_at"]), store.counts())
    again = run_tracker("ingest", "--db", db, folder, prefix=unprivileged())
    assert again.code == 1  # still rejected: a rejection never turns into "already present"
    bad = sum(what in ("rejected", "unreadable") for what, _ in CASES.values())
    assert again.lines[-1].startswith(f"ingested 0, already present {len(CASES) - bad}, "
                                      f"rejected {bad}")
    assert all(line.endswith("(as before)") for line in again.lines
               if line.startswith("rejected:") and "gz" not in line and "oversized" not in line
               and "unreadable" not in line and "dangling" not in line)
    with Store.open(db, read_only=True) as store:
        after = (to_frame(store.snapshots()).drop(columns=["ingested_at"]), store.counts())
    assert after[0].equals(before[0])
    assert {k: v for k, v in after[1].items() if k != "input_errors"} == \
        {k: v for k, v in before[1].items() if k != "input_errors"}


@pytest.mark.parametrize(("args", "message"), [
    (["export", "--output", "{dir}"], "is a directory"),
    (["check", "--config", "{dir}"], "is a directory"),
    (["schedule", "--watch", "{file}", "--every", "1s"], "is a file"),
    (["ingest", "--captured-on", "31.02.2025", "{file}"], "not a date"),
])
def test_a_folder_where_a_file_is_expected_and_other_usage_errors(tmp_path, args, message):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    file = tmp_path / "a-file.txt"
    file.write_bytes((CORPUS / GOOD).read_bytes())
    db = tmp_path / "db.duckdb"
    run_tracker("ingest", "--db", db, file)
    run = run_tracker(*[a.format(dir=folder, file=file) for a in args], "--db", db)
    assert run.code == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert message in run.stderr.lower(), run.stderr


def test_an_unreadable_file_named_on_the_command_line(tmp_path):
    prefix = unprivileged()
    if prefix is None:
        pytest.skip("running as root without setpriv")
    locked = tmp_path / "locked.txt"
    locked.write_bytes((CORPUS / GOOD).read_bytes())
    locked.chmod(0)
    try:
        run = run_tracker("ingest", "--db", tmp_path / "db.duckdb", locked, prefix=prefix)
    finally:
        os.chmod(locked, 0o644)
    assert run.code == 1
    assert run.lines[0] == f"rejected: {locked}: cannot be read (Permission denied)"
