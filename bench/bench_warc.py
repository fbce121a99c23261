"""WARC skip speed: a crawl of other sites' pages gone through, as ratios to reading the file.

    .venv/bin/python bench/bench_warc.py [--mb 1024] [--warcio-mb 100] [--formats warc.gz,warc]
                                         [--inflaters]

Writes a crawl of ~`--mb` MB in a temp dir (responses of other sites' ~20 KB pages, each after
its request, an image now and then; one gzip member per record for `.warc.gz`), then measures,
on the same file in the same minutes, three baselines: `cat` of the file in the page cache
(memory speed), `dd iflag=direct` (O_DIRECT: the disk itself, no page cache) and `cat` after
`posix_fadvise(DONTNEED)` (a cold read through the page cache). Then: warcio going through
every record as the scan did before (`--warcio-mb` of it: it is slow), fastwarc alone (every
record, payload skipped), the scan `tracker ingest` runs (`containers.scan_warc`) on the
cached file and on a cold one, and `tracker ingest` end to end. Each as MB/s and as a ratio to
each baseline. `--inflaters` also times inflating the `.warc.gz` alone with the stdlib (zlib),
fastwarc, and python-isal, zlib-ng and rapidgzip (2 threads) where installed (they are no
dependencies of tracker). The file is deleted after.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import importlib
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


def _cold(path: Path) -> None:
    """Drop the file's pages from the page cache (no root needed: they are clean)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _fastwarc_alone(path: Path) -> None:
    with open(path, "rb") as fh:
        for _ in ArchiveIterator(fh, parse_http=False):
            pass


def baselines(path: Path) -> dict[str, float]:
    """Seconds (best of 3) to read the file: from the page cache, from the disk (O_DIRECT)
    and cold through the page cache."""
    cat = best_of(["cat", str(path)])
    direct = ["dd", f"if={path}", "of=/dev/null", "bs=4M", "iflag=direct"]
    disk = best_of(direct) if subprocess.run([*direct, "count=1"], capture_output=True).returncode \
        == 0 else float("nan")  # (no O_DIRECT on this file system)
    cold = min(_seconds(lambda: (_cold(path), subprocess.run(["cat", str(path)],
                                                             stdout=subprocess.DEVNULL)))
               for _ in range(3))
    return {"cat (page cache)": cat, "dd O_DIRECT (disk)": disk, "cat cold": cold}


def measure(path: Path, warcio_mb: int, work: Path) -> None:
    size = path.stat().st_size / MB
    base = baselines(path)
    prefix = work / ("prefix" + "".join(path.suffixes))
    with open(path, "rb") as src, open(prefix, "wb") as dst:  # whole records: scan says where
        dst.write(src.read(warcio_mb * MB))
    cut = scan_warc(prefix, MAX_BYTES).error
    end = int(cut[0].rpartition("#")[2]) if cut else prefix.stat().st_size
    os.truncate(prefix, end)
    warcio_s = _seconds(lambda: _scan_with_warcio(prefix, MAX_BYTES, 0, [], []))
    prefix.unlink()
    fast_s = min(_seconds(lambda: _fastwarc_alone(path)) for _ in range(2))
    scan_s = min(_seconds(lambda: scan_warc(path, MAX_BYTES)) for _ in range(3))
    cold_s = min(_seconds(lambda: (_cold(path), scan_warc(path, MAX_BYTES))) for _ in range(2))
    t = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "tracker", "ingest", "--db", str(work / "w.duckdb"),
                          str(path)], capture_output=True, text=True)
    ingest_s = time.perf_counter() - t
    said = (run.stderr.strip() or run.stdout.strip()).splitlines()[-1:]
    print(f"{path.name}: {size:,.0f} MB; baselines (MB/s): " + ", ".join(
        f"{name} {size / s:,.0f}" for name, s in base.items()))
    print(f"  {'':28s} {'MB/s':>7s}  " + "  ".join(f"× {name:>18s}" for name in base))
    for name, mb, seconds in (("warcio, as before", end / MB, warcio_s),
                              ("fastwarc alone", size, fast_s),
                              ("scan_warc, page cache", size, scan_s),
                              ("scan_warc, cold file", size, cold_s),
                              ("tracker ingest (cached)", size, ingest_s)):
        rate = mb / seconds
        print(f"  {name:28s} {rate:7,.0f}  " + "  ".join(
            f"  {rate / (size / s):18.2f}" for s in base.values()))
    print(f"  tracker ingest said: {said[0] if said else '(nothing)'}")


def inflaters(path: Path) -> None:
    """Inflating the whole `.warc.gz` alone, each way that is installed (MB/s of the file)."""
    size = path.stat().st_size / MB

    def stream(opener: object) -> None:
        with opener(path) as fh:  # type: ignore[operator]
            while fh.read(4 * MB):
                pass

    ways: list[tuple[str, object]] = [("stdlib gzip (zlib)", lambda: stream(gzip.open)),
                                      ("fastwarc (and record split)", lambda: _fastwarc_alone(path))]
    for name, module, opener in (("python-isal igzip", "isal.igzip", "open"),
                                 ("zlib-ng", "zlib_ng.gzip_ng", "open"),
                                 ("rapidgzip, 2 threads", "rapidgzip", "open")):
        try:
            found = getattr(importlib.import_module(module), opener)
        except ImportError:
            print(f"  {name}: not installed")
            continue
        if module == "rapidgzip":
            found = functools.partial(found, parallelization=2)
        ways.append((name, lambda f=found: stream(f)))
    for name, way in ways:
        print(f"  inflate alone, {name:28s} {size / _seconds(way):6,.0f} MB/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=1024)
    ap.add_argument("--warcio-mb", type=int, default=100)
    ap.add_argument("--formats", default="warc.gz,warc")
    ap.add_argument("--inflaters", action="store_true")
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
            if args.inflaters and fmt.endswith(".gz"):
                inflaters(path)
            path.unlink()


if __name__ == "__main__":
    main()
