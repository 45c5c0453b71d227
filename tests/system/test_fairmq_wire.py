"""Wire fidelity: raw FairMQ-transition sessions over gRPC, with no OCC client in between.

What AliECS itself sends to a device with the OCC plugin: FairMQ transition names, the
srcState it believes current, the configuration as key-values at INIT DEVICE. The JSON
session is written out by hand (bare method paths, JSON objects, zero values omitted as
Go's ``omitempty`` does); the protobuf one uses the generated stub of ``occ_pb.Occ``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from test_fairmq_launch import SINK, Launcher, channel, free_port, launching

from occ._gen import occ_pb2 as pb
from occ._gen import occ_pb2_grpc as pb_grpc

SESSION = [
    ("IDLE", "INIT DEVICE", "INITIALIZING DEVICE"),
    ("INITIALIZING DEVICE", "COMPLETE INIT", "INITIALIZED"),
    ("INITIALIZED", "BIND", "BOUND"),
    ("BOUND", "CONNECT", "DEVICE READY"),
    ("DEVICE READY", "INIT TASK", "READY"),
    ("READY", "RUN", "RUNNING"),
    ("RUNNING", "STOP", "READY"),
    ("READY", "RESET TASK", "DEVICE READY"),
    ("DEVICE READY", "RESET DEVICE", "IDLE"),
    ("IDLE", "END", "EXITING"),
]


@pytest.fixture
async def launcher(tmp_path: Path) -> AsyncIterator[Launcher]:
    async with launching(tmp_path) as made:
        yield made


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj).encode()


class JsonOcc:
    """OCClite as the Go executor calls it: bare paths, JSON bodies."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        def unary(path: str) -> Any:
            return channel.unary_unary(
                path, request_serializer=_json_bytes, response_deserializer=json.loads
            )

        self.get_state = unary("GetState")
        self.transition = unary("Transition")
        self.state_stream = unary("StateStream")
        self.event_stream = channel.unary_stream(
            "EventStream", request_serializer=_json_bytes, response_deserializer=json.loads
        )


async def test_raw_json_session(launcher: Launcher) -> None:
    sink = await launcher.start(SINK, "sink", "OCClite")
    async with grpc.aio.insecure_channel(sink.address) as chan:
        occ = JsonOcc(chan)
        assert await occ.get_state({}, timeout=15, wait_for_ready=True) == {
            "state": "IDLE",
            "pid": sink.proc.pid,
        }
        with pytest.raises(grpc.aio.AioRpcError) as mismatch:
            await occ.transition({"srcState": "READY", "transitionEvent": "RUN"}, timeout=5)
        assert (mismatch.value.code(), mismatch.value.details()) == (grpc.StatusCode.CANCELLED, "")
        for event in ("CONFIGURE", "RUN"):  # not a FairMQ transition; not allowed from IDLE
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await occ.transition({"srcState": "IDLE", "transitionEvent": event}, timeout=5)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert event in (refused.value.details() or "")
        with pytest.raises(grpc.aio.AioRpcError) as no_stream:
            await occ.state_stream({}, timeout=5)
        assert no_stream.value.code() == grpc.StatusCode.UNIMPLEMENTED
        assert (await occ.get_state({}, timeout=5))["state"] == "IDLE"

        events = occ.event_stream({})
        config = channel("data2", "bind", "pull", free_port()) | {"severity": "debug"}
        for src, event, expected in SESSION:
            request: dict[str, Any] = {"srcState": src, "transitionEvent": event}
            if event == "INIT DEVICE":
                request["arguments"] = [{"key": k, "value": v} for k, v in config.items()]
            reply = await occ.transition(request, timeout=10)
            assert reply == {"trigger": 0, "state": expected, "transitionEvent": event, "ok": True}
        assert [r async for r in events] == [{"event": {"type": pb.NULL_DEVICE_EVENT}}]
    assert await sink.exit_code() == 0


async def test_raw_protobuf_session(launcher: Launcher) -> None:
    sink = await launcher.start(SINK, "sink", "OCC")
    async with grpc.aio.insecure_channel(sink.address) as chan:
        stub = pb_grpc.OccStub(chan)
        reply = await stub.GetState(pb.GetStateRequest(), timeout=15, wait_for_ready=True)
        assert (reply.state, reply.pid) == ("IDLE", sink.proc.pid)
        with pytest.raises(grpc.aio.AioRpcError) as mismatch:
            await stub.Transition(
                pb.TransitionRequest(srcState="BOUND", transitionEvent="CONNECT"), timeout=5
            )
        assert mismatch.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "state mismatch" in (mismatch.value.details() or "")
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await stub.Transition(
                pb.TransitionRequest(srcState="IDLE", transitionEvent="CONFIGURE"), timeout=5
            )
        assert unknown.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "not a valid transition name" in (unknown.value.details() or "")
        assert (await stub.GetState(pb.GetStateRequest(), timeout=5)).state == "IDLE"

        states = stub.StateStream(pb.StateStreamRequest())
        config = channel("data2", "bind", "pull", free_port())
        args = [pb.ConfigEntry(key=k, value=v) for k, v in config.items()]
        for src, event, expected in SESSION:
            reply = await stub.Transition(
                pb.TransitionRequest(
                    srcState=src,
                    transitionEvent=event,
                    arguments=args if event == "INIT DEVICE" else [],
                ),
                timeout=10,
            )
            assert (reply.state, reply.ok, reply.trigger, reply.transitionEvent) == (
                expected,
                True,
                pb.EXECUTOR,
                event,
            )
        seen = [(r.type, r.state) async for r in states]
    intermediate = [s for t, s in seen if t == pb.STATE_INTERMEDIATE]
    assert intermediate == [
        "BINDING",
        "CONNECTING",
        "INITIALIZING TASK",
        "RESETTING TASK",
        "RESETTING DEVICE",
    ]
    assert seen[-1] == (pb.STATE_STABLE, "EXITING")
    assert [s for _, s in seen if s in ("RUNNING", "READY")] == ["READY", "RUNNING", "READY"]
    assert await sink.exit_code() == 0


async def test_error_reply_over_the_wire(launcher: Launcher) -> None:
    """A bad configuration: the reply says ERROR/DEVICE_ERROR, then the process ends (1)."""
    sink = await launcher.start(SINK, "sink", "OCC")
    bad = channel("data2", "bind", "pull", free_port()) | {"chans.data2.0.type": "bogus"}
    async with grpc.aio.insecure_channel(sink.address) as chan:
        stub = pb_grpc.OccStub(chan)
        await stub.GetState(pb.GetStateRequest(), timeout=15, wait_for_ready=True)
        call = stub.Transition(
            pb.TransitionRequest(
                srcState="IDLE",
                transitionEvent="INIT DEVICE",
                arguments=[pb.ConfigEntry(key=k, value=v) for k, v in bad.items()],
            ),
            timeout=10,
        )
        reply = await call
        assert (reply.state, reply.ok, reply.trigger) == ("ERROR", False, pb.DEVICE_ERROR)
        trailing = dict(await call.trailing_metadata() or ())
        assert "chans.data2.0.type" in str(trailing.get("o2ctl-message"))
    assert await asyncio.wait_for(sink.proc.wait(), 10) == 1
    assert "chans.data2.0.type: 'bogus' is not one of" in sink.output()
