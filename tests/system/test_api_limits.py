"""Control API input limits: oversized, empty or malformed fields are INVALID_ARGUMENT.

Real gRPC on 127.0.0.1 against the API actor in the session's Ray. Every refusal names the
field (``Request.field``), its size and the limit; a body that is not protobuf at all is
INVALID_ARGUMENT saying so (not UNKNOWN); a message beyond the server's deliberate receive
limit is refused by gRPC (RESOURCE_EXHAUSTED); the token is still checked first; valid
requests are served as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from o2ctl.api._gen import o2control_pb2 as pb
from o2ctl.api._gen import o2control_pb2_grpc as pb_grpc
from o2ctl.api.limits import MAX_RECEIVE_BYTES

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def api(o2: Any) -> Iterator[tuple[str, str]]:
    from o2ctl.api.serve import start_api, stop_api

    address, token = start_api()
    yield address, token
    stop_api()


@pytest.fixture
def channel(api: tuple[str, str]) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(api[0]) as ch:
        yield ch


def auth(api: tuple[str, str]) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {api[1]}"),)


def refused(call: Any, request: Any, metadata: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        result = call(request, metadata=metadata, timeout=60)
        if not isinstance(result, Message):
            list(result)  # a stream: read it to get its status
    return info.value


Message = pb.GetEnvironmentReply.__mro__[1]  # protobuf's Message base, for the stream check

FOUR_MB = 4 * 1024 * 1024


@pytest.mark.parametrize(
    ("method", "request_", "says"),
    [
        (
            "GetEnvironment",
            pb.GetEnvironmentRequest(id="x" * FOUR_MB),
            f"GetEnvironmentRequest.id is {FOUR_MB} characters long (the limit is 128)",
        ),
        (
            "ControlEnvironment",
            pb.ControlEnvironmentRequest(id="x" * 129),
            "ControlEnvironmentRequest.id is 129 characters long",
        ),
        ("GetTask", pb.GetTaskRequest(taskId="t" * 1000), "GetTaskRequest.taskId is 1000"),
        (
            "GetRoles",
            pb.GetRolesRequest(envId="e", pathSpec="p" * 5000),
            "GetRolesRequest.pathSpec is 5000 characters long (the limit is 1024)",
        ),
        (
            "NewEnvironment",
            pb.NewEnvironmentRequest(workflowTemplate="w" * 2000),
            "NewEnvironmentRequest.workflowTemplate is 2000 characters long",
        ),
        (
            "NewEnvironment",
            pb.NewEnvironmentRequest(workflowTemplate="w", vars={"": "1"}),
            "NewEnvironmentRequest.vars has an empty variable name",
        ),
        (
            "NewEnvironment",
            pb.NewEnvironmentRequest(workflowTemplate="w", vars={"  ": "1"}),
            "NewEnvironmentRequest.vars has an empty variable name",
        ),
        (
            "NewEnvironment",
            pb.NewEnvironmentRequest(workflowTemplate="w", vars={"k" * 300: "1"}),
            "NewEnvironmentRequest.vars name 'kkkk",
        ),
        (
            "NewEnvironment",
            pb.NewEnvironmentRequest(workflowTemplate="w", vars={"big": "v" * (2 << 20)}),
            "NewEnvironmentRequest.vars['big'] is 2097152 characters long (the limit is 1048576)",
        ),
        (
            "NewEnvironment",
            pb.NewEnvironmentRequest(workflowTemplate="w", vars={str(i): "1" for i in range(1001)}),
            "NewEnvironmentRequest.vars has 1001 entries (the limit is 1000)",
        ),
        (
            "CleanupTasks",
            pb.CleanupTasksRequest(taskIds=["t"] * 10_001),
            "CleanupTasksRequest.taskIds has 10001 entries (the limit is 10000)",
        ),
        (
            "CleanupTasks",
            pb.CleanupTasksRequest(taskIds=["t", "u" * 200]),
            "CleanupTasksRequest.taskIds entry is 200 characters long",
        ),
        (
            "Subscribe",
            pb.SubscribeRequest(id="s", envId="e" * 500),
            "SubscribeRequest.envId is 500 characters long (the limit is 128)",
        ),
    ],
)
def test_oversized_or_empty_fields_are_invalid_argument_naming_the_field(
    api: tuple[str, str], channel: grpc.Channel, method: str, request_: Any, says: str
) -> None:
    stub = pb_grpc.ControlStub(channel)
    err = refused(getattr(stub, method), request_, auth(api))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.details()
    assert says in (err.details() or ""), err.details()
    assert len(err.details() or "") < 300


def raw(channel: grpc.Channel, method: str, stream: bool = False) -> Any:
    path = f"/o2control.Control/{method}"
    make = channel.unary_stream if stream else channel.unary_unary
    return make(path, request_serializer=None, response_deserializer=None)


@pytest.mark.parametrize(("method", "stream"), [("GetEnvironment", False), ("Subscribe", True)])
def test_a_malformed_body_is_invalid_argument(
    api: tuple[str, str], channel: grpc.Channel, method: str, stream: bool
) -> None:
    call = raw(channel, method, stream)
    with pytest.raises(grpc.RpcError) as info:
        result = call(b"\xff\xff\xff\xff", metadata=auth(api), timeout=60)
        if stream:
            list(result)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"malformed request body for {method}" in (info.value.details() or "")
    with pytest.raises(grpc.RpcError) as unauthenticated:
        raw(channel, method)(b"\xff\xff", metadata=(("authorization", "Bearer no"),), timeout=60)
    assert unauthenticated.value.code() == grpc.StatusCode.UNAUTHENTICATED, "token first"


def test_beyond_the_receive_limit_grpc_refuses_before_reading(
    api: tuple[str, str], channel: grpc.Channel
) -> None:
    stub = pb_grpc.ControlStub(channel)
    request = pb.GetEnvironmentRequest(id="x" * (MAX_RECEIVE_BYTES + 1))
    err = refused(stub.GetEnvironment, request, auth(api))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, err.details()


def test_valid_requests_are_served_as_before(api: tuple[str, str], channel: grpc.Channel) -> None:
    stub = pb_grpc.ControlStub(channel)
    err = refused(stub.GetEnvironment, pb.GetEnvironmentRequest(id="nope"), auth(api))
    assert err.code() == grpc.StatusCode.NOT_FOUND and "'nope'" in (err.details() or "")
    info = stub.GetFrameworkInfo(pb.GetFrameworkInfoRequest(), metadata=auth(api), timeout=60)
    assert info.state == "CONNECTED"
    bad = pb.NewEnvironmentRequest(workflowTemplate="no-such-workflow", vars={"a:": "1"})
    err = refused(stub.NewEnvironment, bad, auth(api))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
