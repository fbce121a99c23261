"""Serving the dashboard: a production WSGI server, quiet by default, safe off loopback.

`tracker dashboard` serves through waitress (Flask's development server warns that it is not
for use beyond one developer, and logs every background poll). On an address other than
loopback the dashboard is reachable by the whole network, upload included, so it starts
only when it is read-only (no upload) or protected by HTTP basic auth from a password file.
"""

from __future__ import annotations

import base64
import binascii
import errno
import hmac
import ipaddress
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker.errors import TrackerError, UsageError

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
REALM = "tracker"


class PortBusyError(TrackerError):
    """The address is taken by another process (or not ours to listen on)."""


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach `host` (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to any interface


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str

    def accepts(self, header: str | None) -> bool:
        """Whether an `Authorization` header carries these credentials (constant-time)."""
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, sep, password = base64.b64decode(token, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        ok_user = hmac.compare_digest(user.encode(), self.user.encode())
        ok_password = hmac.compare_digest(password.encode(), self.password.encode())
        return bool(sep) and ok_user and ok_password


def read_password_file(path: Path) -> Credentials:
    """`user:password` on the file's first line; UsageError saying how to fix anything else."""
    try:
        line = path.read_text(encoding="utf-8").splitlines()[0] if path.stat().st_size else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the password file {path}: {exc}") from None
    user, sep, password = line.partition(":")
    if not sep or not user or not password:
        raise UsageError(
            f"the password file {path} must hold one line `user:password` (both non-empty)"
        )
    return Credentials(user, password)


def check_exposure(host: str, *, read_only: bool, credentials: Credentials | None) -> None:
    """Refuse to serve uploads to a network without access control."""
    if is_loopback(host) or read_only or credentials is not None:
        return
    raise UsageError(
        f"--host {host} makes the dashboard, and its upload into the database, reachable from "
        "the network without authentication; add --read-only (no upload) or "
        "--password-file FILE (HTTP basic auth, a line `user:password`)"
    )


def with_basic_auth(app: WSGIApp, credentials: Credentials) -> WSGIApp:
    """Every request must carry the credentials; others get 401 and nothing else."""

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if credentials.accepts(environ.get("HTTP_AUTHORIZATION")):
            return app(environ, start_response)
        start_response("401 Unauthorized", [
            ("WWW-Authenticate", f'Basic realm="{REALM}", charset="UTF-8"'),
            ("Content-Type", "text/plain; charset=utf-8"),
        ])
        return [b"authentication required\n"]

    return guarded


def with_access_log(app: WSGIApp) -> WSGIApp:
    """One stderr line per request (for `--verbose`): method, path, status."""

    def logged(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            path = (environ.get("PATH_INFO") or "").encode("unicode_escape").decode("ascii")
            # one write: print() writes the text and the newline apart, and waitress's
            # threads would splice their lines together
            sys.stderr.write(f"{environ.get('REQUEST_METHOD')} {path} {status}\n")
            sys.stderr.flush()
            return start_response(status, headers, *exc_info)

        return app(environ, start)

    return logged


def listen(app: WSGIApp, host: str, port: int, *, threads: int = 8) -> Any:
    """The server, bound to the address (nothing is served before `serve`); PortBusyError
    when the address cannot be had, before anything else is started or said."""
    import waitress.server  # only the dashboard command needs it

    try:
        return waitress.server.create_server(app, host=host, port=port, threads=threads,
                                             clear_untrusted_proxy_headers=True)
    except OSError as exc:
        why = "the port is in use by another process" if exc.errno == errno.EADDRINUSE else (
            exc.strerror or str(exc))
        raise PortBusyError(
            f"cannot listen on {host}:{port}: {why}; choose another with --port"
        ) from None


def serve(server: Any, *, on_listening: Callable[[], None] | None = None) -> None:
    """Serve until interrupted (`server` from `listen`).

    `on_listening` runs in a thread of its own once the address is ours (the app's cache
    warming up while the first visitor's browser loads the page); stopping waits for it."""
    warming = None
    if on_listening is not None:
        warming = threading.Thread(target=on_listening, name="dashboard-warm")
        warming.start()
    try:
        server.run()
    finally:
        server.close()
        if warming is not None:
            # waited for, not torn down at exit: a thread stopped inside DuckDB aborts the
            # process ("exception not rethrown")
            warming.join()
