"""Destroy: bring an environment down, keeping its tasks for reuse or not.

Order (aliecs.md §1): STOP_ACTIVITY if RUNNING (only when the caller allows it), RESET if
CONFIGURED, then tear down. With ``keep_tasks`` the tasks that are alive and in STANDBY
are detached and handed to the controller's idle pool; every other task's process is
ended (EXIT over OCC, then SIGTERM, SIGINT, SIGKILL) and its actor removed. A failure on
the way sends the environment to ERROR and the teardown goes on, forced: after a destroy,
no process of this environment is left that is not in the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import ray

from actors import naming
from actors.errors import ControlError
from actors.transitions.activity import stop_activity
from actors.transitions.simple import reset
from o2ctl.core.envfsm import EnvEvent, EnvState
from o2ctl.core.events import Event
from o2ctl.core.states import TaskState

if TYPE_CHECKING:
    from actors.environment import EnvironmentRuntime


async def _wind_down(env: EnvironmentRuntime, keep_tasks: bool) -> list[str]:
    """STOP and RESET as the state requires; returns what went wrong (not raised)."""
    problems: list[str] = []
    steps = []
    if env.fsm.state == EnvState.RUNNING:
        steps.append((EnvEvent.STOP_ACTIVITY, stop_activity))
    if env.fsm.state in (EnvState.RUNNING, EnvState.CONFIGURED) and keep_tasks:
        steps.append((EnvEvent.RESET, reset))
    for ev, step in steps:
        try:
            await step(env)
            env.fsm.fire(ev)
            env.publish(Event("environment", env.env_id, state=env.fsm.state.value))
        except Exception as exc:
            problems.append(f"{ev.value}: {exc}")
            break
    return problems


async def sweep_strays(env: EnvironmentRuntime, keep: set[str]) -> list[str]:
    """End every actor named after this environment that is still alive and not kept: a
    deploy interrupted by a crash can leave task actors the task table never recorded."""
    prefix = naming.env_prefix(env.env_id)
    names = await asyncio.to_thread(naming.named_actors, prefix)
    strays = [n for n in names if n not in keep]
    for name in strays:
        with contextlib.suppress(Exception):
            actor = await asyncio.to_thread(ray.get_actor, name, naming.NAMESPACE)
            if "#" in name:  # a task actor: end its process first
                await asyncio.wait_for(actor.terminate.remote(env.settings.kill_grace_s), 15)
            ray.kill(actor)
    return strays


async def destroy(
    env: EnvironmentRuntime, *, keep_tasks: bool, allow_in_running: bool, force: bool
) -> dict[str, Any]:
    if env.fsm.state == EnvState.RUNNING and not (allow_in_running or force):
        raise ControlError(
            f"environment {env.env_id} is RUNNING (run {env.run_number}): stop it first, "
            "or destroy with allow_in_running"
        )
    env.publish(Event("transition", env.env_id, event="DESTROY", status="STARTED"))
    problems = await _wind_down(env, keep_tasks)
    if problems and EnvEvent.GO_ERROR in env.fsm.allowed_events():
        env.fsm.fire(EnvEvent.GO_ERROR)
        env.publish(Event("environment", env.env_id, state=env.fsm.state.value))
    keep = [
        e
        for e in env.tasks.values()
        if keep_tasks and not problems and e.state == TaskState.STANDBY and e.controlled
    ]
    drop = [e for e in env.tasks.values() if e not in keep]
    await asyncio.gather(*(e.actor.detach.remote() for e in keep), return_exceptions=True)
    ended = await asyncio.gather(
        *(e.actor.terminate.remote(env.settings.kill_grace_s) for e in drop),
        return_exceptions=True,
    )
    for e in drop:
        with contextlib.suppress(Exception):
            ray.kill(e.actor)
    for actor in env.roles.values():
        with contextlib.suppress(Exception):
            ray.kill(actor)
    handled = {e.actor_name for e in env.tasks.values()}
    strays = await sweep_strays(
        env, handled | {naming.role_actor(env.env_id, p) for p in env.roles}
    )
    swept = [n.rsplit("#", 1)[1] for n in strays if "#" in n]
    from actors.hooks import run_hooks

    problems += await run_hooks(env, "DESTROY")
    await env.controller.release_environment.remote(
        env.env_id, [e.task_id for e in keep], [e.task_id for e in drop] + swept
    )
    env.publish(
        Event(
            "transition",
            env.env_id,
            event="DESTROY",
            status="DONE_ERROR" if problems else "DONE_OK",
            error="; ".join(problems),
        )
    )
    return {
        "env_id": env.env_id,
        "kept": [e.task_id for e in keep],
        "ended": {
            e.task_id: (str(r) if isinstance(r, BaseException) else r)
            for e, r in zip(drop, ended, strict=True)
        },
        "problems": problems,
    }
