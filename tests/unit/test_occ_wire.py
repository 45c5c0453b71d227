"""The JSON ("OCClite") codec against the protobuf messages, field for field."""

from __future__ import annotations

import json

import pytest
from google.protobuf.message import Message
from hypothesis import given
from hypothesis import strategies as st

from occ import wire
from occ._gen import occ_pb2 as pb

texts = st.text(max_size=20)
int32s = st.integers(min_value=-(2**31), max_value=2**31 - 1)
entries = st.builds(pb.ConfigEntry, key=texts, value=texts)

MESSAGES: dict[str, st.SearchStrategy[Message]] = {
    "GetStateRequest": st.just(pb.GetStateRequest()),
    "GetStateReply": st.builds(pb.GetStateReply, state=texts, pid=int32s),
    "TransitionRequest": st.builds(
        pb.TransitionRequest,
        srcState=texts,
        transitionEvent=texts,
        arguments=st.lists(entries, max_size=5),
    ),
    "TransitionReply": st.builds(
        pb.TransitionReply,
        trigger=st.sampled_from([0, 1, 2]),
        state=texts,
        transitionEvent=texts,
        ok=st.booleans(),
    ),
    "EventStreamRequest": st.just(pb.EventStreamRequest()),
    "EventStreamReply": st.builds(
        pb.EventStreamReply, event=st.builds(pb.DeviceEvent, type=st.sampled_from([0, 1, 2, 3]))
    ),
    "StateStreamRequest": st.just(pb.StateStreamRequest()),
    "StateStreamReply": st.builds(pb.StateStreamReply, type=st.sampled_from([0, 1]), state=texts),
    "ConfigEntry": entries,
    "DeviceEvent": st.builds(pb.DeviceEvent, type=st.sampled_from([0, 1, 2, 3])),
}


def test_every_message_of_the_proto_has_a_strategy() -> None:
    assert set(MESSAGES) == set(pb.DESCRIPTOR.message_types_by_name)


@pytest.mark.parametrize("name", sorted(MESSAGES))
@given(data=st.data())
def test_json_round_trip_and_protobuf_equivalence(name: str, data: st.DataObject) -> None:
    msg = data.draw(MESSAGES[name])
    cls = type(msg)
    via_json = wire.decode_json(cls, wire.encode_json(msg))
    via_pb = cls.FromString(msg.SerializeToString())
    assert via_json == msg == via_pb
    # Every field appears under its proto name, the JSON holds plain numbers for enums.
    encoded = json.loads(wire.encode_json(msg))
    assert set(encoded) == {f.name for f in cls.DESCRIPTOR.fields}


def test_transition_messages_look_like_the_reference() -> None:
    request = pb.TransitionRequest(
        srcState="STANDBY",
        transitionEvent="CONFIGURE",
        arguments=[pb.ConfigEntry(key="chans.data.numSockets", value="1")],
    )
    assert json.loads(wire.encode_json(request)) == {
        "srcState": "STANDBY",
        "transitionEvent": "CONFIGURE",
        "arguments": [{"key": "chans.data.numSockets", "value": "1"}],
    }
    reply = pb.TransitionReply(
        trigger=pb.EXECUTOR, state="CONFIGURED", transitionEvent="CONFIGURE", ok=True
    )
    assert json.loads(wire.encode_json(reply)) == {
        "trigger": 0,
        "state": "CONFIGURED",
        "transitionEvent": "CONFIGURE",
        "ok": True,
    }
    event = pb.EventStreamReply(event=pb.DeviceEvent(type=pb.END_OF_STREAM))
    assert json.loads(wire.encode_json(event)) == {"event": {"type": 1}}


def test_missing_fields_take_their_defaults_as_go_omitempty_sends_them() -> None:
    reply = wire.decode_json(pb.TransitionReply, b'{"state":"READY","transitionEvent":"INIT TASK"}')
    assert (reply.trigger, reply.ok, reply.state) == (pb.EXECUTOR, False, "READY")
    assert wire.decode_json(pb.TransitionRequest, b"{}") == pb.TransitionRequest()
    assert wire.decode_json(pb.GetStateRequest, b"") == pb.GetStateRequest()


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        (b"[1]", "TransitionRequest: expected a JSON object"),
        (b'{"srcState": 3}', "TransitionRequest.srcState: expected a JSON string"),
        (b'{"arguments": {"a": "b"}}', "TransitionRequest.arguments: expected a JSON array"),
        (b'{"arguments": [{"key": 1}]}', "TransitionRequest.arguments[0].key"),
        (b"{not json", "TransitionRequest: not JSON"),
    ],
)
def test_bad_json_is_refused_naming_the_field(payload: bytes, where: str) -> None:
    with pytest.raises(wire.WireError, match=where.replace("[", r"\[").replace("]", r"\]")):
        wire.decode_json(pb.TransitionRequest, payload)


def test_bool_and_int_are_not_confused() -> None:
    with pytest.raises(wire.WireError, match="ok: expected a JSON bool"):
        wire.decode_json(pb.TransitionReply, b'{"ok": 1}')
    with pytest.raises(wire.WireError, match="pid: expected a JSON int"):
        wire.decode_json(pb.GetStateReply, b'{"pid": true}')


def test_method_paths_per_flavour() -> None:
    assert wire.method_path("protobuf", "GetState") == "/occ_pb.Occ/GetState"
    assert wire.method_path("json", "Transition") == "Transition"
    assert set(wire.paths("json")) == {"GetState", "Transition", "EventStream"}
    assert set(wire.paths("protobuf")) == {
        "/occ_pb.Occ/GetState",
        "/occ_pb.Occ/Transition",
        "/occ_pb.Occ/EventStream",
        "/occ_pb.Occ/StateStream",
    }
    with pytest.raises(KeyError, match="unknown OCC method 'Fly'"):
        wire.method_path("json", "Fly")
