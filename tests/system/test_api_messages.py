"""The Control API's reshaping, without a server: dicts to protos and back, token checks.

What the server sends is built from the actors' dicts (``messages``) and what ``ApiClient``
answers is rebuilt from the protos (``dicts``); the round trip must give the SDK's shapes
back, so that the CLI renders both paths alike. No Ray, no network: milliseconds.
"""

from __future__ import annotations

import grpc

from o2ctl.api import dicts, messages
from o2ctl.api.auth import refusal
from o2ctl.api.status import BadRequest, status_of
from o2ctl.core.envfsm import EnvironmentFSM, TransitionRefused
from o2ctl.core.events import Event

SUMMARY = {
    "env_id": "abc",
    "workflow": "sampler-processors-sink",
    "state": "RUNNING",
    "root_state": "RUNNING",
    "busy": None,
    "run_number": 7,
    "last_run_number": None,  # the run in progress is not the last one yet
    "created": 1700000000.5,
    "tasks": 1,
    "detectors": ["TPC"],
    "user_vars": {"nProcessors": "1"},
    "last_error": "",
    "allowed_events": ["STOP_ACTIVITY", "GO_ERROR"],
}
TASK = {
    "task_id": "t1",
    "role_path": "sampler-processors-sink.sink",
    "task_class": "sink",
    "host": "h",
    "node_id": "n",
    "pid": 42,
    "state": "RUNNING",
    "status": "ACTIVE",
    "control_mode": "fairmq",
    "control_port": 4000,
    "critical": True,
    "error": "",
    "log_path": "/tmp/sink.log",
}
TREE = {
    "name": "sampler-processors-sink",
    "path": "sampler-processors-sink",
    "kind": "aggregator",
    "critical": True,
    "state": "RUNNING",
    "children": [
        {
            "name": "sink",
            "path": "sampler-processors-sink.sink",
            "kind": "task",
            "critical": True,
            "state": "RUNNING",
            "task_id": "t1",
            "host": "h",
            "pid": 42,
            "task_class": "sink",
        }
    ],
}


def test_summary_task_and_tree_survive_the_round_trip() -> None:
    info = messages.environment_info(SUMMARY, [TASK], "sampler-processors-sink")
    back = dicts.summary(info)
    assert back == {**SUMMARY, "busy": None}
    (task,) = [dicts.task(t) for t in info.tasks]
    assert {k: task[k] for k in TASK} == TASK and task["env_id"] == "abc"
    tree = dicts.tree(messages.role_info(TREE), {"t1": task})
    assert tree["status"] == "ACTIVE" and tree["children"][0]["pid"] == 42
    assert [r.fullPath for r in messages.matching_roles(TREE, "*.sink")] == [TASK["role_path"]]


def test_events_keep_their_kind_and_status() -> None:
    records = [
        Event(
            "transition", "abc", event="START_ACTIVITY", status="DONE_OK", state="RUNNING", seq=3
        ),
        Event("environment", "abc", state="RUNNING", detail={"run_number": 7}, seq=4),
        Event("role", "abc", path="wf.sink", state="ERROR", seq=5),
        Event(
            "task",
            "abc",
            path="wf.sink",
            state="ERROR",
            error="died",
            detail={"task_id": "t1"},
            seq=6,
        ),
    ]
    for record in records:
        back = dicts.event(messages.event(record.to_dict()))
        assert {k: back[k] for k in ("kind", "env_id", "state", "event", "status", "seq")} == {
            "kind": record.kind,
            "env_id": "abc",
            "state": record.state,
            "event": record.event,
            "status": record.status,
            "seq": record.seq,
        }


def test_errors_become_status_codes_with_their_message() -> None:
    try:
        EnvironmentFSM().check("START_ACTIVITY")
    except TransitionRefused as exc:
        code, message = status_of(exc)
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert message.startswith("event START_ACTIVITY is not allowed in state STANDBY")
    assert status_of(BadRequest("x"))[0] == grpc.StatusCode.INVALID_ARGUMENT
    assert status_of(ValueError("boom")) == (grpc.StatusCode.INTERNAL, "ValueError: boom")


def test_token_check() -> None:
    assert refusal([("authorization", "Bearer s3cret")], "s3cret") is None
    assert "missing token" in str(refusal([], "s3cret"))
    assert "malformed" in str(refusal([("authorization", "s3cret")], "s3cret"))
    assert "wrong token" in str(refusal([("authorization", "Bearer nope")], "s3cret"))
