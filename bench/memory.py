"""Memory per task: the task actor's worker process plus its device, unique set sizes.

What flows through: an environment of N tasks in CONFIGURED. Ray's state API lists the
live ``Task`` actors with their worker pids; an actor's name ends with ``#<task
id>``, which pairs it with its task in ``env.tasks`` (whose ``pid`` is the device). For
each task, USS(worker) + USS(device) from psutil (``memory_full_info().uss``, the memory
that would be freed if the process ended).

Floor (``bench.floors``): a bare Ray actor's worker + a bare device, configured the same
way. Target: ≤ 1.1 x floor. The split (actor and device medians) is kept in the notes.

Beside it, what a task costs at rest: the CPU (ms per second) its actor and its device use
over a few seconds in CONFIGURED with nothing asked, against the same bare pair (no target:
it shows what watching a process costs).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import psutil

from bench.common import Figure, median
from bench.devices import IDLE_WINDOW_S
from bench.floors import Floors
from bench.procs import cpu_s, task_actor_pids

LIMIT = 1.1


def _uss_mb(pid: int) -> float:
    return float(psutil.Process(pid).memory_full_info().uss) / 2**20


@dataclass
class AtRest:
    """Per task, in ``env.tasks`` order: USS (MB) and CPU at rest (ms/s), actor and device."""

    actor_mb: list[float] = field(default_factory=list)
    device_mb: list[float] = field(default_factory=list)
    actor_idle: list[float] = field(default_factory=list)
    device_idle: list[float] = field(default_factory=list)


def measure(env: Any, window_s: float = IDLE_WINDOW_S) -> AtRest:
    """Memory of every task, then the CPU each part uses over ``window_s`` left alone."""
    workers = task_actor_pids()
    pairs = []
    for task in env.tasks:
        worker = workers.get(task["task_id"])
        if worker is None or not task["pid"]:
            raise RuntimeError(
                f"task {task['role_path']} ({task['task_id']}): no live actor "
                "worker or device process to measure"
            )
        pairs.append((worker, int(task["pid"])))
    out = AtRest([_uss_mb(w) for w, _ in pairs], [_uss_mb(d) for _, d in pairs])
    before = [(cpu_s([w]), cpu_s([d])) for w, d in pairs]
    time.sleep(window_s)  # the window is the measure
    for (w, d), (cw, cd) in zip(pairs, before, strict=True):
        out.actor_idle.append((cpu_s([w]) - cw) * 1e3 / window_s)
        out.device_idle.append((cpu_s([d]) - cd) * 1e3 / window_s)
    return out


def figures(n: int, rest: AtRest, floors: Floors) -> list[Figure]:
    total = [a + d for a, d in zip(rest.actor_mb, rest.device_mb, strict=True)]
    idle = [a + d for a, d in zip(rest.actor_idle, rest.device_idle, strict=True)]
    memory = Figure(
        "memory/task",
        n,
        "MB",
        total,
        floors.task_uss_mb,
        "bare actor+device",
        LIMIT,
        notes={
            "actor_mb": median(rest.actor_mb),
            "device_mb": median(rest.device_mb),
            "floor_actor_mb": median(floors.actors.actor_uss_mb),
            "floor_device_mb": median(floors.grpc.device_uss_mb),
        },
    )
    at_rest = Figure(
        "idle CPU/task",
        n,
        "ms/s",
        idle,
        floors.task_idle_ms_per_s,
        "bare actor+device",
        notes={
            "actor_ms_per_s": median(rest.actor_idle),
            "device_ms_per_s": median(rest.device_idle),
            "floor_actor_ms_per_s": median(floors.actors.idle_ms_per_s),
            "floor_device_ms_per_s": median(floors.grpc.idle_ms_per_s),
        },
    )
    return [memory, at_rest]


def main() -> None:
    from bench import deploy, floors
    from bench.standalone import standalone

    def per_size(client: Any, n: int, repeats: Any) -> list[Figure]:
        floor = floors.measure(n, repeats)
        env = deploy.create(client, n)
        env.configure()
        out = figures(n, measure(env), floor)
        env.destroy()
        return out

    standalone(__doc__, "memory", per_size)


if __name__ == "__main__":
    main()
