"""A small process supervisor: the head's processes of ``o2ctl up --ha``, started again.

Ray restarts none of its own processes (outside KubeRay), so a SIGKILL of the head's
``gcs_server`` or raylet, or of the Redis that keeps the GCS and our records, would stay
dead. ``Supervisor`` watches a few named processes and, when one ends, runs its restart
command at once (then with a growing pause if it keeps dying: at most ``MAX_BACKOFF_S``).

A watched process is either *adopted* (started by someone else, e.g. the ``gcs_server``
that ``ray start --head`` launched: watched by pid) or the supervisor's own child (every
restart). Each ``Child`` says how to start it again: an argv and an environment (for
``gcs_server``, those of the process ``ray start`` ran, read from ``/proc``; Redis, its
durable command line; the head's raylet, a ``ray start --address`` that joins a new raylet
to the GCS, since a raylet cannot come back with the node id the GCS has declared dead).

What it does is in ``status.json`` beside its log (``<state>/ha``): for each child its pid,
``running`` or ``restarting``, how many restarts and when the last one began; ``o2ctl
status`` reads it. It runs as a process of its own (``python -m o2ctl.cli.supervise
SPEC``), marked as the system's, and ``o2ctl down`` ends it *before* stopping Ray, so that
nothing it watches is started again on the way down. SIGTERM ends it, leaving its children
to ``down``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

POLL_S = 0.1
MAX_BACKOFF_S = 5.0
STATUS_FILE = "status.json"


@dataclass
class Child:
    """One watched process and how to start it again."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    pid: int | None = None  # adopted at start, then each restart's
    oneshot: bool = False  # argv starts it and returns (``ray start``): watch ``match`` after
    match: str = ""  # with oneshot: a cmdline substring naming the process it leaves running
    match_name: str = ""  # and that process's name
    restarts: int = 0
    state: str = "running"
    since: float = 0.0
    _proc: subprocess.Popen[bytes] | None = None
    _next_try: float = 0.0
    _launcher: subprocess.Popen[bytes] | None = None  # a oneshot's start, still running
    _before: set[int] = field(default_factory=set)

    def alive(self) -> bool:
        if self._proc is not None and self._proc.poll() is not None:
            return False
        if self.pid is None:
            return False
        try:
            return psutil.Process(self.pid).status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False


class Supervisor:
    """Restarts each ``Child`` when it ends; writes what it does to ``directory``."""

    def __init__(self, children: list[Child], directory: Path) -> None:
        self.children = children
        self.directory = directory
        self.log = open(directory / "supervisor.log", "ab", buffering=0)  # noqa: SIM115
        self.stopping = False

    def say(self, text: str) -> None:
        self.log.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {text}\n".encode())

    def step(self) -> None:
        """One look at every child: start again those that ended (when their pause is over)."""
        changed = False
        ended = [c for c in self.children if c.state == "running" and not c.alive()]
        for child in ended:  # all noted first: several may have gone together
            child.state, child.since = "restarting", time.time()
            self.say(f"{child.name} (pid {child.pid}) ended: starting it again")
            changed = True
        for child in self.children:
            if child.state != "restarting":
                continue
            if child._launcher is not None:
                changed |= self._launched(child)
            elif time.monotonic() >= child._next_try:
                changed |= self._start(child)
        if changed:
            self.write_status()

    def _start(self, child: Child) -> bool:
        pause = min(MAX_BACKOFF_S, 0.25 * 2 ** min(child.restarts, 5))
        child._next_try = time.monotonic() + pause
        env = {**os.environ, **child.env} if child.env else dict(os.environ)
        try:
            if child.oneshot:  # never blocks the loop: the GCS may need restarting meanwhile
                child._before = _matching(child)
                with open(self.directory / f"{child.name}.start.log", "wb") as out:
                    child._launcher = subprocess.Popen(
                        child.argv, env=env, stdin=subprocess.DEVNULL, start_new_session=True,
                        stdout=out, stderr=subprocess.STDOUT,
                    )  # fmt: skip
                return False
            else:
                child._proc = subprocess.Popen(
                    child.argv, env=env, stdin=subprocess.DEVNULL, start_new_session=True,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
                child.pid = child._proc.pid
        except (OSError, subprocess.SubprocessError) as exc:
            self.say(f"{child.name}: cannot start: {exc}")
            child.restarts += 1
            return True
        child.restarts += 1
        child.state = "running"
        self.say(f"{child.name} started again (pid {child.pid}), restart {child.restarts}")
        return True

    def _launched(self, child: Child) -> bool:
        """A oneshot start that has ended: the process it left is the child's new pid."""
        launcher = child._launcher
        if launcher is None or launcher.poll() is None:
            return False
        child._launcher = None
        child.restarts += 1
        new = sorted(_matching(child) - child._before) if launcher.returncode == 0 else []
        if not new:
            log = self.directory / f"{child.name}.start.log"
            self.say(f"{child.name}: restart failed ({launcher.returncode}), see {log}")
            return True
        child.pid, child._proc, child.state = new[0], None, "running"
        self.say(f"{child.name} started again (pid {child.pid}), restart {child.restarts}")
        return True

    def write_status(self) -> None:
        from o2ctl.config.durable import atomic_write

        data = {
            c.name: {"pid": c.pid, "state": c.state, "restarts": c.restarts, "since": c.since}
            for c in self.children
        }
        atomic_write(self.directory / STATUS_FILE, json.dumps(data, sort_keys=True) + "\n")

    def run(self) -> None:
        self.write_status()
        while not self.stopping:
            self.step()
            time.sleep(POLL_S)


def _matching(child: Child) -> set[int]:
    """The pids of live processes ``child.match`` (and ``match_name``) names."""
    found = set()
    for proc in psutil.process_iter(["pid", "name", "cmdline"]):
        if child.match_name and proc.info["name"] != child.match_name:
            continue
        if child.match and child.match in " ".join(proc.info["cmdline"] or []):
            found.add(int(proc.info["pid"]))
    return found


def read_status(directory: Path) -> dict[str, Any]:
    """What the supervisor last wrote ({} when none runs there)."""
    try:
        data = json.loads((directory / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def load_spec(path: Path) -> list[Child]:
    raw = json.loads(path.read_text())
    return [Child(**{k: v for k, v in c.items() if not k.startswith("_")}) for c in raw]


def main(argv: list[str] | None = None) -> None:
    """``python -m o2ctl.cli.supervise SPEC``: supervise the children SPEC (JSON) lists."""
    spec = Path((argv or sys.argv[1:])[0])
    supervisor = Supervisor(load_spec(spec), spec.parent)

    def stop(*_: object) -> None:
        supervisor.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    supervisor.say(f"supervising {', '.join(c.name for c in supervisor.children)}")
    with contextlib.suppress(KeyboardInterrupt):
        supervisor.run()
    supervisor.say("stopped")


if __name__ == "__main__":
    main()
