"""The FairMQ state table: every allowed transition, every refused one (aliecs.md §4)."""

from __future__ import annotations

import itertools

import pytest

from occ.fairmq.states import (
    EXPECTED_FINAL,
    INTERMEDIATE,
    TABLE,
    WIRE_TRANSITIONS,
    State,
    Transition,
    TransitionRefused,
    allowed_transitions,
    is_intermediate,
    next_state,
    parse_transition,
    settle,
)

S, T = State, Transition

# The table of aliecs.md §4, written out independently of the module under test.
SPEC = {
    (S.IDLE, T.INIT_DEVICE): S.INITIALIZING_DEVICE,
    (S.IDLE, T.END): S.EXITING,
    (S.INITIALIZING_DEVICE, T.COMPLETE_INIT): S.INITIALIZED,
    (S.INITIALIZED, T.BIND): S.BINDING,
    (S.BINDING, T.AUTO): S.BOUND,
    (S.BOUND, T.CONNECT): S.CONNECTING,
    (S.CONNECTING, T.AUTO): S.DEVICE_READY,
    (S.DEVICE_READY, T.INIT_TASK): S.INITIALIZING_TASK,
    (S.INITIALIZING_TASK, T.AUTO): S.READY,
    (S.READY, T.RUN): S.RUNNING,
    (S.RUNNING, T.STOP): S.READY,
    (S.READY, T.RESET_TASK): S.RESETTING_TASK,
    (S.RESETTING_TASK, T.AUTO): S.DEVICE_READY,
    (S.INITIALIZED, T.RESET_DEVICE): S.RESETTING_DEVICE,
    (S.BOUND, T.RESET_DEVICE): S.RESETTING_DEVICE,
    (S.DEVICE_READY, T.RESET_DEVICE): S.RESETTING_DEVICE,
    (S.RESETTING_DEVICE, T.AUTO): S.IDLE,
}
REAL_STATES = [s for s in State if s not in (S.OK, S.UNDEFINED)]


def test_wire_names_are_fairmq_strings() -> None:
    assert [s.value for s in REAL_STATES] == [
        "ERROR",
        "IDLE",
        "INITIALIZING DEVICE",
        "INITIALIZED",
        "BINDING",
        "BOUND",
        "CONNECTING",
        "DEVICE READY",
        "INITIALIZING TASK",
        "READY",
        "RUNNING",
        "RESETTING TASK",
        "RESETTING DEVICE",
        "EXITING",
    ]
    assert {
        "INIT DEVICE",
        "COMPLETE INIT",
        "BIND",
        "CONNECT",
        "INIT TASK",
        "RUN",
        "STOP",
        "RESET TASK",
        "RESET DEVICE",
        "END",
        "ERROR FOUND",
    } == WIRE_TRANSITIONS


def test_table_is_the_spec() -> None:
    assert dict(TABLE) == SPEC


@pytest.mark.parametrize(("state", "transition"), list(itertools.product(State, Transition)))
def test_every_pair_allowed_or_refused(state: State, transition: Transition) -> None:
    if transition is T.ERROR_FOUND:
        if state in (S.ERROR, S.EXITING):
            with pytest.raises(TransitionRefused, match="already ended"):
                next_state(state, transition)
        else:
            assert next_state(state, transition) is S.ERROR
    elif (state, transition) in SPEC:
        assert next_state(state, transition) is SPEC[(state, transition)]
    else:
        with pytest.raises(TransitionRefused) as refused:
            next_state(state, transition)
        assert refused.value.state == state.value
        assert transition.value in str(refused.value)


def test_intermediate_states_settle_by_themselves() -> None:
    assert {S.BINDING, S.CONNECTING, S.INITIALIZING_TASK, S.RESETTING_TASK} <= INTERMEDIATE
    assert S.RESETTING_DEVICE in INTERMEDIATE
    assert not is_intermediate(S.INITIALIZING_DEVICE)  # waits for COMPLETE INIT
    assert settle(S.BINDING) == [S.BOUND]
    assert settle(S.CONNECTING) == [S.DEVICE_READY]
    assert settle(S.INITIALIZING_TASK) == [S.READY]
    assert settle(S.RESETTING_TASK) == [S.DEVICE_READY]
    assert settle(S.RESETTING_DEVICE) == [S.IDLE]
    assert settle(S.READY) == []
    for state in INTERMEDIATE:
        assert allowed_transitions(state) == {T.ERROR_FOUND}


def test_expected_final_states() -> None:
    assert EXPECTED_FINAL[T.INIT_DEVICE] is S.INITIALIZING_DEVICE
    for transition, expected in EXPECTED_FINAL.items():
        assert not is_intermediate(expected)
        if transition is T.ERROR_FOUND:
            continue
        # Following the table (and AUTO steps) from any source lands on the expected state.
        for (_source, t), target in SPEC.items():
            if t is transition:
                assert (settle(target) or [target])[-1] is expected


def test_parse_transition() -> None:
    assert parse_transition("INIT DEVICE") is T.INIT_DEVICE
    for bad in ("AUTO", "CONFIGURE", "init device", ""):
        with pytest.raises(TransitionRefused, match="not a valid transition name"):
            parse_transition(bad, S.IDLE)


def test_allowed_transitions_per_state() -> None:
    assert allowed_transitions(S.IDLE) == {T.INIT_DEVICE, T.END, T.ERROR_FOUND}
    assert allowed_transitions(S.READY) == {T.RUN, T.RESET_TASK, T.ERROR_FOUND}
    assert allowed_transitions(S.DEVICE_READY) == {T.INIT_TASK, T.RESET_DEVICE, T.ERROR_FOUND}
    assert allowed_transitions(S.EXITING) == frozenset()
    assert allowed_transitions(S.ERROR) == frozenset()
