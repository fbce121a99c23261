"""Golden files for the parser: `data/samples/X` ↔ `data/samples/X.expected.json`.

Regenerate after a deliberate parser change, then review the diff:
    .venv/bin/python -m tests.golden
"""

from __future__ import annotations

import json
from pathlib import Path

from tracker.containers import is_container_name
from tracker.errors import ParseError
from tracker.ingest import RawInput, is_snapshot_name, read_input
from tracker.parse import parse
from tracker.prepare import container_inputs

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


def sample_files() -> list[Path]:
    return sorted(p for p in SAMPLES.iterdir()
                  if is_snapshot_name(p.name) or is_container_name(p.name))


def golden_path(sample: Path) -> Path:
    return sample.with_name(sample.name + ".expected.json")


def describe(sample: Path) -> dict:
    """The parser's output for a sample as plain JSON-able data (for a WARC or MHTML file:
    each snapshot inside it, with its source and dates, and what was skipped)."""
    if not is_container_name(sample.name):
        return describe_bytes(read_input(RawInput(source=sample.name, path=sample)), sample.name)
    inputs, skipped, errors = container_inputs(sample)
    prefix = str(sample.parent) + "/"
    return {
        "snapshots": [
            {
                "source": item.source.removeprefix(prefix),
                "original_url": item.original_url,
                "captured_at": item.captured_at.isoformat() if item.captured_at else None,
                "charset": item.charset,
                **describe_bytes(read_input(item), item.source, item.charset),
            }
            for item in inputs
        ],
        "skipped": [s.removeprefix(prefix) for s in skipped],
        "errors": [[src.removeprefix(prefix), why] for src, why in errors],
    }


def describe_bytes(data: bytes, source: str, charset: str | None = None) -> dict:
    try:
        page = parse(data, source=source, charset=charset)
    except ParseError as exc:
        return {"error": type(exc).__name__, "reason": exc.reason}
    return {
        "header_date": page.header_date.isoformat() if page.header_date else None,
        "ticker_copies": page.ticker_copies,
        "copies_agree": page.copies_agree,
        "quotes": [
            {
                "pair": q.pair,
                "rate": str(q.rate),
                "rate_text": q.rate_text,
                "change_pct": str(q.change_pct),
                "change_text": q.change_text,
            }
            for q in page.quotes
        ],
        "meta": {
            "content_type": page.meta.content_type,
            "had_bom": page.meta.had_bom,
            "newline": page.meta.newline,
            "listing": page.meta.listing.text if page.meta.listing else None,
            "title": page.meta.title,
        },
        "ticker_lines": len(page.ticker_lines),
        "warnings": list(page.warnings),
    }


def main() -> None:
    for sample in sample_files():
        golden_path(sample).write_text(
            json.dumps(describe(sample), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        print(golden_path(sample))


if __name__ == "__main__":
    main()
