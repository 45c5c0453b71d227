"""Running one DPL generator command under a time and output budget, leaving nothing behind.

The command runs as ``bash -c SCRIPT`` in a directory of its own, in a new session (its
own process group), with no input. Its output (stdout and stderr together) is read as it
comes: only the last lines are kept, and past ``output_bytes`` the group is killed. Past
``timeout_s`` the group is killed too; and once the command has ended, whatever it left
running in its group (a ``cmd &``) is killed as well. The caller gets the exit status,
whether a budget was overrun, and the last lines printed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path

TAIL_BYTES = 8192
TAIL_LINES = 5


@dataclass(frozen=True)
class RunResult:
    """How a command ended."""

    status: int | None  # None when it was killed for a budget
    timed_out: bool
    overflowed: bool
    tail: tuple[str, ...]  # its last lines, oldest first

    def why(self, timeout_s: float, output_bytes: int) -> str:
        """What went wrong, in a few words (empty when it exited with status 0)."""
        if self.timed_out:
            return f"ran longer than {timeout_s:g} s and was killed"
        if self.overflowed:
            return f"printed more than {output_bytes} bytes and was killed"
        return "" if self.status == 0 else f"exited with status {self.status}"


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def run_bounded(
    script: str, cwd: Path, env: dict[str, str], timeout_s: float, output_bytes: int
) -> RunResult:
    """Run ``script`` with bash in ``cwd`` under the budgets; see the module docstring."""
    proc = subprocess.Popen(
        ["bash", "-c", script],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    tail: deque[bytes] = deque()
    state = {"total": 0, "kept": 0, "overflowed": False}

    def read() -> None:
        assert proc.stdout is not None
        while chunk := os.read(proc.stdout.fileno(), 65536):
            state["total"] += len(chunk)
            tail.append(chunk)
            state["kept"] += len(chunk)
            while state["kept"] - len(tail[0]) >= TAIL_BYTES:
                state["kept"] -= len(tail.popleft())
            if state["total"] > output_bytes:
                state["overflowed"] = True
                _kill_group(proc.pid)
                return

    reader = threading.Thread(target=read, name="jit-output", daemon=True)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        _kill_group(proc.pid)
        proc.wait()
        reader.join(10)
        if proc.stdout is not None:
            proc.stdout.close()
    text = b"".join(tail).decode("utf-8", "replace")
    lines = tuple(line.strip() for line in text.splitlines() if line.strip())[-TAIL_LINES:]
    killed = timed_out or bool(state["overflowed"])
    return RunResult(
        None if killed else proc.returncode, timed_out, bool(state["overflowed"]), lines
    )
