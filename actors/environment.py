"""EnvironmentActor: one per environment; it owns the state machine and runs transitions.

What flows through: transition requests (from the controller, the SDK, the CLI) come in
through ``transition``; one at a time (a second request while one is in flight is refused
with ``EnvironmentBusy``, never queued); the state machine (``o2ctl.core.envfsm``) is asked
first, so a refused event changes nothing. The work of each event is in
``actors/transitions/<event>.py``; it fans out to task actors directly. The root role
reports its merged state back through ``root_changed``; an ERROR there after CONFIGURE
triggers GO_ERROR. Every step and state change goes to the event log, from which the SDK
long-polls and which is forwarded, batched, to the controller's cluster-wide log.

Target vs observed: ``fsm.state`` is what the environment reached; ``tasks[*].state`` and
``root_state`` are what it observes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import ray

from actors import metrics
from actors.calls import CallBook
from actors.errors import EnvironmentBusy, TransitionCancelled, TransitionFailed
from actors.phases import after_step, before_step, go_error_points
from actors.transitions import TRANSITIONS
from actors.transitions.common import EnvSettings, TaskEntry
from o2ctl.core.envfsm import EnvEvent, EnvironmentFSM, EnvState, TransitionRefused
from o2ctl.core.events import Event, EventLog
from o2ctl.core.states import TaskState, aggregate

log = logging.getLogger("o2ctl.environment")


@dataclass(repr=False)
class EnvironmentRuntime:
    """The logic of an environment actor (Ray wraps it as ``EnvironmentActor``)."""

    env_id: str
    workflow: Any  # o2ctl.templates.ExpandedWorkflow
    controller: Any
    settings: EnvSettings = field(default_factory=EnvSettings)
    user_vars: dict[str, str] = field(default_factory=dict)
    detectors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.fsm = EnvironmentFSM()
        self.events = EventLog()
        self.tasks: dict[str, TaskEntry] = {}
        self.roles: dict[str, Any] = {}
        self.role_children: dict[str, dict[str, bool]] = {}
        self.root_state = TaskState.INVARIANT
        self.busy: str | None = None
        self.busy_since = 0.0
        self.run_number: int | None = None
        self.created = time.time()
        self.last_error = ""
        self.durations: dict[str, float] = {}
        self._forward: list[dict[str, Any]] = []
        self._flush_scheduled = False
        self._auto_error: asyncio.Task[None] | None = None
        self.channels: dict[str, str] = {}
        self.run_start_ms = 0
        self.self_handle: Any = None
        self.calls = CallBook()  # call roles in flight, the current run (actors/calls.py)
        with contextlib.suppress(Exception):
            self.self_handle = ray.get_runtime_context().current_actor

    def __repr__(self) -> str:
        # Ray shows this in the dashboard and logs: keep it short (not the whole workflow).
        return f"Environment({self.env_id}, {self.workflow.workflow})"

    # -- events ---------------------------------------------------------------------
    def publish(self, ev: Event) -> None:
        stamped = self.events.append(ev)
        self._forward.append(stamped.to_dict())
        if not self._flush_scheduled:
            self._flush_scheduled = True
            with contextlib.suppress(RuntimeError):
                asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        batch, self._forward = self._forward, []
        if batch and self.controller is not None:
            self.controller.publish_events.remote(batch)

    async def wait_events(self, after: int, timeout: float = 10.0) -> dict[str, Any]:
        batch = await self.events.wait_after(after, timeout)
        return {
            "events": [e.to_dict() for e in batch.events],
            "last_seq": batch.last_seq,
            "gap": batch.gap,
        }

    # -- transitions ----------------------------------------------------------------
    def _acquire(self, what: str) -> None:
        if self.busy is not None:
            raise EnvironmentBusy(
                f"environment {self.env_id} is busy with {self.busy} "
                f"(started {time.time() - self.busy_since:.1f}s ago); "
                f"{what} refused, state unchanged ({self.fsm.state.value})"
            )
        self.busy, self.busy_since = what, time.time()

    async def transition(self, event: str, **kwargs: Any) -> str:
        """Run one environment transition; returns the new state."""
        try:
            ev = self.fsm.check(event)
        except TransitionRefused as exc:
            raise TransitionRefused(f"environment {self.env_id}: {exc}") from None
        self._acquire(ev.value)
        try:
            return await self._run(ev, **kwargs)
        finally:
            self.busy = None
        # (a failure inside a task after the reply is caught by the root watcher)

    async def _run(self, ev: EnvEvent, **kwargs: Any) -> str:
        self.publish(Event("transition", self.env_id, event=ev.value, status="STARTED"))
        t0 = time.perf_counter()
        before = self.fsm.state.value
        try:
            await before_step(self, ev, before)  # hooks and calls: actors/phases.py
            await TRANSITIONS[ev](self, **kwargs)
            await after_step(self, ev, lambda: self._enter(self.fsm.fire(ev)))
        except Exception as exc:
            self.last_error = str(exc)
            self.later(metrics.transition, ev.value, time.perf_counter() - t0, False)
            self.publish(
                Event(
                    "transition", self.env_id, event=ev.value, status="DONE_ERROR", error=str(exc)
                )
            )
            if (
                ev not in (EnvEvent.GO_ERROR, EnvEvent.EXIT)
                and EnvEvent.GO_ERROR in self.fsm.allowed_events()
                and not isinstance(exc, TransitionCancelled)  # cancelled: state as it was
            ):
                await self._go_error(f"{ev.value} failed")
            raise
        self.durations[ev.value] = time.perf_counter() - t0
        self.later(metrics.transition, ev.value, self.durations[ev.value], True)
        self.publish(
            Event(
                "transition",
                self.env_id,
                event=ev.value,
                status="DONE_OK",
                state=self.fsm.state.value,
                detail={"duration_s": self.durations[ev.value]},
            )
        )
        if self.root_state == TaskState.ERROR and self.fsm.state in _WATCHED:
            self._schedule_auto_error()
        return self.fsm.state.value

    def later(self, fn: Any, *args: Any) -> None:
        """Run ``fn`` after the current reply is on its way (metrics stay off the hot path)."""
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().call_soon(self._safely, fn, *args)

    @staticmethod
    def _safely(fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except Exception:  # metrics must never break control
            log.exception("metrics export failed")

    def _export_state(self) -> None:
        metrics.environment_state(self.env_id, self.workflow.workflow, self.fsm.state.value)
        metrics.task_counts(self.env_id, self.summary()["task_states"])
        metrics.run_number(self.env_id, self.run_number)

    def _enter(self, state: EnvState) -> None:
        self.later(self._export_state)
        self.publish(
            Event(
                "environment",
                self.env_id,
                state=state.value,
                detail={"run_number": self.run_number},
            )
        )

    async def _go_error(self, why: str) -> None:
        self.publish(
            Event(
                "transition",
                self.env_id,
                event="GO_ERROR",
                status="STARTED",
                detail={"reason": why},
            )
        )
        # ERROR is the environment's state from this moment (operators see it at once);
        # stopping what still runs follows, within the same transition.
        left = self.fsm.state.value
        self._enter(self.fsm.fire(EnvEvent.GO_ERROR))
        await go_error_points(self, left, "before")
        with contextlib.suppress(Exception):
            await TRANSITIONS[EnvEvent.GO_ERROR](self)
        await go_error_points(self, left, "after")
        self.publish(
            Event(
                "transition",
                self.env_id,
                event="GO_ERROR",
                status="DONE_OK",
                state=self.fsm.state.value,
            )
        )

    # -- observed state ---------------------------------------------------------------
    def root_changed(self, state: str, version: int) -> None:
        self.root_state = TaskState(state)
        self.publish(Event("role", self.env_id, path=self.workflow.root.path, state=state))
        if self.root_state == TaskState.ERROR and self.fsm.state in _WATCHED and not self.busy:
            self._schedule_auto_error()

    def _schedule_auto_error(self) -> None:
        if self._auto_error is not None and not self._auto_error.done():
            return
        self._auto_error = asyncio.create_task(self._auto_go_error())

    async def _auto_go_error(self) -> None:
        await asyncio.sleep(self.settings.error_grace_s)
        if self.busy or self.fsm.state not in _WATCHED or self.root_state != TaskState.ERROR:
            return
        failed = [
            e.error or e.role_path
            for e in self.tasks.values()
            if e.state == TaskState.ERROR and e.critical
        ]
        self.busy, self.busy_since = "GO_ERROR", time.time()
        try:
            self.last_error = "; ".join(failed) or "root role in ERROR"
            await self._go_error(self.last_error)
        finally:
            self.busy = None

    def role_changed(self, path: str, state: str) -> None:
        self.publish(Event("role", self.env_id, path=path, state=state))

    def task_changed(
        self, role_path: str, state: str, version: int, detail: dict[str, Any]
    ) -> None:
        entry = self.tasks.get(role_path)
        if entry is None or version < entry.version:
            return
        entry.state, entry.version = TaskState(state), version
        entry.error = detail.get("error", "") or entry.error
        entry.pid = detail.get("pid", entry.pid)
        self.publish(
            Event(
                "task",
                self.env_id,
                path=role_path,
                state=state,
                error=entry.error if state == "ERROR" else "",
                detail={"task_id": entry.task_id},
            )
        )
        self.later(self._export_state)

    # -- reads ----------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for e in self.tasks.values():
            counts[e.state.value] = counts.get(e.state.value, 0) + 1
        return {
            "env_id": self.env_id,
            "workflow": self.workflow.workflow,
            "state": self.fsm.state.value,
            "root_state": self.root_state.value,
            "busy": self.busy,
            "run_number": self.run_number,
            "created": self.created,
            "tasks": len(self.tasks),
            "task_states": counts,
            "detectors": self.detectors,
            "user_vars": self.user_vars,
            "last_error": self.last_error,
            "durations": dict(self.durations),
            "allowed_events": [e.value for e in self.fsm.allowed_events()],
        }

    def task_table(self) -> list[dict[str, Any]]:
        return [e.describe() for e in sorted(self.tasks.values(), key=lambda e: e.role_path)]

    def tree(self) -> dict[str, Any]:
        return _tree_of(self.workflow.root, self)

    def state(self) -> str:
        return self.fsm.state.value

    async def destroy(
        self, keep_tasks: bool = False, allow_in_running: bool = False, force: bool = False
    ) -> dict[str, Any]:
        from actors.transitions.destroy import destroy

        if self.busy is not None and not force:
            self._acquire("destroy")  # raises EnvironmentBusy
        self.busy, self.busy_since = "destroy", time.time()
        try:
            return await destroy(
                self, keep_tasks=keep_tasks, allow_in_running=allow_in_running, force=force
            )
        finally:
            self.busy = None


_WATCHED = (EnvState.CONFIGURED, EnvState.RUNNING)


def _tree_of(node: Any, env: EnvironmentRuntime) -> dict[str, Any]:
    entry = env.tasks.get(node.path)
    out: dict[str, Any] = {
        "name": node.name,
        "path": node.path,
        "kind": node.kind,
        "critical": node.critical,
    }
    if entry is not None:
        out.update(
            state=entry.state.value,
            task_id=entry.task_id,
            host=entry.host,
            pid=entry.pid,
            task_class=entry.task_class,
        )
    elif node.task is not None:  # a hook task: it runs at its trigger, not deployed
        out.update(
            kind="hook",
            state="INVARIANT",
            trigger=node.task.trigger,
            task_class=node.task.task_class,
        )
    else:
        kids = [_tree_of(c, env) for c in node.children]
        out["children"] = kids
        out["state"] = aggregate(
            (TaskState(k.get("state", "UNKNOWN")), k["critical"])
            for k in kids
            if k["kind"] != "hook"
        ).value
    return out


EnvironmentActor = ray.remote(  # type: ignore[call-overload]
    num_cpus=0, max_restarts=0, max_concurrency=1000
)(EnvironmentRuntime)
__all__ = ["EnvironmentActor", "EnvironmentRuntime", "TransitionFailed"]
