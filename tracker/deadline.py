"""One deadline per attempt, enforced where the bytes move: in the sockets of httpx's pool.

httpx's timeouts bound each socket operation, so a server sending one header byte a second keeps
a request alive for ever. `DeadlineTransport` gives httpcore a network backend whose reads and
connects end at the deadline (and whose waiting reads end on a stop request) that the calling
thread put in `limits` for its attempt.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable

import httpcore
import httpx

SLICE = 0.25  # longest blocking step: how late a stop request can be noticed
_LONGEST = 20.0  # a write or TLS handshake when no deadline is set

limits = threading.local()  # .deadline (monotonic) and .stop of the attempt in this thread


class Stopped(Exception):
    """The stop event was set during an attempt."""


def _end(timeout: float | None, *, check_stop: bool = True) -> float:
    """The latest moment the current socket operation may end; raises `Stopped`."""
    stop = getattr(limits, "stop", None)
    if check_stop and stop is not None and stop.is_set():
        raise Stopped
    end = getattr(limits, "deadline", None) or float("inf")
    return min(end, time.monotonic() + timeout) if timeout is not None else end


class _Stream(httpcore.NetworkStream):
    """A socket stream whose reads stop at the attempt's deadline or stop request."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        end = _end(timeout, check_stop=False)
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise httpcore.ReadTimeout("the deadline passed")
            stop = getattr(limits, "stop", None)
            stopping = stop is not None and stop.is_set()
            try:  # when stopping, bytes already there are still taken; waiting is not
                return self._inner.read(max_bytes, 0.001 if stopping else min(left, SLICE))
            except httpcore.ReadTimeout:
                if stopping:
                    raise Stopped from None

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        left = _end(timeout, check_stop=False) - time.monotonic()
        if left <= 0:
            raise httpcore.WriteTimeout("the deadline passed")
        self._inner.write(buffer, min(left, _LONGEST))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        left = max(_end(timeout, check_stop=False) - time.monotonic(), 0.001)
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, min(left, _LONGEST)))

    def get_extra_info(self, info: str) -> object:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    """httpcore's socket backend, with connect bounded by the deadline and `_Stream` reads."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: object = None) -> httpcore.NetworkStream:
        left = _end(timeout) - time.monotonic()
        if left <= 0:
            raise httpcore.ConnectTimeout("the deadline passed")
        stop = getattr(limits, "stop", None)

        def connect() -> httpcore.NetworkStream:
            return self._inner.connect_tcp(host, port, min(left, _LONGEST * 3), local_address,
                                           socket_options)  # type: ignore[arg-type]

        if stop is None:
            return _Stream(connect())
        return _Stream(_unless_stopped(connect, stop))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _unless_stopped(connect: Callable[[], httpcore.NetworkStream],
                    stop: threading.Event) -> httpcore.NetworkStream:
    """`connect()` in a helper thread, abandoned (closed when it completes) on a stop request:
    a connect cannot be cut short from outside, nor safely retried in slices."""
    done = threading.Event()
    box: dict[str, object] = {}
    lock = threading.Lock()

    def run() -> None:
        result, error = None, None
        try:
            result = connect()
        except BaseException as exc:  # handed to the caller, if it still waits
            error = exc
        with lock:
            if box.get("abandoned"):
                if result is not None:
                    result.close()
            else:
                box["stream"], box["error"] = result, error
                done.set()

    threading.Thread(target=run, name="tracker-connect", daemon=True).start()
    while not done.wait(SLICE):
        if stop.is_set():
            with lock:
                if not done.is_set():
                    box["abandoned"] = True
                    raise Stopped
    if box["error"] is not None:
        raise box["error"]  # type: ignore[misc]
    return box["stream"]  # type: ignore[return-value]


class DeadlineTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool whose sockets keep the client's deadline.

    Any other httpx transport can be given to `Client` instead (the deadline is then checked
    between body chunks only).
    """

    def __init__(self) -> None:  # the parent's pool is replaced, not configured
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(), network_backend=_Backend(),
        )
