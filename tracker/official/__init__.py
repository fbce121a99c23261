"""Official daily rates against the US dollar from the central banks, and how the ticker
compares with them (issue 22). Pure parts: adapters, parsers, findings; no I/O here."""

from .banks import (
           BANK_OF_CURRENCY,
           BANKS,
           CBU,
           NBK,
           NBKR,
           NBT,
           TMT_PEG,
           Bank,
           Peg,
           Request,
           bank_base,
           parse_bank_url,
)
from .config import OfficialConfig, load_official_config
from .records import OfficialRate

__all__ = ["BANKS", "BANK_OF_CURRENCY", "CBU", "NBK", "NBKR", "NBT", "TMT_PEG", "Bank",
           "OfficialConfig", "OfficialRate", "Peg", "Request", "bank_base",
           "load_official_config", "parse_bank_url"]
