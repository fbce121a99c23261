"""One polite HTTP client for every remote source (live pages, web archives, central banks).

Polite: it says who it is (`USER_AGENT`), spaces its requests by a rate limit shared by every
request of one client (retries and redirect hops count), and when a server refuses (`429`, or
`503` with `Retry-After`) it waits as long as asked, pauses the whole client meanwhile, and gives
up with `RefusedError` after a few refusals instead of hammering. Bounded: one wall-clock
deadline per attempt covers connecting, the headers and the body (httpx's own timeouts bound
each read, so a server trickling one byte a second could keep it going forever), bodies are read
in chunks and abandoned past a size cap, at most `MAX_REDIRECTS` redirects are followed and only
to http(s). A `stop` event makes a waiting or fetching call return within `SLICE` seconds.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from . import __version__
from .deadline import SLICE, DeadlineTransport, Stopped, limits
from .encoding import charset_of_content_type, text_codec
from .errors import FetchError, RefusedError
from .escape import printable
from .store import utcnow

USER_AGENT = f"tracker/{__version__} (+exchange-rate research; contact in README)"
SCHEMES = ("http", "https")
DEFAULT_TIMEOUT = 20.0
DEFAULT_RETRIES = 2
DEFAULT_BACKOFF = 1.0
MAX_REDIRECTS = 5
MAX_REFUSALS = 3  # refusals (429, 503 + Retry-After) of one request before giving up
MAX_WAIT = 600.0  # a Retry-After longer than this ends the request at once: come back later
MAX_TRANSIENT = 3  # requests in a row failing transiently: the server is not answering; stop
_CHUNK = 64 * 1024
# codings that compress (a bogus `Content-Encoding: none` or `UTF-8`, which servers send, is no layer)
_COMPRESSIONS = ("gzip", "x-gzip", "deflate", "br", "zstd", "compress", "x-compress")
_REDIRECT_CODES = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class Response:
    """A final answer: the exact body bytes and when its headers arrived (naive UTC)."""

    url: str
    final_url: str
    status: int
    reason: str
    content_type: str  # the media type, lowercase; "none" when the header is missing
    headers: Mapping[str, str]
    body: bytes
    fetched_at: dt.datetime

    @property
    def charset(self) -> str | None:
        """The charset the Content-Type header names, if it is one Python knows: browsers
        ignore a label they do not know and read the page's own declaration instead."""
        named = charset_of_content_type(self.headers.get("content-type"))
        return named if named is not None and text_codec(named) is not None else None


def check_url(url: str) -> str:
    """The address if it can be fetched, else a `FetchError` saying how to write it."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise FetchError(f"is not a valid address ({exc})", url) from None
    if not url.strip().isascii():
        raise FetchError(
            "contains non-ASCII characters; percent-encode them (copy the address from the "
            "browser's address bar)",
            url,
        )
    if any(c < " " or c == "\x7f" for c in url.strip()):  # urlsplit drops a newline unseen
        raise FetchError("contains a control character (a newline, a tab, an escape); copy "
                         "the address again", url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        shown = f"'{scheme}:'" if scheme else "no scheme"
        raise FetchError(
            f"has {shown}; only http:// and https:// addresses are fetched "
            "(write the full address, e.g. https://timesca.com/)",
            url,
        )
    if not parts.hostname:
        raise FetchError("has no host name; write e.g. https://timesca.com/", url)
    return url.strip()


class RateLimit:
    """At most `per_minute` request starts per minute, after a burst of `burst`; thread-safe.

    A token bucket of our own: the maintained limiters (pyrate-limiter, limits) sleep in ways a
    stop event cannot cut short, and none offers the client-wide pause a `Retry-After` asks for.
    """

    def __init__(self, per_minute: float, burst: int = 1) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("the rate must be positive and the burst at least 1")
        self.interval = 60.0 / per_minute
        self.burst = burst
        self._lock = threading.Lock()
        self._due = time.monotonic()  # when the next request would be on time (GCRA's TAT)
        self._held_until = 0.0

    def hold(self, seconds: float) -> None:
        """No request starts for `seconds` (a server asked every client of ours to wait)."""
        with self._lock:
            self._held_until = max(self._held_until, time.monotonic() + seconds)

    def acquire(self, stop: threading.Event | None = None) -> bool:
        """Wait for a slot and take it; False (no slot taken) if `stop` was set meanwhile."""
        while True:
            with self._lock:
                now = time.monotonic()
                early = self._due - (self.burst - 1) * self.interval
                start = max(now, self._held_until, early)
                if start <= now:
                    # a start late by less than one interval (a sleep's overshoot, the last
                    # request's own time) keeps the schedule: over time the rate is the limit
                    idle = now - self._due >= self.interval
                    self._due = (now if idle else self._due) + self.interval
                    return True
            if _wait(stop, min(start - now, SLICE)):
                return False


def _wait(stop: threading.Event | None, seconds: float) -> bool:
    """Sleep; True if `stop` was set (at once, or during the sleep)."""
    if stop is None:
        time.sleep(max(seconds, 0))
        return False
    return stop.wait(max(seconds, 0))


class _Transient(Exception):
    """A failure worth retrying (5xx, timeout, broken connection)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Refused(Exception):
    """A 429 (or 503 with Retry-After): wait `delay` seconds (None: not said)."""

    def __init__(self, reason: str, delay: float | None) -> None:
        super().__init__(reason)
        self.reason, self.delay = reason, delay


class Client:
    """Every request of one client shares its rate limit; one client per source and run."""

    def __init__(
        self,
        *,
        rate: float | None = None,
        burst: int = 1,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        max_refusals: int = MAX_REFUSALS,
        max_wait: float = MAX_WAIT,
        stop: threading.Event | None = None,
        transport: httpx.BaseTransport | None = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.limit = RateLimit(rate, burst) if rate else None
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.max_refusals, self.max_wait, self.stop = max_refusals, max_wait, stop
        self._http = httpx.Client(
            transport=transport or DeadlineTransport(), follow_redirects=False,
            timeout=httpx.Timeout(timeout), headers={"User-Agent": user_agent},
        )
        self.requests = 0  # requests sent, retries and redirect hops included
        self._count = threading.Lock()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def get(
        self,
        url: str,
        *,
        max_bytes: int,
        headers: Mapping[str, str] | None = None,
        types: tuple[str, ...] | None = None,
        ok: tuple[int, ...] = (200,),
        redirects: int = MAX_REDIRECTS,
    ) -> Response:
        """GET `url`: a `Response` with a status in `ok` (and a media type in `types`), or
        `FetchError` saying why not. Transient failures are retried `retries` times, waiting
        `backoff`·2ⁿ seconds (±25%); refusals wait as asked, up to `max_refusals` times. At most
        `redirects` redirects are followed (0: a redirect is an error, e.g. where the address
        asked for is the provenance)."""
        url = check_url(url)
        attempt = refusals = 0
        while True:
            try:
                return self._attempt(url, max_bytes, dict(headers or {}), types, ok, redirects)
            except _Transient as exc:
                tries = f"{attempt + 1} attempt{'s' if attempt else ''}"
                if attempt >= self.retries:
                    raise FetchError(f"{exc.reason} ({tries})", url) from None
                delay = self.backoff * 2**attempt * (0.75 + random.random() / 2)
                if _wait(self.stop, delay):
                    raise FetchError(f"{exc.reason} ({tries}; not retried: stopping)", url) from None
                attempt += 1
            except _Refused as exc:
                refusals += 1
                delay = exc.delay
                if delay is None:
                    delay = self.backoff * 2 ** (refusals - 1) * (0.75 + random.random() / 2)
                if refusals >= self.max_refusals:
                    raise RefusedError(
                        f"{exc.reason}: refused {refusals} times in a row; stopped asking "
                        "(wait a while, then run the same command again)", url) from None
                if delay > self.max_wait:
                    raise RefusedError(
                        f"{exc.reason}: asked to wait {delay:.0f} s, more than {self.max_wait:.0f} s; "
                        "run the same command again later", url) from None
                if self.limit is not None:
                    self.limit.hold(delay)
                if _wait(self.stop, delay):
                    raise FetchError(f"{exc.reason} (not retried: stopping)", url) from None

    def _attempt(self, url: str, max_bytes: int, headers: dict[str, str],
                 types: tuple[str, ...] | None, ok: tuple[int, ...], redirects: int) -> Response:
        headers.setdefault("Accept-Encoding", "identity")  # the exact bytes, as served
        current, hops = url, 0
        limits.stop, limits.deadline = self.stop, None
        try:
            while True:
                if self.limit is not None and not self.limit.acquire(self.stop):
                    raise FetchError("not fetched: stopping", url)
                if limits.deadline is None:  # the first request: waiting is no part of it
                    limits.deadline = time.monotonic() + self.timeout
                with self._count:
                    self.requests += 1
                request = self._http.build_request("GET", current, headers=headers)
                response = self._http.send(request, stream=True)
                try:
                    if response.status_code in _REDIRECT_CODES:
                        current = self._redirect(url, current, response, hops, redirects)
                        hops += 1
                        continue
                    return self._read(url, current, response, max_bytes, types, ok)
                finally:
                    response.close()
        except Stopped:
            raise FetchError("not fetched: stopping", url) from None
        except httpx.TimeoutException as exc:
            phase = "connecting" if isinstance(exc, httpx.ConnectTimeout) else "waiting for the answer"
            raise _Transient(f"timed out after {self.timeout:g} s {phase}") from None
        except httpx.HTTPError as exc:
            raise _classify(exc, url) from None
        except httpx.InvalidURL as exc:
            raise FetchError(f"is not a valid address ({exc})", current) from None
        finally:
            limits.stop = limits.deadline = None

    def _redirect(self, url: str, current: str, response: httpx.Response, hops: int,
                  redirects: int) -> str:
        location: str | None = response.headers.get("Location")
        status = f"HTTP {response.status_code} {printable(response.reason_phrase)}".rstrip()
        if not location:
            raise FetchError(f"redirect not followed: {status} without a Location header", url)
        target = urljoin(current, location)  # httpx has checked it is a valid address
        if urlsplit(target).scheme.lower() not in SCHEMES:
            raise FetchError(f"redirected to {target}; only http and https redirects are followed", url)
        try:
            check_url(target)
        except FetchError as exc:
            raise FetchError(f"redirected to {target!r}, which {exc.reason}", url) from None
        if redirects == 0:
            raise FetchError(f"redirect not followed: {status} to {target}", url)
        if hops >= redirects:
            raise FetchError(
                f"redirect not followed: more than {redirects} redirects, or a redirect loop", url)
        return target

    def _read(self, url: str, current: str, response: httpx.Response, max_bytes: int,
              types: tuple[str, ...] | None, ok: tuple[int, ...]) -> Response:
        fetched_at = utcnow()
        code = response.status_code
        status = f"HTTP {code} {printable(response.reason_phrase)}".rstrip()  # stored in `runs`
        if code in (429, 503):
            delay = retry_after(response.headers.get("Retry-After"))
            if code == 429 or delay is not None:
                raise _Refused(status, delay)
        if code >= 500 and code not in ok:
            raise _Transient(status)
        if code >= 400 and code not in ok:
            raise FetchError(status, url)
        if code not in ok:
            codes = "/".join(map(str, ok))
            wanted = "a 200 answer is a page" if ok == (200,) else f"HTTP {codes} is expected"
            raise FetchError(f"{status}: only {wanted}", url)
        declared = response.headers.get("Content-Type")
        ctype = declared.split(";")[0].strip().lower() if declared else "none"
        if types is not None and ctype not in types:
            raise FetchError(
                f"non-HTML body (Content-Type {declared or 'missing'}); expected one of "
                f"{', '.join(types)}" if "text/html" in types else
                f"unexpected body (Content-Type {declared or 'missing'}); expected {', '.join(types)}",
                url,
            )
        coding = response.headers.get("Content-Encoding", "identity").strip().lower()
        layers = [c.strip() for c in coding.split(",") if c.strip() in _COMPRESSIONS]
        if layers and (layers not in (["gzip"], ["x-gzip"]) or types is None):
            raise FetchError(  # a page's one gzip layer is read by ingest; nothing else is
                f"the answer is compressed (Content-Encoding: {printable(coding)[:40]}) though "
                "it was asked for as it is (identity); not read", url)
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > max_bytes:
            raise FetchError(too_large(f"{int(length):,} bytes", max_bytes), url)
        body = bytearray()
        try:
            for chunk in response.iter_raw(_CHUNK):
                body += chunk
                if len(body) > max_bytes:
                    raise FetchError(too_large(f"more than {max_bytes:,} bytes", max_bytes), url)
                if time.monotonic() > limits.deadline:
                    raise httpx.ReadTimeout("the deadline passed")
        except httpx.TimeoutException:
            raise _Transient(f"timed out after {self.timeout:g} s while reading the body") from None
        return Response(
            url=url, final_url=current, status=code, reason=response.reason_phrase,
            content_type=ctype, headers=dict(response.headers), body=bytes(body),
            fetched_at=fetched_at,
        )


def transient(exc: Exception) -> bool:
    """A failure worth another try later: the client gave up retrying (timeouts, 5xx,
    connections closed mid-body all end "(N attempts)"); a 404, a redirect or a non-HTML
    answer is the answer itself, and stays so."""
    return isinstance(exc, FetchError) and exc.reason.endswith(("attempt)", "attempts)"))


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delay-seconds or an HTTP date); None if
    absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²" is a digit to str.isdigit, not to float
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max((when - dt.datetime.now(dt.UTC)).total_seconds(), 0.0)


def too_large(size: str, limit: int) -> str:
    return f"body is {size}, over the {limit:,}-byte limit"


def _classify(exc: BaseException, url: str) -> Exception:
    """A low-level failure as a retryable `_Transient` or a final `FetchError`."""
    cause: BaseException | None = exc
    while cause is not None:  # httpx wraps httpcore wraps the ssl/socket error
        if isinstance(cause, ssl.SSLCertVerificationError):
            return FetchError(f"TLS certificate not accepted ({cause.verify_message})", url)
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.RemoteProtocolError) and "location header" in str(exc):
        return FetchError(f"redirect not followed: {exc}", url)  # httpx reads Location itself
    if isinstance(exc, httpx.RemoteProtocolError) and "buffer too long" in str(exc):
        return FetchError("the answer's headers are over 100 KB (a redirect to a huge address, "
                          "or not an HTTP server); not retried", url)  # h11 in httpcore
    if isinstance(exc, httpx.RemoteProtocolError) and "complete message body" in str(exc):
        return _Transient("connection closed before the whole body arrived")
    if isinstance(exc, httpx.RemoteProtocolError) and "disconnected" not in str(exc):
        return _Transient(f"the answer is not valid HTTP ({exc})")  # retried: a proxy's hiccup?
    if isinstance(exc, httpx.TransportError):
        return _Transient(f"connection failed ({exc or type(exc).__name__})")
    return FetchError(f"cannot be fetched ({exc})", url)
