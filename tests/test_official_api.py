"""Official rates through the read layer and the notebook API (`t.official`,
`t.compare_official`, the dashboard's series), and `tracker schedule --official`."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

import tracker
from tests.fakebanks import FakeBanks
from tests.officialdb import KZT, TODAY, WEEK, printed, seed
from tracker import read as R
from tracker.official import OfficialConfig
from tracker.read import to_frame
from tracker.store import Store


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("official")
    seed(root / "tracker.duckdb", root / "pages")
    return root / "tracker.duckdb"


def test_official_is_one_exact_row_per_publication(db):
    t = tracker.open(db)
    kzt = t.official("KZT")
    assert kzt["per_usd"].dtype == pd.ArrowDtype(pa.decimal128(18, 10))
    assert list(kzt["per_usd"]) == list(KZT.values())
    assert list(kzt["rate_date"].dt.date) == list(KZT)
    assert set(kzt["source"]) == {"NBK"} and set(kzt["parser_version"]) == {"official-1"}
    assert kzt["url"].str.contains("/rss/get_rates.cfm?fdate=", regex=False).all()
    assert list(t.official().groupby("currency").size().items()) == [("KZT", 5), ("TMT", 7)]
    some = t.official(["TMT"], start=WEEK[2], end=WEEK[3])
    assert list(some["per_usd"]) == [Decimal("3.5")] * 2
    assert t.official("UZS").empty


def test_compare_official_says_how_far_and_how_late(db):
    rows = tracker.open(db).compare_official("KZT").set_index("captured_on")
    assert len(rows) == 7  # the weekend compares with Friday's publication
    tuesday, saturday = (rows.loc[pd.Timestamp(d)] for d in (WEEK[1], WEEK[5]))
    assert tuesday["rate_text"] == printed(WEEK[1]) == "0.00200"
    assert tuesday["official_per_usd"] == Decimal("505")
    assert tuesday["official_date"] == pd.Timestamp(WEEK[1])
    assert (tuesday["ticker_per_usd_low"], tuesday["ticker_per_usd_high"]) == (
        pytest.approx(498.753), pytest.approx(501.253))
    assert tuesday["distance_pct"] > 0.7 and tuesday["lag_days"] == 1
    assert tuesday["lag_distance_pct"] == 0 and not tuesday["mismatch"]
    assert saturday["official_date"] == pd.Timestamp(WEEK[4]) and saturday["lag_days"] == 0
    assert rows.loc[pd.Timestamp(WEEK[0]), "lag_days"] == 0
    assert (rows["distance_pct"] >= 0).all() and not rows["mismatch"].any()
    strict = tracker.open(db).compare_official("KZT", config=OfficialConfig(lag_days={"KZT": 0}))
    assert strict["mismatch"].sum() == 4  # Tuesday to Friday print the day before's rate


def test_the_findings_say_the_ticker_lags_one_day(db):
    found = tracker.open(db).findings(kinds="ticker_lag")
    months = {d.month for d in WEEK[1:5]}  # Tuesday to Friday print the day before's rate
    assert len(found) == len(months) and set(found["currency"]) == {"KZT"}
    assert "matched the official rate of 1 day earlier better" in found["message"].iloc[0]
    assert tracker.open(db).findings(kinds="official_mismatch").empty


def test_the_dashboard_reads_the_official_series_in_units_per_usd(db):
    with Store.open(db, read_only=True) as store:
        frame = R.official_series_frame(store, ["KZT"])
        both = R.official_series_frame(store)
    assert list(frame.columns) == ["rate_date", "label", "currency", "per_usd", "source"]
    assert frame["per_usd"].dtype == "float64" and list(frame["per_usd"]) == [
        500.0, 505.0, 510.0, 515.0, 520.0]
    assert set(both["label"]) == {"KZT", "TMT"}
    assert both["rate_date"].is_monotonic_increasing


def test_schedule_official_fetches_through_the_same_function(tmp_path):
    db = tmp_path / "tracker.duckdb"
    with FakeBanks({"KZT": KZT}, today=TODAY) as banks:
        urls = [a for n, b in banks.bases.items() for a in ("--bank-url", f"{n}={b}")]
        proc = subprocess.Popen(
            [sys.executable, "-m", "tracker", "schedule", "--db", str(db), "--official", *urls],
            stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                time.sleep(0.5)
                if db.exists() and _finished(db):
                    break
        finally:
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "fetching official rates daily" in stderr and "official run 1: " in stderr
    with Store.open(db, read_only=True) as store:
        runs = to_frame(store.runs(job="official"))
        rates = store.official_rates(["KZT"]).to_pylist()
    assert len(runs) == 1 and runs["finished"].notna().all()
    window = {TODAY - dt.timedelta(days=i) for i in range(7)}
    assert {(r["rate_date"], r["per_usd"]) for r in rates} == {
        (d, v) for d, v in KZT.items() if d in window}


def _finished(db: Path) -> bool:
    try:
        with Store.open(db, read_only=True, timeout=0.5) as store:
            runs = to_frame(store.runs(job="official"))
    except tracker.errors.TrackerError:
        return False
    return bool(len(runs)) and runs["finished"].notna().all()


def test_schedule_bank_url_needs_official(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tracker", "schedule", "--db",
                           str(tmp_path / "t.duckdb"), "--watch", str(tmp_path), "--bank-url",
                           "nbk=http://127.0.0.1:9"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "add --official" in done.stderr
