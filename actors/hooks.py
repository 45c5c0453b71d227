"""Hook tasks: tasks with a ``trigger`` run at their hook point, not at DEPLOY.

A hook point is ``before_<EVENT>``, ``leave_<STATE>``, ``enter_<STATE>``, ``after_<EVENT>``
(with an optional ``+N``/``-N`` weight: lower weights run first) or ``DESTROY``. At its
point each hook task is placed like any task, started by a task actor, and waited for
until its process ends or its timeout (default 30 s) passes; then its actor goes away.
Hooks of one weight run together. A critical hook that fails (non-zero exit, timeout)
fails the step it belongs to: before a transition, the transition is cancelled.

Only ``basic`` hook tasks are run here (a plain process, its exit code is its result);
call roles (integration functions) are reported as not configured. What is not handled
says so in the error, it is never skipped silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import ray

from actors.reasons import reason
from actors.transitions.deploy import start_task
from o2ctl.core.events import Event

if TYPE_CHECKING:
    from actors.environment import EnvironmentRuntime

DEFAULT_HOOK_TIMEOUT_S = 30.0
_POINT = re.compile(r"^\s*([A-Za-z_]+?)\s*([+-]\d+)?\s*$")


def split_trigger(trigger: str) -> tuple[str, int]:
    m = _POINT.match(trigger)
    if not m:
        return trigger.strip().lower(), 0
    return m.group(1).lower(), int(m.group(2) or 0)


def hooks_at(specs: Iterable[Any], point: str) -> dict[int, list[Any]]:
    by_weight: dict[int, list[Any]] = {}
    for s in specs:
        trigger = getattr(s, "trigger", None)
        if not trigger:
            continue
        name, weight = split_trigger(trigger)
        if name == point.lower():
            by_weight.setdefault(weight, []).append(s)
    return dict(sorted(by_weight.items()))


async def run_hooks(env: EnvironmentRuntime, point: str) -> list[str]:
    """Run the hook tasks of ``point``; returns the failures of critical ones."""
    groups = hooks_at(env.workflow.root.tasks(), point)
    failures: list[str] = []
    for _, specs in groups.items():
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
        failures += [msg for s, msg in zip(specs, results, strict=True) if msg and s.critical]
    return failures


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
    placements = await env.controller.place.remote(env.env_id, [request])
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
