"""The processes behind a measure: which they are, and the CPU they use.

What flows through: Ray's state API (asked on our own Ray, by its GCS address) names the
live actors of a class with their worker pids; a task actor's name ends with ``#<task
id>``, which pairs it with its task in ``env.tasks``, whose ``pid`` is the device. Ray's
own GCS server and raylets are found by their command lines (our Ray's session name).
psutil reads CPU times (user + system) of groups of those processes before and after a
measure, so that a wall time can be split into who was busy during it.

A group that comes back empty is an error, not a zero: when the runtime renames an actor
class (``Environment``, ``Controller``, ``Task``), the suite says so instead of reporting
that the control plane used no CPU.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import psutil


def live_actors(class_name: str) -> list[Any]:
    """Ray's state-API records of the live actors of ``class_name`` on our own Ray (not on
    whichever cluster ``/tmp/ray/ray_current_cluster`` names)."""
    import ray
    from ray.util.state import list_actors

    address = ray.get_runtime_context().gcs_address
    filters: list[Any] = [("class_name", "=", class_name), ("state", "=", "ALIVE")]
    return list(
        list_actors(
            address=address,
            filters=filters,
            limit=10_000,
            raise_on_missing_output=False,
        )
    )


def cpu_s(pids: Iterable[int]) -> float:
    """CPU seconds (user + system) used so far by the live processes among ``pids``."""
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


class CpuMeter:
    """CPU used by named groups of processes between ``start`` and ``stop``, in ms."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups
        self.used: dict[str, list[float]] = {name: [] for name in groups}
        self._at: dict[str, float] = {}

    def start(self) -> None:
        self._at = {name: cpu_s(pids) for name, pids in self.groups.items()}

    def stop(self) -> None:
        for name, pids in self.groups.items():
            self.used[name].append((cpu_s(pids) - self._at[name]) * 1e3)


def task_actor_pids() -> dict[str, int]:
    """Task id → worker pid of every live task actor (its name ends with ``#<task id>``)."""
    return {
        a.name.rpartition("#")[2]: int(a.pid)
        for a in live_actors("Task")
        if a.name and "#" in a.name and a.pid
    }


def _session_flag() -> str:
    """``--session-name=…`` of our Ray: its GCS server and raylets carry it."""
    import ray

    node = ray._private.worker.global_worker.node
    if node is None:
        raise RuntimeError("Ray is not initialised in this process")
    return f"--session-name={node.session_name}"


def _ray_processes() -> Iterator[tuple[str, int, list[str]]]:
    """(kind, pid, argv) of our Ray's GCS server and raylets."""
    flag = _session_flag()
    for p in psutil.process_iter(["pid", "name", "cmdline"]):
        argv = p.info["cmdline"] or []
        if p.info["name"] in ("gcs_server", "raylet") and flag in argv:
            yield ("gcs" if p.info["name"] == "gcs_server" else "raylet"), int(p.info["pid"]), argv


def raylets_by_node() -> dict[str, int]:
    """Ray node id → its raylet's pid, on our Ray."""
    out = {}
    for kind, pid, argv in _ray_processes():
        node = next((a.partition("=")[2] for a in argv if a.startswith("--node_id=")), "")
        if kind == "raylet":
            out[node or str(pid)] = pid
    return out


def ray_system_pids() -> dict[str, list[int]]:
    """Our Ray's own processes: its GCS server and every node's raylet."""
    found = list(_ray_processes())
    return {
        "gcs": [pid for kind, pid, _ in found if kind == "gcs"],
        "raylets": [pid for kind, pid, _ in found if kind == "raylet"],
    }


def count_actors() -> int:
    """Live actors of every class on our Ray (roles, tasks, environments, controller…)."""
    import ray
    from ray.util.state import list_actors

    address = ray.get_runtime_context().gcs_address
    alive: list[Any] = [("state", "=", "ALIVE")]
    return len(
        list_actors(address=address, filters=alive, limit=10_000, raise_on_missing_output=False)
    )


def control_pids(env: Any) -> dict[str, list[int]]:
    """The processes of one environment, by part: environment actor, controller, task
    actors' workers, devices, and Ray's GCS and raylets. Raises if a part is not found."""
    tasks = task_actor_pids()
    groups = {
        "env": [
            int(a.pid) for a in live_actors("Environment") if a.pid and a.name == f"env:{env.id}"
        ],
        "controller": [int(a.pid) for a in live_actors("Controller") if a.pid],
        "task actors": [tasks[t["task_id"]] for t in env.tasks if t["task_id"] in tasks],
        "devices": [int(t["pid"]) for t in env.tasks if t["pid"]],
        **ray_system_pids(),
    }
    empty = [name for name, pids in groups.items() if not pids]
    if empty:
        raise RuntimeError(
            f"no live process found for {', '.join(empty)} of environment {env.id} "
            "(an actor class renamed? Ray's process names changed?)"
        )
    return groups
