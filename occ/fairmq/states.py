"""The FairMQ device state machine, as one literal table.

A FairMQ device is driven by FairMQ transitions (``INIT DEVICE``, ``BIND``, ``RUN`` …), not by
OCC events: the controller's FairMQ transitioner translates. This module holds the states,
the transitions, which states are intermediate (the device leaves them by itself through
the internal ``AUTO`` transition), and what state a controller expects at the end of each
transition (the reply's ``ok``). Everything here is plain data with no I/O, so that the
table can be checked exhaustively in unit tests and shared by the device, its OCC plugin
adapter and anyone who needs to reason about a FairMQ device (the transitioner, tests).

State and transition names are the exact strings FairMQ puts on the wire.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping


class State(enum.StrEnum):
    """FairMQ device states, valued by their wire names."""

    UNDEFINED = "UNDEFINED"
    OK = "OK"
    ERROR = "ERROR"
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


class Transition(enum.StrEnum):
    """FairMQ transitions, valued by their wire names (``AUTO`` is internal only)."""

    AUTO = "AUTO"
    INIT_DEVICE = "INIT DEVICE"
    COMPLETE_INIT = "COMPLETE INIT"
    BIND = "BIND"
    CONNECT = "CONNECT"
    INIT_TASK = "INIT TASK"
    RUN = "RUN"
    STOP = "STOP"
    RESET_TASK = "RESET TASK"
    RESET_DEVICE = "RESET DEVICE"
    END = "END"
    ERROR_FOUND = "ERROR FOUND"


S = State
T = Transition

TABLE: Mapping[tuple[State, Transition], State] = {
    (S.IDLE, T.INIT_DEVICE): S.INITIALIZING_DEVICE,
    (S.IDLE, T.END): S.EXITING,
    (S.INITIALIZING_DEVICE, T.COMPLETE_INIT): S.INITIALIZED,
    (S.INITIALIZED, T.BIND): S.BINDING,
    (S.INITIALIZED, T.RESET_DEVICE): S.RESETTING_DEVICE,
    (S.BINDING, T.AUTO): S.BOUND,
    (S.BOUND, T.CONNECT): S.CONNECTING,
    (S.BOUND, T.RESET_DEVICE): S.RESETTING_DEVICE,
    (S.CONNECTING, T.AUTO): S.DEVICE_READY,
    (S.DEVICE_READY, T.INIT_TASK): S.INITIALIZING_TASK,
    (S.DEVICE_READY, T.RESET_DEVICE): S.RESETTING_DEVICE,
    (S.INITIALIZING_TASK, T.AUTO): S.READY,
    (S.READY, T.RUN): S.RUNNING,
    (S.READY, T.RESET_TASK): S.RESETTING_TASK,
    (S.RUNNING, T.STOP): S.READY,
    (S.RESETTING_TASK, T.AUTO): S.DEVICE_READY,
    (S.RESETTING_DEVICE, T.AUTO): S.IDLE,
}
"""Every allowed (state, transition) → next state, except ``ERROR FOUND`` (allowed anywhere)."""

INTERMEDIATE: frozenset[State] = frozenset(
    {S.BINDING, S.CONNECTING, S.INITIALIZING_TASK, S.RESETTING_TASK, S.RESETTING_DEVICE}
)
"""States the device leaves on its own; a Transition call never answers with one.

``INITIALIZING DEVICE`` is *not* intermediate: the device waits there for COMPLETE INIT
(the controller pushes the configuration in between).
"""

TERMINAL: frozenset[State] = frozenset({S.ERROR, S.EXITING})
"""States after which the process ends."""

EXPECTED_FINAL: Mapping[Transition, State] = {
    T.INIT_DEVICE: S.INITIALIZING_DEVICE,
    T.COMPLETE_INIT: S.INITIALIZED,
    T.BIND: S.BOUND,
    T.CONNECT: S.DEVICE_READY,
    T.INIT_TASK: S.READY,
    T.RUN: S.RUNNING,
    T.STOP: S.READY,
    T.RESET_TASK: S.DEVICE_READY,
    T.RESET_DEVICE: S.IDLE,
    T.END: S.EXITING,
    T.ERROR_FOUND: S.ERROR,
}
"""The state a controller expects a Transition call to answer with (``ok`` when reached)."""

WIRE_TRANSITIONS: frozenset[str] = frozenset(t.value for t in EXPECTED_FINAL)
"""Transition names a controller may send (``AUTO`` is the device's own business)."""


class TransitionRefused(Exception):
    """A transition that the FairMQ table does not allow from the current state."""

    def __init__(self, state: State | str, transition: str, reason: str) -> None:
        super().__init__(f"transition {transition!r} refused in state {state}: {reason}")
        self.state = str(state)
        self.transition = transition


def parse_transition(name: str, state: State | str = S.UNDEFINED) -> Transition:
    """The wire transition called ``name``; refused when it is not one a controller may send."""
    if name not in WIRE_TRANSITIONS:
        known = ", ".join(sorted(WIRE_TRANSITIONS))
        raise TransitionRefused(state, name, f"not a valid transition name (known: {known})")
    return Transition(name)


def next_state(state: State, transition: Transition) -> State:
    """The state ``transition`` leads to from ``state``, or :class:`TransitionRefused`."""
    if transition is T.ERROR_FOUND:
        if state in TERMINAL:
            raise TransitionRefused(state, transition, "the device has already ended")
        return S.ERROR
    target = TABLE.get((state, transition))
    if target is None:
        allowed = ", ".join(sorted(t for (s, t) in TABLE if s is state and t is not T.AUTO))
        raise TransitionRefused(
            state, transition, f"allowed from {state}: {allowed or 'none (automatic)'}"
        )
    return target


def allowed_transitions(state: State) -> frozenset[Transition]:
    """Transitions a controller may request in ``state`` (``ERROR FOUND`` included)."""
    found = {t for (s, t) in TABLE if s is state and t is not T.AUTO}
    if state not in TERMINAL:
        found.add(T.ERROR_FOUND)
    return frozenset(found)


def is_intermediate(state: State | str) -> bool:
    """True for a state the device leaves by itself."""
    return state in INTERMEDIATE


def settle(state: State) -> list[State]:
    """The chain of states an intermediate ``state`` passes through by ``AUTO`` until stable."""
    chain: list[State] = []
    while state in INTERMEDIATE:
        state = TABLE[(state, T.AUTO)]
        chain.append(state)
    return chain
