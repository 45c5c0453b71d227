"""One environment, as data and rules: what it should be, what it sees, and what follows.

The environment actor (``actors/environment.py``) is a Ray shell around this model: it
waits, schedules, publishes and talks to other actors; every decision about the
environment is taken here, in plain Python, tested without Ray
(``tests/unit/test_core_envmodel.py``).

What the model holds:

- the **target** (``EnvTarget``): the workflow as the operator named it, its repository,
  the user's variables, the excluded role paths, the detectors, whether a deploy may
  reclaim async nodes — what ``modify`` changes;
- what it **observes**: the state machine (``o2ctl.core.envfsm``), the task table (one
  entry per task, a ``TaskRecord`` with the version of its last report), the root role's
  merged state, the run (number, start time), the channels, the last error, the durations;
- the **one-operation lock** (``busy``, ``busy_since``): a second operation while one runs
  is refused with ``EnvironmentBusy``, never queued.

The rules it decides: which event is allowed (``check``), whether the lock is free
(``acquire``), which task report is stale (``task_changed``), what a node loss does
(``nodes_lost``), when the environment must go to ERROR by itself and why
(``auto_error_due``, ``auto_go_error``, ``failure_needs_go_error``), and what the
environment looks like to a reader (``summary``) and on disk (``snapshot``, and back with
``from_record``). The durable record's format is ``o2ctl.core.envrecord``'s and is not
changed by this model; only where its fields come from is.

The task entries are generic (``o2ctl.core.envtasks.ObservedTask``): the actor's own
entries (a ``TaskRecord`` plus its actor handle and spec) go in and come out as they are;
tests use ``VersionedTask``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic

from o2ctl.core.envfsm import EnvEvent, EnvironmentFSM, EnvState, TransitionRefused
from o2ctl.core.envrecord import EnvRecord, Resolution, resolve_interrupted
from o2ctl.core.envtasks import T, task_counts
from o2ctl.core.errors import EnvironmentBusy
from o2ctl.core.states import TaskState

WATCHED = (EnvState.CONFIGURED, EnvState.RUNNING)
"""The states in which a root role in ERROR takes the environment to ERROR by itself."""
MODIFIABLE = (EnvState.DEPLOYED, EnvState.CONFIGURED, EnvState.RUNNING)
"""The states in which a MODIFY may change the environment."""
MAX_RETURN = 2000
"""A call's output stored as its ``return:`` variable (the runner's output bound, too)."""


@dataclass
class EnvTarget:
    """What the environment should be: what it was created from, as modify changes it."""

    workflow_ref: str  # as the operator named it (repository and all)
    repo: str | None = None
    user_vars: dict[str, str] = field(default_factory=dict)
    excluded: list[str] = field(default_factory=list)
    detectors: list[str] = field(default_factory=list)
    reclaim: bool = False  # a deploy may reclaim async nodes


@dataclass(frozen=True)
class NodeLoss(Generic[T]):
    """What a node loss did: the tasks it took, the reason, whether GO_ERROR is due."""

    lost: list[T]
    reason: str
    go_error: bool


class EnvironmentModel(Generic[T]):
    """An environment's state and rules, without Ray (see the module's docstring)."""

    def __init__(
        self,
        env_id: str,
        target: EnvTarget,
        *,
        state: EnvState = EnvState.STANDBY,
        created: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.env_id = env_id
        self.target = target
        self.fsm = EnvironmentFSM(state)
        self.tasks: dict[str, T] = {}
        self.root_state = TaskState.INVARIANT
        self.root_version = 0  # the root role's own counter, as it last reported
        self.busy: str | None = None
        self.busy_since = 0.0
        self.run_number: int | None = None
        self.last_run_number: int | None = None
        self.run_start_ms = 0
        self.channels: dict[str, str] = {}
        self.call_returns: dict[str, dict[str, str]] = {}  # call role path -> its `return:`
        self.last_error = ""
        self.durations: dict[str, float] = {}
        self._clock = clock
        self.created = created or clock()

    # -- the state machine and the lock -----------------------------------------------
    @property
    def state(self) -> EnvState:
        return self.fsm.state

    def check(self, event: str) -> EnvEvent:
        """The event, if allowed now; otherwise ``TransitionRefused`` naming the environment."""
        try:
            return self.fsm.check(event)
        except TransitionRefused as exc:
            raise TransitionRefused(f"environment {self.env_id}: {exc}") from None

    def check_modify(self) -> EnvState:
        """The state, if a MODIFY is allowed in it; otherwise ``TransitionRefused``."""
        state = self.fsm.state
        if state not in MODIFIABLE:
            allowed = ", ".join(s.value for s in MODIFIABLE)
            raise TransitionRefused(
                f"environment {self.env_id}: MODIFY is not allowed in state {state.value} "
                f"(allowed in {allowed}); state unchanged"
            )
        return state

    def can_go_error(self) -> bool:
        return EnvEvent.GO_ERROR in self.fsm.allowed_events()

    def refuse_if_busy(self, what: str) -> None:
        """``EnvironmentBusy`` naming the operation in flight, if there is one."""
        if self.busy is not None:
            raise EnvironmentBusy(
                f"environment {self.env_id} is busy with {self.busy} "
                f"(started {self._clock() - self.busy_since:.1f}s ago); "
                f"{what} refused, state unchanged ({self.fsm.state.value})"
            )

    def acquire(self, what: str, *, force: bool = False) -> None:
        """Take the one-operation lock for ``what`` (``force``: even from another one)."""
        if not force:
            self.refuse_if_busy(what)
        self.busy, self.busy_since = what, self._clock()

    def release(self) -> None:
        self.busy = None

    def transition_done(self, event: EnvEvent, seconds: float) -> None:
        self.durations[event.value] = seconds

    def failure_needs_go_error(self, event: EnvEvent | str, error: str, cancelled: bool) -> bool:
        """``event`` (or MODIFY) failed with ``error``: it is the last error; ERROR follows
        unless the event was GO_ERROR or EXIT, or it was cancelled or refused before it
        changed anything (the state as it was)."""
        self.last_error = error
        return (
            event not in (EnvEvent.GO_ERROR, EnvEvent.EXIT)
            and self.can_go_error()
            and not cancelled
        )

    def enter_error(self) -> str:
        """Fire GO_ERROR; returns the state left (its clean-up runs that state's hooks)."""
        left = self.fsm.state.value
        self.fsm.fire(EnvEvent.GO_ERROR)
        return left

    # -- observed state ---------------------------------------------------------------
    def root_changed(self, state: str, version: int = -1) -> bool | None:
        """The root role's merged state, from its own report or a transition's reply (both
        carry the root's version; -1: unversioned, always taken). None: older than, or the
        same as, what is held; else whether an automatic GO_ERROR is due."""
        if version >= 0 and (
            version < self.root_version
            or (version == self.root_version and state == self.root_state)
        ):
            return None
        self.root_state, self.root_version = TaskState(state), max(version, self.root_version)
        return self.auto_error_due()

    def auto_error_due(self, *, while_busy: bool = False) -> bool:
        """The root role is in ERROR while CONFIGURED or RUNNING and no operation runs
        (``while_busy``: the operation in flight is the one asking, at its end)."""
        return (
            self.root_state == TaskState.ERROR
            and self.fsm.state in WATCHED
            and (while_busy or not self.busy)
        )

    def auto_go_error(self) -> str | None:
        """The reason for an automatic GO_ERROR if it is still due (after the grace
        period): the errors of the failed critical tasks; None when no longer due."""
        if not self.auto_error_due():
            return None
        failed = [
            e.error or e.role_path
            for e in self.tasks.values()
            if e.state == TaskState.ERROR and e.critical
        ]
        self.last_error = "; ".join(failed) or "root role in ERROR"
        return self.last_error

    def task_changed(
        self, role_path: str, state: str, version: int, detail: Mapping[str, Any]
    ) -> T | None:
        """A task's own report; None when stale (a task no longer at that path, or a
        version older than the one taken), the updated entry otherwise."""
        entry = self.tasks.get(role_path)
        if entry is None or detail.get("task_id", entry.task_id) != entry.task_id:
            return None
        if version < entry.version:
            return None
        entry.state, entry.version = TaskState(state), version
        entry.error = detail.get("error", "") or entry.error
        entry.pid = detail.get("pid", entry.pid)
        return entry

    def nodes_lost(self, node_id: str, hostname: str) -> NodeLoss[T] | None:
        """A node is gone: its tasks are lost (ERROR, naming the node); None if it held none.
        A critical one among them makes the reason the last error (also when a task's own
        failure got there first) and GO_ERROR due unless an operation runs."""
        lost = [e for e in self.tasks.values() if e.node_id == node_id and not e.lost]
        if not lost:
            return None
        for e in lost:
            e.lost, e.state, e.version = hostname, TaskState.ERROR, e.version + 1
            e.error = f"task {e.role_path} ({e.task_id}) lost with node {hostname}"
        names = ", ".join(e.role_path for e in lost)
        why = f"node {hostname} lost with {len(lost)} task(s): {names}"
        critical = any(e.critical for e in lost)
        if critical:
            self.last_error = why
        return NodeLoss(lost, why, critical and not self.busy and self.can_go_error())

    def interrupted(self, busy: str) -> Resolution:
        """After a restart, what to do about ``busy``, the operation in flight when the
        actor died (``resolve_interrupted``): the event to fire, completed, or the reason of
        the GO_ERROR due (the last error then); nothing when GO_ERROR is not allowed."""
        tasks = [(e.role_path, e.state, e.critical) for e in self.tasks.values() if e.controlled]
        outcome = resolve_interrupted(self.env_id, busy, tasks)
        if outcome.fire is None and outcome.error:
            if not self.can_go_error():
                return Resolution(None, "")
            self.last_error = outcome.error
        return outcome

    def run_ended(self) -> None:
        """After STOP_ACTIVITY or GO_ERROR (once their hooks ran): no run is current any
        more, and the one that was is the last (AliECS's ``last_run_number``)."""
        if self.run_number is not None:
            self.last_run_number = self.run_number
        self.run_number = None

    # -- call roles' return values -------------------------------------------------------
    def call_returned(self, path: str, var: str, output: str) -> None:
        """A call role's ``return:`` variable takes its call's output. As in AliECS, it is a
        runtime variable of the call role itself: its later calls see it (the same call at
        the next run, say), over the role's template variables."""
        self.call_returns.setdefault(path, {})[var] = output[:MAX_RETURN]

    def call_variables(self, path: str) -> dict[str, str]:
        """The runtime variables a call of the role at ``path`` gets over its template's."""
        return dict(self.call_returns.get(path, {}))

    # -- reads ------------------------------------------------------------------------
    def task_counts(self) -> dict[str, int]:
        return task_counts(self.tasks.values())

    def summary(self, *, workflow: str, cleaning_up: bool, actor_pid: int) -> dict[str, Any]:
        """What a reader sees; ``workflow`` (the expanded workflow's name), the clean-up in
        flight and the actor's pid are the actor's to say."""
        t = self.target
        return {
            "env_id": self.env_id,
            "workflow": workflow,
            "workflow_ref": t.workflow_ref,
            "state": self.fsm.state.value,
            "root_state": self.root_state.value,
            "busy": self.busy,
            "cleaning_up": cleaning_up,
            "run_number": self.run_number,
            "last_run_number": self.last_run_number,
            "created": self.created,
            "tasks": len(self.tasks),
            "task_states": self.task_counts(),
            "detectors": t.detectors,
            "user_vars": t.user_vars,
            "excluded": list(t.excluded),
            "last_error": self.last_error,
            "durations": dict(self.durations),
            "allowed_events": [e.value for e in self.fsm.allowed_events()],
            "actor_pid": actor_pid,
        }

    # -- the durable record -----------------------------------------------------------
    def snapshot(self, *, roles: Mapping[str, str], event_seq: int) -> EnvRecord:
        """The durable record of this model; ``roles`` (role path → actor name) and the
        event log's position are the actor's."""
        t = self.target
        return EnvRecord(
            env_id=self.env_id,
            workflow=t.workflow_ref,
            repo=t.repo,
            user_vars=dict(t.user_vars),
            excluded=list(t.excluded),
            detectors=list(t.detectors),
            reclaim=t.reclaim,
            created=self.created,
            state=self.fsm.state.value,
            busy=self.busy or "",
            run_number=self.run_number,
            last_run_number=self.last_run_number,
            run_start_ms=self.run_start_ms,
            last_error=self.last_error,
            tasks={p: e.record() for p, e in self.tasks.items()},
            roles=dict(roles),
            channels=dict(self.channels),
            call_returns={p: dict(v) for p, v in self.call_returns.items()},
            event_seq=event_seq,
        )

    @classmethod
    def from_record(
        cls,
        rec: EnvRecord,
        make_task: Callable[[Mapping[str, Any]], T],
        *,
        clock: Callable[[], float] = time.time,
    ) -> EnvironmentModel[T]:
        """The model a record describes; ``make_task`` builds an entry from a task's record.
        The operation in flight (``rec.busy``) is not taken: see ``interrupted``."""
        target = EnvTarget(
            rec.workflow,
            rec.repo,
            dict(rec.user_vars),
            list(rec.excluded),
            list(rec.detectors),
            rec.reclaim,
        )
        model = cls(rec.env_id, target, state=EnvState(rec.state), created=rec.created, clock=clock)
        model.run_number, model.run_start_ms = rec.run_number, rec.run_start_ms
        model.last_run_number = rec.last_run_number
        if model.state is not EnvState.RUNNING and rec.busy != EnvEvent.START_ACTIVITY.value:
            model.run_ended()  # a record from before the run's end was the model's
        model.last_error, model.channels = rec.last_error, dict(rec.channels)
        model.call_returns = {p: dict(v) for p, v in rec.call_returns.items()}
        model.tasks = {p: make_task(raw) for p, raw in rec.tasks.items()}
        return model
