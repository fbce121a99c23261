"""Official central-bank rates and the raw answers they were read from (issue 22).

`official_rates` holds one row per publication (currency, the date the bank's document states,
the bank); `official_responses` maps each answer's SHA-256 and the URL that answered it to its
compressed bytes in the raw archive, written like snapshots' (one pack per batch, flushed
before the rows that point at it commit), so a better parser can read them again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa

from ..errors import ArchiveError
from ..raw import CODEC, compress, decompress, read_blob, write_pack
from ..rows import arrow_table, ids_table
from .connection import Connected
from .reads import _filters, _where

OFFICIAL_COLUMNS = ("currency", "rate_date", "per_usd", "source", "url", "fetched_at",
                    "parser_version")
_RATES_SCHEMA = pa.schema([
    ("currency", pa.string()), ("rate_date", pa.date32()), ("per_usd", pa.decimal128(18, 10)),
    ("source", pa.string()), ("url", pa.string()), ("fetched_at", pa.timestamp("us")),
    ("parser_version", pa.string()),
])
_RESPONSES_SCHEMA = pa.schema([
    ("response_id", pa.string()), ("url", pa.string()), ("fetched_at", pa.timestamp("us")),
    ("status", pa.int32()), ("codec", pa.string()), ("pack", pa.string()),
    ("offset", pa.int64()), ("length", pa.int64()),
])


@dataclass(frozen=True)
class RawResponse:
    """A bank's answer as it arrived: `response_id` is the SHA-256 of `body`."""

    response_id: str
    url: str
    fetched_at: dt.datetime
    status: int
    body: bytes


@dataclass(frozen=True)
class Revision:
    """A publication fetched again with another value than the stored one (kept as stored)."""

    currency: str
    rate_date: dt.date
    source: str
    stored: Decimal
    published: Decimal


@dataclass(frozen=True)
class OfficialWrite:
    """What `add_official` did: rows added, rows already present, values that changed."""

    added: int
    present: int
    revisions: tuple[Revision, ...]
    responses_added: int


class OfficialStore(Connected):
    """The official-rate reads and writes of `Store`."""

    def add_official(self, responses: Sequence[RawResponse],
                     rates: Sequence[tuple[str, dt.date, Decimal, str, str, dt.datetime, str]]
                     ) -> OfficialWrite:
        """Store answers and rates (rows of `OFFICIAL_COLUMNS`) in one transaction; what is
        already stored is left as it is (a publication is never silently rewritten)."""
        known = self._known_responses([(r.response_id, r.url) for r in responses])
        new = [r for r in responses if (r.response_id, r.url) not in known]
        stored_ids = {rid for rid, _ in known} | self._stored_bodies([r.response_id for r in new])
        blobs: dict[str, bytes] = {}
        for r in new:
            if r.response_id not in stored_ids and r.response_id not in blobs:
                blobs[r.response_id] = compress(r.body)
        where: dict[str, tuple[str, int, int]] = {}
        if blobs:
            for rid, pack, offset, length in write_pack(self.raw_dir, list(blobs.items())):
                where[rid] = (pack, offset, length)
        where.update(self._locations([r.response_id for r in new if r.response_id not in where]))
        table = arrow_table({
            "response_id": [r.response_id for r in new], "url": [r.url for r in new],
            "fetched_at": [r.fetched_at for r in new], "status": [r.status for r in new],
            "codec": [CODEC] * len(new),
            "pack": [where[r.response_id][0] for r in new],
            "offset": [where[r.response_id][1] for r in new],
            "length": [where[r.response_id][2] for r in new],
        }, _RESPONSES_SCHEMA)
        unique = {(r[0], r[1], r[3]): r for r in rates}  # one row per publication
        existing = self._existing_rates(list(unique))
        fresh = [r for key, r in unique.items() if key not in existing]
        revisions = tuple(Revision(c, d, s, existing[(c, d, s)], r[2])
                          for (c, d, s), r in unique.items()
                          if (c, d, s) in existing and existing[(c, d, s)] != r[2])
        # pa.table, not arrow_table: it builds decimals, and refuses one it would round
        rate_table = pa.table({name: [r[i] for r in fresh]
                               for i, name in enumerate(OFFICIAL_COLUMNS)}, schema=_RATES_SCHEMA)
        with self.transaction():
            with self.registered("_resp", table):
                self.con.execute(
                    "INSERT INTO official_responses SELECT response_id, url, fetched_at, status, "
                    'codec, pack, "offset", length FROM _resp ON CONFLICT DO NOTHING')
            with self.registered("_rates", rate_table):
                self.con.execute(
                    f"INSERT INTO official_rates SELECT {', '.join(OFFICIAL_COLUMNS)} "
                    "FROM _rates ON CONFLICT DO NOTHING")
        return OfficialWrite(len(fresh), len(unique) - len(fresh), revisions, len(new))

    def _known_responses(self, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        if not keys:
            return set()
        with self.registered("_ids", ids_table("response_id", sorted({k[0] for k in keys}))):
            rows = self.con.execute(
                "SELECT response_id, url FROM official_responses "
                "WHERE response_id IN (SELECT response_id FROM _ids)").fetchall()
        return {(str(a), str(b)) for a, b in rows} & set(keys)

    def _stored_bodies(self, ids: list[str]) -> set[str]:
        return set(self._locations(ids))

    def _locations(self, ids: list[str]) -> dict[str, tuple[str, int, int]]:
        if not ids:
            return {}
        rows = self.con.execute(
            'SELECT DISTINCT response_id, pack, "offset", length FROM official_responses '
            f"WHERE response_id IN ({', '.join('?' for _ in ids)})", ids).fetchall()
        return {str(r[0]): (str(r[1]), int(r[2]), int(r[3])) for r in rows}

    def _existing_rates(self, keys: list[tuple[str, dt.date, str]]
                        ) -> dict[tuple[str, dt.date, str], Decimal]:
        if not keys:
            return {}
        currencies = sorted({k[0] for k in keys})
        rows = self.con.execute(
            "SELECT currency, rate_date, source, per_usd FROM official_rates "
            f"WHERE currency IN ({', '.join('?' for _ in currencies)}) "
            "AND rate_date BETWEEN ? AND ?",
            [*currencies, min(k[1] for k in keys), max(k[1] for k in keys)]).fetchall()
        wanted = set(keys)
        return {(str(c), d, str(s)): v for c, d, s, v in rows if (c, d, s) in wanted}

    # -- reads -------------------------------------------------------------------------------

    def official_rates(self, currencies: Sequence[str] | None = None,
                       start: dt.date | None = None, end: dt.date | None = None) -> pa.Table:
        """Official rates of these currencies from `start` to `end` (rate dates), oldest first."""
        conds, params = _filters(currencies, None, None)
        if start is not None:
            conds.append("rate_date >= ?")
            params.append(start)
        if end is not None:
            conds.append("rate_date <= ?")
            params.append(end)
        return self.arrow(
            f"SELECT {', '.join(OFFICIAL_COLUMNS)} FROM official_rates {_where(conds)} "
            "ORDER BY currency, rate_date, source", params)

    def has_official_rates(self) -> bool:
        return bool(self.con.execute("SELECT count(*) FROM official_rates").fetchall()[0][0])

    def official_responses(self) -> pa.Table:
        """Every kept answer: its SHA-256, the URL that answered it, when, its status."""
        return self.arrow("SELECT response_id, url, fetched_at, status, length FROM "
                          "official_responses ORDER BY fetched_at, url")

    def load_official_response(self, response_id: str) -> bytes:
        """An answer's original bytes, checked against its SHA-256."""
        where = self._locations([response_id])
        if response_id not in where:
            raise ArchiveError(f"no bank answer {response_id[:12]} is recorded in {self.path}; "
                               "fetch it again with `tracker official fetch`")
        pack, offset, length = where[response_id]
        blob = read_blob(self.raw_dir, pack, offset, length, snapshot_id=response_id)
        return decompress(blob, CODEC, snapshot_id=response_id)
