"""OCC events → FairMQ transitions: the FairMQ transitioner of AliECS (aliecs.md §4).

A FairMQ device knows only its own state machine; the controller speaks OCC events. This
module holds the FairMQ state table as data and turns one OCC event into its sequence of
FairMQ steps, each of which must land in the expected state:

* CONFIGURE = INIT DEVICE (every argument) → COMPLETE INIT → BIND → CONNECT → INIT TASK.
  It stops at the first step that lands elsewhere, and resumes from the state it finds a
  device in (after a timeout the device may have gone on without us). If it is stuck in
  INITIALIZED, BOUND or DEVICE READY, RESET DEVICE rolls it back to IDLE.
* START = RUN and STOP = STOP, both with their arguments (run number, ...).
* RESET = RESET TASK → RESET DEVICE. From a half-configured state, only RESET DEVICE.
* EXIT = RESET first if configured, then END.
* GO_ERROR and RECOVER have no FairMQ equivalent: such a process is replaced.
* A device already in the event's target state gets no step (a retry after a timeout).

The wire is abstracted as ``do_step(src, event, arguments) -> reached state`` and
``query_state() -> state``, so the sequence logic is tested without gRPC. A step missing
from ``FAIRMQ_TRANSITIONS`` is refused here and never sent, because a real device may
never answer it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

IDLE = "IDLE"
INITIALIZING_DEVICE = "INITIALIZING DEVICE"
INITIALIZED = "INITIALIZED"
BINDING = "BINDING"
BOUND = "BOUND"
CONNECTING = "CONNECTING"
DEVICE_READY = "DEVICE READY"
INITIALIZING_TASK = "INITIALIZING TASK"
READY = "READY"
RUNNING = "RUNNING"
RESETTING_TASK = "RESETTING TASK"
RESETTING_DEVICE = "RESETTING DEVICE"
EXITING = "EXITING"
ERROR = "ERROR"

FAIRMQ_TRANSITIONS: dict[tuple[str, str], str] = {
    (IDLE, "INIT DEVICE"): INITIALIZING_DEVICE,
    (IDLE, "END"): EXITING,
    (INITIALIZING_DEVICE, "COMPLETE INIT"): INITIALIZED,
    (INITIALIZED, "BIND"): BOUND,
    (BOUND, "CONNECT"): DEVICE_READY,
    (DEVICE_READY, "INIT TASK"): READY,
    (READY, "RUN"): RUNNING,
    (RUNNING, "STOP"): READY,
    (READY, "RESET TASK"): DEVICE_READY,
    **{(s, "RESET DEVICE"): IDLE for s in (INITIALIZED, BOUND, DEVICE_READY)},
}
"""(FairMQ state, transition) → the state the Transition call answers with (§4)."""

OCC_OF_FAIRMQ = {
    IDLE: "STANDBY",
    READY: "CONFIGURED",
    RUNNING: "RUNNING",
    ERROR: "ERROR",
    EXITING: "DONE",
}
FAIRMQ_OF_OCC = {occ: fmq for fmq, occ in OCC_OF_FAIRMQ.items()}
UNKNOWN = "UNKNOWN"
ROLLBACK_FROM = frozenset({INITIALIZED, BOUND, DEVICE_READY})


def occ_state(fairmq_state: str) -> str:
    """The OCC name of a FairMQ state; UNKNOWN for the intermediate ones."""
    return OCC_OF_FAIRMQ.get(fairmq_state, UNKNOWN)


def is_intermediate(fairmq_state: str) -> bool:
    return fairmq_state not in OCC_OF_FAIRMQ


class StepError(Exception):
    """A FairMQ step got no usable answer (refused, failed on the wire, timed out)."""

    def __init__(self, reason: str, *, mismatch: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.mismatch = mismatch


@dataclass
class TransitionFailed(Exception):
    """An OCC event stopped at one of its FairMQ steps."""

    event: str
    step: str
    expected: str
    reached: str | None  # None: the device's state could not be read
    reason: str
    rolled_back_to: str | None = None

    def __str__(self) -> str:
        where = self.reached if self.reached is not None else "an unknown state"
        text = f"step {self.step} ended in {where} (expected {self.expected}): {self.reason}"
        if self.rolled_back_to is not None:
            text += f"; rolled back by RESET DEVICE to {self.rolled_back_to}"
        return text


DoStep = Callable[[str, str, dict[str, str]], Awaitable[str]]
QueryState = Callable[[], Awaitable[str]]


@dataclass(frozen=True)
class Step:
    event: str
    with_arguments: bool = False


CONFIGURE_CHAIN: tuple[tuple[str, str], ...] = (
    (IDLE, "INIT DEVICE"),
    (INITIALIZING_DEVICE, "COMPLETE INIT"),
    (INITIALIZED, "BIND"),
    (BOUND, "CONNECT"),
    (DEVICE_READY, "INIT TASK"),
)
"""CONFIGURE's FairMQ steps, each with the state it starts from."""

TARGET = {"CONFIGURE": READY, "START": RUNNING, "STOP": READY, "RESET": IDLE, "EXIT": EXITING}
"""The FairMQ state each OCC event ends in."""


def plan(event: str, state: str) -> list[Step]:
    """The FairMQ steps of OCC ``event`` from FairMQ ``state``.

    A device already in the event's target state needs no step, and CONFIGURE resumes from
    wherever a previous attempt left the device (a CONFIGURE retried after a timeout must not
    start again at INIT DEVICE on a device already INITIALIZED: that step is not allowed).
    """
    if event in ("GO_ERROR", "RECOVER"):
        raise ValueError(f"{event} has no FairMQ equivalent: the process is replaced instead")
    if event not in TARGET:
        known = "CONFIGURE, START, STOP, RESET, EXIT"
        raise ValueError(f"unknown OCC event {event!r} for a FairMQ device; known: {known}")
    if state == TARGET[event]:
        return []
    if event == "CONFIGURE":
        starts = [s for s, _ in CONFIGURE_CHAIN]
        first = starts.index(state) if state in starts else 0
        return [Step(n, with_arguments=n == "INIT DEVICE") for _, n in CONFIGURE_CHAIN[first:]]
    if event == "START":
        return [Step("RUN", with_arguments=True)]
    if event == "STOP":
        return [Step("STOP", with_arguments=True)]
    if event == "RESET":
        if state in ROLLBACK_FROM:
            return [Step("RESET DEVICE")]
        return [Step("RESET TASK"), Step("RESET DEVICE")]
    return (plan("RESET", state) if state == READY else []) + [Step("END")]  # EXIT


class FairMQTransitioner:
    """Runs the FairMQ steps of an OCC event through ``do_step``."""

    def __init__(self, do_step: DoStep, query_state: QueryState) -> None:
        self._do_step = do_step
        self._query_state = query_state

    async def commit(self, event: str, state: str, arguments: dict[str, str]) -> str:
        """Drive the device from FairMQ ``state`` through OCC ``event``; the FairMQ state reached.

        Raises ``ValueError`` for an event or a step not possible from ``state`` (nothing
        sent), ``StepError`` when the first step gets no answer (nothing happened), and
        ``TransitionFailed`` when a step lands elsewhere.
        """
        steps = plan(event, state)
        for index, step in enumerate(steps):
            expected = FAIRMQ_TRANSITIONS.get((state, step.event))
            if expected is None:
                raise ValueError(f"FairMQ transition {step.event} is not possible from {state}")
            args = arguments if step.with_arguments else {}
            reached: str | None
            try:
                reached = await self._do_step(state, step.event, args)
                reason = f"the device answered {reached}"
            except StepError as err:
                if index == 0:
                    raise
                reached, reason = await self._state_or_none(), err.reason
            if reached is None or reached != expected:
                raise await self._failed(event, step.event, expected, reached, reason)
            state = reached
        return state

    async def _state_or_none(self) -> str | None:
        try:
            return await self._query_state()
        except StepError:
            return None

    async def _failed(
        self, event: str, step: str, expected: str, reached: str | None, reason: str
    ) -> TransitionFailed:
        failed = TransitionFailed(event, step, expected, reached, reason)
        if event == "CONFIGURE" and reached in ROLLBACK_FROM:
            try:
                failed.rolled_back_to = await self._do_step(reached, "RESET DEVICE", {})
            except StepError as err:
                failed.reason += f"; RESET DEVICE rollback failed: {err.reason}"
        return failed
