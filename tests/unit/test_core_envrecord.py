"""The environment record round-trips through JSON, and a restarted environment decides
what to do about a transition it was in the middle of."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from o2ctl.core.envfsm import EnvEvent
from o2ctl.core.envrecord import EnvRecord, TaskRecord, resolve_interrupted
from o2ctl.core.states import TaskState

S = TaskState


def test_task_record_round_trip() -> None:
    rec = TaskRecord(
        "root.sink",
        "t1",
        "sink",
        actor_name="e:root.sink#t1",
        pid=42,
        state=S.RUNNING,
        ports={"chan:data": 20001},
        control_port=20000,
    )
    raw = json.loads(json.dumps(rec.record()))
    assert TaskRecord(**TaskRecord.from_record(raw)) == rec


def test_env_record_round_trip_ignores_unknown_keys() -> None:
    rec = EnvRecord("e1", "wf", user_vars={"a": "1"}, run_number=7, state="RUNNING")
    raw = json.loads(json.dumps(rec.to_dict()))
    raw["from_a_newer_version"] = True
    assert EnvRecord.from_dict(raw) == rec


def test_nothing_in_flight_nothing_to_do() -> None:
    assert resolve_interrupted("e", "", [("a", S.RUNNING, True)]).fire is None
    assert resolve_interrupted("e", "", []).error == ""


def test_a_transition_every_task_completed_is_fired() -> None:
    got = resolve_interrupted(
        "e", "START_ACTIVITY", [("a", S.RUNNING, True), ("b", S.ERROR, False)]
    )
    assert got.fire == EnvEvent.START_ACTIVITY and got.error == ""


def test_a_transition_left_half_done_goes_to_error_naming_the_laggards() -> None:
    got = resolve_interrupted(
        "e1", "CONFIGURE", [("root.a", S.CONFIGURED, True), ("root.b", S.STANDBY, True)]
    )
    assert got.fire is None
    assert "environment e1" in got.error and "in the middle of CONFIGURE" in got.error
    assert "root.b (STANDBY)" in got.error and "root.a" not in got.error


def test_interrupted_go_error_and_others() -> None:
    assert "GO_ERROR" in resolve_interrupted("e", "GO_ERROR", []).error
    assert resolve_interrupted("e", "EXIT", []) == resolve_interrupted("e", "destroy", [])


@given(st.lists(st.sampled_from(list(S)), max_size=8), st.sampled_from(list(EnvEvent)))
def test_fired_only_when_all_critical_tasks_arrived(states: list[S], event: EnvEvent) -> None:
    tasks = [(f"t{i}", s, True) for i, s in enumerate(states)]
    got = resolve_interrupted("e", event.value, tasks)
    assert not (got.fire and got.error)
    if got.fire is not None:
        assert got.fire == event
        assert len({s for s in states}) <= 1
