"""The OCC library's state machine: OCC events in, user handlers called, state out.

A direct-mode process registers ``Handlers`` (plain or ``async`` callables). ``OccMachine``
holds the process state (STANDBY, CONFIGURED, RUNNING, PAUSED, ERROR, DONE). It checks each
request against ``srcState`` and the literal ``LEGAL_FROM`` table (where each event
goes is the event's own ``leads_to``, ``o2ctl.core.occevents``), runs the handler, and
publishes the new state and any device event. It is the ``Controllable`` that
``occ.endpoint`` serves.

* Refusals (wrong ``srcState``, event not in the table) change nothing; the endpoint
  answers them ``ok=false``.
* A handler that raises puts the process in ERROR. Its message is logged to stderr, goes
  back with the reply, and is announced by a TASK_INTERNAL_ERROR event.
* While RUNNING, ``iterate()`` (if given) is called again and again. Returning False ends
  the run from inside: the ``stop`` handler runs, the state goes back to CONFIGURED and
  END_OF_STREAM is sent. STOP and PAUSE end the loop cooperatively: the current
  ``iterate()`` finishes first, so it should return promptly.

Sync handlers run in a worker thread (``asyncio.to_thread``) so they never block the event
loop that serves the control channel.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import TextIO

from o2ctl.core.occevents import OccEvent, UnknownOccEvent, parse_occ_event
from o2ctl.core.states import TaskState
from occ._gen import occ_pb2 as pb
from occ.endpoint import Refusal, TransitionResult
from occ.library_broadcast import Broadcast

STANDBY, CONFIGURED, RUNNING, PAUSED, ERROR, DONE = (
    TaskState.STANDBY,
    TaskState.CONFIGURED,
    TaskState.RUNNING,
    TaskState.PAUSED,
    TaskState.ERROR,
    TaskState.DONE,
)

LEGAL_FROM: Mapping[OccEvent, frozenset[TaskState]] = {
    OccEvent.CONFIGURE: frozenset({STANDBY}),
    OccEvent.START: frozenset({CONFIGURED}),
    OccEvent.STOP: frozenset({RUNNING, PAUSED}),
    OccEvent.RESET: frozenset({CONFIGURED}),
    OccEvent.EXIT: frozenset({STANDBY, CONFIGURED, ERROR}),
    OccEvent.PAUSE: frozenset({RUNNING}),
    OccEvent.RESUME: frozenset({PAUSED}),
    OccEvent.RECOVER: frozenset({ERROR}),
    OccEvent.GO_ERROR: frozenset({STANDBY, CONFIGURED, RUNNING, PAUSED}),
}
"""The states each OCC event is legal from: aliecs.md §2 plus PAUSE/RESUME (§4). Where an
event leads is the event's own ``leads_to``."""

TRANSITIONS: Mapping[tuple[TaskState, OccEvent], TaskState] = {
    (state, event): event.leads_to for event, sources in LEGAL_FROM.items() for state in sources
}
"""(state, OCC event) → next state, spelled out from ``LEGAL_FROM``."""

Handler = Callable[[dict[str, str]], Awaitable[None] | None]
Iterate = Callable[[], Awaitable[bool] | bool]


@dataclass(frozen=True)
class Handlers:
    """What a process does on each OCC event; every handler gets the event's arguments."""

    configure: Handler | None = None
    reset: Handler | None = None
    start: Handler | None = None
    stop: Handler | None = None
    pause: Handler | None = None
    resume: Handler | None = None
    exit: Handler | None = None
    iterate: Iterate | None = None


_HANDLER_OF_EVENT: Mapping[OccEvent, str] = {
    OccEvent.CONFIGURE: "configure",
    OccEvent.RESET: "reset",
    OccEvent.START: "start",
    OccEvent.STOP: "stop",
    OccEvent.PAUSE: "pause",
    OccEvent.RESUME: "resume",
    OccEvent.EXIT: "exit",
}
"""The handler each event runs (GO_ERROR and RECOVER have none)."""


async def _call(fn: Callable[..., object], *args: object) -> object:
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    result = await asyncio.to_thread(fn, *args)
    return await result if inspect.isawaitable(result) else result


class OccMachine:
    """A direct-mode process's OCC state, driven by transitions and its own run loop."""

    def __init__(self, handlers: Handlers, *, log: TextIO | None = None) -> None:
        self.handlers = handlers
        self.error_message = ""
        self._log = log or sys.stderr
        self._state = STANDBY
        self._lock = asyncio.Lock()
        self._states: Broadcast[tuple[int, str]] = Broadcast()
        self._events: Broadcast[int] = Broadcast()
        self._done = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._loop_stop = False
        self._run_id = 0
        self._background: set[asyncio.Task[None]] = set()

    # --- Controllable ------------------------------------------------------------------

    def current_state(self) -> str:
        return self._state

    def pid(self) -> int:
        return os.getpid()

    def subscribe_states(self) -> AsyncIterator[tuple[int, str]]:
        return self._states.subscribe(lambda: (pb.STATE_STABLE, self._state))

    def subscribe_events(self) -> AsyncIterator[int]:
        return self._events.subscribe()

    async def transition(
        self, src_state: str, event: str, arguments: dict[str, str]
    ) -> TransitionResult:
        async with self._lock:
            state = self._state
            if src_state != state:
                return self._refuse(
                    Refusal.STATE_MISMATCH, event, f"source {src_state!r} is not {state}"
                )
            allowed = ", ".join(sorted(e for e, sources in LEGAL_FROM.items() if state in sources))
            try:
                occ_event = parse_occ_event(event)
            except UnknownOccEvent as err:
                message = f"{err}; allowed in {state}: {allowed}"
                return self._refuse(Refusal.NOT_ALLOWED, event, message)
            if state not in LEGAL_FROM[occ_event]:
                message = f"event {event!r} not allowed in {state}; allowed: {allowed}"
                return self._refuse(Refusal.NOT_ALLOWED, event, message)
            target = occ_event.leads_to
            if state == RUNNING and target != RUNNING:
                await self._end_loop()
            try:
                await self._run_handler(occ_event, arguments)
            except Exception as err:
                message = self._fail(f"{event} handler failed: {type(err).__name__}: {err}")
                return TransitionResult(ERROR, False, pb.DEVICE_ERROR, event, message=message)
            self._set(target)
            return TransitionResult(target, True, pb.EXECUTOR, event)

    # --- lifecycle -----------------------------------------------------------------------

    async def wait_done(self) -> None:
        await self._done.wait()

    async def terminate(self) -> None:
        """Killed by a signal: end the run loop and give the ``exit`` handler its chance."""
        async with self._lock:
            await self._end_loop()
            if self._state != DONE and self.handlers.exit is not None:
                try:
                    await _call(self.handlers.exit, {})
                except Exception as err:
                    self._say(f"exit handler failed on termination: {err}")
            self._set(DONE)

    def close(self) -> None:
        """End every open subscription."""
        self._states.close()
        self._events.close()

    # --- internals ----------------------------------------------------------------------

    def _refuse(self, refusal: Refusal, event: str, message: str) -> TransitionResult:
        return TransitionResult(self._state, False, pb.EXECUTOR, event, refusal, message)

    async def _run_handler(self, event: OccEvent, arguments: dict[str, str]) -> None:
        name = _HANDLER_OF_EVENT.get(event)
        handler = getattr(self.handlers, name) if name else None
        if handler is not None:
            await _call(handler, dict(arguments))

    def _set(self, state: TaskState) -> None:
        self._state = state
        self._states.publish((pb.STATE_STABLE, state))
        if state == RUNNING and self.handlers.iterate is not None:
            self._run_id += 1
            self._loop_stop = False
            self._loop = asyncio.create_task(self._run_loop(self._run_id))
        if state == DONE:
            self._done.set()

    def _fail(self, message: str) -> str:
        self.error_message = message
        self._say(message)
        self._set(ERROR)
        self._events.publish(pb.TASK_INTERNAL_ERROR)
        return message

    def _say(self, message: str) -> None:
        self._log.write(f"occ: {message}\n")
        self._log.flush()

    async def _end_loop(self) -> None:
        self._loop_stop = True
        if self._loop is not None:
            await self._loop
            self._loop = None

    async def _run_loop(self, run_id: int) -> None:
        iterate = self.handlers.iterate
        assert iterate is not None
        while not self._loop_stop:
            try:
                more = await _call(iterate)
            except Exception as err:
                message = f"iterate failed: {type(err).__name__}: {err}"
                self._in_background(self._end_run(run_id, message))
                return
            if not more:
                self._in_background(self._end_run(run_id, None))
                return
            await asyncio.sleep(0)

    def _in_background(self, work: Coroutine[None, None, None]) -> None:
        # The loop can't take the lock itself: STOP holds it while waiting for the loop.
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _end_run(self, run_id: int, failure: str | None) -> None:
        """The run loop ended by itself (``failure`` is None) or by an exception."""
        async with self._lock:
            if self._state != RUNNING or run_id != self._run_id:
                return  # a STOP or PAUSE got there first
            self._loop = None
            if failure is not None:
                self._fail(failure)
                return
            try:
                await self._run_handler(OccEvent.STOP, {})
            except Exception as err:
                self._fail(f"stop handler failed at end of run: {type(err).__name__}: {err}")
                return
            self._set(CONFIGURED)
            self._events.publish(pb.END_OF_STREAM)
