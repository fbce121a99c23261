"""A web archive on 127.0.0.1 for tests: the Wayback CDX API and `id_` replay, the Common Crawl
index (collinfo.json, per-crawl JSON lines with pages) and WARC range requests, each speaking the
documented protocol, with switchable faults. It logs every request with its time, so tests can
check the rate limit.
"""

from __future__ import annotations

import base64
import calendar
import email.utils
import gzip
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

CDX_FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")


def sha1_base32(data: bytes) -> str:
    return base64.b32encode(hashlib.sha1(data).digest()).decode()


def _bare(url: str) -> str:
    """An address without scheme and `www.`: how the CDX API matches prefixes (roughly)."""
    url = re.sub(r"^[a-z]+://", "", url.rstrip("*"))
    return url.removeprefix("www.")


@dataclass
class Capture:
    """A capture as the archive holds it: its CDX fields and what replay answers."""

    timestamp: str
    original: str
    body: bytes
    mimetype: str = "text/html"
    statuscode: str = "200"
    replay: str = "ok"  # ok | 404 | redirect | error-page | image | truncated | stall
    digest: str = ""

    def __post_init__(self) -> None:
        self.digest = self.digest or sha1_base32(self.body)

    def cdx(self) -> dict[str, str]:
        return {"urlkey": "com,timesca)/" + _bare(self.original).partition("/")[2],
                "timestamp": self.timestamp, "original": self.original,
                "mimetype": self.mimetype, "statuscode": self.statuscode,
                "digest": self.digest, "length": str(len(self.body))}


@dataclass
class Faults:
    """Switches a test flips; each stays on until switched off."""

    cdx: str | None = None  # empty | malformed | cut | loop | text-cut
    refuse: int = 0  # the next N requests are refused (each decrements it)
    refuse_status: int = 429  # or 503
    retry_after: str | None = "1"  # the Retry-After sent with them (None: no header)
    stall: float = 0.0  # seconds every answer waits before it starts
    range: str | None = None  # ignore (200, whole file) | short


@dataclass
class FakeArchive:
    captures: list[Capture] = field(default_factory=list)
    crawls: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # CC index rows
    warcs: dict[str, bytes] = field(default_factory=dict)  # CC data files by name
    faults: Faults = field(default_factory=Faults)
    cc_page_size: int = 3
    cdx_page_size: int | None = None  # the most CDX rows a page holds, whatever `limit` asks
    cdx_delay: float = 0.0  # seconds each CDX page takes to answer (to kill a run mid-paging)
    log: list[tuple[float, str]] = field(default_factory=list)  # requests as they arrive
    sent: list[tuple[float, str]] = field(default_factory=list)  # answers sent in full
    release: threading.Event = field(default_factory=threading.Event)
    base: str = ""

    def add(self, timestamp: str, original: str, body: bytes, **kw: str) -> Capture:
        capture = Capture(timestamp, original, body, **kw)
        self.captures.append(capture)
        return capture

    def add_record(self, crawl: str, timestamp: str, url: str, payload: bytes,
                   filename: str = "crawl-data/segment/warc/part-00000.warc.gz") -> dict[str, str]:
        """A WARC response record (one gzip member) appended to `filename`; its index row."""
        http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + payload
        record = gzip.compress(
            b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: " + url.encode()
            + f"\r\nWARC-Date: {timestamp[:4]}-{timestamp[4:6]}-{timestamp[6:8]}T"
              f"{timestamp[8:10]}:{timestamp[10:12]}:{timestamp[12:14]}Z\r\n".encode()
            + f"Content-Length: {len(http)}\r\n\r\n".encode() + http + b"\r\n\r\n"
        )
        offset = len(self.warcs.get(filename, b""))
        self.warcs[filename] = self.warcs.get(filename, b"") + record
        row = {"urlkey": "com,timesca)/", "timestamp": timestamp, "url": url, "mime": "text/html",
               "status": "200", "digest": sha1_base32(payload), "length": str(len(record)),
               "offset": str(offset), "filename": filename}
        self.crawls.setdefault(crawl, []).append(row)
        return row

    def most_in_window(self, seconds: float) -> int:
        """The most requests that arrived within any `seconds`-long window."""
        times = sorted(t for t, _ in self.log)
        most, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] >= seconds:
                start += 1
            most = max(most, end - start + 1)
        return most

    def hits(self, prefix: str) -> int:
        return sum(path.startswith(prefix) for _, path in self.log)


@contextmanager
def serving(archive: FakeArchive) -> Iterator[FakeArchive]:
    """The archive on 127.0.0.1 (its `base` set) until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(archive))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    archive.base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield archive
    finally:
        archive.release.set()
        server.shutdown()
        server.server_close()


def _handler(archive: FakeArchive) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def send(self, status: int, body: bytes, ctype: str = "text/plain",
                 headers: dict[str, str] | None = None, length: int | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
            if length is not None:
                self.close_connection = True
            else:
                archive.sent.append((time.monotonic(), self.path))

        def do_GET(self) -> None:
            archive.log.append((time.monotonic(), self.path))
            faults = archive.faults
            if faults.stall and archive.release.wait(faults.stall):
                return
            if faults.refuse > 0:
                faults.refuse -= 1
                extra = {"Retry-After": faults.retry_after} if faults.retry_after else {}
                return self.send(faults.refuse_status, b"Slow down", headers=extra)
            parts = urlsplit(self.path)
            query = parse_qs(parts.query, keep_blank_values=True)
            if parts.path == "/cdx/search/cdx":
                return self.cdx(query)
            if parts.path.startswith("/web/"):
                return self.replay(self.path[len("/web/"):])
            if parts.path == "/collinfo.json":
                return self.send(200, json.dumps([
                    {"id": c, "name": f"{c} Index", "timegate": f"{archive.base}/{c}/",
                     "cdx-api": f"{archive.base}/{c}-index"} for c in sorted(archive.crawls)
                ]).encode(), "application/json")
            if parts.path.endswith("-index") and parts.path[1:-6] in archive.crawls:
                return self.cc_index(archive.crawls[parts.path[1:-6]], query)
            if parts.path[1:] in archive.warcs:
                return self.warc(archive.warcs[parts.path[1:]])
            return self.send(404, b"not in this archive")

        def cdx(self, query: dict[str, list[str]]) -> None:
            url = query.get("url", [""])[0]
            prefix = query.get("matchType", ["exact"])[0] == "prefix" or url.endswith("*")
            start = query.get("from", [""])[0].ljust(14, "0")
            end = query.get("to", ["9"])[0].ljust(14, "9")
            rows = sorted((c.cdx() for c in archive.captures), key=lambda r: (r["urlkey"],
                                                                              r["timestamp"]))
            rows = [r for r in rows if start <= r["timestamp"] <= end and (
                _bare(r["original"]).startswith(_bare(url)) if prefix
                else _bare(r["original"]) == _bare(url))]
            for spec in query.get("filter", []):
                negate, spec = spec.startswith("!"), spec.lstrip("!")
                name, _, pattern = spec.partition(":")
                rows = [r for r in rows if bool(re.fullmatch(pattern, r[name])) != negate]
            fields = query.get("fl", [",".join(CDX_FIELDS)])[0].split(",")
            first = int(query["resumeKey"][0].rpartition("!")[2]) if "resumeKey" in query else 0
            limit = min(int(query.get("limit", ["100000"])[0]), archive.cdx_page_size or 100000)
            if archive.cdx_delay and archive.release.wait(archive.cdx_delay):
                return
            page = [[r[f] for f in fields] for r in rows[first:first + limit]]
            more = first + limit < len(rows) and query.get("showResumeKey") == ["true"]
            key = f"com,timesca)/ {rows[first + limit - 1]['timestamp']}+x!{first + limit}" \
                if more else None
            if archive.faults.cdx == "loop" and more:
                key = f"same!{first}"
            as_json = query.get("output") == ["json"]
            if as_json:
                out = [fields, *page] + ([[], [key]] if key else [])
                body = json.dumps(out).encode() if out[1:] else b"[]"
            else:
                lines = [" ".join(r) for r in page] + (["", key] if key else [])
                body = "".join(line + "\n" for line in lines).encode()
            fault = archive.faults.cdx
            if fault == "empty":
                body = b""
            elif fault == "malformed":
                body = body.replace(b"text/html", b"text/html extra", 1) if not as_json else \
                    body.replace(b'"text/html",', b'"text/html", "extra",', 1)
            elif fault == "cut":
                body = body[: len(body) * 2 // 3]
            self.send(200, body, "application/json" if as_json else "text/plain")

        def replay(self, rest: str) -> None:
            stamp, _, original = rest.partition("/")
            if not stamp.endswith("id_"):
                return self.send(400, b"only id_ replay here")
            stamp = stamp[:-3]
            same = [c for c in archive.captures if unquote(c.original) == unquote(original)]
            exact = [c for c in same if c.timestamp == stamp]
            if not exact:
                if not same:
                    return self.send(404, b"<html>Wayback Machine has not archived that URL.</html>",
                                     "text/html")
                near = min(same, key=lambda c: abs(int(c.timestamp) - int(stamp.ljust(14, "0"))))
                return self.send(302, b"", headers={
                    "Location": f"{archive.base}/web/{near.timestamp}id_/{original}"})
            c = exact[0]
            when = calendar.timegm(time.strptime(c.timestamp, "%Y%m%d%H%M%S"))
            memento = {"Memento-Datetime": email.utils.formatdate(when, usegmt=True)}
            if c.replay == "404":
                return self.send(404, b"<html>Not Found</html>", "text/html", memento)
            if c.replay == "redirect":
                return self.send(302, b"", headers={**memento, "Location": "https://timesca.com/x"})
            if c.replay == "error-page":
                return self.send(200, b"<html><h1>Hrm.</h1>Wayback Machine error</html>",
                                 "text/html", memento)
            if c.replay == "image":
                return self.send(200, b"\x89PNG\r\n", "image/png", memento)
            if c.replay == "truncated":
                return self.send(200, c.body[: len(c.body) // 2], "text/html", memento,
                                 length=len(c.body))
            if c.replay == "stall":
                archive.release.wait(30)
                return
            self.send(200, c.body, "text/html; charset=utf-8", memento)

        def cc_index(self, rows: list[dict[str, str]], query: dict[str, list[str]]) -> None:
            url = query.get("url", [""])[0]
            prefix = query.get("matchType", ["exact"])[0] == "prefix" or url.endswith("*")
            start = query.get("from", [""])[0].ljust(14, "0")
            end = query.get("to", ["9"])[0].ljust(14, "9")
            rows = [r for r in rows if start <= r["timestamp"] <= end and (
                _bare(r["url"]).startswith(_bare(url)) if prefix else _bare(r["url"]) == _bare(url))]
            for spec in query.get("filter", []):
                name, _, pattern = spec.partition(":")
                rows = [r for r in rows if re.fullmatch(pattern, r[name])]
            size = archive.cc_page_size
            pages = -(-len(rows) // size)
            if query.get("showNumPages") == ["true"]:
                return self.send(200, json.dumps({"pages": pages, "pageSize": size,
                                                  "blocks": pages}).encode(), "text/x-ndjson")
            if not rows:
                return self.send(404, json.dumps({"message": f"No Captures found for: {url}"})
                                 .encode(), "application/json")
            page = int(query.get("page", ["0"])[0])
            body = "".join(json.dumps(r) + "\n" for r in rows[page * size:(page + 1) * size])
            if archive.faults.cdx == "cut":
                body = body[: len(body) * 2 // 3]
            self.send(200, body.encode(), "text/x-ndjson")

        def warc(self, data: bytes) -> None:
            match = re.fullmatch(r"bytes=(\d+)-(\d+)", self.headers.get("Range", ""))
            if match is None or archive.faults.range == "ignore":
                return self.send(200, data, "application/octet-stream")
            first, last = int(match[1]), min(int(match[2]), len(data) - 1)
            part = data[first:last + 1]
            if archive.faults.range == "short":
                part = part[:-10]
            self.send(206, part, "application/octet-stream",
                      {"Content-Range": f"bytes {first}-{first + len(part) - 1}/{len(data)}"})

    return Handler
