"""`tracker official fetch` through the real command against the fake banks on 127.0.0.1:
every bank stored exactly, idempotent, raw answers kept and checked, every fault a recorded
reason (never a traceback, never a number), the wrong-date trap, the nominal."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fakebanks import FakeBanks, cbu_json, nbk_xml
from tests.proc import run_tracker
from tracker.errors import ArchiveError
from tracker.read import to_frame
from tracker.store import Store, default_raw_dir

TODAY = dt.date.today()
MONDAY = TODAY - dt.timedelta(days=TODAY.weekday() + 7)  # last week: every day in the past
WEEK = [MONDAY + dt.timedelta(days=i) for i in range(7)]
WEEKDAYS = WEEK[:5]
D = Decimal


def week_rates() -> dict[str, dict[dt.date, Decimal]]:
    """A publication on each weekday of last week, none on Saturday and Sunday."""
    return {
        "KZT": {d: D("512.34") + i for i, d in enumerate(WEEKDAYS)},
        "KGS": {d: D("87.4500") + i for i, d in enumerate(WEEKDAYS)},
        "UZS": {d: D("12194.21") + i for i, d in enumerate(WEEKDAYS)},
        "TJS": {d: D("9.3450") + i for i, d in enumerate(WEEKDAYS)},
    }


def fetch(banks: FakeBanks, db: Path, *args: object, start: dt.date = WEEK[0],
          end: dt.date = WEEK[-1]):
    urls = [a for name, base in banks.bases.items() for a in ("--bank-url", f"{name}={base}")]
    return run_tracker("official", "fetch", "--db", db, "--from", start, "--to", end,
                       "--rate", 6000, *urls, *args)


def stored(db: Path) -> list[tuple[str, str, str, str]]:
    with Store.open(db, read_only=True) as store:
        rows = store.official_rates().to_pylist()
    return [(r["currency"], r["rate_date"].isoformat(), f"{r['per_usd'].normalize():f}",
             r["source"]) for r in rows]


def runs(db: Path):
    with Store.open(db, read_only=True) as store:
        return to_frame(store.runs(job="official")).sort_values("run_id")


def test_every_bank_is_stored_exactly_and_a_second_run_adds_nothing(db_path):
    with FakeBanks(week_rates(), today=TODAY) as banks:
        first = fetch(banks, db_path)
        assert first.code == 0, first.stderr
        rows = stored(db_path)
        with Store.open(db_path, read_only=True) as store:
            answers = store.official_responses().num_rows
        second = fetch(banks, db_path)
        user_agents = {ua for _path, ua in banks.requests}
    assert second.code == 0, second.stderr
    assert stored(db_path) == rows
    with Store.open(db_path, read_only=True) as store:
        assert store.official_responses().num_rows == answers
    expected = sorted(
        [(c, d.isoformat(), f"{v.normalize():f}", src) for c, src in
         (("KZT", "NBK"), ("KGS", "NBKR"), ("UZS", "CBU"), ("TJS", "NBT"))
         for d, v in week_rates()[c].items()]
        + [("TMT", d.isoformat(), "3.5", "CBT") for d in WEEK])
    assert rows == expected  # weekends: no row (TMT's peg is in force every day)
    assert "Traceback" not in first.stderr + second.stderr
    assert "note: NBK " + WEEK[5].isoformat() + ": no publication" in first.stderr
    assert f"note: NBT {WEEK[6].isoformat()}: no publication on a Sunday" in first.stderr
    assert " 0 new official rates, already present 27, " in second.lines[-1]
    assert len(user_agents) == 1 and next(iter(user_agents)).startswith("tracker/")
    table = runs(db_path)
    assert list(table["ingested"]) == [27, 0] and list(table["rejected"]) == [0, 0]
    assert table["finished"].notna().all() and table["error"].isna().all()


def test_the_answers_are_kept_byte_for_byte_and_checked_on_reading(db_path):
    rates = week_rates()
    with FakeBanks(rates, today=TODAY) as banks:
        assert fetch(banks, db_path, "--currency", "KZT", "--currency", "UZS").code == 0
    with Store.open(db_path, read_only=True) as store:
        kept = store.official_responses().to_pylist()
        bodies = {r["url"]: store.load_official_response(r["response_id"]) for r in kept}
    assert len(kept) == 14 and all(r["status"] == 200 for r in kept)
    for row in kept:
        assert hashlib.sha256(bodies[row["url"]]).hexdigest() == row["response_id"]
    day = WEEKDAYS[2]
    nbk = next(b for u, b in bodies.items() if f"fdate={day:%d.%m.%Y}" in u)
    assert nbk == nbk_xml(day, str(rates["KZT"][day]))
    sunday = next(b for u, b in bodies.items() if u.endswith(f"/{WEEK[6]}/"))
    assert sunday == cbu_json(WEEKDAYS[-1], str(rates["UZS"][WEEKDAYS[-1]]))  # Friday's
    # the Saturday and Sunday answers are Friday's bytes: kept once, mapped from both URLs
    assert len({r["response_id"] for r in kept}) == 12
    packs = {p for p in default_raw_dir(db_path).iterdir() if p.suffix == ".pack"}
    for pack in packs:
        data = bytearray(pack.read_bytes())
        data[len(data) // 2] ^= 0xFF
        pack.write_bytes(bytes(data))
    with Store.open(db_path, read_only=True) as store, pytest.raises(ArchiveError):
        for row in kept:
            store.load_official_response(row["response_id"])


FAULTS = {
    # fault: (extra options, words of the reason; per bank where the banks' shapes differ)
    "500": (["--retries", "0"], "HTTP 500"),
    "503": (["--retries", "0"], "HTTP 503"),
    "stall": (["--retries", "0", "--timeout", "1"], "timed out after 1 s"),
    "error_page": ([], "'Service temporarily unavailable'"),
    "malformed": ([], {"nbk": "not well-formed XML", "nbt": "not well-formed XML",
                       "cbu": "JSON that is not UTF-8 text",
                       "nbkr": "archive page ends before its table does"}),
    "wrong_date": ([], "the document states"),
}
CURRENCY = {"nbk": "KZT", "nbkr": "KGS", "cbu": "UZS", "nbt": "TJS"}


class CutBetweenRows(FakeBanks):
    """The NBKR archive page cut after its second row (no half row to give it away)."""

    def _nbkr(self, path: str, query: dict[str, str], wrong: bool) -> bytes:
        page = super()._nbkr(path, query, wrong)
        return page[: page.index(b"</tr>", page.index(b"</tr>") + 1) + 5]


@pytest.mark.parametrize("bank", list(CURRENCY))
@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_fault_is_a_recorded_reason_and_never_a_number(db_path, fault, bank):
    options, reason = FAULTS[fault]
    reason = reason[bank] if isinstance(reason, dict) else reason
    fake = CutBetweenRows if (bank, fault) == ("nbkr", "malformed") else FakeBanks
    with fake(week_rates(), today=TODAY, stall_seconds=10) as banks:
        if fake is FakeBanks:
            banks.fault(bank, fault)
        done = fetch(banks, db_path, "--currency", CURRENCY[bank], *options)
    assert done.code == 1, done.stderr
    assert "Traceback" not in done.stderr
    failed = [line for line in done.lines if line.startswith("failed: ")]
    asked = f"{WEEK[0]}..{WEEK[-1]}" if bank == "nbkr" else WEEK[0].isoformat()
    assert len(failed) == 1, failed
    assert failed[0].startswith(f"failed: {bank.upper()} {asked}: http://127.0.0.1:")
    assert reason in failed[0]
    left = stored(db_path)  # nbkr: one archive request for the week, now failed
    assert WEEK[0].isoformat() not in {r[1] for r in left}
    assert len(left) == (0 if bank == "nbkr" else 4)  # the other weekdays
    assert all(D(r[2]) == week_rates()[r[0]][dt.date.fromisoformat(r[1])] for r in left)
    row = runs(db_path).iloc[-1]
    assert row["rejected"] == 1 and reason in row["error"] and row["ingested"] == len(left)
    assert "failed 1" in done.lines[-1]


def test_a_transient_failure_is_retried_with_backoff(db_path):
    with FakeBanks(week_rates(), today=TODAY) as banks:
        banks.fault("cbu", "503")
        done = fetch(banks, db_path, "--currency", "UZS", end=WEEK[0])
    assert done.code == 0, done.stderr
    assert stored(db_path) == [("UZS", WEEK[0].isoformat(), "12194.21", "CBU")]


@pytest.mark.parametrize(("value", "reason"), [("0", "is zero: not a rate"),
                                               ("-512.34", "is a negative number")])
def test_a_zero_or_negative_rate_is_refused(db_path, value, reason):
    rates = week_rates()
    rates["KZT"][WEEKDAYS[1]] = D(value)
    with FakeBanks(rates, today=TODAY) as banks:
        done = fetch(banks, db_path, "--currency", "KZT")
    assert done.code == 1 and reason in done.stderr, done.stderr
    assert WEEKDAYS[1].isoformat() not in {r[1] for r in stored(db_path)}
    assert all(D(r[2]) > 0 for r in stored(db_path))


def test_the_wrong_date_trap_never_stores_todays_rate_for_another_day(db_path):
    """NBT answers a date it has no rates for with today's document: a holiday on a weekday
    is a recorded reason, and today's rate is not stored under any date."""
    rates = week_rates()
    holiday = WEEKDAYS[2]
    del rates["TJS"][holiday]
    rates["TJS"][TODAY] = D("9.9999")
    with FakeBanks(rates, today=TODAY) as banks:
        done = fetch(banks, db_path, "--currency", "TJS")
    assert done.code == 1
    (line,) = [x for x in done.lines if x.startswith("failed: ")]
    assert f"NBT {holiday}" in line and f"asked for {holiday}, the document states {TODAY}" in line
    assert "NBT answers today's rates for dates out of its range" in line
    assert [(r[1], D(r[2])) for r in stored(db_path)] == [
        (d.isoformat(), v) for d, v in week_rates()["TJS"].items() if d != holiday]


class NominalBanks(FakeBanks):
    """CBU publishing per 1000 USD and NBK per 100 USD (the documented nominals)."""

    def _cbu(self, path: str, query: dict[str, str], wrong: bool) -> bytes:
        day = dt.date.fromisoformat(path.rstrip("/").rsplit("/", 1)[1])
        return cbu_json(day, str(self.rates["UZS"][day] * 1000), "1000")

    def _nbk(self, path: str, query: dict[str, str], wrong: bool) -> bytes:
        day = dt.datetime.strptime(query["fdate"], "%d.%m.%Y").date()
        return nbk_xml(day, str(self.rates["KZT"][day] * 100), "100")


def test_the_nominal_is_applied_exactly(db_path):
    rates = {"UZS": {WEEK[0]: D("12194.21")}, "KZT": {WEEK[0]: D("512.34")}}
    with NominalBanks(rates, today=TODAY) as banks:
        done = fetch(banks, db_path, "--currency", "UZS", "--currency", "KZT", end=WEEK[0])
    assert done.code == 0, done.stderr
    assert stored(db_path) == [("KZT", WEEK[0].isoformat(), "512.34", "NBK"),
                               ("UZS", WEEK[0].isoformat(), "12194.21", "CBU")]


def test_nbkr_today_comes_from_daily_xml_with_its_own_date(db_path):
    """Today's KGS rate is daily.xml's (windows-1251, comma decimals); its date may be the
    next business day, and that is the date stored."""
    rates = {"KGS": {WEEKDAYS[-1]: D("87.45"), TODAY: D("87.5")}}
    with FakeBanks(rates, today=TODAY) as banks:
        done = fetch(banks, db_path, "--currency", "KGS", start=WEEKDAYS[-1], end=TODAY)
        paths = [p for p, _ua in banks.requests]
    assert done.code == 0, done.stderr
    assert paths[-1] == "/XML/daily.xml" and paths[0].startswith("/index1.jsp?item=1562")
    assert stored(db_path) == [("KGS", WEEKDAYS[-1].isoformat(), "87.45", "NBKR"),
                               ("KGS", TODAY.isoformat(), "87.5", "NBKR")]


@pytest.mark.parametrize(("args", "message"), [
    (["--currency", "EUR"], "no official source for EUR"),
    (["--bank-url", "ecb=http://127.0.0.1:1"], "unknown bank 'ecb'"),
    (["--bank-url", "nbk=ftp://x"], "must be http(s)://"),
    (["--bank-url", "nbk=http://x/\x1b[31m\nfoo"], "contains a control character"),
    (["--bank-url", "nbk=http://x/курсы"], "contains non-ASCII characters"),
    (["--from", "2025-12-10", "--to", "2025-12-01"], "is after --to"),
    (["--from", "tomorrow"], "--from"),
])
def test_usage_errors_exit_two_and_open_nothing(tmp_path, args, message):
    db = tmp_path / "t.duckdb"
    done = run_tracker("official", "fetch", "--db", db, *args)
    assert done.code == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not db.exists()


def test_an_unwritable_raw_archive_exits_three_with_the_run_recorded(db_path):
    default_raw_dir(db_path).write_text("a file in the way")
    with FakeBanks(week_rates(), today=TODAY) as banks:
        done = fetch(banks, db_path, "--currency", "KZT", end=WEEK[0])
    assert done.code == 3, done.stderr
    assert "cannot keep raw" in done.stderr and "Traceback" not in done.stderr
    assert stored(db_path) == []
    assert "cannot keep raw" in runs(db_path).iloc[-1]["error"]


def test_findings_against_the_official_rates_in_tracker_check(tmp_path, db_path):
    """A ticker at 0.00193 (518.1–519.5 per USD) with an official 518.0 is no mismatch; with
    512.34 it is one (warning); both show in `tracker check --format json`."""
    from tracker.synthetic import TickerEntry, render_text

    pages = tmp_path / "pages"
    pages.mkdir()
    official = {WEEKDAYS[0]: D("512.34"), WEEKDAYS[1]: D("518.0")}  # a lag of 2 days: 512.34
    # is in the window of the second capture, nothing matching in the first's
    for day in official:
        entries = [TickerEntry("KGS", "0.01144", "0"), TickerEntry("KZT", "0.00193", "0"),
                   TickerEntry("TJS", "0.10811", "0"), TickerEntry("UZS", "0.00008", "0"),
                   TickerEntry("TMT", "0.28571", "0")]
        (pages / f"{day}.txt").write_text(render_text(entries, day=day), encoding="utf-8")
    assert run_tracker("ingest", "--db", db_path, pages).code == 0
    with FakeBanks({"KZT": official}, today=TODAY) as banks:
        done = fetch(banks, db_path, "--currency", "KZT", "--currency", "TMT",
                     start=WEEKDAYS[0], end=WEEKDAYS[1])
    assert done.code == 0, done.stderr
    check = run_tracker("check", "--db", db_path, "--format", "json", "--kind",
                        "official_mismatch")
    found = json.loads(check.stdout)
    assert [(f["kind"], f["severity"], f["currency"], f["captured_on"]) for f in found] == [
        ("official_mismatch", "warning", "KZT", WEEKDAYS[0].isoformat())]
    assert "KZT: ticker 0.00193 (516.8–519.5 per USD)" in found[0]["message"]
    assert "official 512.34 (NBK, " in found[0]["message"]
    config = tmp_path / "checks.toml"
    config.write_text("[official.tolerance_pct]\nKZT = 2\n", encoding="utf-8")
    relaxed = run_tracker("check", "--db", db_path, "--format", "json", "--config", config,
                          "--kind", "official_mismatch")
    assert relaxed.code == 0 and json.loads(relaxed.stdout) == [], relaxed.stderr


def test_a_revised_publication_is_reported_and_the_stored_value_kept(db_path):
    rates = week_rates()
    with FakeBanks(rates, today=TODAY) as banks:
        assert fetch(banks, db_path, "--currency", "UZS").code == 0
        banks.rates["UZS"][WEEKDAYS[0]] = D("12200")
        again = fetch(banks, db_path, "--currency", "UZS")
    assert again.code == 1
    assert (f"failed: CBU now publishes 12200 UZS per USD for {WEEKDAYS[0]}, 12194.21 is "
            "stored; the stored value is kept") in again.stderr
    assert ("UZS", WEEKDAYS[0].isoformat(), "12194.21", "CBU") in stored(db_path)
    assert runs(db_path).iloc[-1]["rejected"] == 1


def test_a_rate_with_more_digits_than_stored_is_refused_not_rounded(db_path):
    """12123.4567891000 per 1000 USD is 12.1234567891000 per USD: 13 decimals, more than
    DECIMAL(18,10) holds; refused with its reason rather than rounded."""
    rates = {"UZS": {WEEK[0]: D("12.1234567891")}, "KZT": {WEEK[0]: D("512.34")}}
    with NominalBanks(rates, today=TODAY) as banks:
        done = fetch(banks, db_path, "--currency", "UZS", end=WEEK[0])
    assert done.code == 1
    assert "has more digits than are stored" in done.stderr and "Traceback" not in done.stderr
    assert stored(db_path) == []


@settings(max_examples=25)
@given(st.lists(st.decimals(min_value=D("0.0000000001"), max_value=D("99999999.9999999999"),
                            places=10, allow_nan=False, allow_infinity=False),
                min_size=1, max_size=10))
def test_stored_rates_read_back_exactly(tmp_path_factory, values):
    db = tmp_path_factory.mktemp("exact") / "t.duckdb"
    now = dt.datetime(2025, 12, 10, 12)
    rows = [("KZT", WEEK[0] + dt.timedelta(days=i), v, "NBK", "http://bank.test/", now,
             "official-1") for i, v in enumerate(values)]
    with Store.open(db) as store:
        done = store.add_official([], rows)
        again = store.add_official([], rows)
        back = [r["per_usd"] for r in store.official_rates().to_pylist()]
    assert (done.added, again.added, again.present, again.revisions) == (
        len(values), 0, len(values), ())
    assert back == values
