"""tracker: timesca.com currency-ticker snapshots → an exact, checked exchange-rate series."""

from .errors import ParseError, TrackerError
from .models import ParsedPage, Quote
from .parse import parse

__version__ = "0.1.0"
__all__ = ["ParseError", "ParsedPage", "Quote", "TrackerError", "__version__", "parse"]
