"""A fake of the four central banks on 127.0.0.1, answering on each bank's documented paths in
its documented shape, with the faults real banks have (5xx, stalls, another date than asked,
HTML error pages with status 200, malformed documents).

One server serves all four banks (their paths differ), so `bases` maps every bank name to the
same base URL. Documents are rendered from a table of rates per currency and day:

    with FakeBanks({"KZT": {day: Decimal("512.34")}}, today=day) as banks:
        banks.fault("nbk", "500")          # the next nbk request answers 500
        urllib.request.urlopen(banks.base + "/rss/get_rates.cfm?fdate=10.12.2025")

NBT's trap is built in: a date it has no rates for answers today's document. NBK answers a
document without USD for a date it has no rate for; CBU the last rate set on or before the date.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import deque
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

FAULTS = ("500", "503", "stall", "wrong_date", "error_page", "malformed", "429")
ERROR_PAGE = (b"<!DOCTYPE html>\n<html><head><title>Service temporarily unavailable</title>"
              b"</head><body><h1>Technical works</h1><p>Please try later.</p></body></html>\n")


# -- the documented shapes (also used to write the fixtures in tests/official) ---------------


def nbk_xml(day: dt.date, usd: str | None, quant: str = "1") -> bytes:
    item = (f"<item><fullname>ДОЛЛАР США</fullname><title>USD</title>"
            f"<description>{usd}</description><quant>{quant}</quant><index>DOWN</index>"
            f"<change>-1.44</change></item>\n") if usd is not None else ""
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rates>\n"
            "<generator>nationalbank.kz</generator>\n"
            "<title>Official exchange rates of National Bank of Republic Kazakhstan</title>\n"
            "<link>https://nationalbank.kz</link>\n<description>Official exchange rates"
            "</description>\n<copyright>nationalbank.kz</copyright>\n"
            f"<date>{day:%d.%m.%Y}</date>\n"
            "<item><fullname>ЕВРО</fullname><title>EUR</title><description>598.61"
            "</description><quant>1</quant><index>UP</index><change>0.52</change></item>\n"
            f"{item}"
            "<item><fullname>УЗБЕКСКИХ СУМОВ</fullname><title>UZS</title><description>4.28"
            "</description><quant>100</quant><index>DOWN</index><change>-0.01</change></item>\n"
            "</rates>\n").encode()


def nbkr_daily_xml(day: dt.date, usd: str, nominal: str = "1") -> bytes:
    """windows-1251, comma decimals."""
    return ("<?xml version=\"1.0\" encoding=\"windows-1251\"?>\n"
            f"<CurrencyRates Name=\"Официальные курсы валют\" Date=\"{day:%d.%m.%Y}\">\n"
            f"<Currency ISOCode=\"USD\">\n<Nominal>{nominal}</Nominal>\n<Value>{usd}</Value>\n"
            "</Currency>\n<Currency ISOCode=\"EUR\">\n<Nominal>1</Nominal>\n"
            "<Value>101,8234</Value>\n</Currency>\n<Currency ISOCode=\"KZT\">\n"
            "<Nominal>1</Nominal>\n<Value>0,1707</Value>\n</Currency>\n"
            "</CurrencyRates>\n").encode("windows-1251")


def nbkr_archive_html(rows: list[tuple[dt.date, str]]) -> bytes:
    """The archive page (index1.jsp?item=1562): an HTML table, cells marked by comments."""
    body = "".join(f"<tr><td><!--date-->{d:%d.%m.%Y}<!--date--></td>"
                   f"<td><!--value-->{v}<!--value--></td></tr>\n" for d, v in rows)
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"windows-1251\">"
            "<title>Национальный банк Кыргызской Республики</title></head><body>\n"
            "<form action=\"index1.jsp\"><input type=\"hidden\" name=\"item\" value=\"1562\">"
            "<select name=\"valuta_id\"><option selected value=\"15\">1 Доллар США</option>"
            "</select><input name=\"beg_day\"></form>\n"
            f"<table class=\"archive\">\n{body}</table></body></html>\n").encode("windows-1251")


def cbu_json(day: dt.date, usd: str, nominal: str = "1") -> bytes:
    return ("[{\"id\":69,\"Code\":\"840\",\"Ccy\":\"USD\",\"CcyNm_RU\":\"Доллар США\","
            "\"CcyNm_UZ\":\"AQSH dollari\",\"CcyNm_UZC\":\"АҚШ доллари\","
            f"\"CcyNm_EN\":\"US Dollar\",\"Nominal\":\"{nominal}\",\"Rate\":\"{usd}\","
            f"\"Diff\":\"-16.5\",\"Date\":\"{day:%d.%m.%Y}\"}}]").encode()


def nbt_xml(day: dt.date, usd: str, nominal: str = "1") -> bytes:
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
            f"<ValCurs Date=\"{day:%d.%m.%Y}\" name=\"Official exchange rate\">\n"
            "<Valute ID=\"978\"><CharCode>EUR</CharCode><Nominal>1</Nominal>"
            "<Name>Euro</Name><Value>10.8843</Value></Valute>\n"
            f"<Valute ID=\"840\"><CharCode>USD</CharCode><Nominal>{nominal}</Nominal>"
            f"<Name>US Dollar</Name><Value>{usd}</Value></Valute>\n</ValCurs>\n").encode()


def comma(value: Decimal | str) -> str:
    return str(value).replace(".", ",")


# -- the server ----------------------------------------------------------------------------

Rates = dict[str, dict[dt.date, Decimal]]


class FakeBanks:
    """All four banks on one loopback port; `requests` records (path, User-Agent) in order."""

    def __init__(self, rates: Rates | None = None, *, today: dt.date,
                 stall_seconds: float = 30.0) -> None:
        self.rates: Rates = {c: dict(v) for c, v in (rates or {}).items()}
        self.today = today
        self.stall_seconds = stall_seconds
        self.requests: list[tuple[str, str | None]] = []
        self._faults: dict[str, deque[str]] = {}
        self._release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests.append((self.path, self.headers.get("User-Agent")))
                fake._answer(self)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def bases(self) -> dict[str, str]:
        return {name: self.base for name in ("nbk", "nbkr", "cbu", "nbt")}

    def fault(self, bank: str, kind: str, times: int = 1) -> None:
        """The next `times` requests to `bank` fail this way (one of FAULTS)."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; one of {FAULTS}")
        self._faults.setdefault(bank, deque()).extend([kind] * times)

    def __enter__(self) -> FakeBanks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    # -- routing ---------------------------------------------------------------------------

    def _answer(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        route = _route(parts.path)
        if route is None:
            return _reply(h, 404, b"<html><body>Not found</body></html>", "text/html")
        bank, ctype = route
        queue = self._faults.get(bank)
        fault = queue.popleft() if queue else None
        if fault in ("500", "503", "429"):
            return _reply(h, int(fault), ERROR_PAGE, "text/html")
        if fault == "stall":
            self._release.wait(self.stall_seconds)
            return _reply(h, 504, ERROR_PAGE, "text/html")
        if fault == "error_page":
            return _reply(h, 200, ERROR_PAGE, "text/html; charset=utf-8")
        try:
            body = getattr(self, f"_{bank}")(parts.path, query, fault == "wrong_date")
        except (KeyError, ValueError):
            return _reply(h, 200, ERROR_PAGE, "text/html; charset=utf-8")  # as the banks do
        if fault == "malformed":
            body = body[: len(body) // 2]
        _reply(h, 200, body, ctype)

    def _day(self, text: str, fmt: str) -> dt.date:
        return dt.datetime.strptime(text, fmt).date()

    def _usd(self, currency: str, day: dt.date) -> Decimal | None:
        return self.rates.get(currency, {}).get(day)

    def _latest(self, currency: str, day: dt.date) -> tuple[dt.date, Decimal] | None:
        known = [d for d in self.rates.get(currency, {}) if d <= day]
        return (max(known), self.rates[currency][max(known)]) if known else None

    def _nbk(self, path: str, query: dict[str, str], wrong: bool) -> bytes:
        day = self._day(query["fdate"], "%d.%m.%Y")
        usd = self._usd("KZT", day)
        return nbk_xml(day + dt.timedelta(days=wrong), None if usd is None else str(usd))

    def _nbkr(self, path: str, query: dict[str, str], wrong: bool) -> bytes:
        if path == "/XML/daily.xml":
            latest = self._latest("KGS", self.today + dt.timedelta(days=4))
            if latest is None:
                raise KeyError("no rate")
            day, usd = latest
            return nbkr_daily_xml(day - dt.timedelta(days=30 * wrong), comma(usd))
        start = dt.date(int(query["beg_year"]), int(query["beg_month"]), int(query["beg_day"]))
        end = dt.date(int(query["end_year"]), int(query["end_month"]), int(query["end_day"]))
        if query.get("valuta_id") != "15":
            raise KeyError("only USD here")
        shift = dt.timedelta(days=40 * wrong)
        rows = sorted((d + shift, comma(v)) for d, v in self.rates.get("KGS", {}).items()
                      if start <= d <= end)
        return nbkr_archive_html(rows)

    def _cbu(self, path: str, query: dict[str, str], wrong: bool) -> bytes:
        match = re.fullmatch(r"/en/arkhiv-kursov-valyut/json/USD/(\d{4}-\d{2}-\d{2})/", path)
        if match is None:
            raise KeyError(path)
        latest = self._latest("UZS", self._day(match.group(1), "%Y-%m-%d"))
        if latest is None:
            return b"[]"
        day, usd = latest
        return cbu_json(day + dt.timedelta(days=wrong), str(usd))

    def _nbt(self, path: str, query: dict[str, str], wrong: bool) -> bytes:
        if query.get("export") != "xmlout":
            raise KeyError("export")
        day = self._day(query["date"], "%Y-%m-%d")
        usd = self._usd("TJS", day)
        if usd is None:  # the documented trap: out of range → today's rates
            latest = self._latest("TJS", self.today)
            if latest is None:
                raise KeyError("no rate")
            day, usd = self.today, latest[1]
        return nbt_xml(day - dt.timedelta(days=wrong), str(usd))


_ROUTES = (
    (re.compile(r"/rss/get_rates\.cfm"), "nbk", "text/xml; charset=utf-8"),
    (re.compile(r"/XML/daily\.xml|/index1\.jsp"), "nbkr", "text/xml; charset=windows-1251"),
    (re.compile(r"/en/arkhiv-kursov-valyut/json/.*"), "cbu", "application/json"),
    (re.compile(r"/en/kurs/export_xml\.php"), "nbt", "text/xml; charset=utf-8"),
)


def _route(path: str) -> tuple[str, str] | None:
    for pattern, bank, ctype in _ROUTES:
        if pattern.fullmatch(path):
            return bank, ("text/html; charset=windows-1251" if path == "/index1.jsp" else ctype)
    return None


def _reply(h: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str) -> None:
    h.send_response(status)
    h.send_header("Content-Type", ctype)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)
