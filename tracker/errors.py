"""One small exception tree: every message says what went wrong, where, and how to fix it."""

from __future__ import annotations


class TrackerError(Exception):
    """Base of every error the tracker raises on purpose."""


class ParseError(TrackerError):
    """A snapshot's content cannot be turned into a ticker reading."""

    def __init__(self, message: str, source: str = "<input>") -> None:
        self.source = source
        self.reason = message
        super().__init__(f"{message} in {source}" if source else message)


class DecodeError(ParseError):
    """The bytes are not text in their charset (declared, marked, or UTF-8 by default)."""


class NoTickerError(ParseError):
    """The page carries no currency ticker."""


class MalformedTickerError(ParseError):
    """The ticker is there but a line or its structure cannot be trusted."""


class InvalidDateError(ParseError):
    """The header date line names a day that does not exist."""


class SourceError(TrackerError):
    """An input cannot be read: missing, unreadable, too large, corrupt compression."""

    def __init__(self, message: str, source: str) -> None:
        self.source = source
        self.reason = message
        super().__init__(f"{source}: {message}")


class FetchError(SourceError):
    """A remote resource (a live page, an archive's answer) could not be fetched."""


class RefusedError(FetchError):
    """The server kept refusing (429, or 503 with Retry-After): stop asking, continue later."""


class StoreError(TrackerError):
    """The database cannot be opened or written."""


class DatabaseBusyError(StoreError):
    """Another process holds the database's write lock."""


class DatabaseMissingError(StoreError):
    """The database file does not exist."""


class ArchiveError(StoreError):
    """The raw-snapshot archive cannot be written or read (permissions, full disk)."""


class UsageError(TrackerError):
    """The caller asked for something that makes no sense (bad option value, bad date)."""


class QueryError(UsageError):
    """An ad-hoc SQL query failed: a syntax error, an unknown table or column, an attempt to
    write through a read-only connection."""


class MarkupError(ParseError):
    """HTML that no browser lays out as written (nested deeper than browsers allow)."""


class OfficialRateError(SourceError):
    """A central bank's answer cannot be turned into an official rate (never a guessed number).

    `source` is the URL asked; the message says what the answer held instead.
    """


class BankResponseError(OfficialRateError):
    """The answer is not the bank's documented shape: malformed XML/JSON, wrong structure."""


class ErrorPageError(BankResponseError):
    """The bank answered with an HTML page (an error or maintenance page), often with status 200."""


class MissingRateError(OfficialRateError):
    """The bank's document is well formed but lists no USD rate."""


class InvalidRateError(OfficialRateError):
    """A rate or nominal that cannot be a price: zero, negative, not a number, inexact division."""


class WrongDateError(OfficialRateError):
    """The document states another date than the one asked for (e.g. NBT answers today's rates
    for a date out of its range)."""
