"""RECOVER: from ERROR back to DEPLOYED, every task in STANDBY.

A task whose process failed (crashed, hung past its timeout, or was found gone) is
replaced (GO_ERROR and RECOVER have no FairMQ equivalent, aliecs.md §4): its task actor
stops what is left of the process and starts a new one with the same launch request. A
task lost with its node is placed again on another fitting node, as at DEPLOY, with a new
task actor; if no node fits, RECOVER fails naming what cannot be placed and why. A task
still healthy is brought back to STANDBY with STOP and RESET as needed.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import ray
from ray.exceptions import RayActorError

from actors.errors import PortTaken
from actors.reasons import reason, unwrap
from actors.transitions.common import TaskEntry, fan_out, raise_if_failed, update_roles
from actors.transitions.deploy import (
    PORT_ATTEMPTS,
    deployable_request,
    find_home,
    launch_request,
    remake_roles,
    role_homes,
    start_task,
)
from o2ctl.core.occevents import OccEvent
from o2ctl.core.states import TaskState

if TYPE_CHECKING:
    from actors.environment import EnvironmentRuntime


async def _restart(env: EnvironmentRuntime, e: TaskEntry) -> dict[str, Any]:
    """A new process for ``e``, on another control port while its own is someone else's."""
    req = None  # the same request
    for attempt in range(PORT_ATTEMPTS):
        try:
            return dict(await e.actor.restart.remote(env.settings.kill_grace_s, req))
        except Exception as exc:
            taken = unwrap(exc)
            if not isinstance(taken, PortTaken) or attempt == PORT_ATTEMPTS - 1:
                raise
            port = await env.controller.replace_port.remote(e.task_id, {"ip": e.ip}, taken.port)
            p = {"task_id": e.task_id, "control_port": port, "node": {"hostname": e.host}}
            req = launch_request(env, e.spec, p)
    raise AssertionError("unreachable")


async def _replace(env: EnvironmentRuntime, e: TaskEntry) -> str:
    try:
        snap = await _restart(env, e)
    except Exception as exc:
        if _actor_gone(exc):  # its node is going away: place it again elsewhere
            e.lost = e.lost or e.host
            return ""
        why = reason(exc)
        e.state, e.error = TaskState.ERROR, f"task {e.role_path} on {e.host}: restart failed: {why}"
        return e.error
    e.state, e.version, e.pid, e.error = TaskState(snap["state"]), snap["version"], snap["pid"], ""
    e.control_port = snap.get("control_port")
    return ""


def _actor_gone(exc: BaseException) -> bool:
    exc = unwrap(exc)
    return isinstance(exc, RayActorError) or "not schedulable" in str(exc)


async def _replace_lost(env: EnvironmentRuntime, lost: list[TaskEntry]) -> list[str]:
    """Place the tasks of a lost node again, on nodes that fit; new actors, new processes."""
    requests = [
        {**deployable_request(e.spec), "avoid": [e.node_id], "replaces": e.task_id} for e in lost
    ]  # "replaces": within the site limit of tasks per environment, the new one takes its place
    try:
        placements = await env.controller.place.remote(env.env_id, requests, env.reclaim)
    except Exception as exc:
        return [f"cannot place again the tasks lost with their node: {reason(exc)}"]
    started = await asyncio.gather(
        *(start_task(env, e.spec, p) for e, p in zip(lost, placements, strict=True)),
        return_exceptions=True,
    )
    errors, fresh = [], []
    for e, new in zip(lost, started, strict=True):
        if isinstance(new, BaseException):
            errors.append(f"task {e.role_path}: could not be started again: {reason(new)}")
            continue
        with contextlib.suppress(Exception):
            ray.kill(e.actor)
        env.tasks[e.role_path] = new
        fresh.append(new)
    await env.controller.register_tasks.remote(env.env_id, [e.describe() for e in fresh])
    await env.controller.release_environment.remote(
        env.env_id, [], [e.task_id for e in lost if env.tasks[e.role_path] is not e]
    )
    return errors


async def recover(env: EnvironmentRuntime) -> None:
    homes = role_homes(env)  # before the lost tasks move: where their roles lived
    lost = [e for e in env.tasks.values() if e.lost]
    errors = await _replace_lost(env, lost) if lost else []
    broken = [
        e
        for e in env.tasks.values()
        if not e.lost and e.state in (TaskState.ERROR, TaskState.UNKNOWN, TaskState.DONE)
    ]
    errors += [m for m in await asyncio.gather(*(_replace(env, e) for e in broken)) if m]
    gone = [e for e in broken if e.lost]  # found on a node that is going away
    if gone:
        errors += await _replace_lost(env, gone)
    await find_home(env)
    remake_roles(env, homes, {e.node_id for e in lost + gone})
    running = [e for e in env.tasks.values() if e.state == TaskState.RUNNING]
    failures = await fan_out(env, OccEvent.STOP, only=running)
    configured = [e for e in env.tasks.values() if e.state == TaskState.CONFIGURED]
    failures += await fan_out(env, OccEvent.RESET, only=configured)
    update_roles(env, env.tasks.values())
    raise_if_failed(env, "RECOVER", errors + failures)
