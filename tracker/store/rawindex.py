"""The raw archive's index as `tracker verify` and re-ingestion read and repair it."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from ..raw import CODEC, write_pack
from ..rows import arrow_table, ids_table
from .connection import Connected
from .rawfolder import referenced_packs

# (codec, pack, offset, length) of a snapshot's newest frame
Location = tuple[str, str, int, int]
_LATEST = (
    'SELECT snapshot_id, codec, pack, "offset", length FROM raw_snapshots {where} '
    "QUALIFY row_number() OVER (PARTITION BY snapshot_id ORDER BY pack DESC) = 1"
)
_RAW_SCHEMA = pa.schema([
    ("snapshot_id", pa.string()), ("pack", pa.string()), ("offset", pa.int64()),
    ("length", pa.int64()),
])


class RawIndex(Connected):
    """Where each snapshot's raw frame is, and the repair of lost or damaged frames."""

    def raw_locations(self, ids: Sequence[str] | None = None) -> dict[str, Location]:
        """`snapshot_id -> location` of the given snapshots (all when `ids` is None)."""
        if ids is None:
            rows = self.con.execute(_LATEST.format(where="")).fetchall()
        elif not ids:
            return {}
        else:
            with self.registered("_rids", ids_table("snapshot_id", ids)):
                rows = self.con.execute(_LATEST.format(
                    where="WHERE snapshot_id IN (SELECT snapshot_id FROM _rids)")).fetchall()
        return {str(r[0]): (str(r[1]), str(r[2]), int(r[3]), int(r[4])) for r in rows}

    def referenced_packs(self) -> set[str]:
        """Every pack this database's rows point at (snapshots' and official responses')."""
        return referenced_packs(self.con)

    def snapshots_without_raw(self) -> list[tuple[str, str]]:
        """`(snapshot_id, source)` of snapshots with no frame recorded at all."""
        rows = self.con.execute(
            "SELECT snapshot_id, source FROM snapshots WHERE snapshot_id NOT IN "
            "(SELECT snapshot_id FROM raw_snapshots) ORDER BY source"
        ).fetchall()
        return [(str(sid), str(source)) for sid, source in rows]

    def sources_of(self, ids: Sequence[str]) -> dict[str, str]:
        """`snapshot_id -> source` as first ingested."""
        if not ids:
            return {}
        with self.registered("_sids", ids_table("snapshot_id", ids)):
            rows = self.con.execute(
                "SELECT snapshot_id, source FROM snapshots "
                "WHERE snapshot_id IN (SELECT snapshot_id FROM _sids)"
            ).fetchall()
        return {str(sid): str(source) for sid, source in rows}

    def restore_raw(self, blobs: Sequence[tuple[str, bytes]]) -> None:
        """Point the given snapshots at freshly written frames (their bytes were lost or
        damaged): a new pack on disk first, then the index rows replaced in one transaction."""
        if not blobs:
            return
        index = write_pack(self.raw_dir, blobs)
        table = arrow_table({
            "snapshot_id": [r[0] for r in index], "pack": [r[1] for r in index],
            "offset": [r[2] for r in index], "length": [r[3] for r in index],
        }, _RAW_SCHEMA)
        with self.transaction(), self.registered("_fixed", table):
            self.con.execute(
                "DELETE FROM raw_snapshots WHERE snapshot_id IN (SELECT snapshot_id FROM _fixed)"
            )
            self.con.execute(
                f"INSERT INTO raw_snapshots SELECT snapshot_id, '{CODEC}', pack, \"offset\", "
                "length FROM _fixed"
            )
