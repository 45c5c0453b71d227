"""The environment model's rules, without Ray: stale reports, node loss, the automatic
GO_ERROR, the one-operation lock, detector locks, and the record round trip."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from o2ctl.core.detectorlocks import DetectorLocks
from o2ctl.core.envfsm import EnvEvent, EnvState
from o2ctl.core.envmodel import MODIFIABLE, WATCHED, EnvironmentModel, EnvTarget
from o2ctl.core.envrecord import EnvRecord
from o2ctl.core.envtasks import VersionedTask, task_gone, task_seen, task_silent, versioned_task
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


# -- summary and the durable record ------------------------------------------------------
def test_summary_adds_what_the_actor_knows() -> None:
    m = model(EnvState.RUNNING, task("root.a", state=S.RUNNING), task("root.b", state=S.ERROR))
    m.run_number, m.durations = 7, {"CONFIGURE": 0.5}
    got = m.summary(workflow="readout", cleaning_up=True, actor_pid=42)
    assert got["workflow"] == "readout" and got["workflow_ref"] == "wf"
    assert got["cleaning_up"] is True and got["actor_pid"] == 42
    assert got["tasks"] == 2 and got["task_states"] == {"RUNNING": 1, "ERROR": 1}
    assert got["run_number"] == 7 and got["durations"] == {"CONFIGURE": 0.5}
    assert got["allowed_events"] == ["STOP_ACTIVITY", "GO_ERROR"]
    assert got["root_state"] == "INVARIANT" and got["busy"] is None


names = st.text("abcdefgh.", min_size=1, max_size=8)
task_records = st.builds(
    VersionedTask,
    role_path=names,
    task_id=names,
    task_class=names,
    actor_name=names,
    host=names,
    node_id=names,
    critical=st.booleans(),
    control_port=st.none() | st.integers(1024, 65535),
    pid=st.integers(0, 10**6),
    state=st.sampled_from(list(TaskState)),
    error=st.text(max_size=20),
    ports=st.dictionaries(names, st.integers(1024, 65535), max_size=3),
    lost=st.text(max_size=5),
)
targets = st.builds(
    EnvTarget,
    workflow_ref=names,
    repo=st.none() | names,
    user_vars=st.dictionaries(names, st.text(max_size=10), max_size=4),
    excluded=st.lists(names, max_size=3),
    detectors=st.lists(names, max_size=3),
    reclaim=st.booleans(),
)


@given(
    target=targets,
    state=st.sampled_from(list(EnvState)),
    busy=st.sampled_from(["", "CONFIGURE", "MODIFY"]),
    run=st.none() | st.integers(1, 10**6),
    tasks=st.lists(task_records, max_size=5, unique_by=lambda t: t.role_path),
    channels=st.dictionaries(names, names, max_size=3),
    error=st.text(max_size=20),
)
def test_snapshot_record_model_round_trip(
    target: EnvTarget,
    state: EnvState,
    busy: str,
    run: int | None,
    tasks: list[VersionedTask],
    channels: dict[str, str],
    error: str,
) -> None:
    m: Model = EnvironmentModel("e1", target, state=state, created=12.5)
    m.tasks = {t.role_path: t for t in tasks}
    m.busy = busy or None
    m.run_number, m.run_start_ms, m.channels, m.last_error = run, 1234, channels, error
    rec = m.snapshot(roles={"root": "e1:root"}, event_seq=17)
    raw = json.loads(json.dumps(rec.to_dict()))
    back = EnvironmentModel.from_record(EnvRecord.from_dict(raw), versioned_task)
    assert back.target == target and back.state == state and back.busy is None
    assert back.tasks == {p: VersionedTask(**{**vars(t), "version": 0}) for p, t in m.tasks.items()}
    expected = {**vars(rec), "busy": ""}
    if run is not None and state is not EnvState.RUNNING and busy != "START_ACTIVITY":
        expected.update(run_number=None, last_run_number=run)  # a run outside RUNNING has ended
    assert back.snapshot(roles={"root": "e1:root"}, event_seq=17) == EnvRecord(**expected)


OLD_RECORD = """{"env_id": "2X9Yk", "workflow": "readout-dataflow", "repo": "workflows",
 "user_vars": {"n": "2"}, "excluded": ["root.qc"], "detectors": ["TST"], "reclaim": false,
 "created": 1715000000.5, "state": "RUNNING", "busy": "", "run_number": 12,
 "run_start_ms": 1715000001000, "last_error": "",
 "tasks": {"root.sink": {"role_path": "root.sink", "task_id": "t9", "task_class": "sink",
   "actor_name": "2X9Yk:root.sink#t9", "host": "h1", "node_id": "n1", "ip": "10.0.0.1",
   "control_mode": "direct", "critical": true, "control_port": 47100, "pid": 4242,
   "state": "RUNNING", "error": "", "reused": false, "log_path": "/tmp/t9.log",
   "ports": {"chan:data": 47101}, "wants": {"cpu": 1}, "lost": ""}},
 "roles": {"root": "2X9Yk:root"}, "channels": {"data": "tcp://10.0.0.1:47101"},
 "event_seq": 88}"""


def test_a_record_written_before_the_model_still_loads() -> None:
    rec = EnvRecord.from_dict(json.loads(OLD_RECORD))
    m = EnvironmentModel.from_record(rec, versioned_task)
    assert m.state == EnvState.RUNNING and m.run_number == 12 and m.busy is None
    assert m.target == EnvTarget("readout-dataflow", "workflows", {"n": "2"}, ["root.qc"], ["TST"])
    sink = m.tasks["root.sink"]
    assert (sink.pid, sink.state, sink.ports, sink.controlled) == (
        4242,
        S.RUNNING,
        {"chan:data": 47101},
        True,
    )
    again = m.snapshot(roles=rec.roles, event_seq=rec.event_seq).to_dict()
    assert again == {**json.loads(OLD_RECORD), "call_returns": {}, "last_run_number": None}


def test_a_run_ends_into_last_run_number_and_an_older_record_gets_there_too() -> None:
    m = model(EnvState.RUNNING)
    m.run_number = 7
    m.run_ended()
    assert (m.run_number, m.last_run_number) == (None, 7)
    m.run_ended()  # GO_ERROR after STOP: nothing more to end
    assert (m.run_number, m.last_run_number) == (None, 7)
    old = EnvRecord("e1", "wf", state="CONFIGURED", run_number=5)  # written before the fix
    assert EnvironmentModel.from_record(old, versioned_task).last_run_number == 5
    starting = EnvRecord("e1", "wf", state="CONFIGURED", run_number=6, busy="START_ACTIVITY")
    assert EnvironmentModel.from_record(starting, versioned_task).run_number == 6


def test_a_call_return_is_kept_per_call_role_bounded_and_in_the_record() -> None:
    m = model(EnvState.RUNNING)
    m.call_returned("root.calls.a", "previous", "x" * 5000)
    assert m.call_variables("root.calls.a") == {"previous": "x" * 2000}
    assert m.call_variables("root.calls.b") == {}  # another call role does not see it
    rec = EnvRecord.from_dict(json.loads(json.dumps(m.snapshot(roles={}, event_seq=0).to_dict())))
    back = EnvironmentModel.from_record(rec, versioned_task)
    assert back.call_variables("root.calls.a") == {"previous": "x" * 2000}


# -- after a restart ----------------------------------------------------------------------
def test_a_restart_mid_transition_completes_or_goes_to_error() -> None:
    done = model(EnvState.CONFIGURED, task("root.a", state=S.RUNNING, control_mode="direct"))
    assert done.interrupted("START_ACTIVITY").fire is EnvEvent.START_ACTIVITY
    half = model(EnvState.DEPLOYED, task("root.a", state=S.STANDBY, control_mode="direct"))
    out = half.interrupted("CONFIGURE")
    assert out.fire is None and "root.a (STANDBY)" in out.error and half.last_error == out.error
    stuck = model(EnvState.ERROR, task("root.a", control_mode="direct"))
    assert stuck.interrupted("MODIFY").error == "" and stuck.last_error == ""


def test_what_a_restart_learns_of_each_task() -> None:
    gone, silent, seen = task("root.a"), task("root.b"), task("root.c", error="old")
    task_gone(gone)
    assert (gone.lost, gone.state) == ("h-n1", S.ERROR) and "its actor is gone" in gone.error
    task_silent(silent)
    assert silent.state == S.ERROR and silent.error == "task root.b (t-root.b): no answer"
    task_seen(seen, {"state": "RUNNING", "version": 3, "pid": 7, "error": "ignored"})
    assert (seen.state, seen.version, seen.pid, seen.error) == (S.RUNNING, 3, 7, "")
