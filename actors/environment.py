"""EnvironmentActor: one per environment; it owns the state machine and runs transitions.

What flows through: transition requests (from the controller, the SDK, the CLI) come in
through ``transition``; one at a time (a second request while one is in flight is refused
with ``EnvironmentBusy``, never queued); the state machine (``o2ctl.core.envfsm``) is asked
first, so a refused event changes nothing. The work of each event is in
``actors/transitions/<event>.py``; it fans out to task actors directly. Task actors report
what their processes do by themselves to ``task_changed``; the environment forwards it to
the role tree, whose root reports the merged state back through ``root_changed``; an ERROR
there after CONFIGURE triggers GO_ERROR. Every step and state change goes to the event log,
from which the SDK long-polls and which is forwarded, batched, to the controller's log.

Crash safety: the actor is a cache of its durable record (``o2ctl.core.envrecord``, written
through ``actors.envstore``) — written when a transition starts and again before its reply,
and soon after any change a task reports. When Ray restarts the actor, ``actors.envrestore``
rebuilds it from the record and the live task actors without touching a process.

GO_ERROR enters ERROR at once and stops what still runs in the background (``cleanup``): the
operator sees ERROR immediately, and a RECOVER or destroy sent meanwhile waits for that
clean-up (within its deadline) instead of being refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

import ray

from actors import metrics
from actors.calls import CallBook
from actors.envstore import EnvStore
from actors.errors import EnvironmentBusy, TransitionCancelled, TransitionFailed
from actors.phases import after_step, before_step, go_error_points
from actors.transitions import TRANSITIONS
from actors.transitions.common import EnvSettings, TaskEntry, update_roles
from actors.transitions.simple import stop_running
from o2ctl.core.envfsm import EnvEvent, EnvironmentFSM, EnvState, TransitionRefused
from o2ctl.core.events import Event, EventLog
from o2ctl.core.states import TaskState

log = logging.getLogger("o2ctl.environment")
CLEANUP_WAIT_S = 60.0


@dataclass(repr=False)
class EnvironmentRuntime:
    """The logic of an environment actor (Ray wraps it as ``Environment``)."""

    env_id: str
    workflow: Any  # o2ctl.templates.ExpandedWorkflow
    controller: Any
    settings: EnvSettings = field(default_factory=EnvSettings)
    user_vars: dict[str, str] = field(default_factory=dict)
    detectors: list[str] = field(default_factory=list)
    store: EnvStore | None = None  # None: nothing durable (plain tests)
    repo: str | None = None
    excluded: list[str] = field(default_factory=list)
    reclaim: bool = False
    workflow_ref: str = ""  # the workflow as the operator named it (repository and all)

    def __post_init__(self) -> None:
        self.workflow_ref = self.workflow_ref or self.workflow.workflow
        self.fsm = EnvironmentFSM()
        self.events = EventLog()
        self.tasks: dict[str, TaskEntry] = {}
        self.roles: dict[str, Any] = {}
        self.role_children: dict[str, dict[str, bool]] = {}
        self.role_states: dict[str, str] = {}
        self.root_state = TaskState.INVARIANT
        self.root_version = 0
        self.busy: str | None = None
        self.busy_since = 0.0
        self.run_number: int | None = None
        self.created = time.time()
        self.last_error = ""
        self.durations: dict[str, float] = {}
        self._forward: list[dict[str, Any]] = []
        self._flush_scheduled = False
        self._auto_error: asyncio.Task[None] | None = None
        self.cleanup: asyncio.Task[None] | None = None
        self.ending: set[asyncio.Task[None]] = set()  # actors a deploy gave up on, ending
        self._current: asyncio.Future[str] | None = None  # the transition running now
        self._cancelled_by = ""
        self._role_version = time.time_ns() // 1000  # above any earlier life's, after a restart
        self.channels: dict[str, str] = {}
        self.run_start_ms = 0
        self.self_handle: Any = None
        self.calls = CallBook()  # call roles in flight, the current run (actors/calls.py)
        with contextlib.suppress(Exception):
            self.self_handle = ray.get_runtime_context().current_actor

    def __repr__(self) -> str:
        # Ray shows this in the dashboard and logs: keep it short (not the whole workflow).
        return f"Environment({self.env_id}, {self.workflow.workflow})"

    # -- events and records -------------------------------------------------------------
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

    async def persist(self) -> None:
        """Write the record now (before the change it records is acknowledged)."""
        if self.store is not None:
            await self.store.write(self)

    def persist_soon(self) -> None:
        if self.store is not None:
            self.store.write_soon(self)

    # -- transitions ----------------------------------------------------------------
    def _acquire(self, what: str) -> None:
        if self.busy is not None:
            raise EnvironmentBusy(
                f"environment {self.env_id} is busy with {self.busy} "
                f"(started {time.time() - self.busy_since:.1f}s ago); "
                f"{what} refused, state unchanged ({self.fsm.state.value})"
            )
        self.busy, self.busy_since = what, time.time()

    async def wait_cleanup(self, what: str) -> None:
        """Let GO_ERROR's clean-up finish before ``what`` (RECOVER, destroy) runs."""
        if self.cleanup is None or self.cleanup.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(self.cleanup), CLEANUP_WAIT_S)
        except TimeoutError:
            raise EnvironmentBusy(
                f"environment {self.env_id}: GO_ERROR is still stopping its tasks after "
                f"{CLEANUP_WAIT_S:.0f}s; {what} refused, state unchanged"
            ) from None

    async def transition(self, event: str, **kwargs: Any) -> str:
        """Run one environment transition; returns the new state."""
        try:
            ev = self.fsm.check(event)
        except TransitionRefused as exc:
            raise TransitionRefused(f"environment {self.env_id}: {exc}") from None
        if self.busy is None:
            await self.wait_cleanup(ev.value)
        self._acquire(ev.value)
        marker = asyncio.ensure_future(self.persist())  # the crash marker, beside the work
        self._current = asyncio.ensure_future(self._run(ev, **kwargs))
        try:
            return await self._current
        except asyncio.CancelledError:
            if not self._cancelled_by:
                raise
            raise TransitionFailed(
                f"{ev.value} of environment {self.env_id} cancelled by {self._cancelled_by}"
            ) from None
        finally:
            self.busy, self._current = None, None
            with contextlib.suppress(Exception):
                await marker
            await self.persist()

    async def _run(self, ev: EnvEvent, **kwargs: Any) -> str:
        self.publish(Event("transition", self.env_id, event=ev.value, status="STARTED"))
        t0 = time.perf_counter()
        before = self.fsm.state.value
        try:
            await before_step(self, ev, before)  # hooks and calls: actors/phases.py
            await TRANSITIONS[ev](self, **kwargs)
            await after_step(self, ev, lambda: self.enter(self.fsm.fire(ev)))
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
                self.go_error(f"{ev.value} failed")
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
        if self.root_state == TaskState.ERROR and self.fsm.state in WATCHED:
            self._schedule_auto_error()
        return self.fsm.state.value

    def role_version(self) -> int:
        self._role_version += 1
        return self._role_version

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
        metrics.task_counts(self.env_id, self.task_counts())
        metrics.run_number(self.env_id, self.run_number)

    def task_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for e in self.tasks.values():
            counts[e.state.value] = counts.get(e.state.value, 0) + 1
        return counts

    def enter(self, state: EnvState) -> None:
        self.later(self._export_state)
        self.publish(
            Event(
                "environment",
                self.env_id,
                state=state.value,
                detail={"run_number": self.run_number},
            )
        )

    def go_error(self, why: str) -> None:
        """ERROR now; stopping what still runs follows in the background (``cleanup``)."""
        self.publish(
            Event(
                "transition",
                self.env_id,
                event="GO_ERROR",
                status="STARTED",
                detail={"reason": why},
            )
        )
        left = self.fsm.state.value
        self.enter(self.fsm.fire(EnvEvent.GO_ERROR))
        self.persist_soon()
        self.cleanup = asyncio.ensure_future(self._stop_after_error(left))

    async def _stop_after_error(self, left: str) -> None:
        await go_error_points(self, left, "before")
        with contextlib.suppress(Exception):
            await stop_running(self)
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
        self.persist_soon()

    async def modify(
        self, target: Any, kill: bool = False, dry_run: bool = False, restart_run: bool = False
    ) -> dict[str, Any]:
        """Bring the environment to ``target`` (``actors.transitions.modify.Target``) by the
        smallest change; returns the diff (added, removed, changed keys, untouched count)."""
        from actors.envmodify import run_modify

        return await run_modify(self, target, kill, dry_run, restart_run)

    async def _cancel_current(self, by: str) -> None:
        current = self._current
        if current is None or current.done():
            return
        self._cancelled_by = by
        current.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(asyncio.shield(current), CANCEL_WAIT_S)
        self.busy = None

    # -- observed state ---------------------------------------------------------------
    def root_changed(self, state: str, version: int) -> None:
        """The root role's merged state: from its own report or a transition's reply
        (both carry its version; an older or repeated one changes nothing)."""
        if version < self.root_version or (
            version == self.root_version and state == self.root_state
        ):
            return
        self.root_state, self.root_version = TaskState(state), version
        self.role_states[self.workflow.root.path] = state
        self.publish(Event("role", self.env_id, path=self.workflow.root.path, state=state))
        if self.root_state == TaskState.ERROR and self.fsm.state in WATCHED and not self.busy:
            self._schedule_auto_error()

    def _schedule_auto_error(self) -> None:
        if self._auto_error is not None and not self._auto_error.done():
            return
        self._auto_error = asyncio.ensure_future(self._auto_go_error())

    async def _auto_go_error(self) -> None:
        await asyncio.sleep(self.settings.error_grace_s)
        if self.busy or self.fsm.state not in WATCHED or self.root_state != TaskState.ERROR:
            return
        failed = [
            e.error or e.role_path
            for e in self.tasks.values()
            if e.state == TaskState.ERROR and e.critical
        ]
        self.last_error = "; ".join(failed) or "root role in ERROR"
        self.go_error(self.last_error)

    def role_changed(self, path: str, state: str) -> None:
        self.role_states[path] = state
        self.publish(Event("role", self.env_id, path=path, state=state))

    def role_restarted(self, path: str) -> None:
        """A role actor came back empty: send it its children's states again."""
        actor = self.roles.get(path)
        if actor is None:
            return
        updates = []
        for p in self.role_children.get(path, {}):
            e = self.tasks.get(p)
            if e is not None:
                updates.append((p, e.state.value, self.role_version()))
            else:  # a sub-role: its own reports carry higher versions than this
                updates.append((p, self.role_states.get(p, "UNKNOWN"), 0))
        actor.children_changed.remote(updates)

    def task_changed(
        self, role_path: str, state: str, version: int, detail: dict[str, Any]
    ) -> None:
        entry = self.tasks.get(role_path)
        if entry is None or detail.get("task_id", entry.task_id) != entry.task_id:
            return  # a task this environment no longer has at that path
        if version < entry.version:
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
        update_roles(self, [entry])
        self.later(self._export_state)
        self.persist_soon()

    def nodes_lost(self, node_id: str, hostname: str) -> list[str]:
        """A node is gone: its tasks are lost; the environment goes to ERROR naming them."""
        lost = [e for e in self.tasks.values() if e.node_id == node_id and not e.lost]
        for e in lost:
            e.lost, e.state, e.version = hostname, TaskState.ERROR, e.version + 1
            e.error = f"task {e.role_path} ({e.task_id}) lost with node {hostname}"
            self.publish(Event("task", self.env_id, path=e.role_path, state="ERROR", error=e.error))
        if not lost:
            return []
        update_roles(self, lost)
        names = ", ".join(e.role_path for e in lost)
        why = f"node {hostname} lost with {len(lost)} task(s): {names}"
        if any(e.critical for e in lost):
            self.last_error = why  # also when a task's own failure got there first
            if not self.busy and EnvEvent.GO_ERROR in self.fsm.allowed_events():
                self.go_error(why)
        self.persist_soon()
        return [e.task_id for e in lost]

    # -- reads ----------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        counts = self.task_counts()
        cleaning = self.cleanup is not None and not self.cleanup.done()
        return {
            "env_id": self.env_id,
            "workflow": self.workflow.workflow,
            "workflow_ref": self.workflow_ref,
            "state": self.fsm.state.value,
            "root_state": self.root_state.value,
            "busy": self.busy,
            "cleaning_up": cleaning,
            "run_number": self.run_number,
            "created": self.created,
            "tasks": len(self.tasks),
            "task_states": counts,
            "detectors": self.detectors,
            "user_vars": self.user_vars,
            "excluded": list(self.excluded),
            "last_error": self.last_error,
            "durations": dict(self.durations),
            "allowed_events": [e.value for e in self.fsm.allowed_events()],
            "actor_pid": os.getpid(),
        }

    def task_table(self) -> list[dict[str, Any]]:
        return [e.describe() for e in sorted(self.tasks.values(), key=lambda e: e.role_path)]

    def tree(self) -> dict[str, Any]:
        from actors.envtree import tree_of

        return tree_of(self.workflow.root, self)

    def state(self) -> str:
        return self.fsm.state.value

    async def destroy(
        self, keep_tasks: bool = False, allow_in_running: bool = False, force: bool = False
    ) -> dict[str, Any]:
        from actors.transitions.destroy import destroy

        if self.busy == "DEPLOY" and self._current is not None:
            await self._cancel_current("destroy")  # a deploy is stopped, what it began ended
        if self.busy is not None and not force:
            self._acquire("destroy")  # raises EnvironmentBusy
        await self.wait_cleanup("destroy")
        self.busy, self.busy_since = "destroy", time.time()
        try:
            result = await destroy(
                self, keep_tasks=keep_tasks, allow_in_running=allow_in_running, force=force
            )
        finally:
            self.busy = None
        if self.store is not None:
            self.store.close()  # the controller deletes the record next; nothing writes it again
        return result


WATCHED = (EnvState.CONFIGURED, EnvState.RUNNING)
CANCEL_WAIT_S = 30.0


class Environment(EnvironmentRuntime):
    """The Ray actor: built from its durable record, so a restarted one carries on."""

    async def __init__(self, env_id: str, controller: Any, settings: EnvSettings) -> None:  # type: ignore[misc]
        from actors.envrestore import restore

        store = EnvStore.open(settings.records_uri, env_id)
        rec, workflow = await store.load()
        EnvironmentRuntime.__init__(
            self,
            env_id,
            workflow,
            controller,
            settings,
            dict(rec.user_vars),
            list(rec.detectors),
            store,
            rec.repo,
            list(rec.excluded),
            rec.reclaim,
            rec.workflow,
        )
        await restore(self, rec)


EnvironmentActor = ray.remote(  # type: ignore[call-overload]
    num_cpus=0, max_restarts=-1, max_task_retries=0, max_concurrency=1000
)(Environment)
__all__ = ["EnvironmentActor", "EnvironmentRuntime", "TransitionFailed"]
