"""The two wire flavours of OCC: method paths and message codecs.

Both carry the same ``occ_pb`` messages; they differ only in the gRPC method path and in
how a message becomes bytes:

* ``protobuf`` (FairMQ ``-P OCC`` and the OCC library): the usual gRPC method paths
  ``/occ_pb.Occ/<Method>`` and protobuf encoding.
* ``json`` ("OCClite", FairMQ ``-P OCClite``): bare method paths ``GetState``,
  ``Transition``, ``EventStream`` (no service prefix, no leading slash) and each message as
  a JSON object keyed by the proto field names, enums as numbers. StateStream is not
  offered.

What the real components put on the wire (checked in AliceO2Group/Control): the C++ plugin
registers its methods under the literal names ``"GetState"``, ``"Transition"`` and
``"EventStream"``, and the Go executor calls ``Invoke(ctx, "GetState", ...)`` with a JSON
codec, so the HTTP/2 ``:path`` really is the bare name. grpcio carries such paths both as
client and server (tested in ``tests/system/test_occ_wire.py``). Two details:

* The Go side marshals with ``encoding/json`` and ``omitempty``, so zero values (``ok:
  false``, ``trigger: 0``, empty ``arguments``) may be missing. The decoder treats a
  missing field as its default. The encoder writes every field, as the C++ plugin does.
* Go sends ``content-type: application/grpc+json``. grpcio doesn't let a client choose the
  content type, so our JSON calls go out as ``application/grpc``. The C++ server
  doesn't dispatch on the subtype, and our server accepts both.

The JSON codec works from the message descriptors, with a per-class plan built once,
because it runs on every call of the control hot path.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, TypeVar

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from occ._gen import occ_pb2 as pb

Flavour = Literal["protobuf", "json"]
FLAVOURS: tuple[Flavour, ...] = ("protobuf", "json")
SERVICE = "occ_pb.Occ"

M = TypeVar("M", bound=Message)


class WireError(ValueError):
    """A message could not be decoded from its wire form."""


@dataclass(frozen=True)
class Method:
    """One OCC rpc: its name, message classes and whether the reply is a stream."""

    name: str
    request: type[Message]
    reply: type[Message]
    streaming: bool
    flavours: tuple[Flavour, ...] = FLAVOURS


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("GetState", pb.GetStateRequest, pb.GetStateReply, streaming=False),
        Method("Transition", pb.TransitionRequest, pb.TransitionReply, streaming=False),
        Method("EventStream", pb.EventStreamRequest, pb.EventStreamReply, streaming=True),
        Method(
            "StateStream",
            pb.StateStreamRequest,
            pb.StateStreamReply,
            streaming=True,
            flavours=("protobuf",),
        ),
    )
}


def method_path(flavour: Flavour, name: str) -> str:
    """The gRPC method path of rpc ``name`` in ``flavour`` (``/occ_pb.Occ/X`` or ``X``)."""
    if name not in METHODS:
        raise KeyError(f"unknown OCC method {name!r}; known: {', '.join(METHODS)}")
    return f"/{SERVICE}/{name}" if flavour == "protobuf" else name


def paths(flavour: Flavour) -> dict[str, Method]:
    """Every method offered in ``flavour``, keyed by its wire path."""
    return {method_path(flavour, m.name): m for m in METHODS.values() if flavour in m.flavours}


# --- JSON codec -----------------------------------------------------------------------

_Kind = Literal["message", "repeated_message", "repeated_scalar", "string", "int", "bool"]


@dataclass(frozen=True)
class _Field:
    name: str
    kind: _Kind
    message: Descriptor | None


@cache
def _plan(descriptor: Descriptor) -> tuple[_Field, ...]:
    fields = []
    for f in descriptor.fields:
        kind: _Kind
        if f.message_type is not None:
            kind = "repeated_message" if f.is_repeated else "message"
        elif f.is_repeated:
            kind = "repeated_scalar"
        elif f.type == FieldDescriptor.TYPE_STRING:
            kind = "string"
        elif f.type == FieldDescriptor.TYPE_BOOL:
            kind = "bool"
        else:  # every other field of occ.proto is an int32 or an enum
            kind = "int"
        fields.append(_Field(f.name, kind, f.message_type))
    return tuple(fields)


def to_json(msg: Message) -> dict[str, Any]:
    """``msg`` as a JSON-ready dict: proto field names, enums as numbers, every field."""
    out: dict[str, Any] = {}
    for f in _plan(msg.DESCRIPTOR):
        value = getattr(msg, f.name)
        if f.kind == "message":
            out[f.name] = to_json(value)
        elif f.kind == "repeated_message":
            out[f.name] = [to_json(v) for v in value]
        elif f.kind == "repeated_scalar":
            out[f.name] = list(value)
        else:
            out[f.name] = value
    return out


def _check(value: object, kind: _Kind, where: str) -> object:
    ok = {
        "string": isinstance(value, str),
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
    }.get(kind, True)
    if not ok:
        raise WireError(f"{where}: expected a JSON {kind}, got {value!r}")
    return value


def fill_from_json(msg: M, data: object, where: str = "") -> M:
    """Fill ``msg`` from the dict ``data``; missing fields keep their defaults."""
    where = where or msg.DESCRIPTOR.name
    if not isinstance(data, dict):
        raise WireError(f"{where}: expected a JSON object, got {data!r}")
    for f in _plan(msg.DESCRIPTOR):
        value = data.get(f.name)
        if value is None:
            continue
        path = f"{where}.{f.name}"
        if f.kind == "message":
            fill_from_json(getattr(msg, f.name), value, path)
        elif f.kind == "repeated_message":
            if not isinstance(value, list):
                raise WireError(f"{path}: expected a JSON array, got {value!r}")
            target = getattr(msg, f.name)
            for i, item in enumerate(value):
                fill_from_json(target.add(), item, f"{path}[{i}]")
        elif f.kind == "repeated_scalar":
            getattr(msg, f.name).extend(value)
        else:
            try:
                setattr(msg, f.name, _check(value, f.kind, path))
            except ValueError as err:  # e.g. an int out of the int32 range
                raise WireError(f"{path}: {err}") from err
    return msg


def encode_json(msg: Message) -> bytes:
    return json.dumps(to_json(msg), separators=(",", ":")).encode()


def decode_json(cls: type[M], data: bytes) -> M:
    try:
        parsed = json.loads(data) if data else {}
    except ValueError as err:
        raise WireError(f"{cls.DESCRIPTOR.name}: not JSON ({err}): {data[:200]!r}") from err
    return fill_from_json(cls(), parsed)


def serializer(flavour: Flavour) -> Callable[[Message], bytes]:
    """Message → bytes for ``flavour``."""
    if flavour == "json":
        return encode_json
    return _serialize_pb


def _serialize_pb(msg: Message) -> bytes:
    return msg.SerializeToString()


def deserializer(flavour: Flavour, cls: type[M]) -> Callable[[bytes], M]:
    """Bytes → ``cls`` message for ``flavour``."""
    if flavour == "json":
        return lambda data: decode_json(cls, data)
    return cls.FromString
