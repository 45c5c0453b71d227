from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StateChangeTrigger(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXECUTOR: _ClassVar[StateChangeTrigger]
    DEVICE_INTENTIONAL: _ClassVar[StateChangeTrigger]
    DEVICE_ERROR: _ClassVar[StateChangeTrigger]

class StateType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STATE_STABLE: _ClassVar[StateType]
    STATE_INTERMEDIATE: _ClassVar[StateType]

class DeviceEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NULL_DEVICE_EVENT: _ClassVar[DeviceEventType]
    END_OF_STREAM: _ClassVar[DeviceEventType]
    BASIC_TASK_TERMINATED: _ClassVar[DeviceEventType]
    TASK_INTERNAL_ERROR: _ClassVar[DeviceEventType]
EXECUTOR: StateChangeTrigger
DEVICE_INTENTIONAL: StateChangeTrigger
DEVICE_ERROR: StateChangeTrigger
STATE_STABLE: StateType
STATE_INTERMEDIATE: StateType
NULL_DEVICE_EVENT: DeviceEventType
END_OF_STREAM: DeviceEventType
BASIC_TASK_TERMINATED: DeviceEventType
TASK_INTERNAL_ERROR: DeviceEventType

class StateStreamRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StateStreamReply(_message.Message):
    __slots__ = ("type", "state")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    type: StateType
    state: str
    def __init__(self, type: _Optional[_Union[StateType, str]] = ..., state: _Optional[str] = ...) -> None: ...

class EventStreamRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeviceEvent(_message.Message):
    __slots__ = ("type",)
    TYPE_FIELD_NUMBER: _ClassVar[int]
    type: DeviceEventType
    def __init__(self, type: _Optional[_Union[DeviceEventType, str]] = ...) -> None: ...

class EventStreamReply(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: DeviceEvent
    def __init__(self, event: _Optional[_Union[DeviceEvent, _Mapping]] = ...) -> None: ...

class GetStateRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetStateReply(_message.Message):
    __slots__ = ("state", "pid")
    STATE_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    state: str
    pid: int
    def __init__(self, state: _Optional[str] = ..., pid: _Optional[int] = ...) -> None: ...

class ConfigEntry(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class TransitionRequest(_message.Message):
    __slots__ = ("srcState", "transitionEvent", "arguments")
    SRCSTATE_FIELD_NUMBER: _ClassVar[int]
    TRANSITIONEVENT_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    srcState: str
    transitionEvent: str
    arguments: _containers.RepeatedCompositeFieldContainer[ConfigEntry]
    def __init__(self, srcState: _Optional[str] = ..., transitionEvent: _Optional[str] = ..., arguments: _Optional[_Iterable[_Union[ConfigEntry, _Mapping]]] = ...) -> None: ...

class TransitionReply(_message.Message):
    __slots__ = ("trigger", "state", "transitionEvent", "ok")
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TRANSITIONEVENT_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    trigger: StateChangeTrigger
    state: str
    transitionEvent: str
    ok: bool
    def __init__(self, trigger: _Optional[_Union[StateChangeTrigger, str]] = ..., state: _Optional[str] = ..., transitionEvent: _Optional[str] = ..., ok: _Optional[bool] = ...) -> None: ...
