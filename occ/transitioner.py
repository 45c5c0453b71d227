"""OCC events → FairMQ transitions: the FairMQ transitioner of AliECS (aliecs.md §4).

A FairMQ device knows only its own state machine; the controller speaks OCC events. This
module takes the FairMQ states and table from their one definition (``occ.fairmq.states``,
the device's own) and the OCC events from ``o2ctl.core.occevents``, and turns one OCC event
into its sequence of FairMQ steps, each of which must land in the expected state:

* CONFIGURE = INIT DEVICE (every argument) → COMPLETE INIT → BIND → CONNECT → INIT TASK.
  It stops at the first step that lands elsewhere, and resumes from the state it finds a
  device in (after a timeout the device may have gone on without us). If it is stuck in
  INITIALIZED, BOUND or DEVICE READY, RESET DEVICE rolls it back to IDLE.
* START = RUN and STOP = STOP, both with their arguments (run number, ...).
* RESET = RESET TASK → RESET DEVICE. From a half-configured state, only RESET DEVICE.
* EXIT = RESET first if configured, then END.
* GO_ERROR and RECOVER have no FairMQ equivalent: such a process is replaced.
* A device already in the event's target state (the FairMQ state of its ``leads_to``) gets
  no step (a retry after a timeout).

The wire is abstracted as ``do_step(src, event, arguments) -> reached state`` and
``query_state() -> state``, so the sequence logic is tested without gRPC. A step missing
from ``FAIRMQ_TRANSITIONS`` is refused here and never sent, because a real device may
never answer it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from o2ctl.core.occevents import OccEvent, parse_occ_event
from o2ctl.core.states import TaskState
from occ.fairmq.states import EXPECTED_FINAL, TABLE
from occ.fairmq.states import State as F
from occ.fairmq.states import Transition as T

FAIRMQ_TRANSITIONS: Mapping[tuple[str, T], F] = {
    (state, step): EXPECTED_FINAL[step] for (state, step) in TABLE if step is not T.AUTO
}
"""(FairMQ state, transition) → the state the Transition call answers with (§4): the
device's own table (``occ.fairmq.states``) seen from the controller, automatic steps settled."""

FAIRMQ_OF_OCC: Mapping[TaskState, F] = {
    TaskState.STANDBY: F.IDLE,
    TaskState.CONFIGURED: F.READY,
    TaskState.RUNNING: F.RUNNING,
    TaskState.ERROR: F.ERROR,
    TaskState.DONE: F.EXITING,
}
"""OCC ↔ FairMQ states (§4); the keys of both maps are ``State`` members, looked up by the
raw state a device reports."""
OCC_OF_FAIRMQ: Mapping[str, TaskState] = {fmq: occ for occ, fmq in FAIRMQ_OF_OCC.items()}
UNKNOWN = TaskState.UNKNOWN
ROLLBACK_FROM = frozenset({F.INITIALIZED, F.BOUND, F.DEVICE_READY})

FAIRMQ_EVENTS = frozenset(
    {OccEvent.CONFIGURE, OccEvent.START, OccEvent.STOP, OccEvent.RESET, OccEvent.EXIT}
)
"""The OCC events a FairMQ device takes; each ends in the FairMQ state of its ``leads_to``."""

REPLACED = frozenset({OccEvent.GO_ERROR, OccEvent.RECOVER})
"""OCC events with no FairMQ equivalent for which the process is replaced instead."""


def occ_state(fairmq_state: str) -> TaskState:
    """The OCC state of a FairMQ state; UNKNOWN for those without one (intermediate)."""
    return OCC_OF_FAIRMQ.get(fairmq_state, UNKNOWN)


def is_intermediate(fairmq_state: str) -> bool:
    return fairmq_state not in OCC_OF_FAIRMQ


def fairmq_target(event: OccEvent) -> F:
    """The FairMQ state OCC ``event`` ends in."""
    return FAIRMQ_OF_OCC[event.leads_to]


class StepError(Exception):
    """A FairMQ step got no usable answer (refused, failed on the wire, timed out)."""

    def __init__(self, reason: str, *, mismatch: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.mismatch = mismatch


@dataclass
class TransitionFailed(Exception):
    """An OCC event stopped at one of its FairMQ steps."""

    event: OccEvent
    step: T
    expected: F
    reached: str | None  # None: the device's state could not be read
    reason: str
    rolled_back_to: str | None = None

    def __str__(self) -> str:
        where = self.reached if self.reached is not None else "an unknown state"
        text = f"step {self.step} ended in {where} (expected {self.expected}): {self.reason}"
        if self.rolled_back_to is not None:
            text += f"; rolled back by {T.RESET_DEVICE} to {self.rolled_back_to}"
        return text


DoStep = Callable[[str, T, dict[str, str]], Awaitable[str]]
QueryState = Callable[[], Awaitable[str]]


@dataclass(frozen=True)
class Step:
    transition: T
    with_arguments: bool = False


CONFIGURE_CHAIN: tuple[tuple[F, T], ...] = (
    (F.IDLE, T.INIT_DEVICE),
    (F.INITIALIZING_DEVICE, T.COMPLETE_INIT),
    (F.INITIALIZED, T.BIND),
    (F.BOUND, T.CONNECT),
    (F.DEVICE_READY, T.INIT_TASK),
)
"""CONFIGURE's FairMQ steps, each with the state it starts from."""


def plan(event: OccEvent | str, state: str) -> list[Step]:
    """The FairMQ steps of OCC ``event`` from FairMQ ``state``.

    A device already in the event's target state needs no step, and CONFIGURE resumes from
    wherever a previous attempt left the device (a CONFIGURE retried after a timeout must not
    start again at INIT DEVICE on a device already INITIALIZED: that step is not allowed).
    """
    ev = parse_occ_event(event)
    if ev in REPLACED:
        raise ValueError(f"{ev} has no FairMQ equivalent: the process is replaced instead")
    if ev not in FAIRMQ_EVENTS:
        known = ", ".join(e for e in OccEvent if e in FAIRMQ_EVENTS)
        raise ValueError(f"{ev} has no FairMQ equivalent; a FairMQ device takes {known}")
    if state == fairmq_target(ev):
        return []
    if ev is OccEvent.CONFIGURE:
        starts: list[str] = [s for s, _ in CONFIGURE_CHAIN]
        first = starts.index(state) if state in starts else 0
        chain = CONFIGURE_CHAIN[first:]
        return [Step(t, with_arguments=t is T.INIT_DEVICE) for _, t in chain]
    if ev is OccEvent.START:
        return [Step(T.RUN, with_arguments=True)]
    if ev is OccEvent.STOP:
        return [Step(T.STOP, with_arguments=True)]
    if ev is OccEvent.RESET:
        if state in ROLLBACK_FROM:
            return [Step(T.RESET_DEVICE)]
        return [Step(T.RESET_TASK), Step(T.RESET_DEVICE)]
    return (plan(OccEvent.RESET, state) if state == F.READY else []) + [Step(T.END)]  # EXIT


class FairMQTransitioner:
    """Runs the FairMQ steps of an OCC event through ``do_step``."""

    def __init__(self, do_step: DoStep, query_state: QueryState) -> None:
        self._do_step = do_step
        self._query_state = query_state

    async def commit(self, event: OccEvent | str, state: str, arguments: dict[str, str]) -> str:
        """Drive the device from FairMQ ``state`` through OCC ``event``; the FairMQ state reached.

        Raises ``ValueError`` for an event or a step not possible from ``state`` (nothing
        sent), ``StepError`` when the first step gets no answer (nothing happened), and
        ``TransitionFailed`` when a step lands elsewhere.
        """
        ev = parse_occ_event(event)
        steps = plan(ev, state)
        for index, step in enumerate(steps):
            expected = FAIRMQ_TRANSITIONS.get((state, step.transition))
            if expected is None:
                raise ValueError(
                    f"FairMQ transition {step.transition} is not possible from {state}"
                )
            args = arguments if step.with_arguments else {}
            reached: str | None
            try:
                reached = await self._do_step(state, step.transition, args)
                reason = f"the device answered {reached}"
            except StepError as err:
                if index == 0:
                    raise
                reached, reason = await self._state_or_none(), err.reason
            if reached is None or reached != expected:
                raise await self._failed(ev, step.transition, expected, reached, reason)
            state = reached
        return state

    async def _state_or_none(self) -> str | None:
        try:
            return await self._query_state()
        except StepError:
            return None

    async def _failed(
        self, event: OccEvent, step: T, expected: F, reached: str | None, reason: str
    ) -> TransitionFailed:
        failed = TransitionFailed(event, step, expected, reached, reason)
        if event is OccEvent.CONFIGURE and reached in ROLLBACK_FROM:
            try:
                failed.rolled_back_to = await self._do_step(reached, T.RESET_DEVICE, {})
            except StepError as err:
                failed.reason += f"; {T.RESET_DEVICE} rollback failed: {err.reason}"
        return failed
