"""What every environment transition shares: the task table entry, settings, the fan-out.

``fan_out`` sends one OCC event to many task actors at once (the environment talks to its
tasks directly, as AliECS does, not through the role tree), gathers ``(state, version,
error)`` replies, folds them into the task table, tells each role its children's new
states in one batch, and returns the failures of critical tasks as sentences that name the
task, its host, the event and what the process said. Only controlled, live tasks receive
transitions; basic tasks run by themselves.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ray.exceptions import RayActorError

from actors.errors import TransitionFailed
from actors.reasons import reason
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
    """Send ``event`` to the live controlled tasks; return critical failures (sentences).

    A task has done its part when it is in ``event.leads_to``."""
    expect = event.leads_to
    targets = [e for e in (only if only is not None else env.tasks.values()) if e.controlled]
    targets = [e for e in targets if not e.lost]
    timeout = env.settings.transition_timeout_s
    sent = []
    t0 = time.monotonic()
    for e in targets:
        a = (args or {}).get(e.role_path, {}) if per_task_args else args
        sent.append((e.actor.transition.remote(event, a, timeout), a))
    replies = list(await asyncio.gather(*(ref for ref, _ in sent), return_exceptions=True))
    lost = [i for i, r in enumerate(replies) if isinstance(r, RayActorError)]
    if lost:  # actors that restarted under the call: the slow path, only for them
        left = max(timeout - (time.monotonic() - t0), 0.1)
        again = await asyncio.gather(
            *(resend(targets[i], event, sent[i][1], left) for i in lost),
            return_exceptions=True,
        )
        for i, r in zip(lost, again, strict=True):
            replies[i] = r
    failures: list[str] = []
    for e, reply in zip(targets, replies, strict=True):
        if isinstance(reply, BaseException):
            why = reason(reply)
            e.state, e.error = TaskState.ERROR, f"task {e.role_path} on {e.host}: {event}: {why}"
        else:
            state, version, error = reply
            e.state, e.version = TaskState(state), version
            if error:
                e.error = error
            elif e.state != expect:
                e.error = (
                    f"task {e.role_path} ({e.task_id}) on {e.host}: {event} left it in "
                    f"{e.state.value}, expected {expect.value}"
                )
            else:
                e.error = ""
        if e.error and e.state != expect and e.critical:
            failures.append(e.error)
    update_roles(env, targets)
    env.later(publish_task_states, env, event, targets)
    return failures


async def resend(e: TaskEntry, event: OccEvent, args: Any, timeout: float) -> tuple[str, int, str]:
    """A task actor restarted (its worker died) during ``event``: wait for it within the
    deadline — the new actor re-adopts the process — and send the event again only if the
    task is not already where the event would have taken it (``event.leads_to``)."""
    expect = event.leads_to
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"its actor did not come back within {timeout:.1f}s")
        try:
            snap = await asyncio.wait_for(e.actor.snapshot.remote(), min(left, 2.0))
            break
        except (RayActorError, TimeoutError):
            await asyncio.sleep(min(0.1, max(left, 0)))
    if snap["state"] == expect.value or not snap.get("alive", True):
        return (
            snap["state"],
            snap["version"],
            snap["error"] if snap["state"] != expect.value else "",
        )
    left = max(deadline - time.monotonic(), 0.1)
    return tuple(await e.actor.transition.remote(event, args, left))


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
