"""EnvironmentActor: one per environment; it owns the state machine and runs transitions.

What flows through: transition requests (from the controller, the SDK, the CLI) come in
through ``transition``; one at a time (a second request while one is in flight is refused
with ``EnvironmentBusy``, never queued); the state machine (``o2ctl.core.envfsm``) is asked
first, so a refused event changes nothing. The work of each event is in
``actors/transitions/<event>.py``; it drives the tasks through the role tree (one call to
the root role, ``actors/drive.py``), run by ``actors/envrun.py``. Task actors report
what their processes do by themselves to ``task_changed``; the environment forwards it to
the role tree, whose root reports the merged state back through ``root_changed``; an ERROR
there after CONFIGURE triggers GO_ERROR. Every step and state change goes to the event log,
from which the SDK long-polls and which is forwarded, batched, to the controller's log.

The environment's state and its rules are one pure model (``o2ctl.core.envmodel``): the
target, the state machine, the task table, the run, the one-operation lock and what
follows from a task's report, a node loss or a root role in ERROR. The actor keeps what is
Ray's and asyncio's — the event log and its forwarding, the record's write scheduling, the
clean-up and automatic GO_ERROR tasks, the role and task actors' handles — and asks the
model for every decision; the model's fields read and written by the transitions
(``env.tasks``, ``env.run_number``, ...) are the model's own, seen through ``ModelField``.

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
from typing import Any

import ray

from actors import envauto, envrun, metrics
from actors.calls import CallBook
from actors.envstore import EnvStore
from actors.errors import EnvironmentBusy, TransitionFailed
from actors.modelfield import ModelField
from actors.transitions.common import EnvSettings, TaskEntry, update_roles
from o2ctl.core.envfsm import EnvEvent, EnvironmentFSM, EnvState
from o2ctl.core.envmodel import EnvironmentModel
from o2ctl.core.events import Event, EventLog

log = logging.getLogger("o2ctl.environment")
CLEANUP_WAIT_S = 60.0


class EnvironmentRuntime:
    """The logic of an environment actor (Ray wraps it as ``Environment``)."""

    fsm = ModelField[EnvironmentFSM]()
    tasks = ModelField[dict[str, TaskEntry]]()
    busy = ModelField[str | None]()
    run_number = ModelField[int | None]()
    run_start_ms = ModelField[int]()
    last_error = ModelField[str]()
    channels = ModelField[dict[str, str]]()
    created = ModelField[float]()
    workflow_ref = ModelField[str](of_target=True)
    repo = ModelField[str | None](of_target=True)
    user_vars = ModelField[dict[str, str]](of_target=True)
    excluded = ModelField[list[str]](of_target=True)
    detectors = ModelField[list[str]](of_target=True)
    reclaim = ModelField[bool](of_target=True)

    def __init__(
        self,
        workflow: Any,  # o2ctl.templates.ExpandedWorkflow
        controller: Any,
        model: EnvironmentModel[TaskEntry],
        settings: EnvSettings | None = None,
        store: EnvStore | None = None,  # None: nothing durable (plain tests)
    ) -> None:
        self.model = model
        self.env_id = model.env_id
        self.workflow = workflow
        self.controller = controller
        self.settings = settings or EnvSettings()
        self.store = store
        self.workflow_ref = self.workflow_ref or workflow.workflow
        self.events = EventLog()
        self.roles: dict[str, Any] = {}
        self.role_children: dict[str, dict[str, bool]] = {}
        self.role_states: dict[str, str] = {}
        self.role_home = ""  # the node of its roles that span nodes (deploy.find_home)
        self._forward: list[dict[str, Any]] = []
        self._flush_scheduled = False
        self._auto_error: asyncio.Task[None] | None = None
        self.cleanup: asyncio.Task[None] | None = None
        self.ending: set[asyncio.Task[None]] = set()  # actors a deploy gave up on, ending
        self._current: asyncio.Future[str] | None = None  # the transition running now
        self._cancelled_by = ""
        self._role_version = time.time_ns() // 1000  # above any earlier life's, after a restart
        self.self_handle: Any = None
        self.calls = CallBook()  # call roles in flight, the current run (actors/calls.py)
        with contextlib.suppress(Exception):
            self.self_handle = ray.get_runtime_context().current_actor

    def __repr__(self) -> str:
        # Ray shows this in the dashboard and logs: keep it short (not the whole workflow);
        # it must not fail on an actor whose __init__ did not get that far.
        workflow = getattr(getattr(self, "workflow", None), "workflow", "?")
        return f"Environment({getattr(self, 'env_id', '?')}, {workflow})"

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
        ev = self.model.check(event)
        if self.model.busy is None:
            await self.wait_cleanup(ev.value)
        self.model.acquire(ev.value)
        began: list[bool] = []  # the work, and so its record, may be cancelled before it begins
        self._current = asyncio.ensure_future(self._record_then_run(ev, began, **kwargs))
        try:
            return await self._current
        except asyncio.CancelledError:
            if not self._cancelled_by:
                raise
            raise TransitionFailed(
                f"{ev.value} of environment {self.env_id} cancelled by {self._cancelled_by}"
            ) from None
        finally:
            self.model.release()
            self._current = None
            if began:
                await self.record_after(ev.value)

    async def _record_then_run(self, ev: EnvEvent, began: list[bool], **kwargs: Any) -> str:
        await self.record_first(ev.value)  # durable before any task is told anything
        began.append(True)
        return await self._run(ev, **kwargs)

    async def record_first(self, what: str) -> None:
        await envrun.record_first(self, what)

    async def record_after(self, what: str) -> None:
        await envrun.record_after(self, what)

    async def _run(self, ev: EnvEvent, **kwargs: Any) -> str:
        return await envrun.run(self, ev, **kwargs)

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
        return self.model.task_counts()

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
        left = self.model.enter_error()
        self.enter(self.model.state)
        self.persist_soon()
        self.cleanup = asyncio.ensure_future(envrun.stop_after_error(self, left))

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
        self.model.release()

    # -- observed state ---------------------------------------------------------------
    def root_changed(self, state: str, version: int) -> None:
        """The root role's merged state: from its own report or a transition's reply."""
        due = self.model.root_changed(state, version)
        if due is None:
            return  # older than, or the same as, what the environment holds
        self.role_states[self.workflow.root.path] = state
        self.publish(Event("role", self.env_id, path=self.workflow.root.path, state=state))
        if due:
            self.schedule_auto_error()

    def schedule_auto_error(self) -> None:
        if self._auto_error is not None and not self._auto_error.done():
            return
        self._auto_error = asyncio.ensure_future(self._auto_go_error())

    async def _auto_go_error(self) -> None:
        await asyncio.sleep(self.settings.error_grace_s)
        why = self.model.auto_go_error()  # None: no longer due after the grace period
        if why is not None:
            self.go_error(why)

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
        entry = self.model.task_changed(role_path, state, version, detail)
        if entry is None:
            return  # stale: another task at that path now, or an older report
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

    def device_event(self, path: str, kind: str) -> None:  # END_OF_STREAM, ...: envauto
        envauto.device_event(self, path, kind)

    def nodes_lost(self, node_id: str, hostname: str) -> list[str]:
        """A node is gone: its tasks are lost; the environment goes to ERROR naming them."""
        loss = self.model.nodes_lost(node_id, hostname)
        if loss is None:
            return []
        for e in loss.lost:
            self.publish(Event("task", self.env_id, path=e.role_path, state="ERROR", error=e.error))
        update_roles(self, loss.lost)
        if loss.go_error:
            self.go_error(loss.reason)
        self.persist_soon()
        return [e.task_id for e in loss.lost]

    # -- reads ----------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        cleaning = self.cleanup is not None and not self.cleanup.done()
        return self.model.summary(
            workflow=self.workflow.workflow, cleaning_up=cleaning, actor_pid=os.getpid()
        )

    def task_table(self) -> list[dict[str, Any]]:
        return [e.describe() for e in sorted(self.tasks.values(), key=lambda e: e.role_path)]

    def tree(self) -> dict[str, Any]:
        from actors.envtree import tree_of

        return tree_of(self.workflow.root, self)

    def state(self) -> str:
        return self.model.state.value

    async def destroy(
        self, keep_tasks: bool = False, allow_in_running: bool = False, force: bool = False
    ) -> dict[str, Any]:
        from actors.transitions.destroy import destroy

        if self.model.busy == "DEPLOY" and self._current is not None:
            await self._cancel_current("destroy")  # a deploy is stopped, what it began ended
        if not force:
            self.model.refuse_if_busy("destroy")
        await self.wait_cleanup("destroy")
        self.model.acquire("destroy", force=True)
        try:
            result = await destroy(
                self, keep_tasks=keep_tasks, allow_in_running=allow_in_running, force=force
            )
        finally:
            self.model.release()
        if self.store is not None:
            self.store.close()  # the controller deletes the record next; nothing writes it again
        return result


CANCEL_WAIT_S = 30.0


class Environment(EnvironmentRuntime):
    """The Ray actor: built from its durable record, so a restarted one carries on."""

    async def __init__(self, env_id: str, controller: Any, settings: EnvSettings) -> None:  # type: ignore[misc]
        from actors.envrestore import entry_of, restore

        store = EnvStore.open(settings.records_uri, env_id)
        rec, workflow = await store.load()
        model = EnvironmentModel.from_record(rec, entry_of)
        EnvironmentRuntime.__init__(self, workflow, controller, model, settings, store)
        await restore(self, rec)


EnvironmentActor = ray.remote(  # type: ignore[call-overload]
    num_cpus=0, max_restarts=-1, max_task_retries=0, max_concurrency=1000
)(Environment)
__all__ = ["EnvironmentActor", "EnvironmentRuntime", "TransitionFailed"]
