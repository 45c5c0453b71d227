"""The OCC endpoint on real gRPC (127.0.0.1): paths, bytes, refusal styles, stream ends.

The served object is the real OCC library state machine (``OccMachine``); the client side
is raw grpcio, so what is checked is exactly what goes over the wire.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from occ import endpoint, wire
from occ._gen import occ_pb2 as pb
from occ.endpoint import MismatchStyle
from occ.library_machine import Handlers, OccMachine

Served = tuple[Any, grpc.aio.Channel, wire.Flavour]


def identity(data: bytes) -> bytes:
    return data


@pytest.fixture
async def served(request: pytest.FixtureRequest) -> AsyncIterator[Served]:
    """The OCC library machine served as ``request.param`` = (flavour, mismatch style)."""
    flavour, style = request.param
    machine = OccMachine(Handlers(), log=io.StringIO())
    server = await endpoint.serve(machine, 0, flavour, mismatch_style=style)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{endpoint.bound_port(server)}")
    yield server, channel, flavour
    await channel.close()
    await endpoint.shutdown(server, grace=0.5)


async def test_grpcio_carries_bare_method_paths() -> None:
    seen: list[str] = []

    class Recorder(grpc.GenericRpcHandler):  # type: ignore[misc]
        def service(self, details: Any) -> Any:
            seen.append(details.method)

            async def answer(req: bytes, ctx: Any) -> bytes:
                return b'{"state":"IDLE","pid":1}'

            return grpc.unary_unary_rpc_method_handler(answer, identity, identity)

    server = grpc.aio.server()
    server.add_generic_rpc_handlers((Recorder(),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_unary(
                "GetState", request_serializer=identity, response_deserializer=identity
            )
            assert await call(b"{}", timeout=5) == b'{"state":"IDLE","pid":1}'
    finally:
        await server.stop(None)
    assert seen == ["GetState"]


@pytest.mark.parametrize("served", [("json", None)], indirect=True)
async def test_json_flavour_speaks_the_reference_bytes(
    served: Served,
) -> None:
    _, channel, _ = served
    transition = channel.unary_unary(
        "Transition", request_serializer=identity, response_deserializer=identity
    )
    request = {
        "srcState": "STANDBY",
        "transitionEvent": "CONFIGURE",
        "arguments": [{"key": "a", "value": "b"}],
    }
    reply = json.loads(await transition(json.dumps(request).encode(), timeout=5))
    assert reply == {
        "trigger": 0,
        "state": "CONFIGURED",
        "transitionEvent": "CONFIGURE",
        "ok": True,
    }
    # What Go's encoding/json sends with omitempty: no arguments at all.
    reply = json.loads(
        await transition(b'{"srcState":"CONFIGURED","transitionEvent":"START"}', timeout=5)
    )
    assert reply["state"] == "RUNNING" and reply["ok"] is True
    get_state = channel.unary_unary(
        "GetState", request_serializer=identity, response_deserializer=identity
    )
    state = json.loads(await get_state(b"{}", timeout=5))
    assert state["state"] == "RUNNING" and state["pid"] > 0


@pytest.mark.parametrize(
    ("served", "offered", "refused"),
    [
        (("json", None), "GetState", ["/occ_pb.Occ/GetState", "StateStream"]),
        (("protobuf", None), "/occ_pb.Occ/GetState", ["GetState", "/occ_pb.Occ/Fly"]),
    ],
    indirect=["served"],
)
async def test_each_flavour_answers_only_its_own_paths(
    served: Served, offered: str, refused: list[str]
) -> None:
    _, channel, flavour = served
    encode, decode = wire.serializer(flavour), wire.deserializer(flavour, pb.GetStateReply)
    assert (
        await channel.unary_unary(offered, request_serializer=encode, response_deserializer=decode)(
            pb.GetStateRequest(), timeout=5
        )
    ).state == "STANDBY"
    for path in refused:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await channel.unary_unary(
                path, request_serializer=encode, response_deserializer=decode
            )(pb.GetStateRequest(), timeout=5)
        assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED


@pytest.mark.parametrize(
    ("served", "code", "details"),
    [
        (("protobuf", MismatchStyle.OK_FALSE), None, None),
        (
            ("protobuf", None),
            grpc.StatusCode.INVALID_ARGUMENT,
            "state mismatch: source: RUNNING current: STANDBY",
        ),
        (("json", None), grpc.StatusCode.CANCELLED, ""),
        (
            ("json", MismatchStyle.INVALID_ARGUMENT),
            grpc.StatusCode.INVALID_ARGUMENT,
            "state mismatch",
        ),
    ],
    indirect=["served"],
)
async def test_state_mismatch_styles(
    served: Served, code: grpc.StatusCode | None, details: str | None
) -> None:
    _, channel, flavour = served
    transition = channel.unary_unary(
        wire.method_path(flavour, "Transition"),
        request_serializer=wire.serializer(flavour),
        response_deserializer=wire.deserializer(flavour, pb.TransitionReply),
    )
    request = pb.TransitionRequest(srcState="RUNNING", transitionEvent="STOP")
    if code is None:
        reply = await transition(request, timeout=5)
        assert (reply.ok, reply.state) == (False, "STANDBY")
    else:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await transition(request, timeout=5)
        assert caught.value.code() == code
        assert details is not None and details in (caught.value.details() or "")
        if details == "":
            assert caught.value.details() == ""


async def test_streams_start_with_current_state_and_end_cleanly_at_shutdown() -> None:
    def configure(arguments: dict[str, str]) -> None:
        raise RuntimeError("broken on purpose")

    machine = OccMachine(Handlers(configure=configure), log=io.StringIO())
    server = await endpoint.serve(machine, 0, "protobuf", mismatch_style=MismatchStyle.OK_FALSE)
    encode = wire.serializer("protobuf")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{endpoint.bound_port(server)}") as channel:
        states = channel.unary_stream(
            "/occ_pb.Occ/StateStream",
            request_serializer=encode,
            response_deserializer=wire.deserializer("protobuf", pb.StateStreamReply),
        )(pb.StateStreamRequest())
        events = channel.unary_stream(
            "/occ_pb.Occ/EventStream",
            request_serializer=encode,
            response_deserializer=wire.deserializer("protobuf", pb.EventStreamReply),
        )(pb.EventStreamRequest())
        first = await asyncio.wait_for(states.read(), 5)
        assert (first.type, first.state) == (pb.STATE_STABLE, "STANDBY")
        transition = channel.unary_unary(
            "/occ_pb.Occ/Transition",
            request_serializer=encode,
            response_deserializer=wire.deserializer("protobuf", pb.TransitionReply),
        )
        call = transition(pb.TransitionRequest(srcState="STANDBY", transitionEvent="CONFIGURE"))
        reply = await asyncio.wait_for(call, 5)
        assert (reply.ok, reply.state, reply.trigger) == (False, "ERROR", pb.DEVICE_ERROR)
        trailing = dict(await call.trailing_metadata())
        assert "broken on purpose" in trailing[endpoint.MESSAGE_KEY]
        event = await asyncio.wait_for(events.read(), 5)
        assert event.event.type == pb.TASK_INTERNAL_ERROR
        assert (await asyncio.wait_for(states.read(), 5)).state == "ERROR"
        await endpoint.shutdown(server, grace=2.0)
        for stream in (states, events):
            rest = await asyncio.wait_for(_drain(stream), 5)
            assert rest == [] and await stream.code() == grpc.StatusCode.OK


async def _drain(stream: Any) -> list[Any]:
    """What is left on a stream read with ``read()`` (which can't be mixed with iterating)."""
    rest = []
    while (item := await stream.read()) is not grpc.aio.EOF:
        rest.append(item)
    return rest
