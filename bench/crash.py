"""Control-plane crash → environment usable again: SIGKILL the controller or the
environment actor during RUNNING, time until a STOP_ACTIVITY then a START_ACTIVITY succeed.

What flows through: an environment of N tasks in RUNNING. One kind of crash at a time:

* ``controller``: the controller actor's worker (``client.info()["pid"]``) gets SIGKILL;
  Ray restarts it and it rebuilds itself from the durable records (``actors/books.py``);
* ``environment``: the environment actor's worker (``env.summary()["actor_pid"]``) gets
  SIGKILL; Ray restarts it and it rebuilds from its record (``actors/envrestore.py``).

The clock runs from the kill until the restarted actor answers (a read, which the SDK
retries across a restart: milestone ``back``), then the environment is driven as an
operator would: STOP_ACTIVITY (milestone ``stopped``) and START_ACTIVITY, each through the
controller; the sample is the moment START_ACTIVITY returns RUNNING. The devices must keep
their PIDs through it (no process is disturbed by a control-plane restart): a change is an
error, not a figure.

No floor: a restart is Ray's actor restart plus our rebuild; the milestones split it.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

from bench.common import Figure, median, say

KINDS = ("controller", "environment")
MEASURE = {kind: f"crash {kind}→usable" for kind in KINDS}
BACK_TIMEOUT_S = 120.0


def _pids(env: Any) -> dict[str, int]:
    return {t["task_id"]: int(t["pid"]) for t in env.tasks}


def _victim(client: Any, env: Any, kind: str) -> tuple[int, Callable[[], bool]]:
    """The worker pid to kill, and a check that a new worker answers in its place."""
    if kind == "controller":
        pid = int(client.info()["pid"])
        return pid, lambda: int(client.info()["pid"]) != pid
    pid = int(env.summary()["actor_pid"])
    return pid, lambda: int(env.summary()["actor_pid"]) != pid


def _until(check: Callable[[], bool], timeout: float, what: str) -> None:
    from o2ctl.sdk import ControlError

    deadline, last = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except ControlError as exc:  # "restarting": the call in flight may fail once
            last = str(exc)
        time.sleep(0.02)
    raise RuntimeError(f"{what} not back within {timeout:.0f}s (last error: {last or 'none'})")


def one_crash(client: Any, env: Any, kind: str) -> dict[str, float]:
    """One kill of ``kind`` in RUNNING; milliseconds to each milestone since the kill."""
    before = _pids(env)
    pid, back = _victim(client, env, kind)
    t0 = time.perf_counter()
    os.kill(pid, signal.SIGKILL)
    _until(back, BACK_TIMEOUT_S, f"the {kind} actor (worker {pid} killed)")
    marks = {"back_ms": (time.perf_counter() - t0) * 1e3}
    state = env.state
    if state != "RUNNING":
        raise RuntimeError(f"after a {kind} crash environment {env.id} is {state}, not RUNNING")
    if (after := _pids(env)) != before:
        moved = sorted(t for t in before if after.get(t) != before[t])
        raise RuntimeError(f"a {kind} crash changed the processes of tasks {moved}")
    if (state := env.stop()) != "CONFIGURED":
        raise RuntimeError(f"STOP_ACTIVITY after a {kind} crash left {state}")
    marks["stopped_ms"] = (time.perf_counter() - t0) * 1e3
    if (state := env.start()) != "RUNNING":
        raise RuntimeError(f"START_ACTIVITY after a {kind} crash left {state}")
    marks["usable_ms"] = (time.perf_counter() - t0) * 1e3
    return marks


def measure(client: Any, env: Any, runs: int) -> dict[str, list[dict[str, float]]]:
    """``runs`` crashes of each kind; the environment starts and ends DEPLOYED."""
    env.configure()
    env.start()
    out: dict[str, list[dict[str, float]]] = {k: [] for k in KINDS}
    for kind in KINDS:
        for i in range(runs):
            marks = one_crash(client, env, kind)
            out[kind].append(marks)
            say(f"{kind} crash {i + 1}/{runs}: usable again after {marks['usable_ms']:.0f}ms")
    env.stop()
    env.reset()
    return out


def figures(n: int, runs: dict[str, list[dict[str, float]]]) -> list[Figure]:
    out = []
    for kind in KINDS:
        marks = runs[kind]
        notes = {k: median([m[k] for m in marks]) for k in ("back_ms", "stopped_ms")}
        out.append(Figure(MEASURE[kind], n, "ms", [m["usable_ms"] for m in marks], notes=notes))
    return out


def main() -> None:
    from bench import deploy
    from bench.standalone import standalone

    def per_size(client: Any, n: int, repeats: Any) -> list[Figure]:
        env = deploy.create(client, n)
        out = figures(n, measure(client, env, repeats.crash))
        env.destroy()
        return out

    standalone(__doc__, "crash", per_size)


if __name__ == "__main__":
    main()
