"""The environment model's rules, without Ray: stale reports, node loss, the automatic
GO_ERROR, the one-operation lock, detector locks (its summary, record and restart:
``test_core_envmodel_record.py``)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from o2ctl.core.detectorlocks import DetectorLocks
from o2ctl.core.envfsm import EnvEvent, EnvState
from o2ctl.core.envmodel import MODIFIABLE, WATCHED, EnvironmentModel, EnvTarget
from o2ctl.core.envtasks import VersionedTask
from o2ctl.core.errors import DetectorBusy, EnvironmentBusy, TransitionRefused
from o2ctl.core.states import TaskState

S = TaskState
Model = EnvironmentModel[VersionedTask]


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def task(path: str, node: str = "n1", critical: bool = True, **kw: Any) -> VersionedTask:
    return VersionedTask(
        path, f"t-{path}", "cls", node_id=node, host=f"h-{node}", critical=critical, **kw
    )


def model(
    state: EnvState = EnvState.RUNNING, *tasks: VersionedTask, clock: Clock | None = None
) -> Model:
    m: Model = EnvironmentModel(
        "e1", EnvTarget("wf"), state=state, clock=clock or Clock(), created=1.0
    )
    m.tasks = {t.role_path: t for t in tasks}
    return m


# -- stale reports ----------------------------------------------------------------------
def test_a_report_for_another_task_at_the_path_is_ignored() -> None:
    m = model(EnvState.RUNNING, task("root.a", state=S.RUNNING))
    assert m.task_changed("root.a", "ERROR", 5, {"task_id": "someone-else"}) is None
    assert m.task_changed("root.nowhere", "ERROR", 5, {}) is None
    assert m.tasks["root.a"].state == S.RUNNING


def test_an_older_report_is_ignored_a_newer_or_equal_one_taken() -> None:
    m = model(EnvState.RUNNING, task("root.a", state=S.RUNNING, version=4))
    assert m.task_changed("root.a", "ERROR", 3, {"error": "late"}) is None
    assert m.tasks["root.a"].state == S.RUNNING and m.tasks["root.a"].error == ""
    got = m.task_changed("root.a", "ERROR", 4, {"task_id": "t-root.a", "error": "boom", "pid": 9})
    assert got is m.tasks["root.a"]
    assert (got.state, got.version, got.error, got.pid) == (S.ERROR, 4, "boom", 9)


def test_a_report_without_error_keeps_the_last_one() -> None:
    m = model(EnvState.RUNNING, task("root.a", error="earlier", pid=3))
    e = m.task_changed("root.a", "ERROR", 1, {})
    assert e is not None and e.error == "earlier" and e.pid == 3


@given(st.lists(st.integers(0, 20), min_size=1, max_size=30))
def test_the_version_taken_never_goes_back(versions: list[int]) -> None:
    m = model(EnvState.RUNNING, task("root.a"))
    for v in versions:
        m.task_changed("root.a", "RUNNING", v, {})
    assert m.tasks["root.a"].version == max([0, *versions])


# -- node loss ----------------------------------------------------------------------------
def test_a_node_with_no_task_of_ours_changes_nothing() -> None:
    m = model(EnvState.RUNNING, task("root.a", node="n1"))
    assert m.nodes_lost("n2", "h2") is None
    assert m.tasks["root.a"].lost == "" and m.last_error == ""


def test_losing_only_non_critical_tasks_marks_them_and_keeps_the_state() -> None:
    m = model(
        EnvState.RUNNING,
        task("root.a", node="n1", critical=False, version=2),
        task("root.b", node="n2"),
    )
    loss = m.nodes_lost("n1", "h1")
    assert loss is not None and not loss.go_error
    assert [e.role_path for e in loss.lost] == ["root.a"]
    a = m.tasks["root.a"]
    assert (a.lost, a.state, a.version) == ("h1", S.ERROR, 3)
    assert a.error == "task root.a (t-root.a) lost with node h1"
    assert loss.reason == "node h1 lost with 1 task(s): root.a"
    assert m.last_error == "" and m.tasks["root.b"].lost == ""


def test_losing_a_critical_task_makes_go_error_due_naming_node_and_tasks() -> None:
    m = model(
        EnvState.RUNNING,
        task("root.a", node="n1", critical=False),
        task("root.b", node="n1"),
        last := task("root.c", node="n2"),
    )
    m.last_error = "a task's own failure, first"
    loss = m.nodes_lost("n1", "h1")
    assert loss is not None and loss.go_error
    assert loss.reason == "node h1 lost with 2 task(s): root.a, root.b"
    assert m.last_error == loss.reason
    assert last.state == S.UNKNOWN
    assert m.nodes_lost("n1", "h1") is None  # lost once only


@pytest.mark.parametrize("state", list(EnvState))
def test_node_loss_go_error_only_where_allowed_and_not_while_busy(state: EnvState) -> None:
    for busy in (None, "CONFIGURE"):
        m = model(state, task("root.a"))
        m.busy = busy
        loss = m.nodes_lost("n1", "h1")
        assert loss is not None
        allowed = EnvEvent.GO_ERROR in m.fsm.allowed_events()
        assert loss.go_error == (allowed and busy is None)
        assert m.last_error == loss.reason  # said even when ERROR cannot follow now


# -- the automatic GO_ERROR ---------------------------------------------------------------
@pytest.mark.parametrize("state", list(EnvState))
@pytest.mark.parametrize("busy", [None, "STOP_ACTIVITY"])
@pytest.mark.parametrize("root", [S.ERROR, S.RUNNING, S.CONFIGURED])
def test_auto_go_error_due_only_for_a_failed_root_while_watched_and_idle(
    state: EnvState, busy: str | None, root: TaskState
) -> None:
    m = model(state)
    m.busy = busy
    due = m.root_changed(root.value)
    assert m.root_state == root
    expected = root == S.ERROR and state in WATCHED and busy is None
    assert due == expected
    assert m.auto_error_due(while_busy=True) == (root == S.ERROR and state in WATCHED)
    assert (m.auto_go_error() is not None) == expected


def test_auto_go_error_reason_names_the_failed_critical_tasks() -> None:
    m = model(
        EnvState.CONFIGURED,
        task("root.a", state=S.ERROR, error="a crashed"),
        task("root.b", state=S.ERROR),
        task("root.c", state=S.ERROR, error="c is optional", critical=False),
        task("root.d", state=S.CONFIGURED),
    )
    m.root_changed("ERROR")
    assert m.auto_go_error() == "a crashed; root.b"
    assert m.last_error == "a crashed; root.b"


def test_auto_go_error_without_a_failed_critical_task_blames_the_root() -> None:
    m = model(EnvState.RUNNING, task("root.a", state=S.ERROR, critical=False))
    m.root_changed("ERROR")
    assert m.auto_go_error() == "root role in ERROR"


def test_auto_go_error_no_longer_due_after_the_grace_period() -> None:
    m = model(EnvState.RUNNING, task("root.a", state=S.ERROR))
    assert m.root_changed("ERROR")
    m.root_changed("RUNNING")  # came back within the grace period
    assert m.auto_go_error() is None and m.last_error == ""


@pytest.mark.parametrize(
    ("event", "cancelled", "state", "expected"),
    [
        (EnvEvent.CONFIGURE, False, EnvState.DEPLOYED, True),
        (EnvEvent.CONFIGURE, True, EnvState.DEPLOYED, False),
        (EnvEvent.EXIT, False, EnvState.CONFIGURED, False),
        (EnvEvent.GO_ERROR, False, EnvState.RUNNING, False),
        (EnvEvent.RECOVER, False, EnvState.ERROR, False),  # ERROR already
    ],
)
def test_a_failed_transition_goes_to_error_unless(
    event: EnvEvent, cancelled: bool, state: EnvState, expected: bool
) -> None:
    m = model(state)
    assert m.failure_needs_go_error(event, "it broke", cancelled) == expected
    assert m.last_error == "it broke"


def test_enter_error_says_the_state_left() -> None:
    m = model(EnvState.RUNNING)
    assert m.enter_error() == "RUNNING" and m.state == EnvState.ERROR


# -- the one-operation lock ---------------------------------------------------------------
def test_the_lock_refuses_a_second_operation_naming_the_first() -> None:
    clock = Clock(100.0)
    m = model(EnvState.CONFIGURED, clock=clock)
    m.acquire("START_ACTIVITY")
    assert (m.busy, m.busy_since) == ("START_ACTIVITY", 100.0)
    clock.now = 102.25
    with pytest.raises(EnvironmentBusy) as exc:
        m.acquire("RESET")
    assert str(exc.value) == (
        "environment e1 is busy with START_ACTIVITY (started 2.2s ago); "
        "RESET refused, state unchanged (CONFIGURED)"
    )
    assert m.busy == "START_ACTIVITY"
    m.acquire("destroy", force=True)
    assert (m.busy, m.busy_since) == ("destroy", 102.25)
    m.release()
    assert m.busy is None
    m.refuse_if_busy("MODIFY")
    m.acquire("MODIFY")


def test_a_refused_event_names_the_environment() -> None:
    m = model(EnvState.STANDBY)
    with pytest.raises(TransitionRefused, match=r"^environment e1: event START_ACTIVITY is not"):
        m.check("start_activity")
    assert m.check("deploy") is EnvEvent.DEPLOY


@pytest.mark.parametrize("state", list(EnvState))
def test_modify_only_between_deployed_and_running(state: EnvState) -> None:
    m = model(state)
    if state in MODIFIABLE:
        assert m.check_modify() == state
        return
    with pytest.raises(TransitionRefused) as exc:
        m.check_modify()
    assert str(exc.value) == (
        f"environment e1: MODIFY is not allowed in state {state.value} "
        "(allowed in DEPLOYED, CONFIGURED, RUNNING); state unchanged"
    )


# -- detector locks -----------------------------------------------------------------------
def test_detector_locks_one_environment_per_detector() -> None:
    locks = DetectorLocks()
    assert locks.lock("e1", ["ITS", "TPC"]) == ["ITS", "TPC"]
    with pytest.raises(DetectorBusy, match="detector TPC is already in use by environment e1"):
        locks.lock("e2", ["MCH", "TPC"])
    assert locks.holder("MCH") is None  # all or nothing
    assert locks.lock("e1", ["TPC", "MCH", "MCH"]) == ["MCH"]  # only what it did not hold
    locks.unlock("e1", ["MCH"])
    locks.unlock("e2", ["ITS"])  # not e2's: stays
    assert locks.table() == {"ITS": "e1", "TPC": "e1"}
    locks.release("e1", keep=["TPC"])
    assert locks.table() == {"TPC": "e1"}
    locks.hold("e3", ["FT0"])
    locks.release("e1")
    assert locks.table() == {"FT0": "e3"} and locks.held_by("e3") == ["FT0"]


@given(
    st.lists(
        st.tuples(st.sampled_from(["e1", "e2", "e3"]), st.lists(st.sampled_from("ABCD"))),
        max_size=20,
    )
)
def test_detector_locks_never_give_a_detector_to_two(ops: list[tuple[str, list[str]]]) -> None:
    locks = DetectorLocks()
    for env_id, wanted in ops:
        before = locks.table()
        try:
            locks.lock(env_id, wanted)
        except DetectorBusy:
            assert locks.table() == before
            assert any(before.get(d) not in (None, env_id) for d in wanted)
        else:
            assert all(locks.holder(d) == env_id for d in wanted)
