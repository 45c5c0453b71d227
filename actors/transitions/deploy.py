"""DEPLOY: place every task, claim idle ones, start the rest, build the role tree.

What flows through: the expanded workflow's task specs go to the controller, which places
each on a node (constraints, sync nodes), claims a matching idle task from the pool when
there is one, and reserves a control port for each new one (``place``). Role actors are
created top-down (each knows its parent); new task actors are created on their node and
launch their process; claimed tasks are attached to this environment. All of it
concurrently; the slowest task sets the pace.

All or nothing: if any task cannot be placed or started, every task started here is
stopped, every claimed one goes back to the pool, every port is released and the role
actors are removed; the error lists each task that failed and why.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from typing import TYPE_CHECKING, Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from actors import naming
from actors.errors import DeployFailed
from actors.reasons import reason
from actors.role import RoleActor
from actors.task import LaunchRequest, TaskActor
from actors.transitions.common import TaskEntry, parent_of, update_roles
from o2ctl.core.events import Event
from o2ctl.core.launch import plan_launch
from o2ctl.core.states import TaskState

if TYPE_CHECKING:
    from actors.environment import EnvironmentRuntime


def deployable(specs: list[Any]) -> list[Any]:
    """The tasks deployed at DEPLOY: all but hook tasks (those with a trigger)."""
    return [s for s in specs if not getattr(s, "trigger", None)]


def _requests(env: EnvironmentRuntime) -> list[dict[str, Any]]:
    return [
        {
            "role_path": s.role_path,
            "task_class": s.task_class,
            "constraints": [(c.attribute, str(c.value)) for c in s.constraints],
            "controlled": s.control_mode in ("fairmq", "direct"),
        }
        for s in deployable(env.workflow.root.tasks())
    ]


def has_state(node: Any) -> bool:
    """Whether a role has a state to merge: a deployed task, or a role holding one (hook
    tasks, call roles and roles of nothing else have none: INVARIANT, never reported)."""
    if node.call is not None or node.task is not None:
        return node.call is None and not node.task.trigger
    return any(has_state(c) for c in node.children)


def create_roles(env: EnvironmentRuntime) -> None:
    """One role actor per aggregating role, parents first."""
    me = env.self_handle

    def visit(node: Any, parent: Any, parent_is_env: bool) -> None:
        if node.task is not None or not node.children:
            return
        children = {c.path: c.critical for c in node.children if has_state(c)}
        actor = RoleActor.options(
            name=naming.role_actor(env.env_id, node.path),
            namespace=naming.NAMESPACE,
        ).remote(env.env_id, node.path, children, parent, parent_is_env, me)
        env.roles[node.path] = actor
        env.role_children[node.path] = children
        for c in node.children:
            visit(c, actor, False)

    visit(env.workflow.root, me, True)


def _launch_request(env: EnvironmentRuntime, spec: Any, p: dict[str, Any]) -> LaunchRequest:
    cmd = spec.command
    plan = plan_launch(
        role_path=spec.role_path,
        task_id=p["task_id"],
        control_mode=spec.control_mode,
        value=cmd.value,
        arguments=list(cmd.arguments),
        env=list(cmd.env),
        shell=cmd.shell,
        control_port=p.get("control_port"),
    )
    return LaunchRequest(
        task_id=p["task_id"],
        task_class=spec.task_class,
        role_path=spec.role_path,
        env_id=env.env_id,
        control_mode=spec.control_mode,
        argv=plan.argv,
        env=dict(plan.env),
        flavour=plan.flavour,
        controlled=plan.controlled,
        control_port=p.get("control_port"),
        log_path=os.path.join(env.settings.log_dir, "tasks", f"{p['task_id']}.log"),
        host=p["node"]["hostname"],
        start_timeout_s=env.settings.start_timeout_s,
        critical=spec.critical,
    )


async def start_task(
    env: EnvironmentRuntime, spec: Any, p: dict[str, Any], attach: bool = True
) -> TaskEntry:
    """Start (or claim) the task of ``spec`` as placed by ``p``; attached to its role."""
    node = p["node"]
    parent = env.roles.get(parent_of(spec.role_path)) if attach else None
    if getattr(spec, "placement_vars", ()):
        from o2ctl.templates import render_task_for_host

        spec = render_task_for_host(
            spec,
            hostname=node["hostname"],
            extra={"task_id": p["task_id"], "environment_id": env.env_id},
        )
    if p["reused"]:
        actor: Any = ray.get_actor(p["actor_name"], namespace=naming.NAMESPACE)
        snap = await actor.attach.remote(env.env_id, spec.role_path, parent, env.self_handle)
    else:
        req = _launch_request(env, spec, p)
        actor = TaskActor.options(
            name=naming.task_actor(env.env_id, spec.role_path, p["task_id"]),
            namespace=naming.NAMESPACE,
            lifetime="detached",
            scheduling_strategy=NodeAffinitySchedulingStrategy(node["node_id"], soft=False),
        ).remote(p["task_id"], node["hostname"])
        if attach:
            actor.attach.remote(env.env_id, spec.role_path, parent, env.self_handle)
        try:
            snap = await actor.launch.remote(req)
        except BaseException:
            with contextlib.suppress(Exception):
                ray.kill(actor)
            raise
    return TaskEntry(
        role_path=spec.role_path,
        task_id=p["task_id"],
        task_class=spec.task_class,
        actor=actor,
        host=node["hostname"],
        node_id=node["node_id"],
        ip=node["ip"],
        control_mode=spec.control_mode,
        critical=spec.critical,
        spec=spec,
        control_port=snap.get("control_port"),
        pid=snap["pid"],
        state=TaskState(snap["state"]),
        version=snap["version"],
        reused=p["reused"],
        log_path=snap.get("log_path", ""),
    )


class _Progress:
    """Publishes how many tasks are up, at most every 0.2 s (operators watch long deploys)."""

    def __init__(self, env: EnvironmentRuntime, total: int) -> None:
        self.env, self.total, self.done, self.failed, self.last = env, total, 0, 0, 0.0

    async def track(self, start: Any) -> TaskEntry:
        try:
            entry: TaskEntry = await start
            self.done += 1
            return entry
        except BaseException:
            self.failed += 1
            raise
        finally:
            now = time.monotonic()
            if now - self.last > 0.2 or self.done + self.failed == self.total:
                self.last = now
                detail = {"done": self.done, "failed": self.failed, "total": self.total}
                self.env.publish(
                    Event(
                        "transition",
                        self.env.env_id,
                        event="DEPLOY",
                        status="ONGOING",
                        detail={"progress": detail},
                    )
                )


async def deploy(env: EnvironmentRuntime) -> None:
    specs = deployable(env.workflow.root.tasks())
    placements = await env.controller.place.remote(env.env_id, _requests(env))
    create_roles(env)
    progress = _Progress(env, len(specs))
    results = await asyncio.gather(
        *(progress.track(start_task(env, s, p)) for s, p in zip(specs, placements, strict=True)),
        return_exceptions=True,
    )
    failures = [
        f"{s.role_path}: {reason(r)}"
        for s, r in zip(specs, results, strict=True)
        if isinstance(r, BaseException)
    ]
    started = [r for r in results if isinstance(r, TaskEntry)]
    if failures:
        await _undo(env, started, placements)
        shown = "; ".join(failures[:10]) + (
            f"; and {len(failures) - 10} more" if len(failures) > 10 else ""
        )
        raise DeployFailed(
            f"deploy of environment {env.env_id} failed for "
            f"{len(failures)} of {len(specs)} task(s): {shown}"
        )
    env.tasks = {e.role_path: e for e in started}
    await env.controller.register_tasks.remote(env.env_id, [e.describe() for e in started])
    update_roles(env, started)


async def _undo(env: EnvironmentRuntime, started: list[TaskEntry], placements: list[Any]) -> None:
    reused = [e for e in started if e.reused]
    fresh = [e for e in started if not e.reused]
    await asyncio.gather(
        *(e.actor.terminate.remote(env.settings.kill_grace_s) for e in fresh),
        return_exceptions=True,
    )
    for e in fresh:
        with contextlib.suppress(Exception):
            ray.kill(e.actor)
    await asyncio.gather(*(e.actor.detach.remote() for e in reused), return_exceptions=True)
    await env.controller.unplace.remote(env.env_id, placements)
    for actor in env.roles.values():
        with contextlib.suppress(Exception):
            ray.kill(actor)
    env.roles.clear()
