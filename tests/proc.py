"""Running the real `tracker` command in a child process, as a user or a script would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# Reports the peak memory of the command it runs (RUSAGE_CHILDREN of a fresh parent).
_MEASURE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    peak_mb: float

    @property
    def lines(self) -> list[str]:
        return self.stderr.splitlines()


def unprivileged() -> list[str] | None:
    """A command prefix under which file permissions apply, or None if there is none.

    As root, file modes do not stop reads; `setpriv` drops the capabilities that bypass them.
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]


def run_tracker(*args: object, env: dict[str, str] | None = None, prefix: list[str] | None = None,
                cwd: Path | None = None, timeout: float = 120) -> Run:
    """`python -m tracker ARGS...` to completion, with its exit status, output and peak memory."""
    command = [*(prefix or []), sys.executable, "-m", "tracker", *map(str, args)]
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True,
        env={**os.environ, **(env or {})}, cwd=cwd, timeout=timeout,
    )
    *rest, peak_kb = done.stderr.rstrip("\n").split("\n")
    return Run(done.returncode, done.stdout, "\n".join(rest), int(peak_kb) / 1024)
