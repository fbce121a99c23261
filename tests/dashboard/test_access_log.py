"""`tracker dashboard --verbose` logs one whole line per request, also when waitress's threads
answer several requests at once (the page's first load sends a dozen together)."""

from __future__ import annotations

import sys
import threading
import time

from dashboards.serve import with_access_log


class SlowStream:
    """A stderr whose every write lets other threads run, as a busy terminal or pipe does."""

    def __init__(self) -> None:
        self.chunks: list[str] = []

    def write(self, text: str) -> int:
        time.sleep(0.002)
        self.chunks.append(text)
        return len(text)

    def flush(self) -> None:
        pass


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def test_concurrent_requests_each_get_one_whole_line(monkeypatch):
    stream = SlowStream()
    monkeypatch.setattr(sys, "stderr", stream)
    logged = with_access_log(app)
    barrier = threading.Barrier(8)

    def request(i: int) -> None:
        barrier.wait()
        for j in range(5):
            logged({"REQUEST_METHOD": "POST", "PATH_INFO": f"/r{i}-{j}"}, lambda *a: None)

    threads = [threading.Thread(target=request, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = "".join(stream.chunks).split("\n")
    assert lines[-1] == ""
    assert sorted(lines[:-1]) == sorted(f"POST /r{i}-{j} 200 OK" for i in range(8) for j in range(5))
