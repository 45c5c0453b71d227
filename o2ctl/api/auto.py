"""Environments that run by themselves, and the event stream: AliECS's asynchronous calls.

What flows through:

* ``NewEnvironmentAsync`` hands out the new environment's id at once (state PENDING) and
  creates it in the background; its progress, and a failure, come as its events.
* ``NewAutoEnvironment`` answers at once too; in the background the environment is
  created (DEPLOY, CONFIGURE), started, and at the end of its run (every task sent
  END_OF_STREAM, or ``auto_stop_timeout`` passed: the environment stops itself,
  ``actors/envauto.py``) reset and destroyed, as AliECS does; on a failure it is
  destroyed by force. The request's ``id`` names a subscription: ``Subscribe(id)`` streams
  that environment's events from the request on (none is missed even when the client
  subscribes late) and ends after the final one (state DONE, "environment teardown
  complete").
* ``Subscribe`` with o2ctl's ``everything``, ``envId`` or ``after`` follows every event of
  the system (or of ``envId``). Without them the id names an automatic environment's
  subscription: one not asked for yet is waited for, as AliECS waits (its ``coconut``
  subscribes first, then asks for NewAutoEnvironment with that id).

The driver of an automatic environment lives in this server (as AliECS's lives in its
core): the environment, its tasks and its events are the controller's and outlive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc

from actors.errors import NotFound
from actors.reasons import reason
from o2ctl.api._gen import events_pb2 as ev_pb
from o2ctl.api._gen import o2control_pb2 as pb
from o2ctl.api.events import EventFeed
from o2ctl.api.messages import now_ms
from o2ctl.api.rpcbase import ServicerBase, rpc
from o2ctl.api.status import BadRequest, status_of
from o2ctl.core.events import Event
from o2ctl.core.ids import new_id

log = logging.getLogger("o2ctl.api")

POLL_S = 0.5  # how often a driver looks at its running environment
SUBSCRIPTION_POLL_S = 0.05  # how often a subscriber waits for its NewAutoEnvironment
MAX_SUBSCRIPTIONS = 1000
DONE = "DONE"  # the state of an automatic environment's last event


@dataclass
class Subscription:
    env_id: str
    after: int  # the event log's position when it was asked for


class AutoRpcs(ServicerBase):
    def __init__(self, controller: Any, closing: asyncio.Event | None = None) -> None:
        super().__init__(controller, closing)
        self._subs: dict[str, Subscription] = {}
        self._drivers: set[asyncio.Task[None]] = set()

    @rpc()
    async def NewEnvironmentAsync(
        self, request: pb.NewEnvironmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.NewEnvironmentReply:
        if not request.workflowTemplate:
            raise BadRequest("workflowTemplate is empty: name a workflow template")
        env_id, user_vars = new_id(), dict(request.vars)
        job = (
            self._drive(env_id, request.workflowTemplate, user_vars)
            if request.autoTransition
            else self._create(env_id, request.workflowTemplate, user_vars, not request.deployOnly)
        )
        self._keep(job)
        info = pb.EnvironmentInfo(id=env_id, state="PENDING", userVars=user_vars)
        info.workflowTemplate = request.workflowTemplate
        return pb.NewEnvironmentReply(environment=info, public=request.public, timestamp=now_ms())

    @rpc()
    async def NewAutoEnvironment(
        self, request: pb.NewAutoEnvironmentRequest, context: grpc.aio.ServicerContext
    ) -> pb.NewAutoEnvironmentReply:
        if not request.workflowTemplate:
            raise BadRequest("workflowTemplate is empty: name a workflow template")
        if not request.id:
            raise BadRequest("id is empty: name the subscription its events go to")
        if request.id in self._subs or len(self._subs) >= MAX_SUBSCRIPTIONS:
            raise BadRequest(f"subscription id {request.id!r} is in use, or too many are")
        env_id = new_id()
        self._subs[request.id] = Subscription(env_id, await self._feed().last_seq())
        self._keep(self._drive(env_id, request.workflowTemplate, dict(request.vars)))
        log.info("automatic environment %s for subscription %r", env_id, request.id)
        return pb.NewAutoEnvironmentReply(timestamp=now_ms())

    async def Subscribe(
        self, request: pb.SubscribeRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[ev_pb.Event]:
        feed = self._feed()
        try:
            sub = self._subs.get(request.id)
            if sub is None and not _follows_all(request):
                sub = await self._subscription(request.id)
            if sub is not None:  # an automatic environment's stream: it ends with it
                async for event in feed.follow(sub.after, sub.env_id):
                    yield event
                    if event.environmentEvent.state == DONE:
                        self._subs.pop(request.id, None)
                        return
                return
            after = request.after if request.HasField("after") else await feed.last_seq()
            log.info("subscriber %r from event %d (env %r)", request.id, after, request.envId)
            async for event in feed.follow(after, request.envId):
                yield event
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            code, message = status_of(exc)
            await context.abort(code, message)

    async def _subscription(self, sub_id: str) -> Subscription | None:
        """The automatic environment's subscription ``sub_id``, once NewAutoEnvironment asks
        for it (None when the server closes; a client that gives up cancels this)."""
        while not self.closing.is_set():
            found = self._subs.get(sub_id)
            if found is not None:
                return found
            await asyncio.sleep(SUBSCRIPTION_POLL_S)
        return None

    # -- the drivers ------------------------------------------------------------------
    def _feed(self) -> EventFeed:
        return EventFeed(self.controller, self.closing)

    def _keep(self, job: Any) -> None:
        task = asyncio.ensure_future(job)
        self._drivers.add(task)
        task.add_done_callback(self._drivers.discard)

    async def _note(self, env_id: str, state: str, message: str, **more: Any) -> None:
        """One environment event of this driver into the controller's log."""
        detail = {"message": message, **more.pop("detail", {})}
        ev = Event("environment", env_id, state=state, detail=detail, **more)
        with contextlib.suppress(Exception):
            await self.controller.publish_events.remote([ev.to_dict()])

    async def _create(
        self, env_id: str, workflow: str, user_vars: dict[str, str], configure: bool
    ) -> bool:
        """Create ``env_id`` (DEPLOY, CONFIGURE); False, with an ERROR event, on failure."""
        await self._note(env_id, "PENDING", "instantiating", detail={"workflow": workflow})
        try:
            await self.controller.create_environment.remote(
                workflow, user_vars, configure, "", False, env_id
            )
            return True
        except Exception as exc:
            why = reason(exc).splitlines()[0] if reason(exc) else type(exc).__name__
            log.info("environment %s: creation failed: %s", env_id, why)
            await self._note(env_id, "ERROR", "cannot create new environment", error=why)
            return False

    async def _drive(self, env_id: str, workflow: str, user_vars: dict[str, str]) -> None:
        """An automatic environment, from creation to its last event (state DONE)."""
        try:
            if not await self._create(env_id, workflow, user_vars, True):
                return
            try:
                await self.controller.control_environment.remote(env_id, "START_ACTIVITY")
                end = await self._until_run_ends(env_id)
            except Exception as exc:
                end = f"START_ACTIVITY failed: {reason(exc)}"
            await self._teardown(env_id, end)
        finally:
            await self._note(env_id, DONE, "environment teardown complete")

    async def _until_run_ends(self, env_id: str) -> str:
        """Wait for the run to end; "" when it ended well, else what went wrong."""
        while not self.closing.is_set():
            await asyncio.sleep(POLL_S)
            try:
                (summary,) = await self._read_env(env_id, None, "summary")
            except NotFound:
                return "the environment was destroyed meanwhile"
            state, busy = summary["state"], summary.get("busy")
            if busy:
                continue
            if state == "CONFIGURED":
                return ""
            if state != "RUNNING":
                return f"the environment went to {state}: {summary.get('last_error') or ''}"
        return "the API server is closing"

    async def _teardown(self, env_id: str, problem: str) -> None:
        """RESET and destroy after a good run; destroy by force after a bad one."""
        if not problem:
            try:
                await self.controller.control_environment.remote(env_id, "RESET")
                await self.controller.destroy_environment.remote(env_id)
                return
            except Exception as exc:
                problem = f"teardown failed: {reason(exc)}"
        await self._note(env_id, "ERROR", problem, error=problem)
        with contextlib.suppress(Exception):
            await self.controller.destroy_environment.remote(env_id, False, True, True)


def _follows_all(request: pb.SubscribeRequest) -> bool:
    """o2ctl's own ways of asking for the system's stream rather than a subscription."""
    return bool(request.everything or request.envId or request.HasField("after"))
