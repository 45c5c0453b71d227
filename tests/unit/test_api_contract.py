"""The project's Control API protos against AliECS's contract, field by field.

``aliecs_contract`` holds AliECS's contract as data (methods, messages, fields, enums,
reserved numbers); here the project's own generated descriptors (``o2ctl/api/_gen``, from
``o2ctl/api/protos``) are read the same way and compared: every AliECS method path with its
request and reply types and streaming, every AliECS message with every field at the same
number, type, label and named type, every enum value at the same number. What o2ctl adds
(fields, enum values, the ``o2ctl.O2Ctl`` service) must not take a number AliECS uses or
reserves, so a client built from AliECS's files never misreads it.
"""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor, FileDescriptor

from o2ctl.api._gen import common_pb2, events_pb2, o2control_pb2, o2ctl_pb2
from tests.unit import aliecs_contract as aliecs

_TYPES = {v: k[5:].lower() for k, v in vars(FieldDescriptor).items() if k.startswith("TYPE_")}
FILES: tuple[FileDescriptor, ...] = tuple(
    m.DESCRIPTOR for m in (common_pb2, events_pb2, o2control_pb2, o2ctl_pb2)
)


def _label(f: FieldDescriptor) -> str:
    if f.is_repeated:
        return "repeated"
    synthetic = f.containing_oneof is not None and f.containing_oneof.name.startswith("_")
    return "optional" if synthetic else ""


def _field(f: FieldDescriptor) -> tuple[int, str, str, str]:
    named = f.message_type or f.enum_type
    return (f.number, _TYPES[f.type], _label(f), named.full_name if named else "")


def _ours() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    services: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    enums: dict[str, Any] = {}

    def walk(m: Descriptor) -> None:
        messages[m.full_name] = {f.name: _field(f) for f in m.fields}
        for n in m.nested_types:
            walk(n)
        for e in m.enum_types:
            enums[e.full_name] = {v.name: v.number for v in e.values}

    for fd in FILES:
        for m in fd.message_types_by_name.values():
            walk(m)
        for e in fd.enum_types_by_name.values():
            enums[e.full_name] = {v.name: v.number for v in e.values}
        for s in fd.services_by_name.values():
            services[s.full_name] = {
                m.name: (m.input_type.full_name, m.output_type.full_name, m.server_streaming)
                for m in s.methods
            }
    return services, messages, enums


SERVICES, MESSAGES, ENUMS = _ours()


@pytest.mark.parametrize("service", sorted(aliecs.SERVICES))
def test_every_method_of_aliecs_has_its_path_and_types(service: str) -> None:
    ours = SERVICES.get(service)
    assert ours is not None, f"no service {service}"
    for method, signature in aliecs.SERVICES[service].items():
        assert ours.get(method) == signature, f"/{service}/{method}"


@pytest.mark.parametrize("message", sorted(aliecs.MESSAGES))
def test_every_field_of_aliecs_has_its_number_and_type(message: str) -> None:
    ours = MESSAGES.get(message)
    assert ours is not None, f"no message {message}"
    theirs = aliecs.MESSAGES[message]
    for name, spec in theirs.items():
        assert ours.get(name) == spec, f"{message}.{name}: ours {ours.get(name)}, AliECS {spec}"
    taken = {spec[0] for spec in theirs.values()}
    reserved = aliecs.RESERVED.get(message, [])
    for name, spec in ours.items():
        if name in theirs:
            continue
        number = spec[0]
        assert number not in taken, f"{message}.{name} reuses AliECS's field number {number}"
        assert not any(lo <= number <= hi for lo, hi in reserved), (
            f"{message}.{name} takes {number}, which AliECS reserves"
        )


@pytest.mark.parametrize("enum", sorted(aliecs.ENUMS))
def test_every_enum_value_of_aliecs_has_its_number(enum: str) -> None:
    ours = ENUMS.get(enum)
    assert ours is not None, f"no enum {enum}"
    for name, number in aliecs.ENUMS[enum].items():
        assert ours.get(name) == number, f"{enum}.{name}"
    taken = set(aliecs.ENUMS[enum].values())
    extra = {n: v for n, v in ours.items() if n not in aliecs.ENUMS[enum]}
    assert not taken & set(extra.values()), f"{enum}: o2ctl's values {extra} reuse AliECS's"


def test_what_o2ctl_adds_is_a_service_of_its_own() -> None:
    assert set(SERVICES) == {*aliecs.SERVICES, "o2ctl.O2Ctl"}
    assert set(SERVICES["o2ctl.O2Ctl"]) == {"GetNodes", "AssignNode", "ModifyEnvironment"}
    assert not {m for m in MESSAGES if m.startswith("o2ctl.")} & set(aliecs.MESSAGES)


def test_the_event_stream_keeps_its_additions_clear_of_aliecs_numbers() -> None:
    proto = descriptor_pb2.DescriptorProto()
    events_pb2.Event.DESCRIPTOR.CopyToProto(proto)
    ranges = [(r.start, r.end - 1) for r in proto.reserved_range]
    assert ranges == aliecs.RESERVED["events.Event"]
    ours = {f.name: f.number for f in events_pb2.Event.DESCRIPTOR.fields}
    assert {ours["seq"], ours["eventsLost"], ours["nodeEvent"]} == {1001, 1002, 1003}
