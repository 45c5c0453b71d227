"""Deploy, cold and warm: from the SDK call to an environment of N tasks in DEPLOYED.

What flows through: ``client.create_environment(..., auto_configure=False)`` (the
controller expands the workflow, creates the environment actor, which places the tasks,
creates the role actors and the task actors, and each task actor starts its device and
waits for it to answer GetState). Cold: no idle task, every process is new. Warm: the
previous environment was destroyed with ``keep_tasks=True`` and every task comes from the
idle pool. Besides the SDK wall time, the environment's own DEPLOY duration is kept, which
and the time from the call to the environment actor's start, so the table shows what the
SDK call adds around DEPLOY (expansion, creating the environment actor).

Floor (``bench.floors``): the same N devices launched directly until each answers GetState,
plus N bare Ray actors created. Targets: cold ≤ 1.2 x floor; warm ≤ 0.05 x cold.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import psutil

from bench.common import WORKFLOW, Figure, elapsed, median, say, workflow_vars
from bench.procs import cpu_s, task_actor_pids

COLD_LIMIT = 1.2
WARM_LIMIT = 0.05


@dataclass
class Deploys:
    """Deploys of one kind: the SDK wall time and where it went, one entry per run."""

    sdk_s: list[float] = field(default_factory=list)
    before_s: list[float] = field(default_factory=list)  # call → environment actor up
    deploy_s: list[float] = field(default_factory=list)  # the environment's own DEPLOY
    called_at: list[float] = field(default_factory=list)  # wall clock of each call
    timeline: list[dict[str, float]] = field(default_factory=list)  # cold runs only

    def add(self, sdk: float, before: float, deploy: float, called_at: float) -> None:
        self.sdk_s.append(sdk)
        self.before_s.append(before)
        self.deploy_s.append(deploy)
        self.called_at.append(called_at)


def timeline(env: Any, called_at: float) -> dict[str, float]:
    """When the task actors' workers and the devices of a cold deploy started, seconds
    after the call (process creation times): how the time splits between Ray starting
    workers and task actors starting their devices. And the CPU those processes used since
    they were born, which on a small machine is what the deploy waits for."""
    workers = task_actor_pids()
    pairs = [(workers[t["task_id"]], t["pid"]) for t in env.tasks if t["task_id"] in workers]
    born = [(psutil.Process(w).create_time(), psutil.Process(d).create_time()) for w, d in pairs]
    return {
        "first_worker_s": min(w for w, _ in born) - called_at,
        "last_worker_s": max(w for w, _ in born) - called_at,
        "last_device_s": max(d for _, d in born) - called_at,
        "device_after_worker_s": median([d - w for w, d in born]),
        "cpu_task_actors_s": cpu_s(w for w, _ in pairs),
        "cpu_devices_s": cpu_s(d for _, d in pairs),
    }


def create(client: Any, n: int, into: Deploys | None = None) -> Any:
    """A new environment of N tasks in DEPLOYED; its timings are added to ``into``."""
    wall0, t0 = time.time(), time.perf_counter()
    env = client.create_environment(WORKFLOW, vars=workflow_vars(n), auto_configure=False)
    took = elapsed(t0)
    summary = env.summary()
    if summary["state"] != "DEPLOYED" or summary["tasks"] != n:
        raise RuntimeError(
            f"deploy of {n} tasks gave {summary['tasks']} tasks in "
            f"{summary['state']}, expected {n} in DEPLOYED"
        )
    if into is not None:
        deploy_s = summary["durations"].get("DEPLOY", 0.0)
        into.add(took, summary["created"] - wall0, deploy_s, wall0)
    return env


def cold(client: Any, n: int, runs: int) -> tuple[Any, Deploys]:
    """``runs`` cold deploys; every environment but the last is destroyed with its tasks."""
    if client.clean_tasks():
        say("ended idle tasks left from before, so that the deploy is cold")
    env = None
    runs_of = Deploys()
    for i in range(runs):
        if env is not None:
            env.destroy()
        say(f"N={n}: cold deploy {i + 1}/{runs}")
        env = create(client, n, runs_of)
        if any(t["reused"] for t in env.tasks):
            raise RuntimeError("a cold deploy reused idle tasks")
        runs_of.timeline.append(timeline(env, runs_of.called_at[-1]))
    return env, runs_of


def warm(client: Any, env: Any, n: int, runs: int) -> tuple[Any, Deploys]:
    """``runs`` warm deploys, each from the tasks the previous environment left idle."""
    runs_of = Deploys()
    for i in range(runs):
        env.destroy(keep_tasks=True)
        say(f"N={n}: warm deploy {i + 1}/{runs}")
        env = create(client, n, runs_of)
        if not all(t["reused"] for t in env.tasks):
            raise RuntimeError("a warm deploy started new processes instead of reusing idle ones")
    return env, runs_of


def _notes(d: Deploys) -> dict[str, Any]:
    marks = {k: median([t[k] for t in d.timeline]) for k in (d.timeline[0] if d.timeline else {})}
    return {
        **marks,
        "env_deploy_s": d.deploy_s,
        "before_deploy_s": d.before_s,
        "env_deploy_median_s": median(d.deploy_s),
        "before_median_s": median(d.before_s),
    }


def cold_figure(
    n: int, runs: Deploys, floor_s: list[float], floor_cpu_s: tuple[float, float] = (0.0, 0.0)
) -> Figure:
    return Figure(
        "deploy cold",
        n,
        "s",
        runs.sdk_s,
        median(floor_s),
        "launch+actors",
        COLD_LIMIT,
        notes={
            **_notes(runs),
            "floor_samples": floor_s,
            "floor_cpu_devices_s": floor_cpu_s[0],
            "floor_cpu_actors_s": floor_cpu_s[1],
        },
    )


def warm_figure(n: int, runs: Deploys, cold_s: float) -> Figure:
    return Figure("deploy warm", n, "s", runs.sdk_s, cold_s, "cold", WARM_LIMIT, notes=_notes(runs))


def figures(
    n: int,
    cold_runs: Deploys,
    warm_runs: Deploys,
    floor_s: list[float],
    floor_cpu_s: tuple[float, float] = (0.0, 0.0),
) -> list[Figure]:
    cold_fig = cold_figure(n, cold_runs, floor_s, floor_cpu_s)
    return [cold_fig, warm_figure(n, warm_runs, cold_fig.median)]


def main() -> None:
    from bench import floors
    from bench.standalone import standalone

    def per_size(client: Any, n: int, repeats: Any) -> list[Figure]:
        floor = floors.measure(n, repeats)
        env, cold_runs = cold(client, n, repeats.cold_at(n))
        env, warm_runs = warm(client, env, n, repeats.deploy_warm)
        env.destroy()
        return figures(n, cold_runs, warm_runs, floor.deploy_s, floor.deploy_cpu_s)

    standalone(__doc__, "deploy", per_size)


if __name__ == "__main__":
    main()
