"""The environment model as a reader and the disk see it, without Ray: its summary, the
durable record's round trip (an older record included), the run's end, call roles' return
values, and what a restart mid-transition or of each task learns."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st
from test_core_envmodel import Model, S, model, task

from o2ctl.core.envfsm import EnvEvent, EnvState
from o2ctl.core.envmodel import EnvironmentModel, EnvTarget
from o2ctl.core.envrecord import EnvRecord
from o2ctl.core.envtasks import VersionedTask, task_gone, task_seen, task_silent, versioned_task
from o2ctl.core.states import TaskState


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
