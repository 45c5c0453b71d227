"""One size N of the suite: the floors, then one environment's life in stages.

What flows through: the floors of size N first (nothing else alive), then a cold-deployed
environment of N tasks handed from stage to stage. Every stage takes the environment in
DEPLOYED and leaves it in DEPLOYED (a warm deploy hands on a new one), so that a stage
that fails costs only its own figures: the failure is recorded, every environment and
idle task is removed, a fresh environment is deployed and the next stage runs. Stages:
transition cycles (sampled with py-spy at ``--profile N``), memory and CPU at rest,
failure detection, control-plane crashes (at the crash sizes), warm deploys, modify.

``preflight`` says up front, from what the controller reports free on its nodes, whether
the largest sizes fit Ray's ``memory`` resource (the admission control counts each task's
``wants`` plus the control plane's own overhead against it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench import crash, deploy, failure, floors, memory, modify, transitions
from bench.common import Figure, Repeats, say
from bench.farmscale import Layout


@dataclass
class Plan:
    sizes: list[int]
    repeats: Repeats
    crash_sizes: list[int]
    k: int  # tasks a modify adds
    layouts: list[Layout]
    profile: int | None = None


@dataclass
class Result:
    figures: list[Figure] = field(default_factory=list)
    floors: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def task_memory_mb() -> float:
    """What admission counts per task of the benchmark workflow (its largest want)."""
    from actors.transitions.common import EnvSettings
    from bench.devices import expanded_tasks

    specs, _ = expanded_tasks(3)
    wants = max(float(s.wants.get("memory") or 0) for s in specs)
    return wants + EnvSettings().task_overhead_mb


def preflight(client: Any, plan: Plan) -> list[str]:
    """A warning per size whose environment (plus the k a modify adds) will not fit."""
    free = sum(r["memory"] for r in client.nodes() if r["alive"] and r["node_class"] == "sync")
    per_task = task_memory_mb()
    out = []
    for n in plan.sizes:
        need = (n + plan.k) * per_task
        if need > free:
            out.append(
                f"N={n}: {n} + {plan.k} tasks want {need:,.0f} MB of Ray's memory resource "
                f"({per_task:.0f} MB each), the nodes have {free:,.0f} MB free: admission "
                "will refuse; Ray sizes the resource at 70 % of the memory free when it starts"
            )
            say(f"WARNING {out[-1]}")
    return out


Stage = Callable[[Any], Any]


def one_size(client: Any, n: int, plan: Plan, into: Result) -> None:
    """Every Ray measure at size N into ``into``; failures recorded, never raised."""
    try:
        floor = floors.measure(n, plan.repeats)
        into.floors.append(floor.to_dict())
        env, cold_runs = deploy.cold(client, n, plan.repeats.cold_at(n))
    except Exception as exc:  # without floors or an environment no stage can run
        _failed(client, into, f"N={n}", exc)
        return
    cold = deploy.cold_figure(n, cold_runs, floor.deploy_s, floor.deploy_cpu_s)
    into.figures.append(cold)
    for name, stage in _stages(client, n, plan, floor, cold.median, into.figures):
        try:
            env = stage(env)
        except Exception as exc:  # one stage failing must not lose the others
            _failed(client, into, f"N={n} {name}", exc)
            try:
                env = deploy.create(client, n)
            except Exception as again:
                _failed(client, into, f"N={n} (a fresh environment)", again)
                return
    env.destroy()
    client.clean_tasks()


def _failed(client: Any, into: Result, where: str, exc: BaseException) -> None:
    into.errors.append(f"{where}: {type(exc).__name__}: {exc}")
    say(f"{where} FAILED, going on: {into.errors[-1]}")
    with contextlib.suppress(Exception):
        client.shutdown()  # every environment and idle task of this size


def _stages(
    client: Any, n: int, plan: Plan, floor: floors.Floors, cold_s: float, out: list[Figure]
) -> list[tuple[str, Stage]]:
    r = plan.repeats

    def cycles(env: Any) -> Any:
        from bench.profile import sampling

        say(f"N={n}: {r.transitions} transition cycles")
        watched = sampling(env, f"transitions-{n}") if plan.profile == n else None
        with watched or contextlib.nullcontext():
            times = transitions.measure(env, r.transitions)
        out.extend(transitions.figures(n, times, floor))
        return env

    def at_rest(env: Any) -> Any:
        say(f"N={n}: memory and CPU at rest")
        env.configure()
        out.extend(memory.figures(n, memory.measure(env, r.idle_window_s), floor))
        env.reset()
        return env

    def failures(env: Any) -> Any:
        say(f"N={n}: {r.failure} failure detections")
        env.configure()
        out.append(failure.figure(n, *failure.measure(env, r.failure)))
        env.reset()
        return env

    def crashes(env: Any) -> Any:
        say(f"N={n}: {r.crash} crashes of the controller and of the environment actor")
        out.extend(crash.figures(n, crash.measure(client, env, r.crash)))
        return env

    def warm(env: Any) -> Any:
        env, runs = deploy.warm(client, env, n, r.deploy_warm)
        out.append(deploy.warm_figure(n, runs, cold_s))
        return env

    def modify_k(env: Any) -> Any:
        if why := modify.missing():
            out.append(Figure.unavailable(modify.MEASURE, n, "s", why))
            return env
        out.append(modify.figure(n, modify.measure(client, env, n, plan.k, r.modify)))
        return env

    named = [
        ("transitions", cycles),
        ("memory", at_rest),
        ("failure", failures),
        ("crash", crashes),
        ("deploy warm", warm),
        ("modify", modify_k),
    ]
    return [(name, s) for name, s in named if name != "crash" or n in plan.crash_sizes]
