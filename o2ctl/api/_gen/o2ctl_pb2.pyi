from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetNodesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PilotInfo(_message.Message):
    __slots__ = ("pid", "state", "since", "jobs", "restarts")
    PID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    JOBS_FIELD_NUMBER: _ClassVar[int]
    RESTARTS_FIELD_NUMBER: _ClassVar[int]
    pid: int
    state: str
    since: float
    jobs: int
    restarts: int
    def __init__(self, pid: _Optional[int] = ..., state: _Optional[str] = ..., since: _Optional[float] = ..., jobs: _Optional[int] = ..., restarts: _Optional[int] = ...) -> None: ...

class NodeInfo(_message.Message):
    __slots__ = ("machineId", "nodeId", "ip", "nodeClass", "target", "alive", "labels", "tasks", "cpu", "memory", "pilot")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MACHINEID_FIELD_NUMBER: _ClassVar[int]
    NODEID_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    NODECLASS_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    ALIVE_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    CPU_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    PILOT_FIELD_NUMBER: _ClassVar[int]
    machineId: str
    nodeId: str
    ip: str
    nodeClass: str
    target: str
    alive: bool
    labels: _containers.ScalarMap[str, str]
    tasks: int
    cpu: float
    memory: float
    pilot: PilotInfo
    def __init__(self, machineId: _Optional[str] = ..., nodeId: _Optional[str] = ..., ip: _Optional[str] = ..., nodeClass: _Optional[str] = ..., target: _Optional[str] = ..., alive: _Optional[bool] = ..., labels: _Optional[_Mapping[str, str]] = ..., tasks: _Optional[int] = ..., cpu: _Optional[float] = ..., memory: _Optional[float] = ..., pilot: _Optional[_Union[PilotInfo, _Mapping]] = ...) -> None: ...

class GetNodesReply(_message.Message):
    __slots__ = ("nodes",)
    NODES_FIELD_NUMBER: _ClassVar[int]
    nodes: _containers.RepeatedCompositeFieldContainer[NodeInfo]
    def __init__(self, nodes: _Optional[_Iterable[_Union[NodeInfo, _Mapping]]] = ...) -> None: ...

class AssignNodeRequest(_message.Message):
    __slots__ = ("machineId", "mode", "graceSeconds")
    MACHINEID_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    GRACESECONDS_FIELD_NUMBER: _ClassVar[int]
    machineId: str
    mode: str
    graceSeconds: float
    def __init__(self, machineId: _Optional[str] = ..., mode: _Optional[str] = ..., graceSeconds: _Optional[float] = ...) -> None: ...

class AssignNodeReply(_message.Message):
    __slots__ = ("machineId", "nodeClass", "pilot", "tookSeconds", "how")
    MACHINEID_FIELD_NUMBER: _ClassVar[int]
    NODECLASS_FIELD_NUMBER: _ClassVar[int]
    PILOT_FIELD_NUMBER: _ClassVar[int]
    TOOKSECONDS_FIELD_NUMBER: _ClassVar[int]
    HOW_FIELD_NUMBER: _ClassVar[int]
    machineId: str
    nodeClass: str
    pilot: PilotInfo
    tookSeconds: float
    how: str
    def __init__(self, machineId: _Optional[str] = ..., nodeClass: _Optional[str] = ..., pilot: _Optional[_Union[PilotInfo, _Mapping]] = ..., tookSeconds: _Optional[float] = ..., how: _Optional[str] = ...) -> None: ...

class ModifyEnvironmentRequest(_message.Message):
    __slots__ = ("envId", "vars", "exclude", "include", "kill", "dryRun", "restartRun")
    class VarsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ENVID_FIELD_NUMBER: _ClassVar[int]
    VARS_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_FIELD_NUMBER: _ClassVar[int]
    KILL_FIELD_NUMBER: _ClassVar[int]
    DRYRUN_FIELD_NUMBER: _ClassVar[int]
    RESTARTRUN_FIELD_NUMBER: _ClassVar[int]
    envId: str
    vars: _containers.ScalarMap[str, str]
    exclude: _containers.RepeatedScalarFieldContainer[str]
    include: _containers.RepeatedScalarFieldContainer[str]
    kill: bool
    dryRun: bool
    restartRun: bool
    def __init__(self, envId: _Optional[str] = ..., vars: _Optional[_Mapping[str, str]] = ..., exclude: _Optional[_Iterable[str]] = ..., include: _Optional[_Iterable[str]] = ..., kill: _Optional[bool] = ..., dryRun: _Optional[bool] = ..., restartRun: _Optional[bool] = ...) -> None: ...

class ChangedTask(_message.Message):
    __slots__ = ("path", "keys")
    PATH_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    path: str
    keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, path: _Optional[str] = ..., keys: _Optional[_Iterable[str]] = ...) -> None: ...

class ModifyEnvironmentReply(_message.Message):
    __slots__ = ("added", "removed", "changed", "restarted", "untouched", "tookSeconds", "blockedWhileRunning", "dryRun", "runNumber", "refused", "warnings")
    class RestartedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ADDED_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    RESTARTED_FIELD_NUMBER: _ClassVar[int]
    UNTOUCHED_FIELD_NUMBER: _ClassVar[int]
    TOOKSECONDS_FIELD_NUMBER: _ClassVar[int]
    BLOCKEDWHILERUNNING_FIELD_NUMBER: _ClassVar[int]
    DRYRUN_FIELD_NUMBER: _ClassVar[int]
    RUNNUMBER_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    added: _containers.RepeatedScalarFieldContainer[str]
    removed: _containers.RepeatedScalarFieldContainer[str]
    changed: _containers.RepeatedCompositeFieldContainer[ChangedTask]
    restarted: _containers.ScalarMap[str, str]
    untouched: int
    tookSeconds: float
    blockedWhileRunning: _containers.RepeatedScalarFieldContainer[str]
    dryRun: bool
    runNumber: int
    refused: str
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, added: _Optional[_Iterable[str]] = ..., removed: _Optional[_Iterable[str]] = ..., changed: _Optional[_Iterable[_Union[ChangedTask, _Mapping]]] = ..., restarted: _Optional[_Mapping[str, str]] = ..., untouched: _Optional[int] = ..., tookSeconds: _Optional[float] = ..., blockedWhileRunning: _Optional[_Iterable[str]] = ..., dryRun: _Optional[bool] = ..., runNumber: _Optional[int] = ..., refused: _Optional[str] = ..., warnings: _Optional[_Iterable[str]] = ...) -> None: ...
