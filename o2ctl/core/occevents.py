"""OCC events: what the controller asks of one process, and the state each one leads to.

The event and the state it ends in travel together (``OccEvent.CONFIGURE.leads_to is
TaskState.CONFIGURED``), so nobody pairs an event string with its expected state by hand:
the environment's fan-outs take their expectation from the event, the OCC library builds its
table from it, and the FairMQ transitioner maps it to the FairMQ state to end in. Where an
event is legal from is a different question, answered by the OCC library's table.

Values are the exact strings OCC puts on the wire (``TransitionRequest.transitionEvent``), so
an ``OccEvent`` can be sent as it is, and a name read from the wire is parsed once, by
``parse_occ_event``, into one clear error when unknown.
"""

from __future__ import annotations

from enum import StrEnum

from o2ctl.core.states import TaskState


class OccEvent(StrEnum):
    """Process-level (OCC) events, valued by their wire names (aliecs.md §2, PAUSE/RESUME §4)."""

    leads_to: TaskState

    def __new__(cls, wire: str, leads_to: TaskState) -> OccEvent:
        member = str.__new__(cls, wire)
        member._value_ = wire
        member.leads_to = leads_to
        return member

    CONFIGURE = "CONFIGURE", TaskState.CONFIGURED
    START = "START", TaskState.RUNNING
    STOP = "STOP", TaskState.CONFIGURED
    RESET = "RESET", TaskState.STANDBY
    EXIT = "EXIT", TaskState.DONE
    GO_ERROR = "GO_ERROR", TaskState.ERROR
    RECOVER = "RECOVER", TaskState.STANDBY
    PAUSE = "PAUSE", TaskState.PAUSED
    RESUME = "RESUME", TaskState.RUNNING


_BY_WIRE_NAME: dict[str, OccEvent] = {e.value: e for e in OccEvent}


class UnknownOccEvent(ValueError):
    """A name that is not an OCC event; the message lists the ones that are."""

    def __init__(self, name: object) -> None:
        known = ", ".join(e.value for e in OccEvent)
        super().__init__(f"unknown OCC event {name!r}; known: {known}")
        self.name = name


def parse_occ_event(name: OccEvent | str) -> OccEvent:
    """The OCC event called ``name`` (its exact wire name), or :class:`UnknownOccEvent`."""
    event = _BY_WIRE_NAME.get(name)
    if event is None:
        raise UnknownOccEvent(name)
    return event
