"""The Control API end to end: a stranger's gRPC client drives an environment; tokens hold.

The client in the first test is generated in a temporary directory from the published
proto files alone (``o2control.proto`` with the ``events.proto`` and ``common.proto`` it
imports, as a GUI in another language would be), and talks to the API
actor that ``start_api`` put into the session's Ray, over real gRPC on 127.0.0.1, driving
real FairMQ-style devices. The other tests check what is refused and how (status codes
and messages) through the same stubs and through ``ApiClient``, the CLI's client.
"""

from __future__ import annotations

import importlib
import shutil
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
import pytest

from o2ctl.api import PROTO_FILES
from o2ctl.demo import PIPELINE

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def api(o2: Any) -> Iterator[tuple[str, str]]:
    from o2ctl.api.serve import start_api, stop_api

    address, token = start_api()
    yield address, token
    stop_api()


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """The stubs generated now from the published proto files only, imported as a stranger's
    (their own module names, outside o2ctl's package)."""
    from grpc_tools import protoc

    src = tmp_path_factory.mktemp("published")
    out = tmp_path_factory.mktemp("stranger")
    for proto in PROTO_FILES:
        shutil.copy(proto, src / proto.name)
    args = [
        "protoc",
        f"-I{src}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        *(str(src / p.name) for p in PROTO_FILES),
    ]
    assert protoc.main(args) == 0, "protoc failed on the published protos"
    names = ("common_pb2", "events_pb2", "o2control_pb2", "o2control_pb2_grpc")
    saved = {n: sys.modules.pop(n) for n in names if n in sys.modules}
    sys.path.insert(0, str(out))
    try:
        pb = importlib.import_module("o2control_pb2")
        ev = importlib.import_module("events_pb2")
        rpc = importlib.import_module("o2control_pb2_grpc")
    finally:
        sys.path.remove(str(out))
    assert Path(rpc.__file__).parent == out
    yield SimpleNamespace(pb=pb, ev=ev, rpc=rpc)
    for name in names:
        sys.modules.pop(name, None)
    sys.modules.update(saved)


def refused(call: Any, *args: Any, **kwargs: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call(*args, **kwargs)
    return info.value


class Stranger:
    """The generated stub with the token attached: what a foreign client holds."""

    def __init__(self, channel: grpc.Channel, code: SimpleNamespace, token: str) -> None:
        self.pb, self.ev, self.stub = code.pb, code.ev, code.rpc.ControlStub(channel)
        self.auth = (("authorization", f"Bearer {token}"),)

    def ask(self, method: str, request: Any, timeout: float = 60) -> Any:
        return getattr(self.stub, method)(request, metadata=self.auth, timeout=timeout)

    def control(self, env_id: str, event: str) -> Any:
        op = self.pb.ControlEnvironmentRequest
        return self.ask("ControlEnvironment", op(id=env_id, type=op.Optype.Value(event)))

    def env_ids(self) -> list[str]:
        return [
            e.id for e in self.ask("GetEnvironments", self.pb.GetEnvironmentsRequest()).environments
        ]


def create_pipeline(s: Stranger) -> str:
    request = s.pb.NewEnvironmentRequest(workflowTemplate=PIPELINE, vars={"nProcessors": "1"})
    created = s.ask("NewEnvironment", request, timeout=300).environment
    assert created.state == "CONFIGURED"
    roles = sorted(t.name.rsplit(".", 1)[-1] for t in created.tasks)
    assert roles == ["processor1", "sampler", "sink"]
    assert created.id in s.env_ids()
    return str(created.id)


def run_once(s: Stranger, env_id: str) -> None:
    err = refused(s.control, env_id, "STOP_ACTIVITY")
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "STOP_ACTIVITY is not allowed in state CONFIGURED" in err.details()

    started = s.control(env_id, "START_ACTIVITY")
    assert started.state == "RUNNING" and started.currentRunNumber > 0
    got = s.ask("GetEnvironment", s.pb.GetEnvironmentRequest(id=env_id))
    assert got.environment.state == "RUNNING"
    assert got.environment.currentRunNumber == started.currentRunNumber
    assert {t.state for t in got.environment.tasks} == {"RUNNING"}
    assert all(int(t.pid) > 0 for t in got.environment.tasks)
    assert got.workflow.state == "RUNNING" and len(got.workflow.taskIds) == 3
    (sink,) = s.ask("GetRoles", s.pb.GetRolesRequest(envId=env_id, pathSpec="*.sink")).roles
    assert (sink.name, sink.state, sink.status) == ("sink", "RUNNING", "ACTIVE")

    stopped = s.control(env_id, "STOP_ACTIVITY")
    assert (stopped.state, stopped.currentRunNumber) == ("CONFIGURED", 0)  # AliECS: no run now
    assert stopped.lastRunNumber == started.currentRunNumber


def events_until_stopped(s: Stranger, env_id: str, after: int) -> list[Any]:
    """The environment's events from ``after`` on, up to STOP_ACTIVITY's DONE_OK."""
    seen = []
    request = s.pb.SubscribeRequest(id="test", envId=env_id, after=after)
    stream = s.stub.Subscribe(request, metadata=s.auth, timeout=30)
    for ev in stream:
        seen.append(ev)
        e = ev.environmentEvent
        if (e.transition, e.transitionStatus) == ("STOP_ACTIVITY", s.ev.DONE_OK):
            break
    stream.cancel()
    return seen


def check_events(s: Stranger, env_id: str, seen: list[Any]) -> None:
    status = s.ev.OpStatus.Name
    steps = {
        (ev.environmentEvent.transition, status(ev.environmentEvent.transitionStatus))
        for ev in seen
        if ev.environmentEvent.transition
    }
    for event in ("DEPLOY", "CONFIGURE", "START_ACTIVITY", "STOP_ACTIVITY"):
        assert {(event, "STARTED"), (event, "DONE_OK")} <= steps, event
    assert [ev.seq for ev in seen] == sorted(ev.seq for ev in seen)
    assert any(ev.environmentEvent.state == "RUNNING" for ev in seen)
    assert any(
        ev.roleEvent.state == "RUNNING" and ev.roleEvent.environmentId == env_id for ev in seen
    )


def test_stranger_client_creates_and_controls_an_environment(
    clean_o2: Any, api: tuple[str, str], stranger: SimpleNamespace
) -> None:
    address, token = api
    with grpc.insecure_channel(address) as channel:
        s = Stranger(channel, stranger, token)
        seq = s.ask("GetFrameworkInfo", s.pb.GetFrameworkInfoRequest()).lastEventSeq
        env_id = create_pipeline(s)
        run_once(s, env_id)
        check_events(s, env_id, events_until_stopped(s, env_id, after=seq))

        reply = s.ask("DestroyEnvironment", s.pb.DestroyEnvironmentRequest(id=env_id), 120)
        assert len(reply.cleanupTasksReply.killedTasks) == 3 and not reply.problems
        assert env_id not in s.env_ids()
        err = refused(s.ask, "GetEnvironment", s.pb.GetEnvironmentRequest(id=env_id))
        assert err.code() == grpc.StatusCode.NOT_FOUND and env_id in err.details()


def test_calls_without_the_right_token_are_refused(
    api: tuple[str, str], stranger: SimpleNamespace, state_dir: Path
) -> None:
    address, token = api
    pb = stranger.pb
    with grpc.insecure_channel(address) as channel:
        stub = stranger.rpc.ControlStub(channel)
        request = pb.GetEnvironmentsRequest()
        err = refused(stub.GetEnvironments, request, timeout=30)
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "missing token" in err.details()
        for wrong in (f"Bearer {token}x", "Bearer ", token):
            err = refused(
                stub.GetEnvironments, request, timeout=30, metadata=(("authorization", wrong),)
            )
            assert err.code() == grpc.StatusCode.UNAUTHENTICATED, wrong
            assert token not in err.details()
        stream = stub.Subscribe(
            pb.SubscribeRequest(), timeout=30, metadata=(("authorization", "Bearer nope"),)
        )
        err = refused(list, stream)
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED
    token_file = state_dir / "api-token"
    assert token_file.read_text().strip() == token
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600


def test_api_client_reads_and_reports_errors_by_status(api: tuple[str, str]) -> None:
    from o2ctl.api.client import ApiClient, ApiError

    address, _ = api
    with ApiClient(address) as client:  # the token from the state directory
        info = client.info()
        assert info["state"] == "CONNECTED" and info["version"]
        assert PIPELINE in [t["template"] for t in client.templates()]
        assert isinstance(client.environments(), list) and isinstance(client.tasks(), list)

        expected = {
            "NOT_FOUND": [
                lambda: client.environment("nope"),
                lambda: client.control("nope", "START_ACTIVITY"),
                lambda: client.destroy("nope"),
            ],
            "INVALID_ARGUMENT": [
                lambda: client.create_environment("no-such-workflow"),
                lambda: client.control("nope", "FLY"),
            ],
        }
        for code, calls in expected.items():
            for call in calls:
                with pytest.raises(ApiError) as err:
                    call()
                assert err.value.code == code
        with pytest.raises(ApiError, match="no workflow template 'no-such-workflow'"):
            client.create_environment("no-such-workflow")

        seq = info["last_event_seq"]
        replayed = list(client.events(after=max(0, seq - 3), timeout=1.0))
        assert [e["seq"] for e in replayed][:3] == list(range(max(1, seq - 2), seq + 1))[:3]


def test_api_client_run_numbers_and_a_dry_run_modify_as_the_sdk_says_them(
    api: tuple[str, str],
) -> None:
    """The API client's dicts say what ``Environment.summary()`` and ``modify`` say: no
    current run once stopped (the last one kept), a dry run's refusal and the warnings of
    unknown user vars."""
    from o2ctl.api.client import ApiClient

    address, _ = api
    with ApiClient(address) as client:
        env_id = client.create_environment(PIPELINE, {"nProcessors": "1"})["env_id"]
        try:
            run = client.control(env_id, "START_ACTIVITY")["run_number"]
            assert run and client.environment(env_id)["summary"]["run_number"] == run
            assert client.control(env_id, "STOP_ACTIVITY")["run_number"] is None
            stopped = client.environment(env_id)["summary"]
            assert (stopped["run_number"], stopped["last_run_number"]) == (None, run)
            diff = client.modify_environment(
                env_id, vars={"nProcessors": "500", "nProcesorz": "1"}, dry_run=True
            )
            assert diff["dry_run"] and "nothing changed" in diff.get("refused", ""), diff
            assert any("'nProcesorz'" in w for w in diff.get("warnings", [])), diff
        finally:
            client.destroy(env_id, force=True)
