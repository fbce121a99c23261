"""official_mismatch and ticker_lag: the ticker against the banks, exact and rounding-aware."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.checks import Finding, finding_id
from tracker.errors import UsageError
from tracker.official import OfficialConfig, OfficialRate, load_official_config
from tracker.official.findings import matches, official_findings, per_usd_range

DAY = dt.date(2025, 12, 10)  # a Wednesday
D = Decimal


def series(*rows: tuple[str, dt.date, str]) -> pd.DataFrame:
    """The `series` view's shape: one row per capture date and pair."""
    return pd.DataFrame({
        "captured_on": [d for _c, d, _t in rows],
        "currency": [c for c, _d, _t in rows],
        "quote_currency": ["USD"] * len(rows),
        "rate_text": [t for _c, _d, t in rows],
        "change_text": ["0"] * len(rows),
        "snapshot_id": [f"s-{c}-{d.isoformat()}" for c, d, _t in rows],
    })


def official(currency: str, day: dt.date, per_usd: str, source: str = "NBK") -> OfficialRate:
    return OfficialRate(currency, day, D(per_usd), source, f"https://bank.test/{day}")


def kinds(findings: list[Finding]) -> list[str]:
    return [f.kind for f in findings]


def printed(per_usd: Decimal, places: int = 5) -> str:
    """What the ticker prints for a true rate: USD per unit, rounded to 5 decimals."""
    return str((1 / per_usd).quantize(D(1).scaleb(-places), ROUND_HALF_EVEN))


# -- official_mismatch: the interval arithmetic ---------------------------------------------


def test_a_ticker_inside_its_rounding_interval_is_no_mismatch() -> None:
    """0.00193 stands for 516.8–519.5 per USD: 518.0 is inside it."""
    got = official_findings(series(("KZT", DAY, "0.00193")), [official("KZT", DAY, "518.0")])
    assert got == []


def test_official_rates_can_come_as_a_frame_of_the_table_columns() -> None:
    frame = pd.DataFrame({"currency": ["KZT"], "rate_date": [pd.Timestamp(DAY)],
                          "per_usd": [D("512.34")], "source": ["NBK"], "url": ["u"]})
    (f,) = official_findings(series(("KZT", DAY, "0.00193")), frame)
    assert "official 512.34 (NBK, 10 Dec 2025)" in f.message
    with pytest.raises(UsageError, match=r"per_usd of KZT on .* is a float"):
        official_findings(series(), frame.assign(per_usd=[512.34]))


def test_a_ticker_outside_interval_and_tolerance_is_a_mismatch_with_the_numbers() -> None:
    got = official_findings(series(("KZT", DAY, "0.00193")), [official("KZT", DAY, "512.34")])
    assert kinds(got) == ["official_mismatch"]
    (f,) = got
    assert f.message.startswith("KZT: ticker 0.00193 (516.8–519.5 per USD) on 10 Dec 2025, "
                                "official 512.34 (NBK, 10 Dec 2025): 1.1% apart; ")
    assert "within 0.5%" in f.message and "up to 2 days earlier" in f.message
    assert (f.severity, f.currency, f.captured_on, f.snapshot_ids) == (
        "warning", "KZT", DAY, ("s-KZT-2025-12-10",))
    assert f.finding_id == finding_id("official_mismatch", "KZT", DAY, f.snapshot_ids)


@pytest.mark.parametrize(("official_rate", "tolerance", "mismatch"), [
    ("518.0", 0.5, False),
    ("512.0", 0.5, True),   # 516.795… is 0.94 % above 512: outside 0.5 %
    ("512.0", 1.0, False),  # …but inside 1 %
    ("521.0", 0.2, True),   # 519.48… is 0.29 % below 521
    ("521.0", 0.3, False),
])
def test_tolerance_widens_the_interval(official_rate: str, tolerance: float,
                                       mismatch: bool) -> None:
    config = OfficialConfig(tolerance_pct={"KZT": tolerance})
    got = official_findings(series(("KZT", DAY, "0.00193")),
                            [official("KZT", DAY, official_rate)], config)
    assert kinds(got) == (["official_mismatch"] if mismatch else [])


@pytest.mark.parametrize(("per_usd", "inside"), [
    ("8000", True),        # 1/(0.00012 + 0.000005) exactly: the interval is closed
    ("7999.99", False),
    ("8695.6521", True),   # 1/(0.00012 − 0.000005) = 8695.65217…
    ("8695.6522", False),
])
def test_interval_edges_are_exact(per_usd: str, inside: bool) -> None:
    assert matches("0.00012", D(per_usd), D("1e-12")) is inside


def test_the_per_usd_range_shows_enough_digits_to_tell_the_ends_apart() -> None:
    assert per_usd_range("0.00193") == "516.8–519.5"
    assert per_usd_range("0.01144") == "87.37–87.45"
    assert per_usd_range("0.28571") == "3.5000–3.5001"
    assert per_usd_range("0.00000") == "200000 or more"


def test_weekends_carry_the_last_publication_forward() -> None:
    """NBKR publishes Friday 5 Dec, nothing on the weekend: Sunday's ticker uses Friday's."""
    fri, sun = dt.date(2025, 12, 5), dt.date(2025, 12, 7)
    pub = [official("KGS", fri, "87.4600", "NBKR")]
    assert official_findings(series(("KGS", sun, printed(D("87.46")))), pub,
                             OfficialConfig(lag_days={"KGS": 0})) == []
    wrong = official_findings(series(("KGS", sun, "0.01130")), pub)
    assert "official 87.4600 (NBKR, 05 Dec 2025)" in wrong[0].message


def test_a_long_silence_is_missing_data_not_a_rate() -> None:
    pub = [official("KGS", dt.date(2025, 11, 20), "87.4600", "NBKR")]
    assert official_findings(series(("KGS", DAY, "0.01000")), pub,
                             OfficialConfig(carry_days=7)) == []
    assert kinds(official_findings(series(("KGS", DAY, "0.01000")), pub,
                                   OfficialConfig(carry_days=20))) == ["official_mismatch"]


def test_the_publication_lag_accepts_the_rates_of_the_days_before() -> None:
    pubs = [official("TJS", DAY - dt.timedelta(days=n), f"9.{40 + n}") for n in range(4)]
    ticker = series(("TJS", DAY, printed(D("9.42"))))  # two days old
    assert "official_mismatch" not in kinds(
        official_findings(ticker, pubs, OfficialConfig(lag_days={"TJS": 2})))
    (f,) = [f for f in official_findings(ticker, pubs, OfficialConfig(
        lag_days={"TJS": 1}, tolerance_pct={"TJS": 0.05})) if f.kind == "official_mismatch"]
    assert "official 9.40 (NBK, 10 Dec 2025)" in f.message and "up to 1 day earlier" in f.message


def test_no_official_rate_no_finding_and_other_quotes_are_ignored() -> None:
    frame = series(("UZS", DAY, "0.00008"))
    assert official_findings(frame, [official("KZT", DAY, "1")]) == []
    frame["quote_currency"] = "EUR"
    assert official_findings(frame, [official("UZS", DAY, "1")]) == []
    assert official_findings(series(), []) == []


def test_tmt_at_the_peg_is_fine_and_at_3_51_is_a_mismatch() -> None:
    peg = [OfficialRate("TMT", DAY, D("3.5"), "CBT", "https://www.cbt.tm/")]
    assert official_findings(series(("TMT", DAY, "0.28571")), peg) == []
    (f,) = official_findings(series(("TMT", DAY, "0.28490")), peg)
    assert f.message.endswith("official 3.5 (CBT, 10 Dec 2025): 0.29% apart; no official "
                              "rate in force that day is within 0.1%")


@given(
    currency=st.sampled_from(["KGS", "KZT", "TJS", "UZS", "TMT"]),
    per_usd=st.decimals(min_value=D("1.0001"), max_value=D("150000"), places=4),
    day=st.dates(dt.date(2015, 1, 1), dt.date(2030, 12, 31)),
)
def test_a_ticker_printed_from_the_official_rate_never_mismatches(
        currency: str, per_usd: Decimal, day: dt.date) -> None:
    config = OfficialConfig(tolerance_pct={currency: 1e-9}, lag_days={currency: 0})
    got = official_findings(series((currency, day, printed(per_usd))),
                            [official(currency, day, str(per_usd))], config)
    assert got == []


@given(walk=st.lists(st.integers(-300, 300), min_size=3, max_size=40),
       lags=st.lists(st.integers(0, 2), min_size=40, max_size=40))
def test_a_random_walk_printed_within_the_lag_never_mismatches(walk: list[int],
                                                               lags: list[int]) -> None:
    """Official rates moving up to ±3 % a day, weekends unpublished, the ticker printing the
    rate of up to 2 days before: no official_mismatch (tolerance ~0)."""
    start = dt.date(2025, 12, 1)
    rate, pubs, truth = D("87.45"), [], {}
    for i, step in enumerate(walk):
        day = start + dt.timedelta(days=i)
        if day.weekday() < 5:
            rate = (rate * (1 + D(step) / 10000)).quantize(D("0.0001"))
            pubs.append(official("KGS", day, str(rate), "NBKR"))
        truth[day] = rate
    rows = [("KGS", d, printed(truth[max(start, d - dt.timedelta(days=lags[i]))]))
            for i, d in enumerate(truth)]
    config = OfficialConfig(tolerance_pct={"KGS": 1e-9}, lag_days={"KGS": 2})
    assert "official_mismatch" not in kinds(official_findings(series(*rows), pubs, config))


# -- ticker_lag -----------------------------------------------------------------------------


def test_a_ticker_one_day_behind_is_reported_once_per_month_with_n_and_how_often() -> None:
    start = dt.date(2025, 11, 21)
    rates = {start + dt.timedelta(days=i): D("87") * (1 + D(i) / 500) for i in range(25)}
    pubs = [official("KGS", d, str(r.quantize(D("0.0001"))), "NBKR") for d, r in rates.items()]
    rows = [("KGS", d, printed(rates[d - dt.timedelta(days=1)])) for d in rates if d > start]
    rows[-1] = ("KGS", rows[-1][1], printed(rates[rows[-1][1]]))  # the last day is on time
    got = official_findings(series(*rows), pubs)
    assert kinds(got) == ["ticker_lag", "ticker_lag"]
    dec, nov = got
    assert dec.message == ("KGS: in Dec 2025 the ticker matched the official rate of 1 day "
                           "earlier better than the capture date's on 14 of 15 capture dates "
                           "(14 of 15 lagged in all)")
    assert nov.message.startswith("KGS: in Nov 2025 ") and "on 9 of 9 capture" in nov.message
    assert (dec.severity, dec.currency, dec.captured_on) == ("info", "KGS", dt.date(2025, 12, 14))
    assert len(dec.snapshot_ids) == 14


def test_ticker_lag_names_the_most_common_lag_and_the_others() -> None:
    rates = {DAY + dt.timedelta(days=i): D("9") * (1 + D(i) / 100) for i in range(-5, 10)}
    pubs = [official("TJS", d, str(r), "NBT") for d, r in rates.items()]
    lags = [2, 2, 2, 1, 0, 0]
    rows = [("TJS", DAY + dt.timedelta(days=i), printed(rates[DAY + dt.timedelta(days=i - n)]))
            for i, n in enumerate(lags)]
    (f,) = [f for f in official_findings(series(*rows), pubs) if f.kind == "ticker_lag"]
    assert f.message == ("TJS: in Dec 2025 the ticker matched the official rate of 2 days "
                         "earlier better than the capture date's on 3 of 6 capture dates; "
                         "1 day earlier on 1 (4 of 6 lagged in all)")


def test_a_flat_official_rate_shows_no_lag() -> None:
    pubs = [official("KZT", DAY - dt.timedelta(days=n), "518.0") for n in range(10)]
    rows = [("KZT", DAY - dt.timedelta(days=n), "0.00193") for n in range(5)]
    assert official_findings(series(*rows), pubs) == []


# -- configuration ----------------------------------------------------------------------------


def test_thresholds_come_from_the_official_table_of_a_config_file(tmp_path: Path) -> None:
    path = tmp_path / "tracker.toml"
    path.write_text("[checks]\nstale_min_gap_days = 3\n\n[official]\ncarry_days = 4\n\n"
                    "[official.tolerance_pct]\nKZT = 1.5\ndefault = 0.25\n\n"
                    "[official.lag_days]\nkgs = 0\n")
    config = load_official_config(path)
    assert config.carry_days == 4
    assert config.tolerance("KZT") == D("0.015") and config.tolerance("XYZ") == D("0.0025")
    assert config.lag("KGS") == 0 and config.lag("TJS") == 2 and config.lag("TMT") == 0


@pytest.mark.parametrize(("text", "reason"), [
    ("[official]\ncary_days = 4\n", r"unknown key\(s\) in \[official\]: cary_days"),
    ("[official]\ncarry_days = -1\n", "carry_days must be a whole number of days"),
    ("[official]\ntolerance_pct = 3\n", r"tolerance_pct must be a table"),
    ("[official.tolerance_pct]\nKZT = 0\n", "must be a positive number of percent"),
    ("[official.lag_days]\nKZT = 1.5\n", "lag_days for KZT must be a whole number"),
    ("[checks]\n", r"has no \[official\] table"),
])
def test_bad_config_says_what_and_where(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "tracker.toml"
    path.write_text(text)
    with pytest.raises(UsageError, match=reason) as info:
        load_official_config(path)
    assert str(path) in str(info.value)
