"""Fetching live pages: bounded, polite, and honest about every failure.

A fetch either returns a 200 answer with an HTML or text body no larger than the limit, or
raises `FetchError` with a reason a person can act on. It never guesses: a 500 page, a
timeout or an image is a failed fetch, never data. The rules every remote request follows
(http/https only, bounded redirects, one deadline per attempt, retries with backoff for 5xx,
timeouts and broken connections but not 4xx, `Retry-After` honoured, a rate limit) live in
`tracker.http`, shared with the web-archive and central-bank clients.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

from .http import (
    DEFAULT_BACKOFF,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    MAX_REDIRECTS,
    USER_AGENT,
    Client,
    check_url,
)
from .ingest import MAX_BYTES, RawInput

__all__ = [
    "ACCEPTED_TYPES", "DEFAULT_BACKOFF", "DEFAULT_RATE", "DEFAULT_RETRIES", "DEFAULT_TIMEOUT",
    "MAX_REDIRECTS", "USER_AGENT", "Fetched", "check_url", "fetch", "page_client",
]

ACCEPTED_TYPES = ("text/html", "text/plain", "application/xhtml+xml")
DEFAULT_RATE = 30.0  # requests per minute to the live site, after a burst of `_BURST`
_BURST = 10


@dataclass(frozen=True)
class Fetched:
    """A page as it arrived: the exact body bytes and when they were fetched (naive UTC)."""

    url: str
    final_url: str
    status: int
    content_type: str  # the media type alone, lowercase
    body: bytes
    fetched_at: dt.datetime
    charset: str | None = None  # the Content-Type header's charset, if it names one

    def as_input(self) -> RawInput:
        """The page as an ingest input: its source is the address that was asked for."""
        return RawInput(
            source=self.url, data=self.body,
            captured_at=self.fetched_at, captured_at_source="fetched",
            original_url=self.url, charset=self.charset,
        )


def page_client(
    *,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    stop: threading.Event | None = None,
) -> Client:
    """The client for live pages: one per run, so its rate limit covers the whole run."""
    return Client(rate=DEFAULT_RATE, burst=_BURST, timeout=timeout, retries=retries,
                  backoff=backoff, stop=stop)


def fetch(
    url: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = MAX_BYTES,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    stop: threading.Event | None = None,
    client: Client | None = None,
) -> Fetched:
    """GET one page; retries transient failures `retries` times, waiting `backoff`·2ⁿ seconds.

    `timeout` bounds each attempt as a whole (connecting, the headers and the whole body).
    Setting `stop` abandons the waits and the fetch in progress, so a stopping scheduler is not
    held up by a dead or trickling site. `client` (from `page_client`) shares one rate limit
    between the fetches of a run; without it the options above build one for this fetch.
    """
    if client is None:
        with page_client(timeout=timeout, retries=retries, backoff=backoff, stop=stop) as own:
            return fetch(url, max_bytes=max_bytes, client=own)
    got = client.get(
        url, max_bytes=max_bytes, types=ACCEPTED_TYPES,
        headers={"Accept": "text/html, application/xhtml+xml, text/plain;q=0.9"},
    )
    return Fetched(
        url=got.url, final_url=got.final_url, status=got.status,
        content_type=got.content_type, body=got.body, fetched_at=got.fetched_at,
        charset=got.charset,
    )
