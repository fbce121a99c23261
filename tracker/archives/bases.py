"""Which archive a backfill asks, where it lives and how fast: the options `tracker backfill`,
`tracker schedule --backfill` and the dashboard's companion scheduler share, so each passes on
the same ones."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..errors import FetchError, UsageError
from ..http import check_url
from . import commoncrawl, wayback

SOURCES = ("wayback", "commoncrawl")
RATES = {"wayback": wayback.DEFAULT_RATE, "commoncrawl": commoncrawl.DEFAULT_RATE}  # their asks


@dataclass(frozen=True)
class ArchiveBases:
    """The archive options of a backfill (command-line names in `FLAGS`)."""

    source: str = "wayback"
    wayback_url: str = wayback.DEFAULT_BASE
    cc_index_url: str = commoncrawl.DEFAULT_INDEX
    cc_data_url: str = commoncrawl.DEFAULT_DATA
    max_rate: float | None = None  # requests per minute; None: the archive's own ask

    def checked(self) -> ArchiveBases:
        """Itself, if the source is known and every base is an http(s) address; else a
        `UsageError` naming the option."""
        if self.source not in SOURCES:
            raise UsageError(f"--source {self.source!r} is not one of {', '.join(SOURCES)}")
        for name in ("wayback_url", "cc_index_url", "cc_data_url"):
            try:
                check_url(getattr(self, name))
            except FetchError as exc:
                raise UsageError(f"{FLAGS[name]} {exc}") from None
        return self

    @property
    def rate(self) -> float:
        return self.max_rate or RATES[self.source]

    def options(self) -> dict[str, Any]:
        """As `tracker.backfill.Options` keywords (the rate resolved)."""
        return {**asdict(self), "max_rate": self.rate}

    def arguments(self) -> list[str]:
        """As command-line options, for a child `tracker schedule`: only those not default."""
        out: list[str] = []
        for name, value in asdict(self).items():
            if value is not None and value != getattr(DEFAULT, name):
                out += [FLAGS[name], str(value)]
        return out


FLAGS = {"source": "--source", "wayback_url": "--wayback-url", "cc_index_url": "--cc-index-url",
         "cc_data_url": "--cc-data-url", "max_rate": "--max-rate"}
DEFAULT = ArchiveBases()
