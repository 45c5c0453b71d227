"""One vocabulary: each OCC event carries the task state it leads to, and everyone who needs
that pairing (the OCC library's table, the FairMQ transitioner, the environment's fan-out,
a restarted environment's resolution) takes it from the event instead of spelling it again."""

from __future__ import annotations

import inspect

import pytest

from actors.transitions.common import fan_out
from o2ctl.core.drive import Target, failures, judge
from o2ctl.core.envfsm import EnvEvent
from o2ctl.core.envrecord import TASK_EVENT, expected_task_state
from o2ctl.core.occevents import OccEvent, UnknownOccEvent, parse_occ_event
from o2ctl.core.states import OCC_STATES, TaskState
from occ import transitioner as fmq
from occ.library_machine import LEGAL_FROM, TRANSITIONS

REFERENCE = {  # aliecs.md §2 and §4 (PAUSE/RESUME), written out again on purpose
    "CONFIGURE": "CONFIGURED",
    "START": "RUNNING",
    "STOP": "CONFIGURED",
    "RESET": "STANDBY",
    "EXIT": "DONE",
    "GO_ERROR": "ERROR",
    "RECOVER": "STANDBY",
    "PAUSE": "PAUSED",
    "RESUME": "RUNNING",
}


def test_every_event_leads_to_a_process_state() -> None:
    assert {e.value: e.leads_to.value for e in OccEvent} == REFERENCE
    assert all(isinstance(e.leads_to, TaskState) and e.leads_to in OCC_STATES for e in OccEvent)
    assert OccEvent.CONFIGURE.leads_to is TaskState.CONFIGURED


def test_events_are_their_wire_names() -> None:
    for event in OccEvent:
        assert event == event.value == event.name and f"{event}" == event.value
        assert parse_occ_event(event.value) is event
        assert parse_occ_event(event) is event


@pytest.mark.parametrize("name", ["FLY", "configure", "START_ACTIVITY", ""])
def test_an_unknown_event_names_the_known_ones(name: str) -> None:
    with pytest.raises(UnknownOccEvent) as caught:
        parse_occ_event(name)
    message = str(caught.value)
    assert f"unknown OCC event {name!r}" in message
    assert all(e.value in message for e in OccEvent)
    assert isinstance(caught.value, ValueError)


def test_the_occ_library_table_takes_its_targets_from_the_events() -> None:
    assert set(LEGAL_FROM) == set(OccEvent)
    assert all(LEGAL_FROM[e] for e in OccEvent), "every event is legal from somewhere"
    for (state, event), target in TRANSITIONS.items():
        assert state in LEGAL_FROM[event] and target is event.leads_to


def test_the_fairmq_transitioner_ends_each_event_where_it_leads() -> None:
    for event in fmq.FAIRMQ_EVENTS:
        assert fmq.occ_state(fmq.fairmq_target(event)) is event.leads_to
    for event in set(OccEvent) - fmq.FAIRMQ_EVENTS:
        with pytest.raises(ValueError, match="no FairMQ equivalent"):
            fmq.plan(event, "IDLE")


def test_an_environment_event_expects_the_state_its_last_occ_event_leads_to() -> None:
    for env_event, occ_event in TASK_EVENT.items():
        assert expected_task_state(env_event) is occ_event.leads_to
    assert expected_task_state(EnvEvent.DEPLOY) is TaskState.STANDBY
    assert expected_task_state(EnvEvent.EXIT) is None
    assert expected_task_state(EnvEvent.GO_ERROR) is None


# --- the tree's judgement of a task's reply (o2ctl.core.drive, pure) ------------------------


def test_fan_out_has_no_separate_expectation() -> None:
    params = inspect.signature(fan_out).parameters
    assert "expect" not in params and list(params)[:2] == ["env", "event"]


TARGET = Target("root.a", "env1:root.a#t1", "t1", "h1", "n1", True)


@pytest.mark.parametrize("event", list(OccEvent))
def test_a_task_where_the_event_leads_has_done_its_part(event: OccEvent) -> None:
    out = judge(TARGET, event, (event.leads_to.value, 1, ""))
    assert out.error == "" and failures([out], {"root.a": True}, event.leads_to) == []


@pytest.mark.parametrize("event", list(OccEvent))
def test_a_task_left_elsewhere_fails_naming_where_the_event_leads(event: OccEvent) -> None:
    out = judge(TARGET, event, ("UNKNOWN", 1, ""))
    assert failures([out], {"root.a": True}, event.leads_to) == [
        f"task root.a (t1) on h1: {event} left it in UNKNOWN, expected {event.leads_to}"
    ]
