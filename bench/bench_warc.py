"""WARC skip speed: a crawl of other sites' pages gone through, as a ratio to `cat` of the file.

    .venv/bin/python bench/bench_warc.py [--mb 1024] [--warcio-mb 100] [--formats warc.gz,warc]

Writes a crawl of ~`--mb` MB (responses of other sites' ~20 KB pages, each after its request,
an image now and then; one gzip member per record for `.warc.gz`), then times, on the same
file in the same minutes: `cat` (best of 3), warcio going through every record as the scan
did before (`--warcio-mb` of it: it is slow), fastwarc alone (every record, HTTP headers
parsed, payload skipped), the scan `tracker ingest` runs (`containers.scan_warc`), and
`tracker ingest` end to end. Each as MB/s and as a ratio to `cat`. The file is deleted after.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import best_of
from fastwarc.warc import ArchiveIterator

from tracker.containers import _scan_with_warcio, scan_warc
from tracker.prepare import MAX_BYTES
from tracker.synthetic import filler

MB = 1024 * 1024


def _record(kind: str, uri: str, block: bytes, content_type: str) -> bytes:
    head = (f"WARC/1.1\r\nWARC-Type: {kind}\r\nWARC-Record-ID: <urn:uuid:{abs(hash(uri))}>\r\n"
            f"WARC-Date: 2025-12-10T00:00:00Z\r\nWARC-Target-URI: {uri}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(block)}\r\n\r\n").encode()
    return head + block + b"\r\n\r\n"


def crawl(path: Path, megabytes: int, gz: bool, distinct: int = 64) -> int:
    """`distinct` sites' request, response (and every 8th an image) written round and round
    until the file holds `megabytes` MB; returns the number of records."""
    rng = random.Random(3)
    records: list[bytes] = []
    for i in range(distinct):
        uri = f"https://site{i}.example/news/{i}"
        body = ("<!DOCTYPE html><html><head><title>Site</title></head><body>"
                + "".join(f"<p>{p}</p>" for p in filler(rng, 30, 120)) + "</body></html>").encode()
        http = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: "
                + str(len(body)).encode() + b"\r\n\r\n" + body)
        records.append(_record("request", uri, f"GET /news/{i} HTTP/1.1\r\nHost: site{i}.example"
                               "\r\n\r\n".encode(), "application/http; msgtype=request"))
        records.append(_record("response", uri, http, "application/http; msgtype=response"))
        if i % 8 == 0:
            png = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\n" + rng.randbytes(30_000)
            records.append(_record("response", uri + ".png", png,
                                   "application/http; msgtype=response"))
    if gz:
        records = [gzip.compress(r, 6) for r in records]
    count = 0
    with open(path, "wb") as fh:
        while fh.tell() < megabytes * MB:
            fh.write(records[count % len(records)])
            count += 1
    return count


def _seconds(run: object) -> float:
    t = time.perf_counter()
    run()  # type: ignore[operator]
    return time.perf_counter() - t


def _fastwarc_alone(path: Path) -> None:
    with open(path, "rb") as fh:
        for _ in ArchiveIterator(fh, parse_http=True):
            pass


def measure(path: Path, warcio_mb: int, work: Path) -> None:
    size = path.stat().st_size / MB
    cat = best_of(["cat", str(path)])
    prefix = work / ("prefix" + "".join(path.suffixes))
    with open(path, "rb") as src, open(prefix, "wb") as dst:  # whole records: scan says where
        dst.write(src.read(warcio_mb * MB))
    cut = scan_warc(prefix, MAX_BYTES).error
    end = int(cut[0].rpartition("#")[2]) if cut else prefix.stat().st_size
    os.truncate(prefix, end)
    warcio_s = _seconds(lambda: _scan_with_warcio(prefix, MAX_BYTES, 0, [], []))
    fast_s = _seconds(lambda: _fastwarc_alone(path))
    scan_s = _seconds(lambda: scan_warc(path, MAX_BYTES))
    t = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "tracker", "ingest", "--db", str(work / "w.duckdb"),
                          str(path)], capture_output=True, text=True)
    ingest_s = time.perf_counter() - t
    prefix.unlink()
    said = (run.stderr.strip() or run.stdout.strip()).splitlines()[-1:]
    print(f"{path.name}: {size:,.0f} MB; cat {size / cat:,.0f} MB/s (best of 3, {cat:.2f} s)")
    for name, mb, seconds in (("warcio, as before", end / MB, warcio_s),
                              ("fastwarc alone", size, fast_s),
                              ("scan_warc (now)", size, scan_s),
                              ("tracker ingest", size, ingest_s)):
        rate = mb / seconds
        print(f"  {name:18s} {rate:8,.0f} MB/s = {rate / (size / cat):.3f}× cat "
              f"({seconds:.1f} s over {mb:,.0f} MB)")
    print(f"  tracker ingest said: {said[0] if said else '(nothing)'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=1024)
    ap.add_argument("--warcio-mb", type=int, default=100)
    ap.add_argument("--formats", default="warc.gz,warc")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tracker-warc-") as tmp:
        work = Path(tmp)
        for fmt in args.formats.split(","):
            path = work / f"others.{fmt}"
            t = time.perf_counter()
            records = crawl(path, args.mb, fmt.endswith(".gz"))
            print(f"wrote {path.name}: {records:,} records in {time.perf_counter() - t:.1f} s",
                  file=sys.stderr)
            measure(path, args.warcio_mb, work)
            path.unlink()


if __name__ == "__main__":
    main()
