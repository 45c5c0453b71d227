"""The controller's side of an environment's life: create, control, modify, destroy.

What flows through: a create expands the workflow (in a worker), locks the detectors,
runs admission, writes the environment's record and its workflow (durable before anything
starts), creates the environment actor and sends it DEPLOY and CONFIGURE; on any failure
the environment is destroyed (forced), its detectors released, and the caller gets one
error naming what failed. Control and destroy forward to the environment actor and say
"restarting" when it crashed under the call; modify builds the new target
(``actors/modifytarget.py``) and keeps the detector locks in step with it. Each is a
function of the controller's runtime, so that its actor methods stay one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

import ray

from actors import naming
from actors.cluster import home_options, survives_head
from actors.environment import EnvironmentActor
from actors.envstore import ENVIRONMENTS, forget, save_workflow
from actors.errors import ControlError, DeployFailed, NotFound, Restarting
from actors.expansion import expand_for_controller
from actors.transitions.deploy import deployable, deployable_request
from o2ctl.core.envrecord import EnvRecord
from o2ctl.core.errors import InvalidWorkflow
from o2ctl.core.events import Event
from o2ctl.core.farm import control_home
from o2ctl.core.ids import new_id, valid_id
from o2ctl.templates.model import parse_detectors

if TYPE_CHECKING:
    from actors.controller import ControllerRuntime


async def create(
    ctrl: ControllerRuntime,
    workflow: str,
    user_vars: dict[str, str] | None = None,
    auto_configure: bool = True,
    request_id: str = "",
    reclaim: bool = False,
    env_id: str = "",
) -> dict[str, Any]:
    """DEPLOY + CONFIGURE a new environment; returns its summary once CONFIGURED.

    Admission first: the whole environment must fit the nodes it may use (``reclaim``:
    async nodes too, reclaimed at DEPLOY), or nothing starts. ``request_id`` tags the
    environment's first event (with its id), so that a caller following the event log
    shows the id and the progress before this call returns. ``env_id``: the id to give it
    (one from ``new_id``, handed out before the call: NewEnvironmentAsync); "": a new one.
    """
    user_vars = {str(k): str(v) for k, v in (user_vars or {}).items()}
    if env_id and (env_id in ctrl.envs or not valid_id(env_id)):
        raise ControlError(f"environment id {env_id[:40]!r} is taken or not an o2ctl id")
    env_id = env_id or new_id()
    try:
        expanded = await expand_for_controller(ctrl, workflow, user_vars, env_id)
    except Exception as exc:
        raise InvalidWorkflow(str(exc)) from None
    detectors = parse_detectors(expanded.variables.get("detectors"))
    ctrl.detectors.lock(env_id, detectors)
    record = EnvRecord(
        env_id,
        workflow,
        ctrl.repo_uri,
        user_vars,
        detectors=detectors,
        reclaim=reclaim,
        created=time.time(),
    )
    try:
        requests = [deployable_request(s) for s in deployable(expanded.root.tasks())]
        await ctrl.admit(env_id, requests, reclaim)
        await asyncio.to_thread(save_workflow, ctrl.records, env_id, expanded)
        await asyncio.to_thread(ctrl.records.put, ENVIRONMENTS, env_id, record.to_dict())
    except Exception:
        ctrl.detectors.release(env_id)
        raise
    env = EnvironmentActor.options(
        name=naming.env_actor(env_id),
        namespace=naming.NAMESPACE,
        lifetime="detached",
        **home_options(await home(ctrl), survives_head(ctrl.records_uri), avoid_head=True),
    ).remote(env_id, ctrl._self(), ctrl.settings)
    ctrl.envs[env_id] = env
    ctrl.events.append(
        Event(
            "environment",
            env_id,
            state="STANDBY",
            detail={
                "request_id": request_id,
                "workflow": workflow,
                "tasks": len(requests),
                "warnings": list(expanded.warnings),
            },
        )
    )
    try:
        await env.transition.remote("DEPLOY")
        if auto_configure:
            await env.transition.remote("CONFIGURE")
    except Exception:
        if env_id in ctrl._destroying or env_id not in ctrl.envs:  # it forgets it itself
            raise DeployFailed(  # whichever ran first in the actor (busy, died, cancelled)
                f"creation of environment {env_id} cancelled by destroy"
            ) from None
        await discard(ctrl, env_id, env)
        raise
    return dict(await env.summary.remote())


async def home(ctrl: ControllerRuntime, prefer: str = "") -> str:
    """The node for an environment actor or a role actor spanning nodes: under ``up --ha``
    (records every node reaches) a farm node other than the head when one has room
    (``o2ctl.core.farm.control_home``); else, or when none has, the controller's node."""
    if not survives_head(ctrl.records_uri):
        return str(ctrl._local_node)
    nodes = await ctrl._nodes()
    used = ctrl.registry.usage(ctrl.settings.task_overhead_mb)
    return control_home(nodes, used, prefer, fallback=ctrl._local_node)


async def discard(ctrl: ControllerRuntime, env_id: str, env: Any) -> None:
    with contextlib.suppress(Exception):
        await env.destroy.remote(force=True)
    await forget_env(ctrl, env_id)


async def forget_env(ctrl: ControllerRuntime, env_id: str) -> None:
    env = ctrl.envs.pop(env_id, None)
    ctrl.registry.drop_pending(env_id)  # placed by a deploy that was cancelled meanwhile
    ctrl.detectors.release(env_id)
    await asyncio.to_thread(forget, ctrl.records, env_id)
    if env is not None:
        with contextlib.suppress(Exception):
            ray.kill(env)


def env_of(ctrl: ControllerRuntime, env_id: str) -> Any:
    if env_id in ctrl.broken:
        raise ControlError(
            f"environment {env_id} is broken: its record cannot be read ({ctrl.broken[env_id]}); "
            f"destroy it (`o2ctl env destroy {env_id}`) to end what it ran"
        )
    env = ctrl.envs.get(env_id)
    if env is None:
        known = ", ".join(sorted(ctrl.envs)) or "none"
        raise NotFound(f"no environment {env_id[:80]!r} (known: {known})")
    return env


async def control(ctrl: ControllerRuntime, env_id: str, event: str) -> str:
    try:
        return str(await env_of(ctrl, env_id).transition.remote(event))
    except ray.exceptions.RayActorError:
        raise Restarting(
            f"environment {env_id}: its actor is restarting after a crash; {event} was not "
            "confirmed: check its state (`o2ctl env show`) and send it again if needed"
        ) from None


async def destroy(
    ctrl: ControllerRuntime,
    env_id: str,
    keep_tasks: bool = False,
    allow_in_running: bool = False,
    force: bool = False,
) -> dict[str, Any]:
    if env_id in ctrl.broken:
        return await destroy_broken(ctrl, env_id)
    env = env_of(ctrl, env_id)
    ctrl._destroying.add(env_id)
    try:
        for attempt in range(2):  # again if the actor restarts under us: destroy is idempotent
            try:
                result = dict(await env.destroy.remote(keep_tasks, allow_in_running, force))
                break
            except ray.exceptions.RayActorError:
                if attempt:
                    raise Restarting(f"environment {env_id}: its actor keeps failing") from None
        await forget_env(ctrl, env_id)
    finally:
        ctrl._destroying.discard(env_id)
    ctrl.events.append(Event("environment", env_id, state="DESTROYED"))
    return result


async def modify(
    ctrl: ControllerRuntime,
    env_id: str,
    user_vars: dict[str, str] | None = None,
    exclude: list[str] | None = None,
    include: list[str] | None = None,
    kill: bool = False,
    dry_run: bool = False,
    restart_run: bool = False,
) -> dict[str, Any]:
    """Change what environment ``env_id`` should be (variables, excluded role paths) and
    apply the smallest change to what runs (``actors/transitions/modify.py``)."""
    from actors.modifytarget import new_target

    env = env_of(ctrl, env_id)
    summary = await env.summary.remote()
    target, locked = await new_target(
        ctrl, env_id, summary, user_vars or {}, list(exclude or ()), list(include or ())
    )
    ok = False
    try:
        result = dict(await env.modify.remote(target, kill, dry_run, restart_run))
        ok = True
    except ray.exceptions.RayActorError:
        raise Restarting(f"environment {env_id}: its actor restarted during MODIFY") from None
    finally:
        if dry_run or not ok:  # what this modify locked goes back
            ctrl.detectors.unlock(env_id, locked)
    if not dry_run:
        ctrl.detectors.release(env_id, keep=target.detectors)
    if target.warnings:
        result["warnings"] = list(target.warnings)
    return result


async def destroy_broken(ctrl: ControllerRuntime, env_id: str) -> dict[str, Any]:
    """An environment whose record cannot be read: every actor named after it ends (task
    actors first end their processes), then its records go. Nothing else is touched."""
    names = await asyncio.to_thread(naming.named_actors, naming.env_prefix(env_id))
    ended: dict[str, str] = {}
    for name in names:
        with contextlib.suppress(Exception):
            actor = await asyncio.to_thread(ray.get_actor, name, naming.NAMESPACE)
            if "#" in name:  # a task actor: its process first
                how: Any = await asyncio.wait_for(
                    actor.terminate.remote(ctrl.settings.kill_grace_s), 15
                )
                ended[name.rsplit("#", 1)[1]] = str(how)
            ray.kill(actor, no_restart=True)
    ctrl.broken.pop(env_id, None)
    ctrl.registry.drop_pending(env_id)
    ctrl.detectors.release(env_id)
    await asyncio.to_thread(forget, ctrl.records, env_id)
    ctrl.events.append(Event("environment", env_id, state="DESTROYED"))
    return {"env_id": env_id, "kept": [], "ended": ended, "problems": []}
