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
    """A live page could not be fetched."""


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
