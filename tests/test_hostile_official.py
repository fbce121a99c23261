"""Hostile central banks against `tracker official fetch`: refusals and silence (the other
days not asked), a day stated with two rates, DTDs in any encoding, numbers JSON cannot hold,
a stop mid-request and the rerun. Through the real command and the loopback fake banks."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest

from .fakebanks import FakeBanks
from .proc import run_tracker
from .test_official_fetch import WEEK, D, fetch, runs, stored, week_rates


def test_a_bank_that_refuses_is_not_asked_for_its_other_days(db_path):
    """After "refused 3 times in a row; stopped asking" the run must stop asking that bank
    (once it went on day after day: three requests per day to a bank that says stop); the
    other banks are still fetched, the days not asked are failures for the next run."""
    with FakeBanks(week_rates(), today=WEEK[-1] + dt.timedelta(days=7)) as banks:
        banks.fault("nbk", "429", times=100)
        done = fetch(banks, db_path, "--currency", "KZT", "--currency", "UZS")
        asked = [path for path, _ in banks.requests if path.startswith("/rss/")]
    assert done.code == 1, done.stderr
    assert len(asked) == 3, asked  # the first day, refused three times; no other day
    failed = [line for line in done.lines if line.startswith("failed: NBK")]
    assert failed[0].endswith("refused 3 times in a row; stopped asking (wait a while, then "
                              "run the same command again)"), failed
    assert failed[1] == (f"failed: NBK {WEEK[1]}..{WEEK[-1]}: 6 request(s) not sent: the bank "
                         "refused the one before; run the same command again later"), failed
    assert len(failed) == 2
    assert {r[0] for r in stored(db_path)} == {"UZS"}
    row = runs(db_path).iloc[-1]
    assert row["rejected"] == 7 and "6 request(s) not sent" in row["error"]


class NbkrTwice(FakeBanks):
    """The NBKR archive lists its first day twice, the second time with another rate."""

    def _nbkr(self, path: str, query: dict[str, str], wrong: bool) -> bytes:
        page = super()._nbkr(path, query, wrong)
        row = f"<tr><td><!--date-->{WEEK[0]:%d.%m.%Y}<!--date--></td><td><!--value-->99,99"
        return page.replace(b"</table>", row.encode() + b"<!--value--></td></tr>\n</table>")


class CbuRevisedOnSaturday(FakeBanks):
    """CBU answers Saturday with Friday's document, but another rate than Friday's own."""

    def _cbu(self, path: str, query: dict[str, str], wrong: bool) -> bytes:
        body = super()._cbu(path, query, wrong)
        return body.replace(b"12198.21", b"12200.00") if WEEK[5].isoformat() in path else body


@pytest.mark.parametrize(("fake", "currency", "day", "values", "rows"), [
    (NbkrTwice, "KGS", WEEK[0], "87.45 and 99.99", 4),
    (CbuRevisedOnSaturday, "UZS", WEEK[4], "12198.21 and 12200", 4),
])
def test_a_day_stated_with_two_rates_stores_neither(db_path, fake, currency, day, values, rows):
    """Once the last one silently won (whichever came later in the page or the run)."""
    with fake(week_rates(), today=WEEK[-1] + dt.timedelta(days=7)) as banks:
        done = fetch(banks, db_path, "--currency", currency)
    assert done.code == 1, done.stderr
    failed = [line for line in done.lines if line.startswith("failed: ")]
    assert len(failed) == 1 and f"{day} is stated with two rates, {values} per USD" in failed[0]
    assert failed[0].endswith("; neither is stored"), failed
    kept = stored(db_path)
    assert day.isoformat() not in {r[1] for r in kept} and len(kept) == rows
    assert all(D(r[2]) == week_rates()[currency][dt.date.fromisoformat(r[1])] for r in kept)


class Utf16Doctype(FakeBanks):
    """NBK's document in UTF-16 with a DOCTYPE whose entity is the rate: the byte search for
    `<!DOCTYPE` cannot see it, yet docs/official.md says such XML is refused."""

    def _nbk(self, path: str, query: dict[str, str], wrong: bool) -> bytes:
        day = self._day(query["fdate"], "%d.%m.%Y")
        return (f'<?xml version="1.0" encoding="utf-16"?><!DOCTYPE rates [<!ENTITY usd '
                f'"512.34">]><rates><date>{day:%d.%m.%Y}</date><item><title>USD</title>'
                "<description>&usd;</description><quant>1</quant></item></rates>"
                ).encode("utf-16")


def test_a_doctype_in_utf16_is_refused_like_any_other(db_path):
    with Utf16Doctype(week_rates(), today=WEEK[-1] + dt.timedelta(days=7)) as banks:
        done = fetch(banks, db_path, "--currency", "KZT", end=WEEK[0])
    assert done.code == 1, done.stderr
    assert "XML with a DOCTYPE or ENTITY declaration is refused" in done.stderr
    assert stored(db_path) == []


class CbuHugeNumber(FakeBanks):
    """CBU's list with a JSON number of 5000 digits where the rate should be."""

    def _cbu(self, path: str, query: dict[str, str], wrong: bool) -> bytes:
        return b'[{"Ccy": "USD", "Nominal": "1", "Rate": 1' + b"2" * 5000 + b', "Date": "x"}]'


def test_a_json_number_too_long_to_read_is_a_failed_request_not_a_traceback(db_path):
    with CbuHugeNumber(week_rates(), today=WEEK[-1] + dt.timedelta(days=7)) as banks:
        done = fetch(banks, db_path, "--currency", "UZS", end=WEEK[0])
    assert done.code == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert done.lines[0].endswith("JSON with a number too long to read; not the bank's list")
    assert stored(db_path) == []



def test_a_bank_that_stopped_answering_is_not_asked_day_after_day(db_path):
    """Three requests in a row that timed out or got a 5xx (after their retries) end the
    bank's requests, as a backfill does with an archive: a year asked of a dead bank was
    otherwise 365 x (retries + backoff) of waiting. The other banks are still asked."""
    with FakeBanks(week_rates(), today=WEEK[-1] + dt.timedelta(days=7)) as banks:
        banks.fault("nbk", "503", times=100)
        done = fetch(banks, db_path, "--currency", "KZT", "--currency", "TJS", "--retries", 0)
        asked = [path for path, _ in banks.requests if path.startswith("/rss/")]
    assert done.code == 1, done.stderr
    assert len(asked) == 3, asked
    failed = [line for line in done.lines if line.startswith("failed: NBK")]
    assert [line.endswith("HTTP 503 Service Unavailable (1 attempt)") for line in failed[:3]] \
        == [True] * 3, failed
    assert failed[3:] == [f"failed: NBK {WEEK[3]}..{WEEK[-1]}: 4 request(s) not sent: the bank "
                          "did not answer the 3 before; run the same command again later"]
    assert {r[0] for r in stored(db_path)} == {"TJS"}
    assert runs(db_path).iloc[-1]["rejected"] == 7


def test_ctrl_c_during_an_official_fetch_exits_3_and_a_rerun_completes_it(db_path):
    """The brief for every network command: stopped mid-request, nothing half-written, the
    exit status its --help gives, and the same command then stores everything once."""
    with FakeBanks(week_rates(), today=WEEK[-1] + dt.timedelta(days=7)) as banks:
        banks.fault("nbk", "stall")  # the first request hangs until the stop
        urls = ["--bank-url", f"nbk={banks.base}"]
        command = [sys.executable, "-m", "tracker", "official", "fetch", "--db", str(db_path),
                   "--from", str(WEEK[0]), "--to", str(WEEK[-1]), "--currency", "KZT", *urls]
        child = subprocess.Popen(command, stderr=subprocess.PIPE, text=True,
                                 env={**os.environ, "no_proxy": "127.0.0.1,localhost"})
        for _ in range(300):
            if banks.requests:
                break
            time.sleep(0.1)
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=30)
        assert child.returncode == 3, stderr
        assert "stopped: 7 NBK request(s) left" in stderr and "Traceback" not in stderr
        assert stored(db_path) == [] and runs(db_path)["finished"].notna().all()
        done = fetch(banks, db_path, "--currency", "KZT")
    assert done.code == 0, done.stderr
    assert [r[1] for r in stored(db_path)] == [d.isoformat() for d in WEEK[:5]]
    help_text = run_tracker("official", "fetch", "--help").stdout
    assert "or was stopped (Ctrl-C, SIGTERM" in help_text
