"""The environment state machine against the table of aliecs.md §1, cell by cell."""

import pytest

from o2ctl.core.envfsm import EnvEvent, EnvironmentFSM, EnvState, TransitionRefused, target_of

S = EnvState
TABLE = {
    EnvEvent.DEPLOY: {S.STANDBY: S.DEPLOYED},
    EnvEvent.CONFIGURE: {S.DEPLOYED: S.CONFIGURED},
    EnvEvent.RESET: {S.CONFIGURED: S.DEPLOYED},
    EnvEvent.START_ACTIVITY: {S.CONFIGURED: S.RUNNING},
    EnvEvent.STOP_ACTIVITY: {S.RUNNING: S.CONFIGURED},
    EnvEvent.EXIT: {S.CONFIGURED: S.DONE, S.DEPLOYED: S.DONE, S.STANDBY: S.DONE},
    EnvEvent.GO_ERROR: {s: S.ERROR for s in (S.STANDBY, S.DEPLOYED, S.CONFIGURED, S.RUNNING)},
    EnvEvent.RECOVER: {S.ERROR: S.DEPLOYED},
}


@pytest.mark.parametrize("event", list(EnvEvent))
@pytest.mark.parametrize("state", list(EnvState))
def test_every_cell(state: EnvState, event: EnvEvent) -> None:
    expected = TABLE[event].get(state)
    fsm = EnvironmentFSM(state)
    if expected is None:
        refused = rf"{event.value} is not allowed in state {state.value}"
        with pytest.raises(TransitionRefused, match=refused):
            fsm.check(event.value)
        assert fsm.state == state
    else:
        assert fsm.fire(fsm.check(event.value)) == expected
        assert target_of(state, event) == expected


def test_unknown_event_names_the_known_ones() -> None:
    with pytest.raises(TransitionRefused, match=r"unknown event 'FLY'.*START_ACTIVITY"):
        EnvironmentFSM().check("FLY")
