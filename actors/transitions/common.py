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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from actors.errors import TransitionFailed
from actors.reasons import reason
from o2ctl.core.events import Event
from o2ctl.core.states import TaskState

if TYPE_CHECKING:
    from actors.environment import EnvironmentRuntime


@dataclass(frozen=True)
class EnvSettings:
    transition_timeout_s: float = 10.0
    start_timeout_s: float = 30.0
    kill_grace_s: float = 3.0
    error_grace_s: float = 0.0
    run_type: str = "PHYSICS"
    log_dir: str = "/tmp/o2ctl/logs"


@dataclass
class TaskEntry:
    role_path: str
    task_id: str
    task_class: str
    actor: Any
    host: str
    node_id: str
    ip: str
    control_mode: str
    critical: bool
    spec: Any  # o2ctl.templates.TaskSpec
    control_port: int | None = None
    pid: int = 0
    state: TaskState = TaskState.UNKNOWN
    version: int = 0
    error: str = ""
    reused: bool = False
    log_path: str = ""

    @property
    def controlled(self) -> bool:
        return self.control_mode in ("fairmq", "direct")

    def describe(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "role_path": self.role_path,
            "task_class": self.task_class,
            "host": self.host,
            "node_id": self.node_id,
            "pid": self.pid,
            "state": self.state.value,
            "control_mode": self.control_mode,
            "control_port": self.control_port,
            "critical": self.critical,
            "reused": self.reused,
            "error": self.error,
            "log_path": self.log_path,
            "status": "ACTIVE" if self.pid else "INACTIVE",
        }


def parent_of(path: str) -> str:
    return path.rsplit(".", 1)[0] if "." in path else ""


def update_roles(env: EnvironmentRuntime, entries: Iterable[TaskEntry]) -> None:
    """One fire-and-forget batch per parent role with its tasks' new states."""
    by_role: dict[str, list[tuple[str, str, int]]] = {}
    for e in entries:
        by_role.setdefault(parent_of(e.role_path), []).append(
            (e.role_path, e.state.value, e.version)
        )
    for role, updates in by_role.items():
        actor = env.roles.get(role)
        if actor is not None:
            actor.children_changed.remote(updates)


async def fan_out(
    env: EnvironmentRuntime,
    event: str,
    expect: TaskState,
    args: Mapping[str, Mapping[str, str]] | Mapping[str, str] | None = None,
    *,
    per_task_args: bool = False,
    only: Iterable[TaskEntry] | None = None,
) -> list[str]:
    """Send ``event`` to the live controlled tasks; return critical failures (sentences)."""
    targets = [e for e in (only if only is not None else env.tasks.values()) if e.controlled]
    timeout = env.settings.transition_timeout_s
    refs = []
    for e in targets:
        a = (args or {}).get(e.role_path, {}) if per_task_args else args
        refs.append(e.actor.transition.remote(event, a, timeout))
    replies = await asyncio.gather(*refs, return_exceptions=True)
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
