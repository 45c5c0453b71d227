"""The environment state machine, as data (aliecs.md §1).

The table below is the whole of it: states, events and which event leads where. The
environment actor asks it whether an event is allowed *before* doing any work (a refused
event leaves everything unchanged) and fires it once the work has succeeded, so the
machine only ever holds states the environment really reached. The logic of each
transition lives in ``actors/transitions/<event>.py``, not here.
"""

from __future__ import annotations

from enum import StrEnum

from statemachine import State, StateMachine
from statemachine.exceptions import TransitionNotAllowed

from o2ctl.core.errors import TransitionRefused as TransitionRefused  # re-exported


class EnvState(StrEnum):
    STANDBY = "STANDBY"
    DEPLOYED = "DEPLOYED"
    CONFIGURED = "CONFIGURED"
    RUNNING = "RUNNING"
    ERROR = "ERROR"
    DONE = "DONE"


class EnvEvent(StrEnum):
    DEPLOY = "DEPLOY"
    CONFIGURE = "CONFIGURE"
    RESET = "RESET"
    START_ACTIVITY = "START_ACTIVITY"
    STOP_ACTIVITY = "STOP_ACTIVITY"
    EXIT = "EXIT"
    GO_ERROR = "GO_ERROR"
    RECOVER = "RECOVER"


class EnvironmentMachine(StateMachine):
    """The literal transition table of an environment."""

    STANDBY = State(initial=True)
    DEPLOYED = State()
    CONFIGURED = State()
    RUNNING = State()
    ERROR = State()
    DONE = State(final=True)

    DEPLOY = STANDBY.to(DEPLOYED)
    CONFIGURE = DEPLOYED.to(CONFIGURED)
    RESET = CONFIGURED.to(DEPLOYED)
    START_ACTIVITY = CONFIGURED.to(RUNNING)
    STOP_ACTIVITY = RUNNING.to(CONFIGURED)
    EXIT = CONFIGURED.to(DONE) | DEPLOYED.to(DONE) | STANDBY.to(DONE)
    GO_ERROR = STANDBY.to(ERROR) | DEPLOYED.to(ERROR) | CONFIGURED.to(ERROR) | RUNNING.to(ERROR)
    RECOVER = ERROR.to(DEPLOYED)


class EnvironmentFSM:
    """A thin wrapper: ask before acting, commit after success."""

    def __init__(self, start: EnvState = EnvState.STANDBY) -> None:
        self._sm = EnvironmentMachine(start_value=start.value)

    @property
    def state(self) -> EnvState:
        return EnvState(self._sm.current_state_value)

    def allowed_events(self) -> list[EnvEvent]:
        return [EnvEvent(e.id) for e in self._sm.allowed_events]

    def check(self, event: str) -> EnvEvent:
        """The event, if allowed now; otherwise ``TransitionRefused`` saying what is allowed."""
        try:
            ev = EnvEvent(event.upper())
        except ValueError:
            known = ", ".join(e.value for e in EnvEvent)
            raise TransitionRefused(f"unknown event {event!r}: known events are {known}") from None
        if ev not in self.allowed_events():
            allowed = ", ".join(e.value for e in self.allowed_events()) or "none"
            raise TransitionRefused(
                f"event {ev.value} is not allowed in state {self.state.value} (allowed: {allowed})"
            )
        return ev

    def fire(self, event: EnvEvent) -> EnvState:
        try:
            self._sm.send(event.value)
        except TransitionNotAllowed as exc:
            raise TransitionRefused(str(exc)) from None
        return self.state


def target_of(state: EnvState, event: EnvEvent) -> EnvState:
    """Where ``event`` leads from ``state`` (for planning and display)."""
    sm = EnvironmentFSM(state)
    sm.check(event)
    return sm.fire(event)
