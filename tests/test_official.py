"""The central banks' adapters: documented endpoints, documented answers, and every bad answer
turned into a clear reason (never a wrong number). A fake bank server on 127.0.0.1 answers on
the same paths as the real banks."""

from __future__ import annotations

import datetime as dt
import json
import socket
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fakebanks import (
    ERROR_PAGE,
    FakeBanks,
    cbu_json,
    nbk_xml,
    nbkr_archive_html,
    nbkr_daily_xml,
    nbt_xml,
)
from tracker.errors import (
    BankResponseError,
    ErrorPageError,
    InvalidRateError,
    MissingRateError,
    OfficialRateError,
    UsageError,
    WrongDateError,
)
from tracker.official import BANKS, NBKR, TMT_PEG, OfficialRate, Request, bank_base, parse_bank_url

FIXTURES = Path(__file__).resolve().parent / "official"
GOLDEN = json.loads((FIXTURES / "golden.json").read_text())
DAY = dt.date(2025, 12, 10)


def request(bank: str, start: dt.date = DAY, end: dt.date | None = None,
            daily: bool = False) -> Request:
    """The request the adapter itself builds (for NBKR: the archive, or daily.xml)."""
    end = end or start
    if bank == "nbkr":
        today = start if daily else end + dt.timedelta(days=1)
        reqs = BANKS["nbkr"].requests(start, end, today=today)
        return reqs[-1] if daily else reqs[0]
    (req,) = BANKS[bank].requests(start, end, today=end)
    return req


def parse(bank: str, body: bytes, req: Request | None = None) -> list[OfficialRate]:
    return BANKS[bank].parse(body, req or request(bank))


def plain(rates: list[OfficialRate]) -> list[list[str]]:
    return [[r.currency, r.rate_date.isoformat(), str(r.per_usd), r.source] for r in rates]


# -- golden fixtures ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_fixtures_parse_to_the_published_rates(name: str) -> None:
    case = GOLDEN[name]
    start, end = (dt.date.fromisoformat(d) for d in case["asked"])
    req = request(case["bank"], start, end, daily=case.get("daily", False))
    body = (FIXTURES / name).read_bytes()
    if "error" in case:
        with pytest.raises(OfficialRateError) as info:
            parse(case["bank"], body, req)
        assert type(info.value).__name__ == case["error"]
        return
    rates = parse(case["bank"], body, req)
    assert plain(rates) == case["rates"]
    assert all(r.url == req.url for r in rates)


def test_request_urls_are_the_banks_documented_endpoints() -> None:
    assert request("nbk").url == "https://nationalbank.kz/rss/get_rates.cfm?fdate=10.12.2025"
    assert request("cbu").url == "https://cbu.uz/en/arkhiv-kursov-valyut/json/USD/2025-12-10/"
    assert request("nbt").url == ("https://nbt.tj/en/kurs/export_xml.php?date=2025-12-10"
                                  "&export=xmlout")
    assert request("nbkr", daily=True).url == "https://www.nbkr.kg/XML/daily.xml"
    assert request("nbkr", dt.date(2025, 12, 1), dt.date(2025, 12, 9)).url == (
        "https://www.nbkr.kg/index1.jsp?item=1562&lang=RUS&valuta_id=15&beg_day=01"
        "&beg_month=12&beg_year=2025&end_day=09&end_month=12&end_year=2025")


def test_by_date_banks_ask_once_per_day_and_never_after_today() -> None:
    reqs = BANKS["nbt"].requests(dt.date(2025, 12, 8), dt.date(2025, 12, 20), today=DAY,
                                 base="http://127.0.0.1:9/")
    assert [(r.start, r.end) for r in reqs] == [(dt.date(2025, 12, d),) * 2 for d in (8, 9, 10)]
    assert reqs[0].url.startswith("http://127.0.0.1:9/en/kurs/export_xml.php?date=2025-12-08")


def test_nbkr_asks_its_archive_for_past_days_and_daily_xml_for_today() -> None:
    reqs = NBKR().requests(dt.date(2025, 12, 1), dt.date(2025, 12, 31), today=DAY)
    assert [(r.start, r.end, r.url.split("/")[3][:10]) for r in reqs] == [
        (dt.date(2025, 12, 1), dt.date(2025, 12, 9), "index1.jsp"), (DAY, DAY, "XML")]


def test_tmt_is_the_peg_stated_as_data_with_its_source() -> None:
    rates = TMT_PEG.rates(dt.date(2014, 12, 30), dt.date(2015, 1, 2))
    assert plain(rates) == [["TMT", "2015-01-01", "3.5", "CBT"], ["TMT", "2015-01-02", "3.5", "CBT"]]
    assert rates[0].url.startswith("https://www.cbt.tm")


@pytest.mark.parametrize(("option", "expected"), [
    ("nbk=http://127.0.0.1:8080/", ("nbk", "http://127.0.0.1:8080")),
    ("NBKR=https://mirror.example/nbkr", ("nbkr", "https://mirror.example/nbkr")),
])
def test_bank_url_option(option: str, expected: tuple[str, str]) -> None:
    assert parse_bank_url(option) == expected


@pytest.mark.parametrize(("option", "reason"), [
    ("nbk", "must be NAME=URL"),
    ("ecb=http://127.0.0.1:1", "unknown bank 'ecb'; use one of nbk, nbkr, cbu, nbt"),
    ("cbu=ftp://127.0.0.1", "must be http(s)://host"),
    ("nbt=http://127.0.0.1:1/?x=1", "without query"),
])
def test_bad_bank_url_options_say_how_to_fix_them(option: str, reason: str) -> None:
    with pytest.raises(UsageError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_bank_url(option)


def test_default_bases_are_the_banks_sites() -> None:
    assert {n: bank_base(n) for n in BANKS} == {
        "nbk": "https://nationalbank.kz", "nbkr": "https://www.nbkr.kg",
        "cbu": "https://cbu.uz", "nbt": "https://nbt.tj"}


# -- bad answers: one clear reason each ---------------------------------------------------

BOMB = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><rates><date>&b;</date></rates>')
NBT_ID_TRAP = (b'<?xml version="1.0" encoding="utf-8"?><ValCurs Date="10.12.2025">'
               b'<Valute ID="840"><CharCode>EUR</CharCode><Nominal>1</Nominal>'
               b'<Value>10.8843</Value></Valute><Valute ID="978"><CharCode>USD</CharCode>'
               b'<Nominal>1</Nominal><Value>9.3450</Value></Valute></ValCurs>')

BAD = [
    ("nbk", b"", BankResponseError, "empty answer"),
    ("nbk", nbk_xml(DAY, "512.34")[:200], BankResponseError, "not well-formed XML"),
    ("nbk", BOMB, BankResponseError, "DOCTYPE or ENTITY declaration is refused"),
    ("nbk", ERROR_PAGE, ErrorPageError,
     "HTML page titled 'Service temporarily unavailable'"),
    ("nbk", b"<html><body>502 Bad Gateway</body></html>", ErrorPageError, "error or maint"),
    ("nbt", b'<?xml version="1.0"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN">'
     b"<html><head><title>404</title></head></html>", ErrorPageError, "titled '404'"),
    ("nbk", b"<rss><channel/></rss>", BankResponseError, "XML root is <rss>, expected <rates>"),
    ("nbk", nbk_xml(DAY, None), MissingRateError, "no USD rate"),
    ("nbk", nbk_xml(DAY, "0.00"), InvalidRateError, "is zero: not a rate"),
    ("nbk", nbk_xml(DAY, "-512.34"), InvalidRateError, "a negative number"),
    ("nbk", nbk_xml(DAY, "5.1234e2"), InvalidRateError, "the bank prints it like 478.77"),
    ("nbk", nbk_xml(DAY, "512.34", quant="0"), InvalidRateError, "nominal of the USD rate is 0"),
    ("nbk", nbk_xml(DAY, "512.34", quant=""), InvalidRateError, "USD <quant> is ''"),
    ("nbk", nbk_xml(DAY + dt.timedelta(days=1), "512.34"), WrongDateError,
     "asked for 2025-12-10, the document states 2025-12-11"),
    ("nbk", nbk_xml(DAY, "512.34").replace(b"</rates>", nbk_xml(DAY, "1").split(b"\n", 8)[-1]),
     BankResponseError, "lists 2 USD rates"),
    ("nbk", nbk_xml(DAY, "512.34").replace(b"10.12.2025", b"31.02.2025"), WrongDateError,
     "<date> 31.02.2025 is not a day of the calendar"),
    ("nbk", nbk_xml(DAY, "512.34").replace(b"10.12.2025", b"12/10/2025"), WrongDateError,
     "<date> is '12/10/2025', not a date like 10.12.2025"),
    ("nbkr", nbkr_daily_xml(DAY, "87.4500"), InvalidRateError, "like 87,4500"),
    ("nbkr", nbkr_daily_xml(DAY - dt.timedelta(days=30), "87,4500"), WrongDateError,
     "daily.xml states today's or the next business day's date"),
    ("nbkr", nbkr_daily_xml(DAY, "87,4500").replace(b'"USD"', b'"EUR"'), MissingRateError,
     'no USD rate (looked for a <Currency ISOCode="USD">)'),
    ("cbu", b'[{"Ccy": "USD", "Rate": "12194.21"', BankResponseError, "not valid JSON"),
    ("cbu", b"[" * 100_000 + b"]" * 100_000, BankResponseError, "nested too deeply"),
    ("cbu", b'{"Ccy": "USD"}', BankResponseError, "not a list of rate objects"),
    ("cbu", b"[]", MissingRateError, "no USD rate"),
    ("cbu", "[{\"Ccy\": \"USD\", \"Rate\": \"1\"}]".encode("utf-16"), BankResponseError,
     "not UTF-8"),
    ("cbu", cbu_json(DAY + dt.timedelta(days=1), "12194.21"), WrongDateError,
     "the document states 2025-12-11"),
    ("cbu", cbu_json(DAY, "10", nominal="3"), InvalidRateError,
     "10 per 3 USD has no exact decimal value"),
    ("cbu", cbu_json(DAY, "12 194.21"), InvalidRateError, "'12 194.21'"),
    ("cbu", cbu_json(DAY, "NaN"), InvalidRateError, "'NaN'"),
    ("nbt", nbt_xml(DAY, "9.3450").replace(b"10.12.2025", b"13.12.2025"), WrongDateError,
     "NBT answers today's rates for dates out of its range"),
    ("nbt", nbt_xml(DAY, "9,3450"), InvalidRateError, "like 478.77"),
    ("nbt", nbt_xml(DAY, "9.3450").replace(b"</ValCurs>", b""), BankResponseError,
     "not well-formed"),
]


@pytest.mark.parametrize(("bank", "body", "error", "reason"), BAD,
                         ids=[f"{b}-{i}" for i, (b, *_rest) in enumerate(BAD)])
def test_bad_answers_are_a_clear_reason_naming_the_url(
        bank: str, body: bytes, error: type, reason: str) -> None:
    req = request(bank, daily=True) if bank == "nbkr" else request(bank)
    with pytest.raises(error) as info:
        parse(bank, body, req)
    message = str(info.value)
    assert reason in message
    assert message.startswith(req.url + ": ") and "\n" not in message


def test_nbt_out_of_range_date_trap_is_refused() -> None:
    """NBT answers a date it has no rates for with today's document: never stored as that day."""
    req = request("nbt", dt.date(2009, 1, 1))
    with pytest.raises(WrongDateError, match="asked for 2009-01-01, the document states "
                                             "2025-12-10"):
        parse("nbt", nbt_xml(DAY, "9.3450"), req)


def test_nbt_date_may_be_written_year_first() -> None:
    body = nbt_xml(DAY, "9.3450").replace(b'Date="10.12.2025"', b'Date="2025-12-10"')
    assert plain(parse("nbt", body)) == [["TJS", "2025-12-10", "9.3450", "NBT"]]


def test_nbt_trusts_charcode_not_id() -> None:
    assert plain(parse("nbt", NBT_ID_TRAP)) == [["TJS", "2025-12-10", "9.3450", "NBT"]]


@pytest.mark.parametrize(("bank", "body", "expected"), [
    ("nbk", nbk_xml(DAY, "51234", quant="100"), "512.34"),
    ("nbk", nbk_xml(DAY, "512340", quant="1000"), "512.340"),
    ("nbkr", nbkr_daily_xml(DAY, "8745,00", nominal="100"), "87.4500"),
    ("cbu", cbu_json(DAY, "1219421", nominal="100"), "12194.21"),
    ("nbt", nbt_xml(DAY, "934.50", nominal="100"), "9.3450"),
    ("nbt", nbt_xml(DAY, "18.69", nominal="2"), "9.345"),
])
def test_the_nominal_is_divided_out_exactly(bank: str, body: bytes, expected: str) -> None:
    (rate,) = parse(bank, body, request(bank, daily=True) if bank == "nbkr" else None)
    assert str(rate.per_usd) == expected and isinstance(rate.per_usd, Decimal)


def test_nbkr_archive_refuses_rows_outside_the_range_asked() -> None:
    body = nbkr_archive_html([(dt.date(2025, 12, 1), "87,4500"), (dt.date(2025, 11, 3), "88,0")])
    with pytest.raises(WrongDateError, match="outside the range asked"):
        parse("nbkr", body, request("nbkr", dt.date(2025, 12, 1), dt.date(2025, 12, 9)))


def test_nbkr_archive_without_its_form_is_an_error_page() -> None:
    with pytest.raises(ErrorPageError, match="not the NBKR archive page"):
        parse("nbkr", ERROR_PAGE, request("nbkr", dt.date(2025, 12, 1), dt.date(2025, 12, 9)))


# -- the fake banks: the adapters' URLs are answered on the same paths --------------------

RATES = {
    "KZT": {dt.date(2025, 12, d): Decimal(f"51{d}.34") for d in range(1, 11)},
    "KGS": {dt.date(2025, 12, d): Decimal(f"87.45{d:02d}") for d in (1, 2, 3, 4, 5, 8, 9, 10)},
    "UZS": {dt.date(2025, 12, d): Decimal(f"12194.{d:02d}") for d in (1, 2, 3, 4, 5, 8, 9, 10)},
    "TJS": {dt.date(2025, 12, d): Decimal(f"9.34{d:02d}") for d in range(1, 11)},
}


def get(url: str, timeout: float = 5) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return answer.read()


def fetch_all(banks: FakeBanks, name: str, start: dt.date, end: dt.date) -> list[OfficialRate]:
    out = []
    for req in BANKS[name].requests(start, end, today=DAY, base=banks.bases[name]):
        out.extend(BANKS[name].parse(get(req.url), req))
    return out


@pytest.mark.parametrize("name", ["nbk", "nbkr", "cbu", "nbt"])
def test_adapter_urls_are_answered_by_the_fake_bank(name: str) -> None:
    currency = BANKS[name].currency
    with FakeBanks(RATES, today=DAY) as banks:
        rates = fetch_all(banks, name, dt.date(2025, 12, 4), DAY)
    got = {r.rate_date: r.per_usd for r in rates}
    published = {d: v for d, v in RATES[currency].items() if d >= dt.date(2025, 12, 4)}
    if name == "cbu":  # the weekend answers carry Friday's rate with Friday's date
        assert len(rates) == 7 and got == published
    else:
        assert got == published
    assert all(r.currency == currency and r.source == BANKS[name].source for r in rates)


@pytest.mark.parametrize(("fault", "error"), [
    ("error_page", ErrorPageError), ("malformed", BankResponseError),
    ("wrong_date", WrongDateError)])
@pytest.mark.parametrize("name", ["nbk", "nbkr", "cbu", "nbt"])
def test_fake_bank_faults_become_reasons(name: str, fault: str, error: type) -> None:
    with FakeBanks(RATES, today=DAY) as banks:
        (req,) = BANKS[name].requests(DAY, DAY, today=DAY, base=banks.base)
        banks.fault(name, fault)
        with pytest.raises(error):
            BANKS[name].parse(get(req.url), req)
        assert BANKS[name].parse(get(req.url), req)[0].rate_date == DAY  # the next one is fine


@pytest.mark.parametrize("code", ["500", "503"])
def test_fake_bank_answers_server_errors(code: str) -> None:
    with FakeBanks(RATES, today=DAY) as banks:
        banks.fault("nbt", code, times=2)
        url = BANKS["nbt"].requests(DAY, DAY, today=DAY, base=banks.base)[0].url
        for _ in range(2):
            with pytest.raises(urllib.error.HTTPError) as info:
                get(url)
            assert info.value.code == int(code)
        assert get(url).startswith(b"<?xml")
        assert [p for p, _ua in banks.requests] == [url[len(banks.base):]] * 3


def test_fake_bank_stalls_until_the_client_gives_up() -> None:
    with FakeBanks(RATES, today=DAY, stall_seconds=10) as banks:
        banks.fault("nbk", "stall")
        url = BANKS["nbk"].requests(DAY, DAY, today=DAY, base=banks.base)[0].url
        with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
            get(url, timeout=0.2)


def test_fake_nbt_answers_todays_rates_for_a_date_out_of_range() -> None:
    with FakeBanks(RATES, today=DAY) as banks:
        (req,) = BANKS["nbt"].requests(dt.date(2009, 1, 1), dt.date(2009, 1, 1), today=DAY,
                                       base=banks.base)
        body = get(req.url)
    assert b'Date="10.12.2025"' in body
    with pytest.raises(WrongDateError):
        BANKS["nbt"].parse(body, req)


def test_fake_banks_record_paths_and_user_agents() -> None:
    with FakeBanks(RATES, today=DAY) as banks:
        req = urllib.request.Request(banks.base + "/XML/daily.xml",
                                     headers={"User-Agent": "tracker-test"})
        with urllib.request.urlopen(req, timeout=5) as answer:
            assert answer.headers["Content-Type"] == "text/xml; charset=windows-1251"
        with pytest.raises(urllib.error.HTTPError):
            get(banks.base + "/nowhere")
    assert banks.requests == [("/XML/daily.xml", "tracker-test"),
                              ("/nowhere", f"Python-urllib/{urllib.request.__version__}")]


# -- untrusted bytes: a reason or a rate, never another exception ----------------------------

FIXTURE_BODIES = [(case["bank"], (FIXTURES / name).read_bytes(), case.get("daily", False),
                   tuple(case["asked"])) for name, case in sorted(GOLDEN.items())]


@given(case=st.sampled_from(FIXTURE_BODIES), data=st.data())
def test_mangled_answers_give_rates_or_a_reason(case: tuple, data: st.DataObject) -> None:
    bank, body, daily, asked = case
    start, end = (dt.date.fromisoformat(d) for d in asked)
    cut = data.draw(st.integers(0, len(body)))
    junk = data.draw(st.binary(max_size=40))
    mangled = data.draw(st.sampled_from([body[:cut], body[:cut] + junk + body[cut:],
                                         body[:cut] + body[cut + len(junk):], junk]))
    try:
        rates = parse(bank, mangled, request(bank, start, end, daily=daily))
    except OfficialRateError as exc:
        assert str(exc).startswith("https://") and "\n" not in str(exc)
    else:
        assert all(r.per_usd > 0 and start - dt.timedelta(days=7) <= r.rate_date
                   <= end + dt.timedelta(days=4) for r in rates)
