"""Golden files for the parser: `data/samples/X` ↔ `data/samples/X.expected.json`.

Regenerate after a deliberate parser change, then review the diff:
    .venv/bin/python -m tests.golden
"""

from __future__ import annotations

import json
from pathlib import Path

from tracker.errors import ParseError
from tracker.ingest import RawInput, is_snapshot_name, read_input
from tracker.parse import parse

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


def sample_files() -> list[Path]:
    return sorted(p for p in SAMPLES.iterdir() if is_snapshot_name(p.name))


def golden_path(sample: Path) -> Path:
    return sample.with_name(sample.name + ".expected.json")


def describe(sample: Path) -> dict:
    """The parser's output for a sample as plain JSON-able data."""
    data = read_input(RawInput(source=sample.name, path=sample))
    try:
        page = parse(data, source=sample.name)
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
