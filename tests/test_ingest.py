"""Ingest → store: idempotence, atomicity, dates, rejections, the series view, reparse."""

from __future__ import annotations

import datetime as dt
import gc
import gzip
import sys
from decimal import Decimal

import pytest

import tracker.prepare as prepare_mod
from tracker import read
from tracker.dates import choose_capture_date, date_from_name
from tracker.errors import DatabaseMissingError, SourceError
from tracker.ingest import (
    RawInput,
    discover,
    ingest,
    ingest_paths,
    read_input,
    reparse,
)
from tracker.models import DateEvidence
from tracker.read import to_frame
from tracker.rows import SNAPSHOT_COLUMNS
from tracker.store import Store
from tracker.synthetic import TickerEntry, render_text

DAY = dt.date(2025, 12, 10)


def entries(kgs="0.01144", kgs_change="0", tjs="0.10811"):
    return [
        TickerEntry("KGS", kgs, kgs_change),
        TickerEntry("KZT", "0.00193", "-0"),
        TickerEntry("TJS", tjs, "-0.28"),
        TickerEntry("UZS", "0.00008", "0"),
        TickerEntry("TMT", "0.28490", "0"),
    ]


def page(day=DAY, **kw) -> bytes:
    return render_text(entries(**kw), day=day, body=["Filler."]).encode()


def write(folder, name, data: bytes):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_ingest_is_idempotent_and_keeps_raw_bytes(tmp_path, db_path):
    src = write(tmp_path / "in", "a.txt", page())
    first = ingest_paths([src], db_path=db_path)
    again = ingest_paths([src], db_path=db_path)
    assert (first.ingested, first.present, first.rejected) == (1, 0, 0)
    assert (again.ingested, again.present, again.rejected) == (0, 1, 0)
    sid = first.outcomes[0].snapshot_id
    with Store.open(db_path, read_only=True) as store:
        assert store.load_raw(sid) == page()
        counts = store.counts()
    assert (counts["snapshots"], counts["quotes"], counts["raw"]) == (1, 5, 1)


def test_quotes_are_exact_decimals_with_printed_text(db_path):
    ingest([RawInput("a.txt", data=page())], db_path=db_path)
    with Store.open(db_path, read_only=True) as store:
        rows = store.all_quotes().to_pylist()
    kzt = next(r for r in rows if r["currency"] == "KZT")
    assert kzt["rate"] == Decimal("0.00193")
    assert (kzt["rate_text"], kzt["rate_decimals"]) == ("0.00193", 5)
    assert (kzt["change_pct"], kzt["change_text"]) == (Decimal("0"), "-0")


def test_bad_file_never_stops_the_batch(tmp_path, db_path):
    folder = tmp_path / "in"
    write(folder, "good1.txt", page())
    write(folder, "no-ticker.txt", b"Just an old article.\n")
    write(folder, "binary.html", b"\x89PNG\x00\x00")
    write(folder, "good2.txt", page(day=dt.date(2025, 12, 11)))
    write(folder, "notes.md", b"not a snapshot")
    summary = ingest_paths([folder], db_path=db_path)
    assert (summary.ingested, summary.rejected) == (2, 2)
    reasons = {o.source.rsplit("/", 1)[-1]: o.reason for o in summary.rejections}
    assert reasons["no-ticker.txt"].startswith("no ticker found")
    assert reasons["binary.html"].startswith("binary content")
    assert summary.skipped == (str(folder / "notes.md"),)
    with Store.open(db_path, read_only=True) as store:
        snaps = to_frame(store.snapshots())
    rejected = snaps[snaps["status"] == "rejected"]
    assert len(rejected) == 2  # recorded, with their raw bytes kept for a later reparse
    with Store.open(db_path, read_only=True) as store:
        assert store.load_raw(rejected["snapshot_id"].iloc[0]) in (b"Just an old article.\n",
                                                                 b"\x89PNG\x00\x00")


@pytest.mark.parametrize("batch", [
    [b""],  # the only new content of its batch is empty
    [b"", b"\n"],
    [b"", "page"],
    ["page", b""],  # the page is stored first, then the empty file alone
])
def test_empty_files_are_rejected_snapshots_whatever_else_is_in_the_batch(db_path, batch):
    inputs = [RawInput(f"{i}.txt", data=page() if d == "page" else d) for i, d in enumerate(batch)]
    if batch[0] == "page":
        ingest(inputs[:1], db_path=db_path)
    summary = ingest(inputs, db_path=db_path)
    for outcome, data in zip(summary.outcomes, batch, strict=True):
        if data == "page":
            assert outcome.status in ("ingested", "present")
        else:
            assert outcome.status == "rejected" and "the file is empty" in outcome.reason
    with Store.open(db_path) as store:
        for outcome in summary.outcomes:
            if outcome.status == "rejected":
                assert store.load_raw(outcome.snapshot_id) in (b"", b"\n")  # kept as given


def test_unreadable_inputs_are_recorded_with_path_and_reason(tmp_path, db_path):
    summary = ingest_paths([tmp_path / "missing.txt"], db_path=db_path)
    assert summary.rejected == 1
    assert "no such file" in summary.rejections[0].reason
    with Store.open(db_path, read_only=True) as store:
        errors = to_frame(store.input_errors())
    assert list(errors["source"]) == [str(tmp_path / "missing.txt")]


def test_gzip_and_size_limit(tmp_path, db_path):
    gz = write(tmp_path, "a.txt.gz", gzip.compress(page()))
    assert read_input(RawInput(str(gz), path=gz)) == page()
    big = write(tmp_path, "big.txt", b"x" * 2000)
    with pytest.raises(SourceError, match="over the limit of 1,000 bytes"):
        read_input(RawInput(str(big), path=big), max_bytes=1000)
    bomb = write(tmp_path, "bomb.txt.gz", gzip.compress(b"x" * 5000))
    with pytest.raises(SourceError, match="decompresses to more than"):
        read_input(RawInput(str(bomb), path=bomb), max_bytes=1000)
    corrupt = write(tmp_path, "bad.txt.gz", gzip.compress(page())[:-20] + b"garbage")
    with pytest.raises(SourceError, match=r"corrupt gzip|truncated"):
        read_input(RawInput(str(corrupt), path=corrupt))


def test_same_bytes_twice_in_one_run_count_once(db_path):
    summary = ingest([RawInput("a.txt", data=page()), RawInput("b.txt", data=page())],
                     db_path=db_path)
    assert [o.status for o in summary.outcomes] == ["ingested", "present"]


def test_folders_are_recursive_and_survive_symlink_loops(tmp_path):
    root = tmp_path / "root"
    write(root / "a" / "b", "deep.html", b"<html></html>")
    (root / "a" / "loop").symlink_to(root)
    found = discover([root])
    assert [i.source for i in found.inputs] == [str(root / "a" / "b" / "deep.html")]


@pytest.mark.parametrize(
    ("name", "day", "stamp"),
    [
        ("tca-2025-12-10.txt", DAY, None),
        ("page_20251210.html", DAY, None),
        ("web_20251210083000.html", DAY, dt.datetime(2025, 12, 10, 8, 30)),
        ("dir/2025-11-01/page.txt", None, None),  # only the file name counts
        ("page-20251340.txt", None, None),  # not a real date
        ("page.txt", None, None),
    ],
)
def test_date_from_file_name(name, day, stamp):
    assert date_from_name(name) == (day, stamp)


def test_capture_date_order_and_disagreement():
    other = dt.date(2025, 12, 1)
    ev = DateEvidence(header=DAY, filename=other, user=DAY)
    chosen = choose_capture_date(ev)
    assert (chosen.captured_on, chosen.date_source) == (DAY, "header")
    assert chosen.disagreement == "header says 2025-12-10 but filename says 2025-12-01"
    fetched = dt.datetime(2025, 12, 9, 23, 0)
    assert choose_capture_date(
        DateEvidence(captured_at=fetched, captured_at_source="fetched", filename=other, user=DAY)
    ).date_source == "fetched"
    assert choose_capture_date(DateEvidence(filename=other, user=DAY)).captured_on == other
    assert choose_capture_date(DateEvidence(user=DAY)).date_source == "user"
    assert choose_capture_date(DateEvidence()).captured_on is None


def test_undated_snapshots_are_kept_out_of_the_series(db_path):
    summary = ingest([RawInput("x.txt", data=page(day=None))], db_path=db_path)
    assert summary.undated and summary.outcomes[0].date_source == "none"
    with Store.open(db_path, read_only=True) as store:
        assert store.series().num_rows == 0
        assert store.all_quotes().num_rows == 5
    ingest([RawInput("y.txt", data=page(day=None, kgs="0.01150"))], db_path=db_path,
           captured_on=DAY)
    with Store.open(db_path, read_only=True) as store:
        series = store.series(["KGS"]).to_pylist()
    assert [(r["captured_on"], r["rate_text"]) for r in series] == [(DAY, "0.01150")]


def test_series_takes_the_majority_rate_and_counts(db_path):
    inputs = [
        RawInput("a.txt", data=page(kgs="0.01144")),
        RawInput("b.txt", data=page(kgs="0.01144", kgs_change="0.00")),
        RawInput("c.txt", data=page(kgs="0.01145", kgs_change="0.09")),
    ]
    ingest(inputs, db_path=db_path)
    with Store.open(db_path, read_only=True) as store:
        kgs = store.series(["KGS"]).to_pylist()
    assert len(kgs) == 1
    assert (kgs[0]["rate_text"], kgs[0]["snapshots"], kgs[0]["distinct_rates"]) == (
        "0.01144", 3, 2
    )


def test_series_tie_goes_to_the_latest_capture(db_path):
    early = RawInput("a.txt", data=page(kgs="0.01144"), captured_at=dt.datetime(2025, 12, 10, 6),
                     captured_at_source="fetched")
    late = RawInput("b.txt", data=page(kgs="0.01146"), captured_at=dt.datetime(2025, 12, 10, 9),
                    captured_at_source="fetched")
    ingest([late, early], db_path=db_path)
    with Store.open(db_path, read_only=True) as store:
        kgs = store.series(["KGS"]).to_pylist()
    assert kgs[0]["rate_text"] == "0.01146"


def test_a_failed_batch_writes_nothing(db_path, monkeypatch):
    ingest([RawInput("a.txt", data=page())], db_path=db_path)
    original = Store.insert_rows

    def explode_after_snapshots(self, snaps, quotes):
        self.con.register("_snap", snaps)
        cols = ", ".join(SNAPSHOT_COLUMNS)
        self.con.execute(f"INSERT INTO snapshots ({cols}) SELECT {cols} FROM _snap")
        assert self.con.execute("SELECT count(*) FROM snapshots").fetchall() == [(2,)]
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Store, "insert_rows", explode_after_snapshots)
    with pytest.raises(RuntimeError):
        ingest([RawInput("b.txt", data=page(kgs="0.01150"))], db_path=db_path)
    monkeypatch.setattr(Store, "insert_rows", original)
    with Store.open(db_path, read_only=True) as store:
        counts = store.counts()
    assert (counts["snapshots"], counts["quotes"], counts["raw"]) == (1, 5, 1)
    again = ingest([RawInput("b.txt", data=page(kgs="0.01150"))], db_path=db_path)
    assert again.ingested == 1


def test_reparse_rebuilds_from_raw_and_keeps_other_evidence(db_path):
    ingest([RawInput("tca_2025-12-01.txt", data=page(day=None))], db_path=db_path)
    ingest([RawInput("old.txt", data=b"no ticker here\n")], db_path=db_path)
    with Store.open(db_path) as store:
        store.con.execute("DELETE FROM quotes")  # simulate an older, poorer parser's output
    counts = reparse(db_path=db_path)
    assert counts == {"ingested": 1, "rejected": 1, "missing_raw": 0, "changed": 0, "kept": 0}
    with Store.open(db_path, read_only=True) as store:
        snaps = read.snapshots_frame(store, "ingested")
        assert store.counts()["quotes"] == 5
    assert (snaps["date_source"].iloc[0], str(snaps["captured_on"].iloc[0].date())) == (
        "filename", "2025-12-01"
    )


def test_reading_a_missing_database_says_how_to_create_it(tmp_path):
    with pytest.raises(DatabaseMissingError, match="tracker ingest"), \
            Store.open(tmp_path / "nope.duckdb", read_only=True):
        pass


@pytest.mark.parametrize(("count", "batch_size"), [
    (7, 1), (10, 3), (12, 4), (5, 1000), (0, 5), (701, 200), (899, 200),
])
def test_each_transaction_holds_at_most_a_batch_and_every_input_once_in_order(
    db_path, monkeypatch, count, batch_size
):
    committed = []
    original = Store.add_snapshots

    def record(self, snapshots, *rest):
        committed.append(snapshots.column("source").to_pylist())
        return original(self, snapshots, *rest)

    monkeypatch.setattr(Store, "add_snapshots", record)
    inputs = [RawInput(f"p{i:02d}.txt", data=page(kgs=f"0.011{10 + i:02d}")) for i in range(count)]
    summary = ingest(inputs, db_path=db_path, batch_size=batch_size)
    assert [source for batch in committed for source in batch] == [i.source for i in inputs]
    sizes = [len(batch) for batch in committed]
    assert all(0 < n <= batch_size for n in sizes)
    middle = sizes[2:-2] if count >= 3.5 * batch_size >= 700 else sizes
    assert max(middle, default=0) - min(middle, default=0) <= 1  # no tiny remainder batch
    if count >= 3.5 * batch_size >= 700:  # a long run starts and ends with smaller batches
        assert sizes[:2] == [batch_size // 4, batch_size // 2] == sizes[-1:-3:-1]
    assert summary.ingested == count


def test_an_ingest_leaves_the_host_process_settings_alone(db_path):
    """A notebook or the dashboard's upload thread that ingests keeps its interpreter and its
    DuckDB settings: the garbage collector's thresholds, the GIL switch interval, DuckDB's
    threads (a run of over a thousand inputs, where the library once tuned them)."""
    inputs = [RawInput(f"p{i}.txt", data=page(kgs=f"0.0{11000 + i}")) for i in range(1200)]
    with Store.open(db_path) as store:
        store.con.execute("SET threads = 3")  # the user's own setting
        before = gc.get_threshold(), sys.getswitchinterval()
        summary = ingest(inputs, store=store, batch_size=400)
        assert (gc.get_threshold(), sys.getswitchinterval()) == before
        assert store.con.execute("SELECT current_setting('threads')").fetchone()[0] == 3
    assert summary.ingested == 1200


def test_small_batches_stored_by_the_store_thread_give_the_same_outcomes(tmp_path):
    inputs = [RawInput(f"p{i:02d}.txt", data=page(kgs=f"0.011{40 + i % 9:02d}")) for i in range(30)]
    inputs.append(RawInput("bad.txt", data=b"no ticker\n"))
    one = ingest(inputs, db_path=tmp_path / "one.duckdb")
    many = ingest(inputs, db_path=tmp_path / "many.duckdb", batch_size=4)
    assert [(o.source, o.status, o.snapshot_id) for o in many.outcomes] == [
        (o.source, o.status, o.snapshot_id) for o in one.outcomes
    ]
    assert (many.ingested, many.present, many.rejected) == (9, 21, 1)


def test_a_failed_batch_keeps_the_ones_before_and_stops_the_ones_after(db_path, monkeypatch):
    calls = []
    original = Store.add_snapshots

    def fail_second(self, *args):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return original(self, *args)

    monkeypatch.setattr(Store, "add_snapshots", fail_second)
    inputs = [RawInput(f"p{i}.txt", data=page(kgs=f"0.011{40 + i:02d}")) for i in range(12)]
    with pytest.raises(RuntimeError, match="disk on fire"):
        ingest(inputs, db_path=db_path, batch_size=3)
    with Store.open(db_path, read_only=True) as store:
        assert store.counts()["snapshots"] == 3  # the first batch only, never the third
    assert len(calls) == 2


def test_reingest_parses_only_what_the_store_does_not_have(tmp_path, monkeypatch):
    folder = tmp_path / "pages"
    for i in range(5):
        write(folder, f"p{i}.txt", page(day=dt.date(2025, 1, 1 + i)))
    write(folder, "bad.txt", b"no ticker\n")
    db = tmp_path / "t.duckdb"
    first = ingest_paths([folder], db_path=db)
    parsed = []
    real = prepare_mod.parse_content
    monkeypatch.setattr(prepare_mod, "parse_content", lambda data, source, *charset: (
        parsed.append(source), real(data, source, *charset))[1])

    again = ingest_paths([folder], db_path=db)
    assert parsed == []
    assert [(o.source, o.status, o.snapshot_id) for o in again.outcomes] == [
        (o.source, "present" if o.status == "ingested" else "rejected", o.snapshot_id)
        for o in first.outcomes
    ]
    assert [o.reason for o in again.outcomes if o.status == "rejected"] == [
        f"{first.outcomes[0].reason} (as before)"
    ]

    write(folder, "p9.txt", page(day=dt.date(2025, 1, 9)))
    third = ingest_paths([folder], db_path=db)
    assert parsed == [str(folder / "p9.txt")]
    assert (third.ingested, third.present, third.rejected) == (1, 5, 1)
