"""Every input path survives whatever the file system holds: names that are not UTF-8, FIFOs,
sockets and devices, symlink loops, files that cannot be read yet.

Through the real `tracker ingest` (and the scheduler's watch run in processes of its own): a
FIFO is refused from its `stat`, never opened (opening one waits for a writer forever); a
name's bytes are kept losslessly in its source (`tracker.names`) and shown escaped; a watched
file that could not be read is tried again on the next run, also after a restart.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.proc import run_tracker, unprivileged
from tests.test_fetch import DAY, snapshot
from tracker.names import path_bytes, source_name
from tracker.read import to_frame
from tracker.store import Store

FIFO_REASON = "is a FIFO (named pipe), not a regular file; skipped without opening it"


def hostile_folder(root: Path) -> Path:
    folder = root / "in"
    folder.mkdir()
    (folder / "good.txt").write_bytes(snapshot())
    os.mkfifo(folder / "pipe.txt")
    (folder / "self-loop.txt").symlink_to(folder / "self-loop.txt")
    (folder / "loop").mkdir()
    (folder / "loop" / "up").symlink_to(folder, target_is_directory=True)
    raw = os.fsencode(folder)
    with open(raw + b"/bad\xff.txt", "wb") as fh:  # a name that is not UTF-8
        fh.write(snapshot(day=DAY.replace(day=11)))
    with open(raw + b"/empty\xfe\x1b]0;owned\x07.txt", "wb"):  # not UTF-8, and an OSC escape
        pass
    return folder


def test_ingest_survives_any_name_and_never_opens_a_fifo(tmp_path, db_path):
    folder = hostile_folder(tmp_path)
    sock = None
    if len(str(folder / "sock.txt")) < 100:  # AF_UNIX path limit
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(folder / "sock.txt"))
    try:
        run = run_tracker("ingest", "--db", db_path, folder, folder / "pipe.txt", timeout=60)
    finally:
        if sock is not None:
            sock.close()
    assert run.code == 1 and "Traceback" not in run.stderr, run.stderr
    lines = run.lines
    assert lines.count(f"rejected: {folder}/pipe.txt: {FIFO_REASON}") == 2  # in the folder, named
    assert any(line.startswith(f"rejected: {folder}/self-loop.txt: cannot be read (Too many "
                               "levels of symbolic links)") for line in lines), lines
    if sock is not None:
        assert f"rejected: {folder}/sock.txt: is a socket, not a regular file; skipped without " \
               "opening it" in lines
    # the bad names are shown escaped: no raw byte, no escape sequence reaches the terminal
    assert any(line.startswith(f"rejected: {folder}/empty\\xfe␛]0;owned␇.txt: the file is empty")
               for line in lines), lines
    assert "\x1b" not in run.stderr and "\udcff" not in run.stderr
    assert lines[-1].startswith("ingested 2, already present 0, rejected ")

    with Store.open(db_path, read_only=True) as store:
        sources = set(to_frame(store.snapshots(status="ingested"))["source"])
    assert sources == {f"{folder}/good.txt", f"{folder}/bad\\xff.txt"}
    # lossless: the source gives back the exact bytes of the name
    assert path_bytes(f"{folder}/bad\\xff.txt") == os.fsencode(folder) + b"/bad\xff.txt"
    assert Path(os.fsdecode(path_bytes(f"{folder}/bad\\xff.txt"))).read_bytes() == \
        snapshot(day=DAY.replace(day=11))

    again = run_tracker("ingest", "--db", db_path, folder, timeout=60)
    assert again.lines[-1].startswith("ingested 0, already present 2"), again.lines


@pytest.mark.parametrize("name", [b"plain.txt", b"bad\xff.txt", b"back\\slash\\xff.txt",
                                  "Алматы.txt".encode(), b"\xed\xa0\x80.txt", b"a\\\\b"])
def test_every_name_has_one_source_and_back(name):
    text = os.fsdecode(name)
    source = source_name(text)
    source.encode("utf-8")  # storable text
    assert path_bytes(source) == name
    others = [n for n in (b"bad\\xff.txt", b"bad\xff.txt") if n != name]
    assert all(source_name(os.fsdecode(o)) != source for o in others)  # unambiguous


WATCH = r"""
import sys
from tracker.jobs import watch_once
r = watch_once(sys.argv[1], [sys.argv[2]], settle=0)
print(r.ingested, r.present, r.rejected, r.unchanged)
"""


def test_a_watched_file_that_could_not_be_read_is_retried_also_after_a_restart(tmp_path,
                                                                               db_path):
    prefix = unprivileged()
    if prefix is None:
        pytest.skip("running as root without setpriv: file permissions cannot be tested")
    folder = tmp_path / "watched"
    folder.mkdir()
    (folder / "good.txt").write_bytes(snapshot())
    locked = folder / "locked.txt"
    locked.write_bytes(snapshot(day=DAY.replace(day=12)))
    locked.chmod(0)

    def watch_run() -> list[int]:  # a process of its own each time: a restart
        done = subprocess.run([*prefix, sys.executable, "-c", WATCH, str(db_path), str(folder)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return [int(n) for n in done.stdout.split()]

    assert watch_run() == [1, 0, 1, 0]  # good ingested, locked rejected (cannot be read)
    assert watch_run() == [0, 0, 1, 1]  # still unreadable: tried again, not remembered
    locked.chmod(0o644)  # readable now; its size and mtime are unchanged
    assert watch_run() == [1, 0, 0, 1]
    assert watch_run() == [0, 0, 0, 2]


def test_a_library_callers_source_with_any_bytes_is_stored_escaped(db_path):
    from tracker.ingest import RawInput, ingest

    summary = ingest([RawInput(source=os.fsdecode(b"lib\xff.txt"), data=snapshot())],
                     db_path=db_path)
    assert [(o.source, o.status) for o in summary.outcomes] == [("lib\\xff.txt", "ingested")]
    with Store.open(db_path, read_only=True) as store:
        assert list(to_frame(store.snapshots())["source"]) == ["lib\\xff.txt"]
