"""What a task's process is started from, and how its end is told.

``LaunchRequest`` is the exact argv and environment (planned by ``o2ctl.core.launch``), the
control port, the log file and the timeouts a task actor starts its process with; it is
kept in the node's launch record (``actors.launchrec``) so that a restarted actor can take
the same process back. ``describe_exit`` and ``tail`` turn an exit code and the end of the
log into the sentence an operator reads.
"""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import dataclass
from typing import Any

LOG_TAIL_BYTES = 600


@dataclass(frozen=True)
class LaunchRequest:
    task_id: str
    task_class: str
    role_path: str
    env_id: str
    control_mode: str
    argv: tuple[str, ...]
    env: dict[str, str]
    flavour: str
    controlled: bool
    control_port: int | None
    log_path: str
    host: str
    start_timeout_s: float = 30.0
    critical: bool = True

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> LaunchRequest:
        return cls(**{**raw, "argv": tuple(raw["argv"])})


def tail(path: str) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - LOG_TAIL_BYTES))
            text = f.read().decode(errors="replace").strip()
    except OSError:
        return ""
    return text.splitlines()[-1] if text else ""


def tool_path(path: str) -> str:
    """PATH with the control system's own bin directory first (its devices live there)."""
    own = os.path.dirname(sys.executable)
    return path if path.split(os.pathsep)[0] == own else os.pathsep.join([own, path])


def describe_exit(rc: int | None) -> str:
    if rc is None:
        return "exited (exit code unknown: adopted after its actor restarted)"
    if rc < 0:
        try:
            return f"killed by {signal.Signals(-rc).name}"
        except ValueError:
            return f"killed by signal {-rc}"
    return f"exited with code {rc}"
