"""Fetching live pages: bounded, polite, and honest about every failure.

A fetch either returns a 200 answer with an HTML or text body no larger than the limit, or
raises `FetchError` with a reason a person can act on. It never guesses: a 500 page, a
timeout or an image is a failed fetch, never data. Only http and https are spoken, at most
`MAX_REDIRECTS` redirects are followed, bodies are read in chunks and abandoned past the size
limit, and 5xx answers, timeouts and broken connections are retried with exponential backoff
(4xx answers are not: asking again will not help).
"""

from __future__ import annotations

import datetime as dt
import http.client
import random
import ssl
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from . import __version__
from .encoding import charset_of_content_type
from .errors import FetchError
from .ingest import MAX_BYTES, RawInput
from .store import utcnow

USER_AGENT = f"tracker/{__version__} (+exchange-rate research; contact in README)"
ACCEPTED_TYPES = ("text/html", "text/plain", "application/xhtml+xml")
SCHEMES = ("http", "https")
DEFAULT_TIMEOUT = 20.0
DEFAULT_RETRIES = 2
DEFAULT_BACKOFF = 1.0
MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
_REDIRECT_CODES = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class Fetched:
    """A page as it arrived: the exact body bytes and when they were fetched (naive UTC)."""

    url: str
    final_url: str
    status: int
    content_type: str
    body: bytes
    fetched_at: dt.datetime

    def as_input(self) -> RawInput:
        """The page as an ingest input: its source is the address that was asked for."""
        return RawInput(
            source=self.url, data=self.body,
            captured_at=self.fetched_at, captured_at_source="fetched",
            original_url=self.url, charset=charset_of_content_type(self.content_type),
        )


class _Transient(Exception):
    """A failure worth retrying (5xx, timeout, broken connection)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows at most `MAX_REDIRECTS` redirects, and only to http or https addresses."""

    max_redirections = MAX_REDIRECTS
    max_repeats = MAX_REDIRECTS

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        scheme = urlsplit(newurl).scheme.lower()
        if scheme not in SCHEMES:
            fp.close()
            raise FetchError(
                f"redirected to {newurl}; only http and https redirects are followed",
                req.full_url,
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(_Redirects())


def fetch(
    url: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = MAX_BYTES,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    stop: threading.Event | None = None,
) -> Fetched:
    """GET one page; retries transient failures `retries` times, waiting `backoff`·2ⁿ seconds.

    `timeout` bounds each attempt (connecting, and reading the whole body). Setting `stop`
    abandons the backoff waits, so a stopping scheduler is not held up by a dead site.
    """
    url = check_url(url)
    attempt = 0
    while True:
        try:
            return _attempt(url, timeout, max_bytes)
        except _Transient as exc:
            tries = f"{attempt + 1} attempt{'s' if attempt else ''}"
            if attempt >= retries:
                raise FetchError(f"{exc.reason} ({tries})", url) from None
            delay = backoff * 2**attempt * (0.75 + random.random() / 2)
            if stop is not None and stop.wait(delay):
                raise FetchError(f"{exc.reason} ({tries}; not retried: stopping)", url) from None
            if stop is None:
                time.sleep(delay)
            attempt += 1


def _attempt(url: str, timeout: float, max_bytes: int) -> Fetched:
    request = urllib.request.Request(
        url,
        headers={
            "User-Agent": USER_AGENT,
            "Accept": "text/html, application/xhtml+xml, text/plain;q=0.9",
            "Accept-Encoding": "identity",
        },
    )
    started = time.monotonic()
    try:
        response = _opener().open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code in _REDIRECT_CODES:
            first = str(exc.msg).splitlines()[0] if exc.msg else ""
            if "infinite loop" in str(exc.msg):
                first = f"more than {MAX_REDIRECTS} redirects, or a redirect loop"
            raise FetchError(f"redirect not followed: {first}", url) from None
        reason = f"HTTP {exc.code} {exc.reason}".rstrip()
        if exc.code >= 500:
            raise _Transient(reason) from None
        raise FetchError(reason, url) from None
    except urllib.error.URLError as exc:
        raise _classify(exc.reason, timeout, url) from None
    except (TimeoutError, OSError, http.client.HTTPException) as exc:
        raise _classify(exc, timeout, url) from None
    with response:
        fetched_at = utcnow()
        if response.status != 200:
            raise FetchError(
                f"HTTP {response.status} {response.reason}: only a 200 answer is a page", url
            )
        declared = response.headers.get("Content-Type")
        ctype = response.headers.get_content_type() if declared else "none"
        if ctype not in ACCEPTED_TYPES:
            raise FetchError(
                f"non-HTML body (Content-Type {declared or 'missing'}); expected one of "
                f"{', '.join(ACCEPTED_TYPES)}",
                url,
            )
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > max_bytes:
            raise FetchError(_too_large(f"{int(length):,} bytes", max_bytes), url)
        body = bytearray()
        try:
            while True:
                if time.monotonic() - started > timeout:
                    raise _Transient(f"timed out after {timeout:g} s while reading the body")
                chunk = response.read1(_CHUNK)
                if not chunk:
                    break
                body += chunk
                if len(body) > max_bytes:
                    raise FetchError(_too_large(f"more than {max_bytes:,} bytes", max_bytes), url)
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            raise _classify(exc, timeout, url) from None
        return Fetched(
            url=url, final_url=response.url, status=response.status, content_type=ctype,
            body=bytes(body), fetched_at=fetched_at,
        )


def _too_large(size: str, limit: int) -> str:
    return f"body is {size}, over the {limit:,}-byte limit for one snapshot"


def _classify(exc: object, timeout: float, url: str) -> Exception:
    """A low-level failure as a retryable `_Transient` or a final `FetchError`."""
    if isinstance(exc, TimeoutError):
        return _Transient(f"timed out after {timeout:g} s")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return FetchError(f"TLS certificate not accepted ({exc.verify_message})", url)
    if isinstance(exc, http.client.IncompleteRead):
        return _Transient("connection closed before the whole body arrived")
    if isinstance(exc, (OSError, http.client.HTTPException)):
        detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return _Transient(f"connection failed ({detail})")
    return FetchError(f"cannot be fetched ({exc})", url)
