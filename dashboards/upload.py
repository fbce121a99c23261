"""Uploaded files → the same ingest path as `tracker ingest`, one result per file.

The bytes go straight to `tracker.ingest.ingest` (which keeps them in the raw archive beside
the database): nothing is written anywhere else, and the uploaded name is only used, cleaned,
as the snapshot's source (where a date in it still counts as date evidence).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from tracker.humane import size
from tracker.ingest import SNAPSHOT_SUFFIXES, RawInput, ingest, is_snapshot_name

from .data import Settings

SOURCE_PREFIX = "upload/"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 120
UPLOAD_TIMEOUT = 30.0
# what the file chooser offers; the server checks again, since a drop ignores it
ACCEPT = ",".join([*SNAPSHOT_SUFFIXES, *(s + ".gz" for s in SNAPSHOT_SUFFIXES), ".gz"])
# the types browsers give snapshot files (octet-stream or nothing when they do not know)
_MEDIA_TYPES = ("text/", "application/gzip", "application/x-gzip", "application/octet-stream",
                "application/xhtml+xml")


@dataclass(frozen=True)
class UploadResult:
    name: str  # the cleaned file name
    status: str  # ingested | present | rejected
    reason: str | None = None
    captured_on: dt.date | None = None
    snapshot_id: str | None = None


def safe_name(name: str | None) -> str:
    """The file's base name with anything but letters, digits, `._-` replaced by `_`."""
    base = re.split(r"[\\/]", str(name or ""))[-1]
    base = _UNSAFE.sub("_", base).strip("._") or "upload"
    return base[-MAX_NAME:]


def check_kind(name: str, content: str | None) -> None:
    """Only page snapshots: a snapshot file name and a text, HTML or gzip media type."""
    media = (content or "").partition(",")[0].removeprefix("data:").partition(";")[0].lower()
    if not is_snapshot_name(name) or (media and not media.startswith(_MEDIA_TYPES)):
        raise ValueError(
            f"not a page snapshot ({media or 'unknown type'}); the dashboard takes "
            ".txt, .html and .htm files, optionally gzipped (.gz)"
        )


def decode_upload(content: str | None, limit: int) -> bytes:
    """The bytes of a `dcc.Upload` data URL; ValueError with a readable reason if unusable."""
    if not content or "," not in content:
        raise ValueError("the browser sent no content for this file; try dropping it again")
    header, payload = content.split(",", 1)
    if not header.endswith(";base64"):
        raise ValueError("the browser did not send the file as base64; try another browser")
    approx = len(payload) * 3 // 4
    if approx > limit + 3:
        raise ValueError(
            f"is about {size(approx)}, over the dashboard's limit of {size(limit)} for one "
            "snapshot; is it really a page snapshot? (larger files: `tracker ingest "
            "--max-bytes N FILE`)"
        )
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the upload is not valid base64; try dropping the file again") from None


def ingest_uploads(settings: Settings, files: Sequence[tuple[str | None, str | None]]
                   ) -> list[UploadResult]:
    """Ingest (name, data URL) pairs; results in the same order."""
    results: list[UploadResult | None] = [None] * len(files)
    inputs: list[RawInput] = []
    positions: list[int] = []
    for i, (name, content) in enumerate(files):
        clean = safe_name(name)
        if i >= settings.max_upload_files:
            results[i] = UploadResult(clean, "rejected", (
                f"over the limit of {settings.max_upload_files} files per drop; "
                "drop the rest separately (or use `tracker ingest FOLDER`)"))
            continue
        try:
            check_kind(clean, content)
            data = decode_upload(content, settings.max_upload_bytes)
        except ValueError as exc:
            results[i] = UploadResult(clean, "rejected", str(exc))
            continue
        inputs.append(RawInput(source=SOURCE_PREFIX + clean, data=data))
        positions.append(i)
    if inputs:
        summary = ingest(inputs, db_path=settings.db_path, max_bytes=settings.max_upload_bytes,
                         timeout=UPLOAD_TIMEOUT)
        for i, outcome in zip(positions, summary.outcomes, strict=True):
            results[i] = UploadResult(
                name=outcome.source.removeprefix(SOURCE_PREFIX), status=outcome.status,
                reason=outcome.reason, captured_on=outcome.captured_on,
                snapshot_id=outcome.snapshot_id,
            )
    return [r for r in results if r is not None]
