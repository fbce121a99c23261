"""The scheduler as a companion process, e.g. beside the dashboard (`tracker dashboard --watch`).

A process of its own keeps DuckDB's one-writer rule simple: it writes per batch, the dashboard
reads read-only.
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys

from .schedule import Settings


def spawn_scheduler(settings: Settings) -> subprocess.Popen[bytes]:
    """`tracker schedule` for these settings in a child process, e.g. beside the dashboard.

    A process of its own keeps DuckDB's one-writer rule simple: it writes per batch, the
    dashboard reads read-only. The child shares the terminal (its run lines show there) and,
    on Linux, is told to stop when its parent dies, so it never outlives the dashboard.
    It runs in a process group of its own: a terminal's Ctrl-C reaches only the dashboard,
    which then asks it to stop once (SIGINT and SIGTERM together would be the scheduler's
    "second signal", which stops at once, mid-batch).
    """
    return subprocess.Popen(scheduler_command(settings), preexec_fn=_stop_with_parent,
                            process_group=0, stdin=subprocess.DEVNULL)


def scheduler_command(settings: Settings) -> list[str]:
    """The `tracker schedule` command line that runs exactly these settings: every job (watch,
    fetch, official with its bank addresses, backfill with its archive) and none other."""
    command = [sys.executable, "-m", "tracker", "schedule", "--db", str(settings.db),
               "--every", f"{settings.every}s"]
    for folder in settings.folders:
        command += ["--watch", str(folder)]
    for url in settings.urls:
        command += ["--url", url]
    if settings.official:
        command.append("--official")
    for name, base in settings.bank_urls:
        command += ["--bank-url", f"{name}={base}"]
    for prefix in settings.backfill:
        command += ["--backfill", prefix]
    if settings.backfill:
        command += settings.archive.arguments()
    return command


def _stop_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the dashboard still stops it on a normal exit


def stop_spawned(child: subprocess.Popen[bytes], timeout: float = 30.0) -> int:
    """Ask a spawned scheduler to stop after its batch in progress, and wait for it."""
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return child.returncode
