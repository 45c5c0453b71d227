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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from actors import naming
from actors.cluster import home_options, survives_head
from actors.errors import DeployFailed, PortTaken
from actors.reasons import reason, unwrap
from actors.role import RoleActor
from actors.task import TaskActor
from actors.taskproc import LaunchRequest
from actors.transitions.common import TaskEntry, update_roles
from actors.transitions.deployprogress import DeployProgress
from o2ctl.core.events import Event
from o2ctl.core.launch import plan_launch
from o2ctl.core.states import TaskState
from occ.processes import SYSTEM_ENV

if TYPE_CHECKING:
    from actors.environment import EnvironmentRuntime

PORT_ATTEMPTS = 3


def deployable(specs: list[Any]) -> list[Any]:
    """The tasks deployed at DEPLOY: all but hook tasks (those with a trigger)."""
    return [s for s in specs if not getattr(s, "trigger", None)]


def deployable_request(spec: Any) -> dict[str, Any]:
    """What the controller needs to place one task."""
    return {
        "role_path": spec.role_path,
        "task_class": spec.task_class,
        "constraints": [(c.attribute, str(c.value)) for c in spec.constraints],
        "controlled": spec.control_mode in ("fairmq", "direct"),
        "wants": dict(spec.wants or {}),
    }


def _requests(env: EnvironmentRuntime) -> list[dict[str, Any]]:
    return [deployable_request(s) for s in deployable(env.workflow.root.tasks())]


def has_state(node: Any) -> bool:
    """Whether a role has a state to merge: a deployed task, or a role holding one (hook
    tasks, call roles and roles of nothing else have none: INVARIANT, never reported)."""
    if node.call is not None or node.task is not None:
        return node.call is None and not node.task.trigger
    return any(has_state(c) for c in node.children)


def role_nodes(root: Any, placements: dict[str, str]) -> dict[str, str]:
    """Each role whose deployed tasks are all on one node, with that node (``placements``:
    node id by task path); a role that spans nodes, or holds none, is not in it."""
    out: dict[str, str] = {}

    def visit(node: Any) -> set[str]:
        if node.task is not None:
            return {placements[node.path]} if node.path in placements else set()
        below: set[str] = set()
        for c in node.children:
            below |= visit(c)
        if len(below) == 1:
            out[node.path] = next(iter(below))
        return below

    visit(root)
    return out


def role_placement(env: EnvironmentRuntime, path: str, nodes: dict[str, str]) -> dict[str, Any]:
    """A role whose tasks are on one node lives there (it drives them from there), held
    hard (Ray's soft affinity puts a 0-CPU actor elsewhere while the node is busy starting
    workers, as during a deploy): it goes with its node, like its tasks; its parent drives
    its share meanwhile and RECOVER makes it again. Any other lives at the environment's
    role home (``find_home``: off the head under ``up --ha``, by ``home_options``: Ray restarts
    it elsewhere when that node is lost), else on the control node. Answers actor options."""
    if path in nodes:
        return {"scheduling_strategy": NodeAffinitySchedulingStrategy(nodes[path], soft=False)}
    home = env.role_home or env.settings.control_node_id
    return home_options(home, survives_head(env.settings.records_uri), avoid_head=True)


async def find_home(env: EnvironmentRuntime) -> None:
    """Ask the controller where this environment's roles that span nodes go (beside the
    environment when it is off the head: ``envlife.home``); the control node if it cannot
    say."""
    here = ""
    with contextlib.suppress(Exception):  # not in a Ray worker (plain tests)
        here = str(ray.get_runtime_context().get_node_id())
    try:
        env.role_home = str(await env.controller.control_home.remote(here))
    except Exception:  # an older controller, or none (plain tests): as before
        env.role_home = ""


def create_roles(env: EnvironmentRuntime, nodes: dict[str, str] | None = None) -> None:
    """One role actor per aggregating role, parents first, each on its tasks' node when
    they are on one (``nodes``, from ``role_nodes``)."""
    nodes = nodes or {}

    def visit(node: Any, parent: Any) -> None:
        if node.task is not None or not node.children:
            return
        children = {c.path: c.critical for c in node.children if has_state(c)}
        actor = new_role(env, node.path, children, parent, role_placement(env, node.path, nodes))
        env.roles[node.path] = actor
        env.role_children[node.path] = children
        for c in node.children:
            visit(c, actor)

    visit(env.workflow.root, env.self_handle)


def role_homes(env: EnvironmentRuntime) -> dict[str, str]:
    """Where each role actor lives by the rule of ``role_placement`` (node id; a role that
    spans nodes is not in it), from the task table as it is now."""
    return role_nodes(env.workflow.root, {e.role_path: e.node_id for e in env.tasks.values()})


def remake_roles(env: EnvironmentRuntime, homes: dict[str, str], gone: set[str]) -> list[str]:
    """RECOVER: the role actors that lived (``homes``, from before) on a node now gone are
    made again where their tasks are now, parents first; returns their paths."""
    nodes = role_homes(env)
    redo = sorted((p for p, n in homes.items() if n in gone and p in env.roles), key=len)
    for path in redo:
        with contextlib.suppress(Exception):
            ray.kill(env.roles.pop(path))
        parent_path = path.rsplit(".", 1)[0] if "." in path else ""
        root = path == env.workflow.root.path
        parent = env.self_handle if root else env.roles.get(parent_path)
        with contextlib.suppress(Exception):  # a name not yet released: the parent drives
            kids = env.role_children.get(path, {})
            env.roles[path] = new_role(env, path, kids, parent, role_placement(env, path, nodes))
    return redo


def new_role(
    env: EnvironmentRuntime,
    path: str,
    children: dict[str, bool],
    parent: Any,
    placement: dict[str, Any],
) -> Any:
    """The one way a role actor is made (deploy, modify, RECOVER): named after its
    environment and path, detached, reporting to ``parent`` (the environment for the root)."""
    return RoleActor.options(
        name=naming.role_actor(env.env_id, path),
        namespace=naming.NAMESPACE,
        lifetime="detached",
        **placement,
    ).remote(env.env_id, path, children, parent, parent is env.self_handle, env.self_handle)


def launch_request(env: EnvironmentRuntime, spec: Any, p: dict[str, Any]) -> LaunchRequest:
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
        env={**dict(plan.env), SYSTEM_ENV: env.settings.system_id},
        flavour=plan.flavour,
        controlled=plan.controlled,
        control_port=p.get("control_port"),
        log_path=os.path.join(env.settings.log_dir, "tasks", f"{p['task_id']}.log"),
        host=p["node"]["hostname"],
        start_timeout_s=env.settings.start_timeout_s,
        critical=spec.critical,
    )


def spec_for(env: EnvironmentRuntime, spec: Any, task_id: str, hostname: str) -> Any:
    """The task's spec with its placement-time variables rendered for its host."""
    if not getattr(spec, "placement_vars", ()):
        return spec
    from o2ctl.templates import render_task_for_host

    return render_task_for_host(
        spec, hostname=hostname, extra={"task_id": task_id, "environment_id": env.env_id}
    )


async def start_task(
    env: EnvironmentRuntime, spec: Any, p: dict[str, Any], attach: bool = True
) -> TaskEntry:
    """Start (or claim) the task of ``spec`` as placed by ``p``, attached to this environment."""
    node = p["node"]
    spec = spec_for(env, spec, p["task_id"], node["hostname"])
    me, my_name = (env.self_handle, naming.env_actor(env.env_id)) if attach else (None, "")
    if p["reused"]:
        actor: Any = ray.get_actor(p["actor_name"], namespace=naming.NAMESPACE)
        snap = await actor.attach.remote(env.env_id, spec.role_path, me, my_name)
    else:
        actor = TaskActor.options(
            name=p["actor_name"],
            namespace=naming.NAMESPACE,
            lifetime="detached",
            scheduling_strategy=NodeAffinitySchedulingStrategy(node["node_id"], soft=False),
        ).remote(p["task_id"], node["hostname"], env.settings.state_dir)
        try:
            snap = await _launch(env, actor, spec, p, me, my_name)
        except asyncio.CancelledError:  # a stalled deploy, or a destroy, gave up on it
            ending = asyncio.create_task(_end(env, actor))
            env.ending.add(ending)
            ending.add_done_callback(env.ending.discard)
            raise
        except BaseException:
            await _end(env, actor)
            raise
    return TaskEntry(
        role_path=spec.role_path,
        task_id=p["task_id"],
        task_class=spec.task_class,
        actor_name=p["actor_name"],
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
        wants={k: v for k, v in dict(spec.wants or {}).items() if k in ("cpu", "memory")},
    )


async def _launch(
    env: EnvironmentRuntime, actor: Any, spec: Any, p: dict[str, Any], me: Any, my_name: str
) -> dict[str, Any]:
    """Launch, taking another control port while the one given is someone else's."""
    if me is not None:
        actor.attach.remote(env.env_id, spec.role_path, me, my_name)
    for attempt in range(PORT_ATTEMPTS):
        try:
            return dict(await actor.launch.remote(launch_request(env, spec, p)))
        except Exception as exc:
            taken = unwrap(exc)
            if not isinstance(taken, PortTaken) or attempt == PORT_ATTEMPTS - 1:
                raise
            port = await env.controller.replace_port.remote(p["task_id"], p["node"], taken.port)
            p = {**p, "control_port": port}
            env.publish(
                Event(
                    "task",
                    env.env_id,
                    path=spec.role_path,
                    error=str(taken),
                    detail={"task_id": p["task_id"], "new_control_port": port},
                )
            )
    raise AssertionError("unreachable")


async def deploy(env: EnvironmentRuntime) -> None:
    specs = deployable(env.workflow.root.tasks())
    placements = await env.controller.place.remote(env.env_id, _requests(env), env.reclaim)
    await find_home(env)
    create_roles(
        env,
        role_nodes(
            env.workflow.root,
            {s.role_path: p["node"]["node_id"] for s, p in zip(specs, placements, strict=True)},
        ),
    )
    progress = DeployProgress(_publisher(env), len(specs), env.settings.deploy_timeout_s)
    try:
        results = await progress.gather(
            [start_task(env, s, p) for s, p in zip(specs, placements, strict=True)]
        )
    except asyncio.CancelledError:  # destroyed while deploying: the destroy sweeps our actors
        await env.controller.unplace.remote(env.env_id, placements)
        raise
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


def _publisher(env: EnvironmentRuntime) -> Callable[[dict[str, int]], None]:
    def publish(progress: dict[str, int]) -> None:
        env.publish(
            Event(
                "transition",
                env.env_id,
                event="DEPLOY",
                status="ONGOING",
                detail={"progress": progress},
            )
        )

    return publish


async def _end(env: EnvironmentRuntime, actor: Any) -> None:
    """End a task actor this deploy started and its process, whatever state it got to."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(actor.terminate.remote(env.settings.kill_grace_s), 15)
    with contextlib.suppress(Exception):
        ray.kill(actor)


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
    await asyncio.gather(*env.ending, return_exceptions=True)
    await env.controller.unplace.remote(env.env_id, placements)
    for actor in env.roles.values():
        with contextlib.suppress(Exception):
            ray.kill(actor)
    env.roles.clear()
