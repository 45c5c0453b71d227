"""Failure detection: SIGKILL of one device during RUNNING → ERROR seen by an SDK subscriber.

What flows through: an environment of N tasks is started; the subscriber takes the current
end of the environment's event log as its cursor; one processor's device gets SIGKILL and
the clock runs until ``env.events(after=cursor)`` yields an ``environment`` event in state
ERROR. On the way: the task actor sees its child exit, reports to its role and to the
environment, the role's merged state goes to ERROR and reaches the environment, which
runs GO_ERROR: it enters ERROR and stops the tasks still running (in the order the
environment actor does them: the milestones show which). The environment
stamps each of those events; their times since the kill are kept in the notes, so the
table shows where the time goes. Each run then recovers: RECOVER (the dead device is
replaced), CONFIGURE, and the next run starts, a different processor each time.

Target: ≤ 0.5 s median. No floor is measured here: the target is absolute.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import ray

from bench.common import Figure, median, say

LIMIT_S = 0.5
WAIT_S = 30.0


def cursor(env: Any) -> int:
    """The sequence number of the environment's latest event (no events fetched)."""
    batch = ray.get(env.actor.wait_events.remote(2**62, 0.0), timeout=30)
    return int(batch["last_seq"])


def _victim(env: Any, i: int) -> dict[str, Any]:
    processors = sorted(
        (t for t in env.tasks if ".processor" in t["role_path"]), key=lambda t: t["role_path"]
    )
    victim: dict[str, Any] = processors[i % len(processors)]
    return victim


def one_kill(env: Any, i: int) -> tuple[float, dict[str, float]]:
    """Kill one device of a RUNNING environment; (seconds to ERROR at the SDK, milestones)."""
    victim = _victim(env, i)
    after = cursor(env)
    wall0, t0 = time.time(), time.perf_counter()
    os.kill(victim["pid"], signal.SIGKILL)
    marks: dict[str, float] = {}
    for ev in env.events(after=after, timeout=WAIT_S):
        key = _milestone(ev)
        if key and key not in marks:
            marks[key] = (ev["time"] - wall0) * 1e3
        if ev["kind"] == "environment" and ev["state"] == "ERROR":
            return time.perf_counter() - t0, marks
    raise RuntimeError(
        f"environment {env.id} did not report ERROR within {WAIT_S:.0f}s of "
        f"SIGKILL to {victim['role_path']} (pid {victim['pid']}); saw {marks}"
    )


def _milestone(ev: dict[str, Any]) -> str:
    if ev["kind"] == "task" and ev["state"] == "ERROR":
        return "task_error_ms"
    if ev["kind"] == "role" and ev["state"] == "ERROR":
        return "role_error_ms"
    if ev["kind"] == "transition" and ev["event"] == "GO_ERROR" and ev["status"] == "STARTED":
        return "go_error_started_ms"
    if ev["kind"] == "environment" and ev["state"] == "ERROR":
        return "env_error_ms"
    return ""


def measure(env: Any, runs: int) -> tuple[list[float], list[dict[str, float]]]:
    """``runs`` kills; the environment starts CONFIGURED and ends CONFIGURED."""
    seconds, marks = [], []
    for i in range(runs):
        env.start()
        took, seen = one_kill(env, i)
        seconds.append(took)
        marks.append(seen)
        say(f"failure {i + 1}/{runs}: ERROR at the SDK after {took * 1e3:.0f}ms ({seen})")
        _until_idle(env, WAIT_S)  # GO_ERROR goes on stopping the others after ERROR
        env.recover()
        env.configure()
    return seconds, marks


def _until_idle(env: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (busy := env.summary()["busy"]) is not None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"environment {env.id} still busy with {busy} after {timeout:.0f}s")
        time.sleep(0.05)


def figure(n: int, seconds: list[float], marks: list[dict[str, float]]) -> Figure:
    keys = sorted({k for m in marks for k in m})
    notes = {k: median([m[k] for m in marks if k in m]) for k in keys}
    return Figure(
        "failure→ERROR",
        n,
        "ms",
        [s * 1e3 for s in seconds],
        None,
        "",
        LIMIT_S * 1e3,
        absolute=True,
        notes=notes,
    )


def main() -> None:
    from bench import deploy
    from bench.standalone import standalone

    def per_size(client: Any, n: int, repeats: Any) -> list[Figure]:
        env = deploy.create(client, n)
        env.configure()
        out = [figure(n, *measure(env, repeats.failure))]
        env.destroy()
        return out

    standalone(__doc__, "failure", per_size)


if __name__ == "__main__":
    main()
