"""An environment's durable record: what it should be (target) and what it reached.

The environment actor is a cache of this record. It is written before the change it
records is acknowledged (a transition's reply, a destroy's result) and read back when the
actor starts again after a crash, so that the environment comes back with the same state,
run number, task table and role actors, and without disturbing a single process.

Target: the workflow reference, its repository, the user's variables, the excluded role
paths and the detectors — what ``modify`` changes. Observed: the state machine's state,
the transition in flight (``busy``, so a crash mid-transition is resolved on restart, never
left hanging), the run, and one ``TaskRecord`` per task with the name of its actor. The
expanded workflow itself is kept apart (it changes only on create and modify).

Pure data; ``resolve_interrupted`` decides what a restarted environment does about a
transition it was in the middle of.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from o2ctl.core.envfsm import EnvEvent, EnvState
from o2ctl.core.occevents import OccEvent
from o2ctl.core.states import TaskState


@dataclass
class TaskRecord:
    """One task of an environment, as the environment last knew it."""

    role_path: str
    task_id: str
    task_class: str
    actor_name: str = ""
    host: str = ""
    node_id: str = ""
    ip: str = ""
    control_mode: str = ""
    critical: bool = True
    control_port: int | None = None
    pid: int = 0
    state: TaskState = TaskState.UNKNOWN
    error: str = ""
    reused: bool = False
    log_path: str = ""
    ports: dict[str, int] = field(default_factory=dict)  # channel ports held, by purpose
    wants: dict[str, Any] = field(default_factory=dict)  # cpu, memory: what it takes on its node
    lost: str = ""  # the node it was on, when that node was lost

    @property
    def controlled(self) -> bool:
        return self.control_mode in ("fairmq", "direct")

    def record(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(TaskRecord)}
        out["state"] = self.state.value
        return out

    @classmethod
    def from_record(cls, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Keyword arguments for ``cls`` (or a subclass) from a stored record."""
        known = {f.name for f in fields(TaskRecord)}
        kwargs = {k: v for k, v in raw.items() if k in known}
        kwargs["state"] = TaskState(raw.get("state", "UNKNOWN"))
        kwargs["ports"] = {str(k): int(v) for k, v in (raw.get("ports") or {}).items()}
        kwargs["wants"] = dict(raw.get("wants") or {})
        return kwargs


@dataclass
class EnvRecord:
    """Everything an environment needs to come back after its actor restarts."""

    env_id: str
    workflow: str
    repo: str | None = None
    user_vars: dict[str, str] = field(default_factory=dict)
    excluded: list[str] = field(default_factory=list)
    detectors: list[str] = field(default_factory=list)
    reclaim: bool = False  # a deploy may reclaim async nodes
    created: float = 0.0
    state: str = EnvState.STANDBY.value
    busy: str = ""
    run_number: int | None = None  # the current run's, while one is (RUNNING)
    last_run_number: int | None = None
    run_start_ms: int = 0
    last_error: str = ""
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)  # role path -> TaskRecord
    roles: dict[str, str] = field(default_factory=dict)  # role path -> actor name
    channels: dict[str, str] = field(default_factory=dict)
    call_returns: dict[str, dict[str, str]] = field(default_factory=dict)  # path -> var -> value
    event_seq: int = 0

    def to_dict(self) -> dict[str, Any]:
        # shallow: the fields are JSON-ready already (asdict's deep copy of every task's
        # record cost the environment actor more than the write itself at N = 100)
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> EnvRecord:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


TASK_EVENT: Mapping[EnvEvent, OccEvent] = {
    EnvEvent.CONFIGURE: OccEvent.CONFIGURE,
    EnvEvent.START_ACTIVITY: OccEvent.START,
    EnvEvent.STOP_ACTIVITY: OccEvent.STOP,
    EnvEvent.RESET: OccEvent.RESET,
    EnvEvent.RECOVER: OccEvent.RESET,  # its last fan-out: RESET what is left configured
}
"""The OCC event an environment event ends with on its controlled tasks: once the event has
completed, every one of them is in that OCC event's ``leads_to``. EXIT and GO_ERROR are left
out (a restart does not complete them); DEPLOY sends no event (its tasks start in STANDBY)."""


def expected_task_state(event: EnvEvent) -> TaskState | None:
    """The state every controlled task is in once ``event`` has completed (None: no such)."""
    if event == EnvEvent.DEPLOY:
        return TaskState.STANDBY
    occ_event = TASK_EVENT.get(event)
    return occ_event.leads_to if occ_event is not None else None


@dataclass(frozen=True)
class Resolution:
    """What a restarted environment does about the transition it was in."""

    fire: EnvEvent | None  # the interrupted event, completed (every task got there)
    error: str  # or: go to ERROR with this reason ("" when nothing to do)


def resolve_interrupted(
    env_id: str, busy: str, tasks: Iterable[tuple[str, TaskState, bool]]
) -> Resolution:
    """``busy``: the event in flight when the actor died; ``tasks``: (path, state, critical)
    of the controlled tasks as they are now. The event counts as done when every critical
    task reached its state; otherwise the environment goes to ERROR naming the laggards."""
    if not busy:
        return Resolution(None, "")
    try:
        event = EnvEvent(busy)
    except ValueError:  # destroy: the caller was told it failed; a MODIFY is half-applied
        why = f"environment {env_id}: its actor restarted in the middle of {busy}"
        return Resolution(None, why if busy == "MODIFY" else "")
    expect = expected_task_state(event)
    why = f"environment {env_id}: its actor restarted in the middle of {busy}"
    if expect is None:  # GO_ERROR, EXIT
        return Resolution(None, why if event == EnvEvent.GO_ERROR else "")
    behind = [f"{p} ({s.value})" for p, s, critical in tasks if critical and s != expect]
    if not behind:
        return Resolution(event, "")
    shown = ", ".join(behind[:10]) + (f" and {len(behind) - 10} more" if len(behind) > 10 else "")
    return Resolution(None, f"{why}; not {expect.value}: {shown}")
