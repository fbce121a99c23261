"""`tracker backfill` picks up where a killed run stopped: captures already received are taken
from the spool (never fetched again, never ingested when damaged), and a plan killed while the
index was being paged continues from its resume point to the plan an uninterrupted run makes."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.archives.spool import Spool, row_key
from tracker.backfill import Options
from tracker.backfill import backfill as run_backfill
from tracker.prepare import RawInput
from tracker.store import Store
from tracker.store.backfillqueue import QueueItem

from .fakearchive import FakeArchive, serving
from .test_backfill import DAYS, page, queue, replays, snapshots, stock


@pytest.fixture
def archive(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeArchive]:
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with serving(FakeArchive()) as served:
        yield served


def options(archive: FakeArchive, **kw: object) -> Options:
    return Options(prefixes=("timesca.com/",), per_day=1, wayback_url=archive.base,
                   max_rate=600, timeout=2, **kw)  # type: ignore[arg-type]


def plan_only(archive: FakeArchive, db: Path) -> list[dict[str, object]]:
    """The queue planned, nothing fetched (the run stopped as the plan was made)."""
    stopping = threading.Event()
    outcome = run_backfill(options(archive), db_path=db, stop=stopping,
                           echo=lambda line: "listed" in line and stopping.set())
    assert outcome.halted == "stopped" and not replays(archive)
    return queue(db)


def item_of(row: dict[str, object]) -> QueueItem:
    return QueueItem(str(row["source"]), row["captured_at"], str(row["original_url"]),  # type: ignore[arg-type]
                     str(row["digest"]), str(row["archive_url"]))


def body_of(archive: FakeArchive, row: dict[str, object]) -> bytes:
    return next(c.body for c in archive.captures
                if str(row["archive_url"]).endswith(f"/{c.timestamp}id_/{c.original}"))


def raw_of(archive: FakeArchive, row: dict[str, object]) -> RawInput:
    return RawInput(source=str(row["archive_url"]), data=body_of(archive, row),
                    captured_at=row["captured_at"], captured_at_source="archive",  # type: ignore[arg-type]
                    original_url=str(row["original_url"]), charset="utf-8")


def snapshot_ids(db: Path) -> dict[str, str]:
    with Store.open(db, read_only=True) as store:
        return dict(store.con.execute("SELECT source, snapshot_id FROM snapshots").fetchall())


def test_a_spooled_capture_is_stored_without_fetching_it(archive, tmp_path):
    """What a run killed after receiving a capture (before storing it) leaves behind."""
    stock(archive, DAYS[:2])
    db = tmp_path / "t.duckdb"
    first, second = plan_only(archive, db)
    Spool(db, 1 << 20).put(item_of(first), raw_of(archive, first))
    outcome = run_backfill(options(archive), db_path=db)
    assert outcome.halted is None
    assert [r["state"] for r in queue(db)] == ["ingested", "ingested"]
    assert list(replays(archive)) == [str(second["archive_url"]).replace(archive.base, "")]
    ids = snapshot_ids(db)
    assert ids[first["archive_url"]] == hashlib.sha256(body_of(archive, first)).hexdigest()
    assert not list(Spool(db, 1).folder.iterdir())  # forgotten once its row was recorded


def _truncate(data: bytes, _: bytes) -> bytes:
    return data[:-7]


def _flip_body(data: bytes, _: bytes) -> bytes:
    return data[:-3] + bytes([data[-3] ^ 0x20]) + data[-2:]


def _other_page(data: bytes, other: bytes) -> bytes:
    head, _, body = data.partition(b"\n")
    header, _, body = body.partition(b"\n")
    return head + b"\n" + header + b"\n" + other[: len(body)].ljust(len(body), b" ")


def _header_garbage(data: bytes, _: bytes) -> bytes:
    return data.replace(b'"charset"', b'"charzet"', 1)


def _empty(_data: bytes, _other: bytes) -> bytes:
    return b""


def _header_nested(data: bytes, _: bytes) -> bytes:
    """A header line of arrays nested deeper than json.loads can go (RecursionError)."""
    magic, _, rest = data.partition(b"\n")
    return magic + b"\n" + b"[" * 60_000 + b"\n" + rest.partition(b"\n")[2]


@pytest.mark.parametrize("damage", [_truncate, _flip_body, _other_page, _header_garbage, _empty,
                                    _header_nested, "other-row", "fifo", "symlink"])
def test_a_damaged_spooled_capture_is_discarded_and_fetched_again(archive, tmp_path, damage):
    stock(archive, DAYS[:2])
    db = tmp_path / "t.duckdb"
    first, second = plan_only(archive, db)
    spool = Spool(db, 1 << 20)
    spool.put(item_of(first), raw_of(archive, first))
    path = spool.path(item_of(first))
    if damage == "other-row":  # the second row's capture under the first row's name
        spool.put(item_of(second), raw_of(archive, second))
        os.replace(spool.path(item_of(second)), path)
    elif damage == "fifo":  # reading it would wait forever
        path.unlink()
        os.mkfifo(path)
    elif damage == "symlink":  # even to a whole copy of the capture: only the spool's own files
        os.replace(path, tmp_path / "elsewhere")
        path.symlink_to(tmp_path / "elsewhere")
    else:
        path.write_bytes(damage(path.read_bytes(), page(DAYS[3], "tabs")))
    lines: list[str] = []
    outcome = run_backfill(options(archive), db_path=db, echo=lines.append)
    assert outcome.halted is None
    assert [r["state"] for r in queue(db)] == ["ingested", "ingested"]
    assert sorted(replays(archive).values()) == [1, 1]  # the damaged one fetched again
    ids = snapshot_ids(db)
    for row in (first, second):  # what was stored is the archive's bytes, never the spool's
        assert ids[row["archive_url"]] == hashlib.sha256(body_of(archive, row)).hexdigest()
    assert any("discarded" in line and "fetched again" in line for line in lines), lines
    assert not list(spool.folder.iterdir())


WHEN = dt.datetime(2025, 12, 1, 8)
ITEM = QueueItem("wayback", WHEN, "https://timesca.com/", "D", "http://a/web/x")
RAW = RawInput(source=ITEM.archive_url, data=b"<html>\xe2\x80\xa2 KGS/USD = 0.01144 0%</html>",
               captured_at=WHEN, captured_at_source="archive", original_url=ITEM.original_url,
               charset="utf-8")


@given(st.data())
def test_a_spooled_file_changed_anywhere_is_never_taken_for_another_capture(tmp_path_factory, data):
    """Any truncation or changed byte is caught: `get` answers a reason, or (a change JSON
    reads the same, like an escape's case) exactly the capture that was spooled."""
    spool = Spool(tmp_path_factory.mktemp("spool") / "t.duckdb", 1 << 20)
    spool.put(ITEM, RAW)
    path = spool.path(ITEM)
    whole = path.read_bytes()
    if data.draw(st.booleans()):
        changed = whole[: data.draw(st.integers(0, len(whole) - 1))]
    else:
        at = data.draw(st.integers(0, len(whole) - 1))
        byte = data.draw(st.integers(0, 255).filter(lambda b: b != whole[at]))
        changed = whole[:at] + bytes([byte]) + whole[at + 1:]
    path.write_bytes(changed)
    got = spool.get(ITEM)
    assert got == RAW or (isinstance(got, str) and "discarded" in got)
    assert got == RAW or not path.exists()


def test_spool_leftovers_nobody_claims_are_swept(archive, tmp_path):
    """Copies of rows recorded meanwhile (killed between recording and removing), strangers,
    and temporary files of runs that are gone."""
    stock(archive, DAYS[:1])
    db = tmp_path / "t.duckdb"
    [row] = plan_only(archive, db)
    spool = Spool(db, 1 << 20)
    gone = ITEM  # no such row in the queue
    spool.put(gone, RAW)
    (spool.folder / f"{row_key(item_of(row))}.999999999.tmp").write_bytes(b"half")
    (spool.folder / "stranger.capture").write_bytes(b"x")
    assert run_backfill(options(archive), db_path=db).halted is None
    assert not list(spool.folder.iterdir())
    assert [r["state"] for r in queue(db)] == ["ingested"]


# -- planning resumed after a kill while the index was being paged -------------------------

PAGES = {"wayback": "/cdx/search/cdx", "commoncrawl": "-index?"}


def index_requests(log: list[tuple[float, str]], source: str, *, pages_only: bool = False
                   ) -> list[str]:
    """The index requests in order; `pages_only`: those answered with a page of captures."""
    if source == "wayback":
        return [p for _, p in log if p.startswith(PAGES[source])]
    out = [p for _, p in log if p == "/collinfo.json" or PAGES[source] in p]
    return [p for p in out if "page=" in p] if pages_only else out


def stock_index(archive: FakeArchive, source: str) -> None:
    days = [dt.date(2025, 12, 1) + dt.timedelta(days=i) for i in range(12)]
    if source == "wayback":
        stock(archive, days)
        archive.cdx_page_size = 4  # 48 captures: 12 pages
        return
    for crawl, hours in (("CC-MAIN-2025-49", (3, 15)), ("CC-MAIN-2025-50", (9, 21))):
        for day in days:  # 24 records a crawl, 3 a page: 8 pages each
            for hour in hours:
                archive.add_record(crawl, f"{day:%Y%m%d}{hour:02d}0000", "https://timesca.com/",
                                   page(day, "lines") + f"<!-- {crawl} {hour} -->".encode())


def command(archive: FakeArchive, db: Path, source: str) -> list[str]:
    bases = (["--wayback-url", archive.base] if source == "wayback" else
             ["--source", "commoncrawl", "--cc-index-url", archive.base, "--cc-data-url",
              archive.base])
    return [sys.executable, "-m", "tracker", "backfill", "--db", str(db), *bases,
            "--from", "2025-12-01", "--to", "2025-12-31", "--per-day", "3", "--max-rate", "600"]


def plan_rows(db: Path) -> list[tuple[object, ...]]:
    return [(r["captured_at"], r["original_url"], r["digest"], r["state"]) for r in queue(db)]


@pytest.mark.parametrize("source", ["wayback", "commoncrawl"])
def test_killed_while_paging_the_rerun_asks_only_the_remaining_pages(archive, tmp_path, source):
    reference = tmp_path / "reference.duckdb"
    with serving(FakeArchive()) as other:
        stock_index(other, source)
        run = subprocess.run(command(other, reference, source), capture_output=True, text=True,
                             env={**os.environ, "no_proxy": "127.0.0.1,localhost"}, timeout=120)
        assert run.returncode == 0, run.stderr
        whole = index_requests(other.log, source)
        pages = index_requests(other.log, source, pages_only=True)
    stock_index(archive, source)
    archive.cdx_delay = 0.3
    db = tmp_path / "t.duckdb"
    child = subprocess.Popen(command(archive, db, source), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL,
                             env={**os.environ, "no_proxy": "127.0.0.1,localhost"})
    deadline = time.monotonic() + 60
    while len(index_requests(archive.sent, source, pages_only=True)) < 4:
        assert time.monotonic() < deadline and child.poll() is None
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)  # while a later page is being asked for
    child.wait()
    with Store.open(db) as store:
        kept = store.backfill_paging("wayback" if source == "wayback" else "commoncrawl",
                                     store.con.execute("SELECT query FROM backfill_paging"
                                                       ).fetchall()[0][0])
    assert kept is not None and not kept.complete and 3 <= kept.pages < len(pages)
    assert queue(db) == []  # nothing planned before the listing is whole
    archive.cdx_delay = 0.0
    before = len(archive.log)
    run = subprocess.run(command(archive, db, source), capture_output=True, text=True,
                         env={**os.environ, "no_proxy": "127.0.0.1,localhost"}, timeout=120)
    assert run.returncode == 0, run.stderr
    assert f"continuing after page {kept.pages}" in run.stderr
    again = index_requests(archive.log[before:], source)
    assert index_requests(archive.log[before:], source, pages_only=True) == pages[kept.pages:]
    assert again == whole[len(whole) - len(again):]  # nothing before the resume point re-asked
    assert plan_rows(db) == plan_rows(reference)
    assert [s[1:] for s in snapshots(db)] == [s[1:] for s in snapshots(reference)]
    assert Counter(s[-1] for s in snapshots(db)) == {"ingested": len(plan_rows(reference))}
    with Store.open(db, read_only=True) as store:  # the listing is dropped once planned
        assert store.con.execute("SELECT count(*) FROM backfill_listed").fetchall() == [(0,)]
