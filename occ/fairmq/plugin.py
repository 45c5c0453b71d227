"""The OCC plugin: a FairMQ device seen through OCC, as the real ``-P OCC``/``OCClite`` plugin.

This adapter implements ``occ.endpoint.Controllable`` over a :class:`~occ.fairmq.device.Device`.
What goes on the wire follows the C++ plugin:

* A Transition carries a *FairMQ* transition name. The srcState must be the current state
  (else a refusal, which the endpoint turns into INVALID_ARGUMENT "state mismatch" or an
  empty CANCELLED depending on the flavour). The call blocks until the device is in a
  non-intermediate state and answers with it; ``ok`` when it is the state expected for
  that transition (``INIT DEVICE`` expects ``INITIALIZING DEVICE``); trigger EXECUTOR then,
  DEVICE_ERROR when the device ended in ERROR, DEVICE_INTENTIONAL otherwise.
* A name that is not a FairMQ transition, or one the table does not allow from the current
  state, is refused with the state unchanged. (The real device never answers the latter;
  answering at once is the only behaviour a controller can rely on, and it already has a
  deadline for the real case.)
* StateStream sends every state entered, intermediate ones typed as such; EventStream
  sends nothing until the device exits, then one NULL_DEVICE_EVENT. No event when the
  device returns to READY by itself: only GetState shows that.
* The pushed arguments are set as properties at INIT DEVICE (typed as the plugin types
  them) and just before RUN and STOP.
* Fault injection for tests: property ``hang-on`` names a FairMQ transition the device
  never answers (as a real device stuck in its handler; GetState keeps answering).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

from occ._gen import occ_pb2 as pb
from occ.endpoint import Refusal, TransitionResult
from occ.fairmq.device import Device
from occ.fairmq.states import (
    EXPECTED_FINAL,
    TERMINAL,
    State,
    TransitionRefused,
    is_intermediate,
    next_state,
    parse_transition,
)


class OccPlugin:
    """``Controllable`` view of a FairMQ device, as the OCC plugin presents it."""

    def __init__(self, device: Device) -> None:
        self.device = device

    def current_state(self) -> str:
        return self.device.state.value

    def pid(self) -> int:
        return os.getpid()

    async def transition(
        self, src_state: str, event: str, arguments: dict[str, str]
    ) -> TransitionResult:
        async with self.device.lock:
            current = self.device.state
            if src_state != current:
                return TransitionResult(
                    state=current.value,
                    ok=False,
                    transition_event=event,
                    refusal=Refusal.STATE_MISMATCH,
                    message=f"state mismatch: source: {src_state} current: {current}",
                )
            try:
                transition = parse_transition(event, current)
                next_state(current, transition)
            except TransitionRefused as err:
                return TransitionResult(
                    state=current.value,
                    ok=False,
                    transition_event=event,
                    refusal=Refusal.NOT_ALLOWED,
                    message=str(err),
                )
            if str(self.device.properties.get("hang-on", "")) == transition.value:
                await asyncio.Event().wait()  # stuck for good, as a hung device
            visited: list[State] = []
            remove = self.device.add_listener(visited.append)
            try:
                await self.device.change_state(transition, arguments)
            finally:
                remove()
        return _result(event, EXPECTED_FINAL[transition], visited, self.device)

    async def subscribe_states(self) -> AsyncIterator[tuple[int, str]]:
        """(StateType, state) for the current state and then every state entered."""
        async for state in self._states():
            kind = pb.STATE_INTERMEDIATE if is_intermediate(state) else pb.STATE_STABLE
            yield kind, state.value

    async def subscribe_events(self) -> AsyncIterator[int]:
        """Nothing until the device exits, then NULL_DEVICE_EVENT (as the real plugin)."""
        async for state in self._states():
            if state is State.EXITING:
                yield pb.NULL_DEVICE_EVENT

    async def _states(self) -> AsyncIterator[State]:
        """The current state, then every state entered, until a terminal one."""
        queue: asyncio.Queue[State] = asyncio.Queue()
        remove = self.device.add_listener(queue.put_nowait)
        try:
            state = self.device.state
            while True:
                yield state
                if state in TERMINAL:
                    return
                state = await queue.get()
        finally:
            remove()


def _result(event: str, expected: State, visited: list[State], device: Device) -> TransitionResult:
    stable = [s for s in visited if not is_intermediate(s)]
    final = stable[-1] if stable else device.state
    if final is State.ERROR:
        trigger = pb.DEVICE_ERROR
    elif final is expected:
        trigger = pb.EXECUTOR
    else:
        trigger = pb.DEVICE_INTENTIONAL
    message = device.error_message if final is State.ERROR else ""
    return TransitionResult(
        state=final.value,
        ok=final is expected,
        trigger=trigger,
        transition_event=event,
        message=message,
    )
