"""The notebook API (`tracker.open` → `Tracker`) on the bundled samples and small synthetic sets."""

from __future__ import annotations

import datetime as dt
import doctest
import importlib
import inspect
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import tracker
import tracker.api
import tracker.models
import tracker.notebook
import tracker.views
from tracker.errors import DatabaseMissingError, QueryError, StoreError, UsageError
from tracker.store import Store
from tracker.synthetic import TickerEntry, render_text

from .conftest import SAMPLES

RATE = pd.ArrowDtype(pa.decimal128(18, 10))
FIVE = ["KGS", "KZT", "TJS", "UZS", "TMT"]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled samples, ingested once for this module; tests only read it."""
    return tracker.sample_db(tmp_path_factory.mktemp("samples") / "tracker.duckdb")


@pytest.fixture(scope="module")
def t(db: Path) -> tracker.Tracker:
    return tracker.open(db)


def write_pages(folder: Path, pages: dict[str, tuple[dt.date, list[TickerEntry]]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (day, entries) in pages.items():
        (folder / name).write_text(render_text(entries, day=day), encoding="utf-8")
    return folder


# -- the public surface ---------------------------------------------------------------------------


def test_public_surface_is_pinned():
    assert tracker.__all__ == [
        "VIEWS", "DatabaseBusyError", "DatabaseMissingError", "ParseError", "ParsedPage",
        "QueryError", "Quote", "StoreError", "Tracker", "TrackerError", "UsageError",
        "__version__", "for_notebook", "open", "parse", "sample_db",
    ]
    for name in tracker.__all__:
        assert getattr(tracker, name) is not None
    assert tracker.open is tracker.api.open and tracker.Tracker is tracker.api.Tracker
    assert tuple(tracker.VIEWS) == ("rate", "per_usd", "index", "change")
    public = {n for n, _ in inspect.getmembers(tracker.Tracker) if not n.startswith("_")}
    assert public == {"compare", "compare_official", "counts", "currencies", "findings", "ingest",
                      "input_errors", "official", "printed", "quotes", "raw", "runs", "series",
                      "series_rows", "snapshots", "sql"}


def test_import_is_light_and_loads_no_data():
    code = ("import sys, tracker; heavy = sorted({m.split('.')[0] for m in sys.modules} & "
            "{'pandas', 'duckdb', 'pyarrow', 'numpy', 'plotly'}); print(heavy); "
            "tracker.open; print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=120).stdout.split("\n")
    assert out[:2] == ["[]", "True"]  # nothing heavy until the API is used, then it loads


def test_every_public_callable_has_a_docstring_with_an_example():
    callables = [tracker.open, tracker.for_notebook, tracker.sample_db, tracker.parse,
                 tracker.views.view_frame, tracker.views.check_view, tracker.models.label_of,
                 tracker.models.label_order]
    callables += [getattr(tracker.Tracker, n) for n, _ in inspect.getmembers(tracker.Tracker)
                  if not n.startswith("_")]
    missing = [c.__qualname__ for c in callables if ">>>" not in (c.__doc__ or "")]
    assert missing == []
    assert all((getattr(tracker, n).__doc__ or "").strip() for n in tracker.__all__
               if n not in ("__version__", "VIEWS"))


def test_docstring_examples_run_against_the_samples(db, tmp_path):
    """The examples are doctests: they run, and print what the docstrings say."""
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    ran = 0
    parse_module = importlib.import_module("tracker.parse")  # `tracker.parse` is the function
    for module in (tracker.api, tracker.notebook, tracker.views, tracker.models, parse_module):
        runner = doctest.DocTestRunner(optionflags=flags)
        for test in doctest.DocTestFinder().find(
            module, extraglobs={"tracker": tracker, "db": db, "tmp": tmp_path}
        ):
            runner.run(test, out=lambda text: sys.stdout.write(text))
        assert runner.failures == 0, f"{runner.failures} failing example(s) in {module.__name__}"
        ran += runner.tries
    assert ran >= 40


# -- series ---------------------------------------------------------------------------------------


def test_rate_view_is_exact_decimals_as_printed(t):
    rates = t.series()
    assert list(rates.columns) == FIVE and rates.columns.name == "currency"
    assert isinstance(rates.index, pd.DatetimeIndex) and rates.index.name == "captured_on"
    assert rates.index.is_monotonic_increasing and len(rates) == 15
    assert all(dtype == RATE for dtype in rates.dtypes)
    kgs = rates.loc["2025-12-10", "KGS"]
    assert isinstance(kgs, Decimal) and kgs == Decimal("0.01144")
    assert rates.loc["2025-12-12", "UZS"] == Decimal("0.00007")
    assert rates.loc["2025-11-17", "KZT"] == Decimal("0.00190")
    assert rates.loc["2025-11-20", "TMT"] == Decimal("0.28490")
    # the day two snapshots disagreed holds the `series` view's choice, with its evidence
    assert rates.loc["2025-11-21", "TJS"] == Decimal("0.10811")
    row = t.series_rows("TJS", start="2025-11-21", end="2025-11-21").iloc[0]
    assert (row["rate_text"], row["snapshots"], row["distinct_rates"]) == ("0.10811", 2, 2)


def test_rate_arithmetic_stays_exact(t):
    kgs = t.series("KGS")["KGS"]
    moves = kgs.diff().dropna()
    assert moves.dtype.pyarrow_dtype.scale == 10  # still a decimal, not a float
    assert moves.loc["2025-11-19"] == Decimal("0.00001")
    assert kgs.sum() == sum(Decimal(x) for x in t.series_rows("KGS")["rate_text"])
    assert (kgs * 1000).loc["2025-12-10"] == Decimal("11.44")


def test_a_day_without_a_capture_is_missing_not_zero(t):
    rates = t.series()
    assert pd.isna(rates.loc["2025-11-24", "TMT"])  # the old four-currency layout
    assert rates.loc["2025-11-24", "KGS"] == Decimal("0.01145")
    tmt = t.series("TMT")  # alone, it has only its own capture dates
    assert len(tmt) == len(rates) - 1 and pd.Timestamp("2025-11-24") not in tmt.index


def test_per_usd_is_one_over_the_printed_rate(t):
    rates, per_usd = t.series(), t.series(view="per_usd")
    assert per_usd.index.equals(rates.index) and list(per_usd.columns) == FIVE
    assert all(dtype == "float64" for dtype in per_usd.dtypes)
    for cur in FIVE:
        for day, rate in rates[cur].dropna().items():
            # the float nearest to the exact 1/rate (not 1/float(rate), one rounding more)
            assert per_usd.loc[day, cur] == float(1 / rate)
    assert per_usd.loc["2025-12-10", "UZS"] == 12500.0
    assert pd.isna(per_usd.loc["2025-11-24", "TMT"])


def test_index_is_100_at_each_currencys_first_capture_in_range(t):
    index = t.series(view="index")
    assert (index.iloc[0] == 100).all()
    rates = t.series()
    for cur in FIVE:
        first = rates[cur].dropna().iloc[0]
        expected = rates[cur].astype(float) / float(first) * 100
        pd.testing.assert_series_equal(index[cur], expected, check_exact=False, rtol=1e-12)
    later = t.series(view="index", start="2025-12-01")
    assert later.index[0] == pd.Timestamp("2025-12-03") and (later.iloc[0] == 100).all()
    assert later.loc["2025-12-12", "TJS"] == pytest.approx(0.10790 / 0.10830 * 100, rel=1e-12)


def test_change_is_between_consecutive_captures_even_across_start(t):
    change = t.series(view="change")
    assert change.iloc[0].isna().all()  # nothing before the first capture
    assert change.loc["2025-11-18", "TJS"] == pytest.approx((0.10752 / 0.10730 - 1) * 100)
    assert change.loc["2025-11-20", "TMT"] == pytest.approx((0.28490 / 0.28571 - 1) * 100)
    # TMT has no capture on 24 Nov: the 25 Nov change is against 21 Nov's
    assert pd.isna(change.loc["2025-11-24", "TMT"])
    assert change.loc["2025-11-25", "TMT"] == 0
    # from a start date on, the first row is still the change from the capture before it
    later = t.series("TJS", start="2025-12-08", view="change")
    assert later.index[0] == pd.Timestamp("2025-12-08")
    assert later.loc["2025-12-08", "TJS"] == pytest.approx((0.10822 / 0.10830 - 1) * 100)


def test_series_filters_by_currency_and_date(t):
    some = t.series(["uzs", " KGS ", "KGS/USD"], start=dt.date(2025, 12, 1),
                    end=pd.Timestamp("2025-12-10"))
    assert list(some.columns) == ["UZS", "KGS"]  # in the order asked, each once
    assert [d.strftime("%Y-%m-%d") for d in some.index] == [
        "2025-12-03", "2025-12-08", "2025-12-09", "2025-12-10"]
    assert t.series("TJS", end="2025-11-17")["TJS"].tolist() == [Decimal("0.10730")]
    none = t.series("KGS", start="2030-01-01")
    assert list(none.columns) == ["KGS"] and none.empty and none["KGS"].dtype == RATE


def test_series_of_a_pair_against_another_currency_is_labelled_with_the_pair(tmp_path):
    pages = write_pages(tmp_path / "pages", {
        f"p{i}.txt": (dt.date(2025, 12, 1 + i), [
            TickerEntry("KGS", rate, "0"), TickerEntry("KGS", eur, "0", quote_currency="EUR")])
        for i, (rate, eur) in enumerate([("0.01144", "0.00980"), ("0.01145", "0.00985")])
    })
    t = tracker.open(tmp_path / "db" / "tracker.duckdb", read_only=False)
    assert t.ingest(pages).ingested == 2
    assert t.currencies() == ["KGS", "KGS/EUR"]
    both = t.series()
    assert list(both.columns) == ["KGS", "KGS/EUR"]
    assert both.loc["2025-12-02", "KGS/EUR"] == Decimal("0.00985")
    assert list(t.series("kgs/eur").columns) == ["KGS/EUR"]
    assert t.series("KGS")["KGS"].tolist() == [Decimal("0.01144"), Decimal("0.01145")]
    assert set(t.quotes("KGS/EUR")["quote_currency"]) == {"EUR"}


@pytest.mark.parametrize(("call", "message"), [
    (lambda t: t.series(view="sideways"), "unknown view 'sideways'; use one of: 'rate'"),
    (lambda t: t.series("KG"), "'KG' is not a currency; write its three-letter code"),
    (lambda t: t.series(["KGS", "KGS-EUR"]), "'KGS-EUR' is not a currency"),
    (lambda t: t.series([42]), "42 is not a currency"),
    (lambda t: t.series([]), "no currencies given; name some"),
    (lambda t: t.series("KZS"), "no series for KZS in .*; it has KGS, KZT, TJS, UZS, TMT"),
    (lambda t: t.series(start="2025-12-10", end="2025-12-01"),
     "the range is empty: start 2025-12-10 is after end 2025-12-01; swap them"),
    (lambda t: t.series(start="10/12/2025"), "start: '10/12/2025' is not a date; write it as "
                                             "YYYY-MM-DD"),
    (lambda t: t.series(end=20251210), "end must be a date, e.g. '2025-12-10'"),
    (lambda t: t.series_rows("EUR"), "no series for EUR"),
    (lambda t: t.quotes(start="2025-12-02", end="2025-12-01"), "swap them"),
    (lambda t: t.findings(severity="fatal"), "unknown severity 'fatal'; use one of error"),
    (lambda t: t.findings(kinds="jumps"), "unknown kind.*jumps; known: copies_disagree"),
    (lambda t: t.findings(start="2025-12-31", end="2025-01-01"), "swap them"),
    (lambda t: t.snapshots("accepted"), "unknown status 'accepted'; use 'ingested' or"),
    (lambda t: t.runs(limit=-1), "limit must be a whole number"),
    (lambda t: t.compare([]), "no snapshot ids given"),
    (lambda t: t.compare(["0" * 64]), "no snapshot 000000000000 in"),
    (lambda t: t.sql("  "), "sql\\(\\) needs the query text"),
    (lambda t: t.sql("SELECT ?", "KGS"), "params must be a list"),
    (lambda t: t.ingest("data/samples"), "was opened read-only; to ingest, open it with "
                                         "tracker.open\\(path, read_only=False\\)"),
])
def test_bad_arguments_raise_usage_errors_that_say_how_to_fix(t, call, message):
    with pytest.raises(UsageError, match=message):
        call(t)


# -- opening --------------------------------------------------------------------------------------


def test_opening_a_missing_file_says_how_to_create_it_and_creates_nothing(tmp_path):
    missing = tmp_path / "nowhere" / "tracker.duckdb"
    with pytest.raises(DatabaseMissingError) as caught:
        tracker.open(missing)
    text = str(caught.value)
    assert str(missing) in text and f"tracker ingest --db {missing}" in text
    assert "tracker.sample_db()" in text
    assert not missing.parent.exists()


def test_opening_honours_tracker_db_and_refuses_what_is_not_a_database(db, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setenv("TRACKER_DB", str(db))
    assert tracker.open().path == db
    junk = tmp_path / "junk.duckdb"
    junk.write_text("not a database\n")
    with pytest.raises(StoreError, match="cannot open database"):
        tracker.open(junk)


def test_a_writable_handle_creates_the_database_and_ingests(tmp_path):
    path = tmp_path / "new" / "tracker.duckdb"
    t = tracker.open(path, read_only=False)
    assert path.exists() and repr(t) == f"Tracker({str(path)!r}, read_only=False)"
    empty = t.series()
    assert empty.empty and isinstance(empty.index, pd.DatetimeIndex) and list(empty.columns) == []
    assert list(t.series("KGS").columns) == ["KGS"]  # a ticker currency is never a typo
    assert t.findings().empty and t.quotes().empty and t.currencies() == []
    summary = t.ingest(SAMPLES / "2025-12-10_tca-china-trade.txt",
                       SAMPLES / "undated-opinion.txt", captured_on="2025-12-11")
    assert (summary.ingested, summary.rejected) == (2, 0)
    assert [d.isoformat()[:10] for d in t.series().index] == ["2025-12-10", "2025-12-11"]


def test_an_open_handle_never_blocks_a_writing_process(tmp_path):
    """A notebook left open must not stop the scheduler: no connection is held between calls."""
    pages = write_pages(tmp_path / "pages", {
        "a.txt": (dt.date(2025, 12, 1), [TickerEntry("KGS", "0.01144", "0")]),
        "b.txt": (dt.date(2025, 12, 2), [TickerEntry("KGS", "0.01145", "0.09")]),
    })
    path = tmp_path / "db" / "tracker.duckdb"
    tracker.open(path, read_only=False).ingest(pages / "a.txt")
    reader = tracker.open(path)
    assert len(reader.series()) == 1
    writer = (
        "import sys\n"
        "from tracker.ingest import discover, ingest\n"
        "from tracker.store import Store\n"
        "with Store.open(sys.argv[1], timeout=3) as store:\n"
        "    sys.exit(0 if ingest(discover([sys.argv[2]]).inputs, store=store).ingested == 1 "
        "else 1)\n"
    )
    subprocess.run([sys.executable, "-c", writer, str(path), str(pages / "b.txt")], check=True,
                   timeout=120)
    assert reader.series()["KGS"].tolist() == [Decimal("0.01144"), Decimal("0.01145")]


# -- what is behind the series --------------------------------------------------------------------


def test_quotes_keep_undated_snapshots_and_the_printed_texts(t):
    quotes = t.quotes()
    assert len(quotes) == t.counts()["quotes"] == 129
    assert quotes["rate"].dtype == RATE
    assert quotes["change_pct"].dtype == pd.ArrowDtype(pa.decimal128(18, 6))
    undated = quotes[quotes["captured_on"].isna()]
    assert set(undated["source"].map(lambda s: Path(s).name)) == {"undated-opinion.txt"}
    minus_zero = quotes[quotes["change_text"] == "-0"].iloc[0]
    assert minus_zero["change_pct"] == 0  # the number is zero; the text keeps the sign
    for _, q in quotes.iterrows():
        assert q["rate"] == Decimal(q["rate_text"])
    dated = t.quotes(start="2025-11-21", end="2025-11-21", currencies="TJS")
    assert sorted(dated["rate_text"]) == ["0.10811", "0.10895"]


def test_quotes_of_given_snapshots(t):
    ids = t.findings(kinds="same_day_conflict")["snapshot_ids"].iloc[0]
    quotes = t.quotes(snapshot_ids=ids)
    assert set(quotes["snapshot_id"]) == set(ids) and len(quotes) == 10
    assert t.quotes("TMT", snapshot_ids=ids[0])["rate_text"].tolist() == ["0.28490"]


def test_snapshots_and_input_errors(t):
    snaps = t.snapshots()
    assert len(snaps) == 28 and snaps["snapshot_id"].is_unique
    rejected = t.snapshots("rejected")
    assert sorted(Path(s).name for s in rejected["source"]) == [
        "date-only-page.txt", "old-article-spam.txt"]
    assert rejected["reason"].str.contains("no ticker").all()
    assert snaps["captured_on"].dtype == "datetime64[ns]"
    assert snaps["copies_agree"].dtype == "boolean"
    flagged = snaps[snaps["copies_agree"] == False]  # noqa: E712 - a nullable boolean column
    assert len(flagged) == 1 and any("copies disagree" in w for w in flagged["warnings"].iloc[0])
    assert len(t.snapshots("ingested", undated=True)) == 1
    assert t.input_errors().empty


def test_compare_puts_the_snapshots_behind_a_finding_side_by_side(t):
    finding = t.findings(kinds="same_day_conflict", currencies="TJS").iloc[0]
    side = t.compare(finding.snapshot_ids)
    assert list(side.columns) == ["tca-region-21nov.txt", "tca-world-2025-11-21.txt", "differs"]
    assert side.loc["TJS"].iloc[:2].tolist() == ["0.10895 0.78%", "0.10811 0%"]
    assert bool(side.loc["TJS", "differs"]) and not side.loc["KGS", "differs"]
    assert side.loc["captured_on"].iloc[:2].tolist() == [dt.date(2025, 11, 21)] * 2
    assert list(side.index[-5:]) == FIVE
    # the same snapshot twice is shown once; the old layout has no TMT row to print
    old = t.snapshots().query("source.str.endswith('old-layout-20251124.txt')")["snapshot_id"]
    single = t.compare([old.iloc[0], old.iloc[0]])
    assert list(single.columns) == ["old-layout-20251124.txt", "differs"]
    assert "TMT" not in single.index and single.loc["date_source"].iloc[0] == "filename"


def test_raw_gives_back_the_original_bytes(t):
    snaps = t.snapshots()
    for name in ("2025-12-10_tca-china-trade.txt", "old-article-spam.txt"):
        sid = snaps.loc[snaps["source"].str.endswith(name), "snapshot_id"].iloc[0]
        assert t.raw(sid) == (SAMPLES / name).read_bytes()


@pytest.mark.parametrize("kind", ["fifo", "folder", "empty"])
def test_open_refuses_what_is_not_a_database_file_without_blocking(tmp_path, monkeypatch, kind):
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "tracker.duckdb"
    if kind == "fifo":
        os.mkfifo(target)  # DuckDB would wait forever for a writer to open it
    elif kind == "folder":
        target.mkdir()
    else:
        target = ""  # the current folder
    with pytest.raises(tracker.StoreError, match="is not a database file"):
        tracker.open(target)
    with pytest.raises(tracker.UsageError, match="needs a file path, not int"):
        tracker.open(5)


@pytest.mark.parametrize("sid", ["0" * 64, "nope", "../../etc/passwd"])
def test_raw_of_an_unknown_id_says_there_is_no_such_snapshot(t, sid):
    with pytest.raises(tracker.UsageError, match=r"no snapshot .* take ids from t\.snapshots"):
        t.raw(sid)


@pytest.mark.parametrize("call", [
    lambda t: t.raw(5), lambda t: t.raw(""), lambda t: t.raw(["a", "b"]),
    lambda t: t.quotes(snapshot_ids=5), lambda t: t.compare(5),
], ids=["raw-int", "raw-empty", "raw-list", "quotes-int", "compare-int"])
def test_snapshot_ids_of_the_wrong_type_are_a_usage_error(t, call):
    with pytest.raises(tracker.UsageError, match=r"snapshot id.*t\.snapshots\(\)\['snapshot_id'\]"):
        call(t)


# -- findings and runs ----------------------------------------------------------------------------


def test_findings_are_the_samples_findings_and_filter_like_the_cli(t):
    findings = t.findings(today="2026-01-01")
    assert sorted(zip(findings["kind"], findings["currency"].fillna("-"),
                      findings["captured_on"].dt.strftime("%Y-%m-%d").fillna("-"),
                      strict=True)) == [
        ("change_mismatch", "TMT", "2025-11-20"), ("change_mismatch", "TMT", "2025-12-10"),
        ("coarse_resolution", "UZS", "2025-12-22"), ("copies_disagree", "KGS", "2025-12-15"),
        ("date_disagreement", "-", "2025-12-03"), ("missing_currency", "TMT", "2025-11-24"),
        ("same_day_conflict", "TJS", "2025-11-21"), ("stale_ticker", "-", "2025-11-28"),
        ("undated", "-", "-"),
    ]
    assert findings["captured_on"].dtype == "datetime64[ns]"
    assert all(isinstance(ids, tuple) and ids for ids in findings["snapshot_ids"])
    errors = t.findings(severity="error")
    assert set(errors["severity"]) == {"error"} and len(errors) == 4
    assert t.findings(severity="warning")["severity"].isin(["error", "warning"]).all()
    tmt = t.findings(kinds=["change_mismatch"], currencies=["tmt"], start="2025-12-01")
    assert tmt["captured_on"].tolist() == [pd.Timestamp("2025-12-10")]
    assert t.findings(end="2025-11-20")["kind"].tolist() == ["change_mismatch"]


def test_findings_take_a_config_file_or_object(t, tmp_path):
    config = tmp_path / "checks.toml"
    config.write_text("[checks]\nmin_significant_digits = 1\n")
    assert "coarse_resolution" in set(t.findings()["kind"])
    assert "coarse_resolution" not in set(t.findings(config=config)["kind"])
    relaxed = tracker.api.checks.CheckConfig(stale_min_gap_days=5)
    assert "stale_ticker" not in set(t.findings(config=relaxed)["kind"])
    with pytest.raises(UsageError, match="does not exist"):
        t.findings(config=tmp_path / "missing.toml")


def test_runs_lists_scheduled_runs_newest_first(tmp_path):
    path = tmp_path / "tracker.duckdb"
    t = tracker.open(path, read_only=False)
    assert t.runs().empty
    start = dt.datetime(2025, 12, 10, 8, 0)
    with Store.open(path) as store:
        for i in range(3):
            store.record_run("watch", started=start + dt.timedelta(hours=i),
                             finished=start + dt.timedelta(hours=i, minutes=1), files_seen=i,
                             ingested=i, present=0, rejected=0, error=None)
        store.start_run("fetch", start + dt.timedelta(hours=5))
    runs = t.runs()
    assert runs["job"].tolist() == ["fetch", "watch", "watch", "watch"]
    assert pd.isna(runs["finished"].iloc[0]) and runs["files_seen"].dtype == "Int32"
    assert t.runs(job="watch", limit=2)["files_seen"].tolist() == [2, 1]
    assert len(t.runs(limit=10**30)) == 4  # more than there are: all of them, no SQL error


# -- sql ------------------------------------------------------------------------------------------


def test_sql_reads_the_schema_with_exact_decimals_and_params(t):
    one = t.sql("SELECT captured_on, rate, rate_text FROM series "
                "WHERE currency = ? AND captured_on = ?", ["KGS", dt.date(2025, 12, 10)])
    assert one["rate"].dtype == RATE and one["rate"].iloc[0] == Decimal("0.01144")
    assert one["captured_on"].iloc[0] == pd.Timestamp("2025-12-10")
    named = t.sql("SELECT count(*) AS n FROM quotes WHERE currency = $c", {"c": "UZS"})
    assert named["n"].iloc[0] == 26
    assert t.sql("SELECT 1 AS x WHERE false")["x"].empty


@pytest.mark.parametrize("statement", [
    "INSERT INTO input_errors VALUES ('x', 'y', now())",
    "CREATE TABLE notes (a INTEGER)",
    "DROP VIEW series",
    "UPDATE snapshots SET status = 'rejected'",
    "DELETE FROM quotes",
])
def test_sql_cannot_change_the_database(t, db, statement):
    before = t.counts()
    with pytest.raises(QueryError, match=r"read-only mode.*\n.*queries only read"):
        t.sql(statement)
    assert t.counts() == before and len(t.series()) == 15


def test_sql_errors_say_where_the_schema_is(t):
    with pytest.raises(QueryError, match=r"(?s)nope.*documented in README\.md, ## Schema"):
        t.sql("SELECT * FROM nope")
    with pytest.raises(QueryError, match=r"(?s)rate_txt.*documented in README\.md"):
        t.sql("SELECT rate_txt FROM quotes")
    with pytest.raises(QueryError, match=r"(?s)syntax error.*check the SQL"):
        t.sql("SELEC 1")


def test_the_store_runs_ad_hoc_queries_only_read_only(tmp_path):
    with Store.open(tmp_path / "tracker.duckdb") as store, pytest.raises(
        StoreError, match="only on a read-only connection"
    ):
        store.query("SELECT 1")


# -- one place for the view math ------------------------------------------------------------------


def test_the_dashboard_draws_the_same_views_as_the_api(t, db):
    from dashboards import data, figures

    series = data.load_series(data.Settings(db_path=db))
    assert list(figures.VIEWS) == list(tracker.VIEWS)  # one set of view names
    for view in figures.VIEWS:
        drawn = figures.view_frame(series, view).pivot(
            index="captured_on", columns="label", values="value")[FIVE]
        api = t.series(view=view).astype(float)
        pd.testing.assert_frame_equal(drawn, api, check_names=False, check_freq=False,
                                      check_index_type=False, check_column_type=False)


# -- which database a notebook reads ---------------------------------------------------------------


def test_for_notebook_reads_tracker_db_and_says_so(db, monkeypatch):
    said: list[str] = []
    monkeypatch.setenv("TRACKER_DB", str(db))
    t = tracker.for_notebook(echo=said.append)
    assert t.path == db and said == [f"reading {db} (from $TRACKER_DB)"]


@pytest.mark.parametrize("relative", [False, True])
def test_for_notebook_refuses_a_tracker_db_without_a_database(tmp_path, monkeypatch, relative):
    """A typo in $TRACKER_DB stops with the reason, never a quiet switch to the samples."""
    monkeypatch.chdir(tmp_path)
    value = "typo.duckdb" if relative else str(tmp_path / "typo.duckdb")
    monkeypatch.setenv("TRACKER_DB", value)
    said: list[str] = []
    with pytest.raises(tracker.DatabaseMissingError) as caught:
        tracker.for_notebook(echo=said.append)
    message = str(caught.value)
    assert message.startswith(f"$TRACKER_DB is {value!r}, but there is no database at "
                              f"{tmp_path / 'typo.duckdb'}")
    assert ("(relative to " in message) is relative
    assert "unset TRACKER_DB to explore the bundled samples" in message and said == []


def test_for_notebook_without_tracker_db_reads_the_samples_with_a_banner(monkeypatch):
    monkeypatch.delenv("TRACKER_DB", raising=False)
    said: list[str] = []
    t = tracker.for_notebook(echo=said.append)
    assert len(said) == 1 and said[0].startswith(
        "⚠ $TRACKER_DB is not set: reading the BUNDLED SAMPLES (data/samples)")
    assert str(t.path) in said[0] and "not your data" in said[0]
    assert t.counts()["ingested"] == 26


def test_printed_shows_the_rates_as_the_ticker_printed_them(t):
    printed = t.printed()
    assert list(printed.columns) == FIVE
    assert printed.loc["2025-12-22"].tolist() == ["0.01145", "0.00191", "0.10760", "0.00008",
                                                  "0.28571"]
    exact = t.series()
    assert (printed.index == exact.index).all()
    assert all(Decimal(p) == e for c in FIVE for p, e in zip(printed[c].dropna(),
                                                             exact[c].dropna(), strict=True))
