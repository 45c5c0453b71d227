"""What every environment transition shares: the task table entry, settings, the fan-out.

``fan_out`` sends one OCC event to many tasks through the role tree: one call to the root
role actor, which drives its subtree (``actors/drive.py``, ``o2ctl.core.drive``) and
answers with every task's outcome; the roles fold those into their aggregates on the way
up, and the environment folds them into its task table and returns the failures of
critical tasks as sentences that name the task, its host, the event and what the process
said. The environment's own work per transition is one call, whatever the number of
tasks. Only controlled, live tasks receive transitions; basic tasks run by themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from actors.drive import TreeDriver, ask
from actors.errors import TransitionFailed
from o2ctl.core.drive import Outcome, Target, failures
from o2ctl.core.envrecord import TaskRecord
from o2ctl.core.events import Event
from o2ctl.core.occevents import OccEvent
from o2ctl.core.states import TaskState

if TYPE_CHECKING:
    from actors.environment import EnvironmentRuntime


@dataclass(frozen=True)
class EnvSettings:
    transition_timeout_s: float = 10.0
    start_timeout_s: float = 30.0
    deploy_timeout_s: float = 90.0  # a deploy in which no task came up for this long stalled
    kill_grace_s: float = 3.0
    error_grace_s: float = 0.0
    run_type: str = "PHYSICS"
    log_dir: str = ""  # "": <state dir>/logs
    state_dir: str = ""  # "": the state directory of the controller's process
    system_id: str = ""  # marks every process of this o2ctl system (O2CTL_SYSTEM)
    records_uri: str = ""  # where the durable records live (see o2ctl.config.records)
    control_node_id: str = ""  # the controller's node: environments and roles live there
    task_overhead_mb: float = 55.0  # what a task costs the control plane (its actor, measured)
    max_tasks_per_node: int = 0  # site limits (0: none)
    max_tasks_per_environment: int = 0


@dataclass
class TaskEntry(TaskRecord):
    """A task of the environment: its durable record plus what only lives in memory."""

    actor: Any = None
    spec: Any = None  # o2ctl.templates.TaskSpec (placement-time rendered)
    version: int = 0

    def describe(self) -> dict[str, Any]:
        return {**self.record(), "status": "ACTIVE" if self.pid and not self.lost else "INACTIVE"}


def parent_of(path: str) -> str:
    return path.rsplit(".", 1)[0] if "." in path else ""


def update_roles(env: EnvironmentRuntime, entries: Iterable[TaskEntry]) -> None:
    """One fire-and-forget batch per parent role with its tasks' new states.

    The environment is the only sender of task states to roles, so the version a role sees
    is the environment's own counter (``role_version``), never the task's: a task replaced
    by a new one (RECOVER after a node loss) starts its own versions again from zero."""
    by_role: dict[str, list[tuple[str, str, int]]] = {}
    for e in entries:
        by_role.setdefault(parent_of(e.role_path), []).append(
            (e.role_path, e.state.value, env.role_version())
        )
    for role, updates in by_role.items():
        actor = env.roles.get(role)
        if actor is not None:
            actor.children_changed.remote(updates)


async def fan_out(
    env: EnvironmentRuntime,
    event: OccEvent,
    args: Mapping[str, Mapping[str, str]] | Mapping[str, str] | None = None,
    *,
    per_task_args: bool = False,
    only: Iterable[TaskEntry] | None = None,
) -> list[str]:
    """Send ``event`` to the live controlled tasks through the role tree (one call to the
    root role; ``actors/drive.py``); return the critical failures (sentences). A task has
    done its part when it is in ``event.leads_to``."""
    entries = [e for e in (only if only is not None else env.tasks.values()) if e.controlled]
    entries = [e for e in entries if not e.lost]
    if not entries:
        return []
    shared = None if per_task_args else args
    targets = [
        Target(
            e.role_path,
            e.actor_name,
            e.task_id,
            e.host,
            e.node_id,
            e.critical,
            dict((args or {}).get(e.role_path, {})) if per_task_args else None,  # type: ignore[arg-type]
        )
        for e in entries
    ]
    timeout, version = env.settings.transition_timeout_s, env.role_version()
    root = env.workflow.root.path
    outcomes = await drive_root(env, root, event, shared, targets, timeout, version)
    by_path = {o.path: o for o in outcomes}
    for e in entries:
        o = by_path.get(e.role_path)
        if o is None:
            continue
        e.state, e.error = TaskState(o.state), o.error
        if o.version >= 0:
            e.version = o.version
    env.later(publish_task_states, env, event, entries)
    return failures(outcomes, {e.role_path: e.critical for e in entries}, event.leads_to)


async def drive_root(
    env: EnvironmentRuntime,
    root: str,
    event: OccEvent,
    args: Any,
    targets: list[Target],
    timeout: float,
    version: int,
) -> list[Outcome]:
    """The root role actor drives the tree; if it is gone (lost with its node) the
    environment drives the tree itself, carefully, through the same driver."""
    reply = await ask(env.roles.get(root), event, args, targets, timeout, version)
    if reply is None:
        driver = TreeDriver(env.env_id, root)
        outs, _ = await driver.drive(event, args, targets, timeout, version, careful=True)
        env.later(update_roles, env, [env.tasks[o.path] for o in outs if o.path in env.tasks])
        return outs
    state, ver, outs = reply
    if state:
        env.root_changed(state, ver)
    return outs


def publish_task_states(env: EnvironmentRuntime, event: str, entries: list[TaskEntry]) -> None:
    """One event per task whose state a transition changed (after the reply is sent)."""
    for e in entries:
        env.publish(
            Event(
                "task",
                env.env_id,
                path=e.role_path,
                state=e.state.value,
                event=event,
                error=e.error if e.state == TaskState.ERROR else "",
                detail={"task_id": e.task_id},
            )
        )


def raise_if_failed(env: EnvironmentRuntime, event: str, failures: list[str]) -> None:
    if failures:
        head = f"{event} failed in environment {env.env_id} for {len(failures)} task(s)"
        shown = failures[:10]
        more = f"; and {len(failures) - 10} more" if len(failures) > 10 else ""
        raise TransitionFailed(f"{head}: " + "; ".join(shown) + more, failures)
