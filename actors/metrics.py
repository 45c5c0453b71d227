"""Metrics for the Ray dashboard and Prometheus (``ray.util.metrics``).

Exported by every environment actor: its state (``o2ctl_environment_state``, 1 for the
current state and 0 for the others, tagged with the environment and workflow), its task
counts per state, its run number, and the duration and outcome of every transition; by the
controller's farm manager: each node's mode (``o2ctl_node_mode``, 1 for the current mode)
and the jobs done by each pilot (``o2ctl_pilot_jobs``). Ray's
metrics agent on each node serves them in Prometheus format; the dashboard's metrics view
and any Prometheus/Grafana read them from there. Metric objects are made once per actor
process; updates are cheap (a few gauge sets after a transition, not per task message).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from o2ctl.core.envfsm import EnvState
from o2ctl.core.states import TaskState

DURATION_BOUNDARIES = [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0]


@cache
def _metrics() -> dict[str, Any]:
    from ray.util import metrics

    return {
        "state": metrics.Gauge(
            "o2ctl_environment_state",
            description="1 for the environment's current state, 0 for the others",
            tag_keys=("env_id", "workflow", "state"),
        ),
        "tasks": metrics.Gauge(
            "o2ctl_environment_tasks",
            description="tasks of the environment in each state",
            tag_keys=("env_id", "state"),
        ),
        "run": metrics.Gauge(
            "o2ctl_environment_run_number",
            description="the environment's current (or last) run number",
            tag_keys=("env_id",),
        ),
        "duration": metrics.Histogram(
            "o2ctl_transition_duration_seconds",
            description="duration of environment transitions",
            boundaries=DURATION_BOUNDARIES,
            tag_keys=("event", "outcome"),
        ),
        "transitions": metrics.Counter(
            "o2ctl_transitions_total",
            description="environment transitions by event and outcome",
            tag_keys=("event", "outcome"),
        ),
        "node_mode": metrics.Gauge(
            "o2ctl_node_mode",
            description="1 for the farm node's current mode (sync or async), 0 for the other",
            tag_keys=("machine_id", "mode"),
        ),
        "pilot_jobs": metrics.Gauge(
            "o2ctl_pilot_jobs",
            description="grid jobs done by the current pilot of an async node",
            tag_keys=("machine_id",),
        ),
    }


def environment_state(env_id: str, workflow: str, state: str) -> None:
    gauge = _metrics()["state"]
    for s in EnvState:
        gauge.set(
            1.0 if s.value == state else 0.0,
            tags={"env_id": env_id, "workflow": workflow, "state": s.value},
        )


def task_counts(env_id: str, counts: Mapping[str, int]) -> None:
    gauge = _metrics()["tasks"]
    for s in (
        TaskState.STANDBY,
        TaskState.CONFIGURED,
        TaskState.RUNNING,
        TaskState.ERROR,
        TaskState.DONE,
        TaskState.UNKNOWN,
    ):
        gauge.set(float(counts.get(s.value, 0)), tags={"env_id": env_id, "state": s.value})


def run_number(env_id: str, number: int | None) -> None:
    if number is not None:
        _metrics()["run"].set(float(number), tags={"env_id": env_id})


def transition(event: str, seconds: float, ok: bool) -> None:
    tags = {"event": event, "outcome": "ok" if ok else "error"}
    _metrics()["duration"].observe(seconds, tags=tags)
    _metrics()["transitions"].inc(1.0, tags=tags)


def node_mode(machine_id: str, mode: str) -> None:
    gauge = _metrics()["node_mode"]
    for m in ("sync", "async"):
        gauge.set(1.0 if m == mode else 0.0, tags={"machine_id": machine_id, "mode": m})


def pilot_jobs(machine_id: str, jobs: int) -> None:
    _metrics()["pilot_jobs"].set(float(jobs), tags={"machine_id": machine_id})
