"""Hook points: the hook tasks and the call roles of one point, in weight order.

A hook point is ``before_<EVENT>``, ``leave_<STATE>``, ``enter_<STATE>``, ``after_<EVENT>``,
the bare ``<EVENT>`` (the transition's own step) or ``DESTROY``, with an optional
``+N``/``-N`` weight (lower weights run first). ``run_hooks`` handles one point, or only
its negative or non-negative weights, as AliECS does, weight by weight: first the calls
triggered at that weight are started (``actors/calls.py``), then the calls whose ``await``
is this point and weight are collected (those just started included), then the hook
tasks of that weight run together to their end: each is placed like any task, started by
a task actor and waited for until its process ends or its timeout (default 30 s) passes.
A critical failure (a hook task's non-zero exit or timeout, a critical call's error)
ends the point after its weight and is returned, naming the task or call and its reason;
what the caller does with it depends on where in the transition the point is
(``actors/phases.py``). Non-critical failures are events only.

Only ``basic`` hook tasks are run (a plain process, its exit code is its result); any other
control mode fails with a sentence saying so, never skipped silently.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any, Literal

import ray

from actors.calls import CallBook
from actors.reasons import reason
from actors.transitions.deploy import start_task
from o2ctl.core.events import Event
from o2ctl.templates.hookpoints import Points, index_points

if TYPE_CHECKING:
    from actors.environment import EnvironmentRuntime

DEFAULT_HOOK_TIMEOUT_S = 30.0
Weights = Literal["all", "negative", "nonnegative"]


def _points(env: EnvironmentRuntime) -> Points:
    book: CallBook = env.calls
    if book.points is None:
        book.points = index_points(env.workflow.root)
    return book.points


def _kept(weight: int, weights: Weights) -> bool:
    return weights == "all" or (weight < 0) == (weights == "negative")


async def run_hooks(env: EnvironmentRuntime, point: str, weights: Weights = "all") -> list[str]:
    """Run the calls and hook tasks of ``point``; returns the critical failures."""
    book: CallBook = env.calls
    here = _points(env).get(point.lower(), {})
    order = sorted(w for w in set(here) | book.awaiting(point) if _kept(w, weights))
    failures: list[str] = []
    for weight in order:
        specs, calls = here.get(weight, ([], []))
        for path, call in calls:
            book.start(env, path, call)
        for started, error in await book.collect(point, weight):
            if error and started.spec.critical:
                failures.append(
                    f"call {started.path} ({started.spec.func} at {started.spec.trigger}): {error}"
                )
        if specs:
            failures += await _run_tasks(env, specs, point)
        if failures:
            break
    if point.upper() == "DESTROY" and weights != "negative":
        book.abandon(env, "the environment was destroyed")
    return failures


async def _run_tasks(env: EnvironmentRuntime, specs: list[Any], point: str) -> list[str]:
    """Run hook tasks together; returns the failures of critical ones."""
    results = await asyncio.gather(*(_run_one(env, s, point) for s in specs))
    for s, msg in zip(specs, results, strict=True):
        env.publish(
            Event(
                "task",
                env.env_id,
                path=s.role_path,
                event=point,
                status="DONE_ERROR" if msg else "DONE_OK",
                error=msg,
                state="ERROR" if msg else "DONE",
                detail={"hook": True, "critical": s.critical},
            )
        )
    return [msg for s, msg in zip(specs, results, strict=True) if msg and s.critical]


async def _run_one(env: EnvironmentRuntime, spec: Any, point: str) -> str:
    """Run one hook task to its end; returns "" or what went wrong."""
    if spec.control_mode not in ("basic", "hook"):
        return (
            f"hook task {spec.role_path} at {point}: control mode {spec.control_mode} "
            "is not supported for hooks (use basic)"
        )
    request = {
        "role_path": spec.role_path,
        "task_class": spec.task_class,
        "constraints": [(c.attribute, str(c.value)) for c in spec.constraints],
        "controlled": False,
        "hook": True,
    }
    try:
        placements = await env.controller.place.remote(env.env_id, [request])
    except Exception as exc:
        return f"hook task {spec.role_path} at {point}: not placed: {reason(exc)}"
    entry = None
    try:
        entry = await start_task(env, spec, placements[0], attach=False)
        snap = await entry.actor.wait_exit.remote(spec.timeout_s or DEFAULT_HOOK_TIMEOUT_S)
        if snap["state"] != "DONE":
            return f"hook task {spec.role_path} at {point}: {snap['error'] or snap['state']}"
        return ""
    except Exception as exc:
        return f"hook task {spec.role_path} at {point}: {reason(exc)}"
    finally:
        if entry is not None:
            with contextlib.suppress(Exception):
                await entry.actor.terminate.remote(env.settings.kill_grace_s)
            with contextlib.suppress(Exception):
                ray.kill(entry.actor)
        await env.controller.release_environment.remote(
            env.env_id, [], [p["task_id"] for p in placements]
        )
