"""The Wayback client against a fake archive on loopback: CDX paging in both outputs, replay of
exact bytes, every broken answer as a reason naming the request, and the capture planner."""

from __future__ import annotations

import datetime as dt
import json
import string
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.archives.wayback import Capture, Wayback, parse_cdx, plan, replay_url
from tracker.errors import FetchError
from tracker.http import Client

from .fakearchive import FakeArchive, serving, sha1_base32

PAGE = b"<html><body>KGS/USD = 0.01144 0%</body></html>"


@pytest.fixture
def archive(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeArchive]:
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with serving(FakeArchive()) as served:
        yield served


def quick(**options: object) -> Client:
    return Client(**{"timeout": 2.0, "retries": 1, "backoff": 0.05, **options})  # type: ignore[arg-type]


def stocked(archive: FakeArchive) -> list[str]:
    """Five good captures of timesca.com pages and captures the query must leave out; the
    timestamps of the good ones, in the archive's order (by URL, then time)."""
    good = [("20251201080000", "https://timesca.com/"), ("20251202090000", "https://timesca.com/"),
            ("20251203100000", "https://timesca.com/"), ("20251201120000", "https://timesca.com/news/"),
            ("20251205120000", "https://timesca.com/news/")]
    for i, (stamp, url) in enumerate(good):
        archive.add(stamp, url, PAGE + str(i).encode())
    archive.add("20251204000000", "https://timesca.com/", b"moved", statuscode="301")
    archive.add("20251204010000", "https://timesca.com/logo.png", b"png", mimetype="image/png")
    archive.add("20251101000000", "https://timesca.com/", b"before the range")
    archive.add("20251202000000", "https://example.com/", b"another site")
    return [s for s, _ in sorted(good, key=lambda g: (g[1], g[0]))]


@pytest.mark.parametrize("output", ["json", "text"])
def test_cdx_pages_are_followed_by_resume_key_and_filtered(archive, output):
    expected = stocked(archive)
    with quick() as client:
        wayback = Wayback(client, archive.base, page_size=2, output=output)
        got = list(wayback.captures("timesca.com/", start=dt.date(2025, 12, 1),
                                    end=dt.date(2025, 12, 31)))
    assert [c.timestamp for c in got] == expected
    first = got[0]
    assert first == Capture(timestamp="20251201080000", original="https://timesca.com/",
                            mimetype="text/html", status=200, digest=sha1_base32(PAGE + b"0"),
                            length=len(PAGE) + 1)
    assert first.captured_at == dt.datetime(2025, 12, 1, 8)
    assert archive.hits("/cdx/search/cdx") == 3  # 2 + 2 + 1 rows


def test_an_empty_text_answer_is_no_captures_but_an_empty_json_answer_is_an_error(archive):
    archive.faults.cdx = "empty"
    with quick() as client:
        assert list(Wayback(client, archive.base, output="text").captures("timesca.com/")) == []
        with pytest.raises(FetchError, match="empty CDX answer"):
            list(Wayback(client, archive.base).captures("timesca.com/"))
    archive.faults.cdx = None
    with quick() as client:  # a real "no captures" in JSON is `[]`
        assert list(Wayback(client, archive.base).captures("nothing.example/")) == []


@pytest.mark.parametrize(("fault", "output", "reason"), [
    ("malformed", "json", "a CDX row has 7 fields, not 6"),
    ("malformed", "text", "a CDX row has 7 fields, not 6"),
    ("cut", "json", "CDX answer is not valid JSON"),
    ("cut", "text", "does not end with a newline (cut short)"),
    ("loop", "json", "gave the resume key 'same!0' twice"),
])
def test_broken_cdx_answers_are_errors_naming_the_request(archive, fault, output, reason):
    stocked(archive)
    archive.faults.cdx = fault
    with quick() as client, pytest.raises(FetchError) as info:
        list(Wayback(client, archive.base, page_size=2, output=output).captures("timesca.com/"))
    assert reason in info.value.reason
    assert info.value.source.startswith(f"{archive.base}/cdx/search/cdx?url=timesca.com")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("replay", "reason"), [
    ("404", "HTTP 404 Not Found"),
    ("redirect", "redirect not followed: HTTP 302 Found to https://timesca.com/x"),
    ("image", "non-HTML body (Content-Type image/png)"),
    ("truncated", "connection closed before the whole body arrived (2 attempts)"),
])
def test_replay_gives_the_exact_bytes_or_a_reason(archive, replay, reason):
    good = archive.add("20251210083000", "https://timesca.com/", PAGE)
    bad = archive.add("20251211083000", "https://timesca.com/", PAGE, replay=replay)
    with quick() as client:
        wayback = Wayback(client, archive.base)
        [first, second] = list(wayback.captures("timesca.com/"))
        got = wayback.fetch(first, max_bytes=1 << 20)
        assert got.body == good.body and got.url == got.final_url
        assert got.url == f"{archive.base}/web/20251210083000id_/https://timesca.com/"
        assert got.url == replay_url(archive.base + "/", "20251210083000", "https://timesca.com/")
        with pytest.raises(FetchError) as info:
            wayback.fetch(second, max_bytes=1 << 20)
    assert reason in info.value.reason
    assert info.value.source == f"{archive.base}/web/{bad.timestamp}id_/https://timesca.com/"


def test_a_capture_that_is_not_the_planned_one_is_refused(archive):
    archive.add("20251210083000", "https://timesca.com/", PAGE)
    planned = Capture("20251210083001", "https://timesca.com/", "text/html", 200, "X", 1)
    with quick() as client, pytest.raises(FetchError, match="redirect not followed: HTTP 302"):
        Wayback(client, archive.base).fetch(planned, max_bytes=1 << 20)


def test_an_error_page_served_as_a_capture_arrives_as_bytes_for_ingest_to_judge(archive):
    archive.add("20251210083000", "https://timesca.com/", PAGE, replay="error-page")
    with quick() as client:
        wayback = Wayback(client, archive.base)
        [capture] = wayback.captures("timesca.com/")
        assert b"Wayback Machine error" in wayback.fetch(capture, max_bytes=1 << 20).body


# -- the planner -------------------------------------------------------------------------

def cap(stamp: str, digest: str) -> Capture:
    return Capture(stamp, "https://timesca.com/", "text/html", 200, digest, 100)


def test_plan_spreads_captures_over_each_day_and_drops_known_payloads():
    day1 = [cap(f"20251210{h:02d}0000", f"d{h}") for h in range(24)]
    day2 = [cap("20251211010000", "d6"), cap("20251211020000", "d6"),  # d6 planned on day 1
            cap("20251211030000", "same"), cap("20251211230000", "same")]
    got = plan(day2 + day1, per_day=2, known={"d18"})
    assert [c.timestamp for c in got] == ["20251210060000", "20251210170000",  # d18 known
                                          "20251211030000"]
    assert plan(day1, per_day=3) == [day1[4], day1[12], day1[20]]  # nearest 04:00, 12:00, 20:00
    assert plan(day1, per_day=100) == day1


stamps = st.builds(
    lambda d, s: f"202512{d:02d}{s // 3600:02d}{s // 60 % 60:02d}{s % 60:02d}",
    st.integers(1, 5), st.integers(0, 86399),
)
captures = st.lists(st.builds(cap, stamps, st.text(string.ascii_uppercase[:4], min_size=1,
                                                   max_size=2)), max_size=60)


@given(captures, st.integers(1, 5), st.sets(st.text(string.ascii_uppercase[:4], max_size=2)))
def test_plan_properties(caps, per_day, known):
    got = plan(caps, per_day, known)
    days = [c.timestamp[:8] for c in got]
    assert all(days.count(d) <= per_day for d in days)
    assert all(c in caps for c in got)
    digests = [c.digest for c in got]
    assert len(set(digests)) == len(digests) and not set(digests) & known
    assert [c.timestamp for c in got] == sorted(c.timestamp for c in got)
    # nothing new is left out: a day with fewer plans than allowed had no other new payload
    for day in set(c.timestamp[:8] for c in caps):
        if days.count(day) < per_day:
            others = {c.digest for c in caps if c.timestamp[:8] == day}
            assert others <= known | set(digests)
    again = plan(caps, per_day, known | set(digests))  # a rerun never plans a payload again
    assert not {c.digest for c in again} & set(digests)


cdx_like = st.one_of(
    st.binary(max_size=300),
    st.lists(st.lists(st.sampled_from(["20251210083000", "https://timesca.com/", "text/html", "200",
                                       "-", "ABC", "12", "", "x y", "2025121008300"]),
                      max_size=8), max_size=6).map(lambda rows: json.dumps(rows).encode()),
    st.lists(st.sampled_from(["20251210083000 https://timesca.com/ text/html 200 ABC 12", "",
                              "key", "20251210083000 a b c d", "x"]), max_size=6)
    .map(lambda lines: "".join(line + "\n" for line in lines).encode()),
)


@given(cdx_like, st.sampled_from(["json", "text"]))
def test_any_cdx_answer_gives_captures_or_a_one_line_reason(body, output):
    try:
        captures, key = parse_cdx(body, output=output, request="http://archive/cdx")
    except FetchError as exc:
        assert exc.source.startswith("http://archive/cdx") and "\n" not in exc.reason
    else:
        assert all(len(c.timestamp) == 14 for c in captures)
        assert key is None or isinstance(key, str)
