"""MODIFY: bring a live environment to its new target, touching nothing else.

What flows through: the controller has expanded the new target (variables, excluded role
paths) into a workflow; here it is compared with what runs (``o2ctl.core.reconcile.diff``,
task by task, on each task's process and CONFIGURE key-values) and the smallest change is
applied, in an order that keeps the environment whole at every step:

1. **added** tasks are placed (admission, idle pool first), started, wired to their running
   peers (the peers' ports do not move: ports are kept) and brought to the environment's
   state — CONFIGURED, or RUNNING with the current run's START arguments. If any cannot be
   added, every added one is torn down and the environment is exactly as it was.
2. **removed** tasks are stopped and reset, then returned to the idle pool (``kill``: ended).
3. **changed** tasks are reconfigured in place (STOP, RESET, CONFIGURE with the new values,
   START): same process, same PID. A task whose process must change (another class or
   command) is relaunched; in RUNNING that needs a new run (``restart_run``).
4. the role tree follows (role actors gain and lose children, new subtrees get theirs), and
   the new target and workflow are recorded before the answer goes back.

Untouched tasks receive no call at all. A critical task failing in steps 2 and 3 sends the
environment to ERROR, as any transition would.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ray

from actors.errors import AdmissionRefused, ModifyRefused
from actors.reasons import reason, unwrap
from actors.transitions.activity import run_args
from actors.transitions.common import TaskEntry, fan_out, raise_if_failed, update_roles
from actors.transitions.configure import configuration, tcp_purposes
from actors.transitions.deploy import (
    deployable,
    deployable_request,
    find_home,
    has_state,
    launch_request,
    new_role,
    role_placement,
    spec_for,
    start_task,
)
from o2ctl.core.envfsm import EnvState
from o2ctl.core.occevents import OccEvent
from o2ctl.core.placement import PlacementError
from o2ctl.core.reconcile import Plan, TaskConfig, blocked_while_running, diff
from o2ctl.core.states import TaskState

if TYPE_CHECKING:
    from actors.environment import EnvironmentRuntime


@dataclass(frozen=True)
class Target:
    """What the environment should be from now on."""

    workflow: Any  # o2ctl.templates.ExpandedWorkflow, excluded subtrees already pruned
    user_vars: dict[str, str]
    excluded: list[str]
    detectors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what the change's user vars meet


@dataclass
class _Stub:
    """A task of the target, for wiring before it is placed (ids and hosts unknown yet)."""

    role_path: str
    task_id: str
    node_id: str
    ip: str
    spec: Any
    controlled: bool


def command_of(spec: Any) -> str:
    """The identity of a task's process: what it is started with."""
    c = spec.command
    return repr((c.value, tuple(c.arguments), tuple(c.env), c.shell, c.user, spec.control_mode))


def may_change_running(spec: Any) -> bool:
    return str(spec.variables.get("modify_while_running", "true")).lower() != "false"


def _configs(specs: dict[str, Any], args: dict[str, dict[str, str]]) -> dict[str, TaskConfig]:
    return {
        p: TaskConfig(s.task_class, command_of(s), args.get(p, {}), may_change_running(s))
        for p, s in specs.items()
    }


def plan(env: EnvironmentRuntime, target: Target) -> tuple[Plan, dict[str, Any], list[str]]:
    """The diff, the target's specs by role path, and what RUNNING cannot absorb."""
    wanted = {s.role_path: s for s in deployable(target.workflow.root.tasks())}
    old = {p: e.spec for p, e in env.tasks.items()}
    ports = {e.task_id: e.ports for e in env.tasks.values()}
    stubs = []
    for p, spec in wanted.items():
        e = env.tasks.get(p)
        if e is not None:
            wanted[p] = spec_for(env, spec, e.task_id, e.host)
            stubs.append(_Stub(p, e.task_id, e.node_id, e.ip, wanted[p], e.controlled))
        else:
            controlled = spec.control_mode in ("fairmq", "direct")
            stubs.append(_Stub(p, f"new:{p}", "", "<new>", spec, controlled))
    before = configuration(env, _controlled(env.tasks.values()), ports, "MODIFY", False)
    after = configuration(env, [s for s in stubs if s.controlled], ports, "MODIFY", False)
    running, target_cfg = _configs(old, before), _configs(wanted, after)
    result = diff(running, target_cfg)
    return result, wanted, blocked_while_running(result, running, target_cfg)


def _controlled(entries: Any) -> list[Any]:
    return [e for e in entries if e.controlled]


async def apply(
    env: EnvironmentRuntime, target: Target, result: Plan, wanted: dict[str, Any], kill: bool
) -> None:
    state = env.fsm.state
    added = await _add(env, result, wanted, state)
    try:
        await _bring_added(env, added, state, wanted)
    except BaseException:
        await _tear_down(env, added)
        raise
    removed = [env.tasks[p] for p in result.removed]
    await _remove(env, removed, state, kill)
    for e in added:
        env.tasks[e.role_path] = e
    await env.controller.register_tasks.remote(env.env_id, [e.describe() for e in added])
    failures = await _change(env, result, wanted, state)
    env.workflow, env.user_vars = target.workflow, dict(target.user_vars)
    env.excluded, env.detectors = list(target.excluded), list(target.detectors)
    await reconcile_roles(env)
    update_roles(env, env.tasks.values())
    raise_if_failed(env, "MODIFY", failures)


async def _add(
    env: EnvironmentRuntime, result: Plan, wanted: dict[str, Any], state: EnvState
) -> list[TaskEntry]:
    if not result.added:
        return []
    specs = [wanted[p] for p in result.added]
    try:  # the first step: refused here, nothing has changed
        placements = await env.controller.place.remote(
            env.env_id, [deployable_request(s) for s in specs], env.reclaim
        )
    except Exception as exc:
        if isinstance(unwrap(exc), AdmissionRefused | PlacementError):
            raise ModifyRefused(_refusal(env, exc)) from None
        raise
    got = await asyncio.gather(
        *(start_task(env, s, p) for s, p in zip(specs, placements, strict=True)),
        return_exceptions=True,
    )
    started = [g for g in got if isinstance(g, TaskEntry)]
    failed = [
        f"{s.role_path}: {g}"
        for s, g in zip(specs, got, strict=True)
        if not isinstance(g, TaskEntry)
    ]
    if failed:
        await _tear_down(env, started)
        await env.controller.unplace.remote(env.env_id, placements)
        raise ModifyRefused(
            f"MODIFY of environment {env.env_id}: {len(failed)} task(s) could not be added, "
            "nothing changed: " + "; ".join(failed[:10])
        )
    return started


async def _bring_added(
    env: EnvironmentRuntime, added: list[TaskEntry], state: EnvState, wanted: dict[str, Any]
) -> None:
    """Wire the added tasks to their running peers and bring them to ``state``."""
    if not added or state not in (EnvState.CONFIGURED, EnvState.RUNNING):
        return
    running = [  # the running tasks as the target sees them, their entries left as they are
        _Stub(p, e.task_id, e.node_id, e.ip, wanted.get(p, e.spec), e.controlled)
        for p, e in env.tasks.items()
    ]
    args = await _wire(env, [*running, *added])
    controlled = _controlled(added)
    failures = await fan_out(env, OccEvent.CONFIGURE, args, per_task_args=True, only=controlled)
    if not failures and state == EnvState.RUNNING:
        failures = await fan_out(env, OccEvent.START, run_args(env), only=controlled)
    if failures:
        raise ModifyRefused(
            f"MODIFY of environment {env.env_id}: the added tasks could not join, nothing "
            "changed: " + "; ".join(failures[:10])
        )


async def _wire(env: EnvironmentRuntime, entries: list[Any]) -> dict[str, dict[str, str]]:
    """CONFIGURE key-values for ``entries``, ports of running tasks kept."""
    controlled = _controlled(entries)
    need = {e.task_id: (e.ip, tcp_purposes(e.spec)) for e in controlled}
    ports: dict[str, dict[str, int]] = await env.controller.allocate_channel_ports.remote(
        need, True
    )
    for e in controlled:
        if isinstance(e, TaskEntry):
            e.ports = dict(ports.get(e.task_id, {}))
    return configuration(env, controlled, ports, "MODIFY")


async def _tear_down(env: EnvironmentRuntime, added: list[TaskEntry]) -> None:
    """Undo additions: fresh tasks are ended, claimed ones go back to the pool."""
    fresh = [e for e in added if not e.reused]
    reused = [e for e in added if e.reused]
    await asyncio.gather(
        *(e.actor.terminate.remote(env.settings.kill_grace_s) for e in fresh),
        *(_back_to_standby(env, e) for e in reused),
        return_exceptions=True,
    )
    for e in fresh:
        with contextlib.suppress(Exception):
            ray.kill(e.actor)
    await asyncio.gather(*(e.actor.detach.remote() for e in reused), return_exceptions=True)
    await env.controller.release_environment.remote(
        env.env_id, [e.task_id for e in reused], [e.task_id for e in fresh]
    )


async def _back_to_standby(env: EnvironmentRuntime, e: TaskEntry) -> None:
    for event in (OccEvent.STOP, OccEvent.RESET):
        if e.state != TaskState.STANDBY:
            await fan_out(env, event, only=[e])


async def _remove(
    env: EnvironmentRuntime, removed: list[TaskEntry], state: EnvState, kill: bool
) -> None:
    if not removed:
        return
    if state == EnvState.RUNNING:
        await fan_out(env, OccEvent.STOP, run_args(env), only=removed)
    if state in (EnvState.CONFIGURED, EnvState.RUNNING):
        configured = [e for e in removed if e.state == TaskState.CONFIGURED]
        await fan_out(env, OccEvent.RESET, only=configured)
    keep = [] if kill else [e for e in removed if e.state == TaskState.STANDBY and e.controlled]
    drop = [e for e in removed if e not in keep]
    await asyncio.gather(*(e.actor.detach.remote() for e in keep), return_exceptions=True)
    await asyncio.gather(
        *(e.actor.terminate.remote(env.settings.kill_grace_s) for e in drop),
        return_exceptions=True,
    )
    for e in drop:
        with contextlib.suppress(Exception):
            ray.kill(e.actor)
    for e in removed:
        env.tasks.pop(e.role_path, None)
    await env.controller.release_environment.remote(
        env.env_id, [e.task_id for e in keep], [e.task_id for e in drop]
    )


async def _change(
    env: EnvironmentRuntime, result: Plan, wanted: dict[str, Any], state: EnvState
) -> list[str]:
    """Reconfigure changed tasks in place, relaunch those whose process changes."""
    touched = [env.tasks[p] for p in sorted({*result.changed, *result.restart})]
    if not touched:
        for p, e in env.tasks.items():  # same configuration; the spec may differ in form
            e.spec = wanted.get(p, e.spec)
        return []
    failures: list[str] = []
    if state == EnvState.RUNNING:
        failures += await fan_out(env, OccEvent.STOP, run_args(env), only=touched)
    if state in (EnvState.CONFIGURED, EnvState.RUNNING):
        configured = [e for e in touched if e.state == TaskState.CONFIGURED]
        failures += await fan_out(env, OccEvent.RESET, only=configured)
    for p, e in env.tasks.items():
        e.spec = wanted.get(p, e.spec)
    failures += await _relaunch(env, [env.tasks[p] for p in result.restart])
    if failures or state not in (EnvState.CONFIGURED, EnvState.RUNNING):
        return failures
    args = await _wire(env, list(env.tasks.values()))
    failures += await fan_out(env, OccEvent.CONFIGURE, args, per_task_args=True, only=touched)
    if not failures and state == EnvState.RUNNING:
        failures += await fan_out(env, OccEvent.START, run_args(env), only=touched)
    return failures


async def _relaunch(env: EnvironmentRuntime, entries: list[TaskEntry]) -> list[str]:
    async def one(e: TaskEntry) -> str:
        placement = {
            "task_id": e.task_id,
            "control_port": e.control_port,
            "node": {"node_id": e.node_id, "hostname": e.host, "ip": e.ip},
        }
        try:
            snap = await e.actor.relaunch.remote(
                launch_request(env, e.spec, placement), env.settings.kill_grace_s
            )
        except Exception as exc:
            e.state, e.error = TaskState.ERROR, f"task {e.role_path}: relaunch failed: {exc}"
            return e.error
        e.state, e.version, e.pid = TaskState(snap["state"]), snap["version"], snap["pid"]
        e.task_class = e.spec.task_class
        return ""

    return [m for m in await asyncio.gather(*(one(e) for e in entries)) if m]


async def reconcile_roles(env: EnvironmentRuntime) -> None:
    """Role actors for the new tree: children changed where needed, new roles created,
    roles of removed subtrees ended."""
    wanted: dict[str, dict[str, bool]] = {}
    for node in env.workflow.root.walk():
        if node.task is None and node.children:
            wanted[node.path] = {c.path: c.critical for c in node.children if has_state(c)}
    for path in [p for p in env.roles if p not in wanted]:
        with contextlib.suppress(Exception):
            ray.kill(env.roles.pop(path))
    for path, kids in wanted.items():  # walk() is top-down: parents exist first
        if path in env.roles:
            if env.role_children.get(path) != kids:
                env.roles[path].set_children.remote(kids)
        else:
            parent_path = path.rsplit(".", 1)[0] if "." in path else ""
            parent = env.roles.get(parent_path) or env.self_handle
            if not env.role_home:
                await find_home(env)
            placement = role_placement(env, path, {})
            env.roles[path] = new_role(env, path, kids, parent, placement)
        env.role_children[path] = kids


def _refusal(env: EnvironmentRuntime, exc: BaseException) -> str:
    return f"modify of environment {env.env_id} refused, nothing changed: {reason(exc)}"


async def admission_of(env: EnvironmentRuntime, result: Plan, wanted: dict[str, Any]) -> str:
    """What admission says of the tasks a modify would add ("" when they fit)."""
    if not result.added:
        return ""
    requests = [deployable_request(wanted[p]) for p in result.added]
    try:
        await env.controller.admit.remote(env.env_id, requests, env.reclaim)
    except Exception as exc:
        if isinstance(unwrap(exc), AdmissionRefused | PlacementError):
            return _refusal(env, exc)
        raise
    return ""


def summary(result: Plan, took: float, blocked: list[str]) -> dict[str, Any]:
    return {**result.to_dict(), "took_s": round(took, 3), "blocked_while_running": blocked}


def now() -> float:
    return time.perf_counter()
