from o2ctl.api._gen import common_pb2 as _common_pb2
from o2ctl.api._gen import events_pb2 as _events_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Empty(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ("id", "envId", "after", "everything")
    ID_FIELD_NUMBER: _ClassVar[int]
    ENVID_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    EVERYTHING_FIELD_NUMBER: _ClassVar[int]
    id: str
    envId: str
    after: int
    everything: bool
    def __init__(self, id: _Optional[str] = ..., envId: _Optional[str] = ..., after: _Optional[int] = ..., everything: _Optional[bool] = ...) -> None: ...

class GetFrameworkInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Version(_message.Message):
    __slots__ = ("major", "minor", "patch", "build", "productName", "versionStr")
    MAJOR_FIELD_NUMBER: _ClassVar[int]
    MINOR_FIELD_NUMBER: _ClassVar[int]
    PATCH_FIELD_NUMBER: _ClassVar[int]
    BUILD_FIELD_NUMBER: _ClassVar[int]
    PRODUCTNAME_FIELD_NUMBER: _ClassVar[int]
    VERSIONSTR_FIELD_NUMBER: _ClassVar[int]
    major: int
    minor: int
    patch: int
    build: str
    productName: str
    versionStr: str
    def __init__(self, major: _Optional[int] = ..., minor: _Optional[int] = ..., patch: _Optional[int] = ..., build: _Optional[str] = ..., productName: _Optional[str] = ..., versionStr: _Optional[str] = ...) -> None: ...

class GetFrameworkInfoReply(_message.Message):
    __slots__ = ("frameworkId", "environmentsCount", "tasksCount", "state", "hostsCount", "instanceName", "version", "configurationEndpoint", "detectorsInInstance", "activeDetectors", "availableDetectors", "timestamp", "lastEventSeq", "lastRunNumber", "idleTasksCount", "detectors")
    class DetectorsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    FRAMEWORKID_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENTSCOUNT_FIELD_NUMBER: _ClassVar[int]
    TASKSCOUNT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    HOSTSCOUNT_FIELD_NUMBER: _ClassVar[int]
    INSTANCENAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CONFIGURATIONENDPOINT_FIELD_NUMBER: _ClassVar[int]
    DETECTORSININSTANCE_FIELD_NUMBER: _ClassVar[int]
    ACTIVEDETECTORS_FIELD_NUMBER: _ClassVar[int]
    AVAILABLEDETECTORS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    LASTEVENTSEQ_FIELD_NUMBER: _ClassVar[int]
    LASTRUNNUMBER_FIELD_NUMBER: _ClassVar[int]
    IDLETASKSCOUNT_FIELD_NUMBER: _ClassVar[int]
    DETECTORS_FIELD_NUMBER: _ClassVar[int]
    frameworkId: str
    environmentsCount: int
    tasksCount: int
    state: str
    hostsCount: int
    instanceName: str
    version: Version
    configurationEndpoint: str
    detectorsInInstance: _containers.RepeatedScalarFieldContainer[str]
    activeDetectors: _containers.RepeatedScalarFieldContainer[str]
    availableDetectors: _containers.RepeatedScalarFieldContainer[str]
    timestamp: int
    lastEventSeq: int
    lastRunNumber: int
    idleTasksCount: int
    detectors: _containers.ScalarMap[str, str]
    def __init__(self, frameworkId: _Optional[str] = ..., environmentsCount: _Optional[int] = ..., tasksCount: _Optional[int] = ..., state: _Optional[str] = ..., hostsCount: _Optional[int] = ..., instanceName: _Optional[str] = ..., version: _Optional[_Union[Version, _Mapping]] = ..., configurationEndpoint: _Optional[str] = ..., detectorsInInstance: _Optional[_Iterable[str]] = ..., activeDetectors: _Optional[_Iterable[str]] = ..., availableDetectors: _Optional[_Iterable[str]] = ..., timestamp: _Optional[int] = ..., lastEventSeq: _Optional[int] = ..., lastRunNumber: _Optional[int] = ..., idleTasksCount: _Optional[int] = ..., detectors: _Optional[_Mapping[str, str]] = ...) -> None: ...

class TeardownRequest(_message.Message):
    __slots__ = ("reason",)
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class TeardownReply(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetEnvironmentsRequest(_message.Message):
    __slots__ = ("showAll", "showTaskInfos", "showDetailedIntegratedServices")
    SHOWALL_FIELD_NUMBER: _ClassVar[int]
    SHOWTASKINFOS_FIELD_NUMBER: _ClassVar[int]
    SHOWDETAILEDINTEGRATEDSERVICES_FIELD_NUMBER: _ClassVar[int]
    showAll: bool
    showTaskInfos: bool
    showDetailedIntegratedServices: bool
    def __init__(self, showAll: _Optional[bool] = ..., showTaskInfos: _Optional[bool] = ..., showDetailedIntegratedServices: _Optional[bool] = ...) -> None: ...

class GetEnvironmentsReply(_message.Message):
    __slots__ = ("frameworkId", "environments", "timestamp")
    FRAMEWORKID_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENTS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    frameworkId: str
    environments: _containers.RepeatedCompositeFieldContainer[EnvironmentInfo]
    timestamp: int
    def __init__(self, frameworkId: _Optional[str] = ..., environments: _Optional[_Iterable[_Union[EnvironmentInfo, _Mapping]]] = ..., timestamp: _Optional[int] = ...) -> None: ...

class EnvironmentInfo(_message.Message):
    __slots__ = ("id", "createdWhen", "state", "tasks", "rootRole", "currentRunNumber", "defaults", "vars", "userVars", "numberOfFlps", "includedDetectors", "description", "numberOfHosts", "integratedServicesData", "numberOfTasks", "currentTransition", "numberOfActiveTasks", "numberOfInactiveTasks", "workflowTemplate", "rootState", "lastError", "allowedEvents", "lastRunNumber")
    class DefaultsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class VarsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class UserVarsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class IntegratedServicesDataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    CREATEDWHEN_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    ROOTROLE_FIELD_NUMBER: _ClassVar[int]
    CURRENTRUNNUMBER_FIELD_NUMBER: _ClassVar[int]
    DEFAULTS_FIELD_NUMBER: _ClassVar[int]
    VARS_FIELD_NUMBER: _ClassVar[int]
    USERVARS_FIELD_NUMBER: _ClassVar[int]
    NUMBEROFFLPS_FIELD_NUMBER: _ClassVar[int]
    INCLUDEDDETECTORS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    NUMBEROFHOSTS_FIELD_NUMBER: _ClassVar[int]
    INTEGRATEDSERVICESDATA_FIELD_NUMBER: _ClassVar[int]
    NUMBEROFTASKS_FIELD_NUMBER: _ClassVar[int]
    CURRENTTRANSITION_FIELD_NUMBER: _ClassVar[int]
    NUMBEROFACTIVETASKS_FIELD_NUMBER: _ClassVar[int]
    NUMBEROFINACTIVETASKS_FIELD_NUMBER: _ClassVar[int]
    WORKFLOWTEMPLATE_FIELD_NUMBER: _ClassVar[int]
    ROOTSTATE_FIELD_NUMBER: _ClassVar[int]
    LASTERROR_FIELD_NUMBER: _ClassVar[int]
    ALLOWEDEVENTS_FIELD_NUMBER: _ClassVar[int]
    LASTRUNNUMBER_FIELD_NUMBER: _ClassVar[int]
    id: str
    createdWhen: int
    state: str
    tasks: _containers.RepeatedCompositeFieldContainer[ShortTaskInfo]
    rootRole: str
    currentRunNumber: int
    defaults: _containers.ScalarMap[str, str]
    vars: _containers.ScalarMap[str, str]
    userVars: _containers.ScalarMap[str, str]
    numberOfFlps: int
    includedDetectors: _containers.RepeatedScalarFieldContainer[str]
    description: str
    numberOfHosts: int
    integratedServicesData: _containers.ScalarMap[str, str]
    numberOfTasks: int
    currentTransition: str
    numberOfActiveTasks: int
    numberOfInactiveTasks: int
    workflowTemplate: str
    rootState: str
    lastError: str
    allowedEvents: _containers.RepeatedScalarFieldContainer[str]
    lastRunNumber: int
    def __init__(self, id: _Optional[str] = ..., createdWhen: _Optional[int] = ..., state: _Optional[str] = ..., tasks: _Optional[_Iterable[_Union[ShortTaskInfo, _Mapping]]] = ..., rootRole: _Optional[str] = ..., currentRunNumber: _Optional[int] = ..., defaults: _Optional[_Mapping[str, str]] = ..., vars: _Optional[_Mapping[str, str]] = ..., userVars: _Optional[_Mapping[str, str]] = ..., numberOfFlps: _Optional[int] = ..., includedDetectors: _Optional[_Iterable[str]] = ..., description: _Optional[str] = ..., numberOfHosts: _Optional[int] = ..., integratedServicesData: _Optional[_Mapping[str, str]] = ..., numberOfTasks: _Optional[int] = ..., currentTransition: _Optional[str] = ..., numberOfActiveTasks: _Optional[int] = ..., numberOfInactiveTasks: _Optional[int] = ..., workflowTemplate: _Optional[str] = ..., rootState: _Optional[str] = ..., lastError: _Optional[str] = ..., allowedEvents: _Optional[_Iterable[str]] = ..., lastRunNumber: _Optional[int] = ...) -> None: ...

class NewEnvironmentRequest(_message.Message):
    __slots__ = ("workflowTemplate", "vars", "public", "autoTransition", "requestUser", "deployOnly")
    class VarsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    WORKFLOWTEMPLATE_FIELD_NUMBER: _ClassVar[int]
    VARS_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_FIELD_NUMBER: _ClassVar[int]
    AUTOTRANSITION_FIELD_NUMBER: _ClassVar[int]
    REQUESTUSER_FIELD_NUMBER: _ClassVar[int]
    DEPLOYONLY_FIELD_NUMBER: _ClassVar[int]
    workflowTemplate: str
    vars: _containers.ScalarMap[str, str]
    public: bool
    autoTransition: bool
    requestUser: _common_pb2.User
    deployOnly: bool
    def __init__(self, workflowTemplate: _Optional[str] = ..., vars: _Optional[_Mapping[str, str]] = ..., public: _Optional[bool] = ..., autoTransition: _Optional[bool] = ..., requestUser: _Optional[_Union[_common_pb2.User, _Mapping]] = ..., deployOnly: _Optional[bool] = ...) -> None: ...

class NewEnvironmentReply(_message.Message):
    __slots__ = ("environment", "public", "timestamp")
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    environment: EnvironmentInfo
    public: bool
    timestamp: int
    def __init__(self, environment: _Optional[_Union[EnvironmentInfo, _Mapping]] = ..., public: _Optional[bool] = ..., timestamp: _Optional[int] = ...) -> None: ...

class NewAutoEnvironmentRequest(_message.Message):
    __slots__ = ("workflowTemplate", "vars", "id", "requestUser")
    class VarsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    WORKFLOWTEMPLATE_FIELD_NUMBER: _ClassVar[int]
    VARS_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTUSER_FIELD_NUMBER: _ClassVar[int]
    workflowTemplate: str
    vars: _containers.ScalarMap[str, str]
    id: str
    requestUser: _common_pb2.User
    def __init__(self, workflowTemplate: _Optional[str] = ..., vars: _Optional[_Mapping[str, str]] = ..., id: _Optional[str] = ..., requestUser: _Optional[_Union[_common_pb2.User, _Mapping]] = ...) -> None: ...

class NewAutoEnvironmentReply(_message.Message):
    __slots__ = ("timestamp",)
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    timestamp: int
    def __init__(self, timestamp: _Optional[int] = ...) -> None: ...

class GetEnvironmentRequest(_message.Message):
    __slots__ = ("id", "showWorkflowTree")
    ID_FIELD_NUMBER: _ClassVar[int]
    SHOWWORKFLOWTREE_FIELD_NUMBER: _ClassVar[int]
    id: str
    showWorkflowTree: bool
    def __init__(self, id: _Optional[str] = ..., showWorkflowTree: _Optional[bool] = ...) -> None: ...

class GetEnvironmentReply(_message.Message):
    __slots__ = ("environment", "workflow", "public", "timestamp")
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    environment: EnvironmentInfo
    workflow: RoleInfo
    public: bool
    timestamp: int
    def __init__(self, environment: _Optional[_Union[EnvironmentInfo, _Mapping]] = ..., workflow: _Optional[_Union[RoleInfo, _Mapping]] = ..., public: _Optional[bool] = ..., timestamp: _Optional[int] = ...) -> None: ...

class ControlEnvironmentRequest(_message.Message):
    __slots__ = ("id", "type", "requestUser")
    class Optype(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        NOOP: _ClassVar[ControlEnvironmentRequest.Optype]
        START_ACTIVITY: _ClassVar[ControlEnvironmentRequest.Optype]
        STOP_ACTIVITY: _ClassVar[ControlEnvironmentRequest.Optype]
        CONFIGURE: _ClassVar[ControlEnvironmentRequest.Optype]
        RESET: _ClassVar[ControlEnvironmentRequest.Optype]
        GO_ERROR: _ClassVar[ControlEnvironmentRequest.Optype]
        DEPLOY: _ClassVar[ControlEnvironmentRequest.Optype]
        EXIT: _ClassVar[ControlEnvironmentRequest.Optype]
        RECOVER: _ClassVar[ControlEnvironmentRequest.Optype]
    NOOP: ControlEnvironmentRequest.Optype
    START_ACTIVITY: ControlEnvironmentRequest.Optype
    STOP_ACTIVITY: ControlEnvironmentRequest.Optype
    CONFIGURE: ControlEnvironmentRequest.Optype
    RESET: ControlEnvironmentRequest.Optype
    GO_ERROR: ControlEnvironmentRequest.Optype
    DEPLOY: ControlEnvironmentRequest.Optype
    EXIT: ControlEnvironmentRequest.Optype
    RECOVER: ControlEnvironmentRequest.Optype
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REQUESTUSER_FIELD_NUMBER: _ClassVar[int]
    id: str
    type: ControlEnvironmentRequest.Optype
    requestUser: _common_pb2.User
    def __init__(self, id: _Optional[str] = ..., type: _Optional[_Union[ControlEnvironmentRequest.Optype, str]] = ..., requestUser: _Optional[_Union[_common_pb2.User, _Mapping]] = ...) -> None: ...

class ControlEnvironmentReply(_message.Message):
    __slots__ = ("id", "state", "currentRunNumber", "startOfTransition", "endOfTransition", "transitionDuration", "timestamp", "lastRunNumber")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CURRENTRUNNUMBER_FIELD_NUMBER: _ClassVar[int]
    STARTOFTRANSITION_FIELD_NUMBER: _ClassVar[int]
    ENDOFTRANSITION_FIELD_NUMBER: _ClassVar[int]
    TRANSITIONDURATION_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    LASTRUNNUMBER_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: str
    currentRunNumber: int
    startOfTransition: int
    endOfTransition: int
    transitionDuration: int
    timestamp: int
    lastRunNumber: int
    def __init__(self, id: _Optional[str] = ..., state: _Optional[str] = ..., currentRunNumber: _Optional[int] = ..., startOfTransition: _Optional[int] = ..., endOfTransition: _Optional[int] = ..., transitionDuration: _Optional[int] = ..., timestamp: _Optional[int] = ..., lastRunNumber: _Optional[int] = ...) -> None: ...

class ModifyEnvironmentRequest(_message.Message):
    __slots__ = ("id", "operations", "reconfigureAll")
    ID_FIELD_NUMBER: _ClassVar[int]
    OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    RECONFIGUREALL_FIELD_NUMBER: _ClassVar[int]
    id: str
    operations: _containers.RepeatedCompositeFieldContainer[EnvironmentOperation]
    reconfigureAll: bool
    def __init__(self, id: _Optional[str] = ..., operations: _Optional[_Iterable[_Union[EnvironmentOperation, _Mapping]]] = ..., reconfigureAll: _Optional[bool] = ...) -> None: ...

class EnvironmentOperation(_message.Message):
    __slots__ = ("type", "roleName")
    class Optype(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        NOOP: _ClassVar[EnvironmentOperation.Optype]
        REMOVE_ROLE: _ClassVar[EnvironmentOperation.Optype]
        ADD_ROLE: _ClassVar[EnvironmentOperation.Optype]
    NOOP: EnvironmentOperation.Optype
    REMOVE_ROLE: EnvironmentOperation.Optype
    ADD_ROLE: EnvironmentOperation.Optype
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ROLENAME_FIELD_NUMBER: _ClassVar[int]
    type: EnvironmentOperation.Optype
    roleName: str
    def __init__(self, type: _Optional[_Union[EnvironmentOperation.Optype, str]] = ..., roleName: _Optional[str] = ...) -> None: ...

class ModifyEnvironmentReply(_message.Message):
    __slots__ = ("failedOperations", "id", "state")
    FAILEDOPERATIONS_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    failedOperations: _containers.RepeatedCompositeFieldContainer[EnvironmentOperation]
    id: str
    state: str
    def __init__(self, failedOperations: _Optional[_Iterable[_Union[EnvironmentOperation, _Mapping]]] = ..., id: _Optional[str] = ..., state: _Optional[str] = ...) -> None: ...

class DestroyEnvironmentRequest(_message.Message):
    __slots__ = ("id", "keepTasks", "allowInRunningState", "force", "requestUser")
    ID_FIELD_NUMBER: _ClassVar[int]
    KEEPTASKS_FIELD_NUMBER: _ClassVar[int]
    ALLOWINRUNNINGSTATE_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    REQUESTUSER_FIELD_NUMBER: _ClassVar[int]
    id: str
    keepTasks: bool
    allowInRunningState: bool
    force: bool
    requestUser: _common_pb2.User
    def __init__(self, id: _Optional[str] = ..., keepTasks: _Optional[bool] = ..., allowInRunningState: _Optional[bool] = ..., force: _Optional[bool] = ..., requestUser: _Optional[_Union[_common_pb2.User, _Mapping]] = ...) -> None: ...

class DestroyEnvironmentReply(_message.Message):
    __slots__ = ("cleanupTasksReply", "timestamp", "problems")
    CLEANUPTASKSREPLY_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    cleanupTasksReply: CleanupTasksReply
    timestamp: int
    problems: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, cleanupTasksReply: _Optional[_Union[CleanupTasksReply, _Mapping]] = ..., timestamp: _Optional[int] = ..., problems: _Optional[_Iterable[str]] = ...) -> None: ...

class GetActiveDetectorsReply(_message.Message):
    __slots__ = ("detectors", "timestamp")
    DETECTORS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    detectors: _containers.RepeatedScalarFieldContainer[str]
    timestamp: int
    def __init__(self, detectors: _Optional[_Iterable[str]] = ..., timestamp: _Optional[int] = ...) -> None: ...

class GetAvailableDetectorsReply(_message.Message):
    __slots__ = ("detectors", "timestamp")
    DETECTORS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    detectors: _containers.RepeatedScalarFieldContainer[str]
    timestamp: int
    def __init__(self, detectors: _Optional[_Iterable[str]] = ..., timestamp: _Optional[int] = ...) -> None: ...

class SetEnvironmentPropertiesRequest(_message.Message):
    __slots__ = ("id", "properties")
    class PropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    id: str
    properties: _containers.ScalarMap[str, str]
    def __init__(self, id: _Optional[str] = ..., properties: _Optional[_Mapping[str, str]] = ...) -> None: ...

class SetEnvironmentPropertiesReply(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetEnvironmentPropertiesRequest(_message.Message):
    __slots__ = ("id", "queries", "excludeGlobals")
    ID_FIELD_NUMBER: _ClassVar[int]
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    EXCLUDEGLOBALS_FIELD_NUMBER: _ClassVar[int]
    id: str
    queries: _containers.RepeatedScalarFieldContainer[str]
    excludeGlobals: bool
    def __init__(self, id: _Optional[str] = ..., queries: _Optional[_Iterable[str]] = ..., excludeGlobals: _Optional[bool] = ...) -> None: ...

class GetEnvironmentPropertiesReply(_message.Message):
    __slots__ = ("properties",)
    class PropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    properties: _containers.ScalarMap[str, str]
    def __init__(self, properties: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ShortTaskInfo(_message.Message):
    __slots__ = ("name", "locked", "taskId", "status", "state", "className", "deploymentInfo", "pid", "sandboxStdout", "claimable", "critical", "envId", "controlMode", "controlPort", "error")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LOCKED_FIELD_NUMBER: _ClassVar[int]
    TASKID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CLASSNAME_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENTINFO_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    SANDBOXSTDOUT_FIELD_NUMBER: _ClassVar[int]
    CLAIMABLE_FIELD_NUMBER: _ClassVar[int]
    CRITICAL_FIELD_NUMBER: _ClassVar[int]
    ENVID_FIELD_NUMBER: _ClassVar[int]
    CONTROLMODE_FIELD_NUMBER: _ClassVar[int]
    CONTROLPORT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    name: str
    locked: bool
    taskId: str
    status: str
    state: str
    className: str
    deploymentInfo: TaskDeploymentInfo
    pid: str
    sandboxStdout: str
    claimable: bool
    critical: bool
    envId: str
    controlMode: str
    controlPort: int
    error: str
    def __init__(self, name: _Optional[str] = ..., locked: _Optional[bool] = ..., taskId: _Optional[str] = ..., status: _Optional[str] = ..., state: _Optional[str] = ..., className: _Optional[str] = ..., deploymentInfo: _Optional[_Union[TaskDeploymentInfo, _Mapping]] = ..., pid: _Optional[str] = ..., sandboxStdout: _Optional[str] = ..., claimable: _Optional[bool] = ..., critical: _Optional[bool] = ..., envId: _Optional[str] = ..., controlMode: _Optional[str] = ..., controlPort: _Optional[int] = ..., error: _Optional[str] = ...) -> None: ...

class TaskDeploymentInfo(_message.Message):
    __slots__ = ("hostname", "agentId", "offerId", "executorId")
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    AGENTID_FIELD_NUMBER: _ClassVar[int]
    OFFERID_FIELD_NUMBER: _ClassVar[int]
    EXECUTORID_FIELD_NUMBER: _ClassVar[int]
    hostname: str
    agentId: str
    offerId: str
    executorId: str
    def __init__(self, hostname: _Optional[str] = ..., agentId: _Optional[str] = ..., offerId: _Optional[str] = ..., executorId: _Optional[str] = ...) -> None: ...

class GetTasksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetTasksReply(_message.Message):
    __slots__ = ("tasks", "timestamp")
    TASKS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[ShortTaskInfo]
    timestamp: int
    def __init__(self, tasks: _Optional[_Iterable[_Union[ShortTaskInfo, _Mapping]]] = ..., timestamp: _Optional[int] = ...) -> None: ...

class GetTaskRequest(_message.Message):
    __slots__ = ("taskId",)
    TASKID_FIELD_NUMBER: _ClassVar[int]
    taskId: str
    def __init__(self, taskId: _Optional[str] = ...) -> None: ...

class GetTaskReply(_message.Message):
    __slots__ = ("task", "timestamp")
    TASK_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    task: TaskInfo
    timestamp: int
    def __init__(self, task: _Optional[_Union[TaskInfo, _Mapping]] = ..., timestamp: _Optional[int] = ...) -> None: ...

class CommandInfo(_message.Message):
    __slots__ = ("env", "shell", "value", "arguments", "user")
    ENV_FIELD_NUMBER: _ClassVar[int]
    SHELL_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    env: _containers.RepeatedScalarFieldContainer[str]
    shell: bool
    value: str
    arguments: _containers.RepeatedScalarFieldContainer[str]
    user: str
    def __init__(self, env: _Optional[_Iterable[str]] = ..., shell: _Optional[bool] = ..., value: _Optional[str] = ..., arguments: _Optional[_Iterable[str]] = ..., user: _Optional[str] = ...) -> None: ...

class ChannelInfo(_message.Message):
    __slots__ = ("name", "type", "target")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    target: str
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., target: _Optional[str] = ...) -> None: ...

class TaskClassInfo(_message.Message):
    __slots__ = ("name", "controlMode")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTROLMODE_FIELD_NUMBER: _ClassVar[int]
    name: str
    controlMode: str
    def __init__(self, name: _Optional[str] = ..., controlMode: _Optional[str] = ...) -> None: ...

class TaskInfo(_message.Message):
    __slots__ = ("shortInfo", "inboundChannels", "outboundChannels", "commandInfo", "taskPath", "envId", "properties", "classInfo")
    class PropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SHORTINFO_FIELD_NUMBER: _ClassVar[int]
    INBOUNDCHANNELS_FIELD_NUMBER: _ClassVar[int]
    OUTBOUNDCHANNELS_FIELD_NUMBER: _ClassVar[int]
    COMMANDINFO_FIELD_NUMBER: _ClassVar[int]
    TASKPATH_FIELD_NUMBER: _ClassVar[int]
    ENVID_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    CLASSINFO_FIELD_NUMBER: _ClassVar[int]
    shortInfo: ShortTaskInfo
    inboundChannels: _containers.RepeatedCompositeFieldContainer[ChannelInfo]
    outboundChannels: _containers.RepeatedCompositeFieldContainer[ChannelInfo]
    commandInfo: CommandInfo
    taskPath: str
    envId: str
    properties: _containers.ScalarMap[str, str]
    classInfo: TaskClassInfo
    def __init__(self, shortInfo: _Optional[_Union[ShortTaskInfo, _Mapping]] = ..., inboundChannels: _Optional[_Iterable[_Union[ChannelInfo, _Mapping]]] = ..., outboundChannels: _Optional[_Iterable[_Union[ChannelInfo, _Mapping]]] = ..., commandInfo: _Optional[_Union[CommandInfo, _Mapping]] = ..., taskPath: _Optional[str] = ..., envId: _Optional[str] = ..., properties: _Optional[_Mapping[str, str]] = ..., classInfo: _Optional[_Union[TaskClassInfo, _Mapping]] = ...) -> None: ...

class CleanupTasksRequest(_message.Message):
    __slots__ = ("taskIds",)
    TASKIDS_FIELD_NUMBER: _ClassVar[int]
    taskIds: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, taskIds: _Optional[_Iterable[str]] = ...) -> None: ...

class CleanupTasksReply(_message.Message):
    __slots__ = ("killedTasks", "runningTasks", "timestamp")
    KILLEDTASKS_FIELD_NUMBER: _ClassVar[int]
    RUNNINGTASKS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    killedTasks: _containers.RepeatedCompositeFieldContainer[ShortTaskInfo]
    runningTasks: _containers.RepeatedCompositeFieldContainer[ShortTaskInfo]
    timestamp: int
    def __init__(self, killedTasks: _Optional[_Iterable[_Union[ShortTaskInfo, _Mapping]]] = ..., runningTasks: _Optional[_Iterable[_Union[ShortTaskInfo, _Mapping]]] = ..., timestamp: _Optional[int] = ...) -> None: ...

class GetRolesRequest(_message.Message):
    __slots__ = ("envId", "pathSpec")
    ENVID_FIELD_NUMBER: _ClassVar[int]
    PATHSPEC_FIELD_NUMBER: _ClassVar[int]
    envId: str
    pathSpec: str
    def __init__(self, envId: _Optional[str] = ..., pathSpec: _Optional[str] = ...) -> None: ...

class RoleInfo(_message.Message):
    __slots__ = ("name", "status", "state", "fullPath", "taskIds", "roles", "defaults", "vars", "userVars", "consolidatedStack", "description", "kind", "critical")
    class DefaultsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class VarsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class UserVarsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class ConsolidatedStackEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    FULLPATH_FIELD_NUMBER: _ClassVar[int]
    TASKIDS_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    DEFAULTS_FIELD_NUMBER: _ClassVar[int]
    VARS_FIELD_NUMBER: _ClassVar[int]
    USERVARS_FIELD_NUMBER: _ClassVar[int]
    CONSOLIDATEDSTACK_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CRITICAL_FIELD_NUMBER: _ClassVar[int]
    name: str
    status: str
    state: str
    fullPath: str
    taskIds: _containers.RepeatedScalarFieldContainer[str]
    roles: _containers.RepeatedCompositeFieldContainer[RoleInfo]
    defaults: _containers.ScalarMap[str, str]
    vars: _containers.ScalarMap[str, str]
    userVars: _containers.ScalarMap[str, str]
    consolidatedStack: _containers.ScalarMap[str, str]
    description: str
    kind: str
    critical: bool
    def __init__(self, name: _Optional[str] = ..., status: _Optional[str] = ..., state: _Optional[str] = ..., fullPath: _Optional[str] = ..., taskIds: _Optional[_Iterable[str]] = ..., roles: _Optional[_Iterable[_Union[RoleInfo, _Mapping]]] = ..., defaults: _Optional[_Mapping[str, str]] = ..., vars: _Optional[_Mapping[str, str]] = ..., userVars: _Optional[_Mapping[str, str]] = ..., consolidatedStack: _Optional[_Mapping[str, str]] = ..., description: _Optional[str] = ..., kind: _Optional[str] = ..., critical: _Optional[bool] = ...) -> None: ...

class GetRolesReply(_message.Message):
    __slots__ = ("roles", "timestamp")
    ROLES_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    roles: _containers.RepeatedCompositeFieldContainer[RoleInfo]
    timestamp: int
    def __init__(self, roles: _Optional[_Iterable[_Union[RoleInfo, _Mapping]]] = ..., timestamp: _Optional[int] = ...) -> None: ...

class GetWorkflowTemplatesRequest(_message.Message):
    __slots__ = ("repoPattern", "revisionPattern", "allBranches", "allTags", "allWorkflows")
    REPOPATTERN_FIELD_NUMBER: _ClassVar[int]
    REVISIONPATTERN_FIELD_NUMBER: _ClassVar[int]
    ALLBRANCHES_FIELD_NUMBER: _ClassVar[int]
    ALLTAGS_FIELD_NUMBER: _ClassVar[int]
    ALLWORKFLOWS_FIELD_NUMBER: _ClassVar[int]
    repoPattern: str
    revisionPattern: str
    allBranches: bool
    allTags: bool
    allWorkflows: bool
    def __init__(self, repoPattern: _Optional[str] = ..., revisionPattern: _Optional[str] = ..., allBranches: _Optional[bool] = ..., allTags: _Optional[bool] = ..., allWorkflows: _Optional[bool] = ...) -> None: ...

class VarSpecMessage(_message.Message):
    __slots__ = ("defaultValue", "type", "label", "description", "widget", "panel", "allowedValues", "index", "visibleIf", "enabledIf", "rows")
    class UiWidget(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        editBox: _ClassVar[VarSpecMessage.UiWidget]
        slider: _ClassVar[VarSpecMessage.UiWidget]
        listBox: _ClassVar[VarSpecMessage.UiWidget]
        dropDownBox: _ClassVar[VarSpecMessage.UiWidget]
        comboBox: _ClassVar[VarSpecMessage.UiWidget]
        radioButtonBox: _ClassVar[VarSpecMessage.UiWidget]
        checkBox: _ClassVar[VarSpecMessage.UiWidget]
    editBox: VarSpecMessage.UiWidget
    slider: VarSpecMessage.UiWidget
    listBox: VarSpecMessage.UiWidget
    dropDownBox: VarSpecMessage.UiWidget
    comboBox: VarSpecMessage.UiWidget
    radioButtonBox: VarSpecMessage.UiWidget
    checkBox: VarSpecMessage.UiWidget
    class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        string: _ClassVar[VarSpecMessage.Type]
        number: _ClassVar[VarSpecMessage.Type]
        bool: _ClassVar[VarSpecMessage.Type]
        list: _ClassVar[VarSpecMessage.Type]
        map: _ClassVar[VarSpecMessage.Type]
    string: VarSpecMessage.Type
    number: VarSpecMessage.Type
    bool: VarSpecMessage.Type
    list: VarSpecMessage.Type
    map: VarSpecMessage.Type
    DEFAULTVALUE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    WIDGET_FIELD_NUMBER: _ClassVar[int]
    PANEL_FIELD_NUMBER: _ClassVar[int]
    ALLOWEDVALUES_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    VISIBLEIF_FIELD_NUMBER: _ClassVar[int]
    ENABLEDIF_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    defaultValue: str
    type: VarSpecMessage.Type
    label: str
    description: str
    widget: VarSpecMessage.UiWidget
    panel: str
    allowedValues: _containers.RepeatedScalarFieldContainer[str]
    index: int
    visibleIf: str
    enabledIf: str
    rows: int
    def __init__(self, defaultValue: _Optional[str] = ..., type: _Optional[_Union[VarSpecMessage.Type, str]] = ..., label: _Optional[str] = ..., description: _Optional[str] = ..., widget: _Optional[_Union[VarSpecMessage.UiWidget, str]] = ..., panel: _Optional[str] = ..., allowedValues: _Optional[_Iterable[str]] = ..., index: _Optional[int] = ..., visibleIf: _Optional[str] = ..., enabledIf: _Optional[str] = ..., rows: _Optional[int] = ...) -> None: ...

class WorkflowTemplateInfo(_message.Message):
    __slots__ = ("repo", "template", "revision", "varSpecMap", "description", "default")
    class VarSpecMapEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: VarSpecMessage
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[VarSpecMessage, _Mapping]] = ...) -> None: ...
    REPO_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    VARSPECMAP_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_FIELD_NUMBER: _ClassVar[int]
    repo: str
    template: str
    revision: str
    varSpecMap: _containers.MessageMap[str, VarSpecMessage]
    description: str
    default: bool
    def __init__(self, repo: _Optional[str] = ..., template: _Optional[str] = ..., revision: _Optional[str] = ..., varSpecMap: _Optional[_Mapping[str, VarSpecMessage]] = ..., description: _Optional[str] = ..., default: _Optional[bool] = ...) -> None: ...

class GetWorkflowTemplatesReply(_message.Message):
    __slots__ = ("workflowTemplates", "timestamp")
    WORKFLOWTEMPLATES_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    workflowTemplates: _containers.RepeatedCompositeFieldContainer[WorkflowTemplateInfo]
    timestamp: int
    def __init__(self, workflowTemplates: _Optional[_Iterable[_Union[WorkflowTemplateInfo, _Mapping]]] = ..., timestamp: _Optional[int] = ...) -> None: ...

class ListReposRequest(_message.Message):
    __slots__ = ("getRevisions",)
    GETREVISIONS_FIELD_NUMBER: _ClassVar[int]
    getRevisions: bool
    def __init__(self, getRevisions: _Optional[bool] = ...) -> None: ...

class RepoInfo(_message.Message):
    __slots__ = ("name", "default", "defaultRevision", "revisions", "uri")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_FIELD_NUMBER: _ClassVar[int]
    DEFAULTREVISION_FIELD_NUMBER: _ClassVar[int]
    REVISIONS_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    name: str
    default: bool
    defaultRevision: str
    revisions: _containers.RepeatedScalarFieldContainer[str]
    uri: str
    def __init__(self, name: _Optional[str] = ..., default: _Optional[bool] = ..., defaultRevision: _Optional[str] = ..., revisions: _Optional[_Iterable[str]] = ..., uri: _Optional[str] = ...) -> None: ...

class ListReposReply(_message.Message):
    __slots__ = ("repos", "globalDefaultRevision", "timestamp")
    REPOS_FIELD_NUMBER: _ClassVar[int]
    GLOBALDEFAULTREVISION_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    repos: _containers.RepeatedCompositeFieldContainer[RepoInfo]
    globalDefaultRevision: str
    timestamp: int
    def __init__(self, repos: _Optional[_Iterable[_Union[RepoInfo, _Mapping]]] = ..., globalDefaultRevision: _Optional[str] = ..., timestamp: _Optional[int] = ...) -> None: ...

class AddRepoRequest(_message.Message):
    __slots__ = ("name", "defaultRevision")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DEFAULTREVISION_FIELD_NUMBER: _ClassVar[int]
    name: str
    defaultRevision: str
    def __init__(self, name: _Optional[str] = ..., defaultRevision: _Optional[str] = ...) -> None: ...

class AddRepoReply(_message.Message):
    __slots__ = ("newDefaultRevision", "info", "timestamp")
    NEWDEFAULTREVISION_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    newDefaultRevision: str
    info: str
    timestamp: int
    def __init__(self, newDefaultRevision: _Optional[str] = ..., info: _Optional[str] = ..., timestamp: _Optional[int] = ...) -> None: ...

class RemoveRepoRequest(_message.Message):
    __slots__ = ("index",)
    INDEX_FIELD_NUMBER: _ClassVar[int]
    index: int
    def __init__(self, index: _Optional[int] = ...) -> None: ...

class RemoveRepoReply(_message.Message):
    __slots__ = ("newDefaultRepo", "timestamp")
    NEWDEFAULTREPO_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    newDefaultRepo: str
    timestamp: int
    def __init__(self, newDefaultRepo: _Optional[str] = ..., timestamp: _Optional[int] = ...) -> None: ...

class RefreshReposRequest(_message.Message):
    __slots__ = ("index",)
    INDEX_FIELD_NUMBER: _ClassVar[int]
    index: int
    def __init__(self, index: _Optional[int] = ...) -> None: ...

class SetDefaultRepoRequest(_message.Message):
    __slots__ = ("index",)
    INDEX_FIELD_NUMBER: _ClassVar[int]
    index: int
    def __init__(self, index: _Optional[int] = ...) -> None: ...

class SetGlobalDefaultRevisionRequest(_message.Message):
    __slots__ = ("revision",)
    REVISION_FIELD_NUMBER: _ClassVar[int]
    revision: str
    def __init__(self, revision: _Optional[str] = ...) -> None: ...

class SetRepoDefaultRevisionRequest(_message.Message):
    __slots__ = ("index", "revision")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    index: int
    revision: str
    def __init__(self, index: _Optional[int] = ..., revision: _Optional[str] = ...) -> None: ...

class SetRepoDefaultRevisionReply(_message.Message):
    __slots__ = ("info", "timestamp")
    INFO_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    info: str
    timestamp: int
    def __init__(self, info: _Optional[str] = ..., timestamp: _Optional[int] = ...) -> None: ...

class ListIntegratedServicesReply(_message.Message):
    __slots__ = ("services", "timestamp")
    class ServicesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: IntegratedServiceInfo
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[IntegratedServiceInfo, _Mapping]] = ...) -> None: ...
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    services: _containers.MessageMap[str, IntegratedServiceInfo]
    timestamp: int
    def __init__(self, services: _Optional[_Mapping[str, IntegratedServiceInfo]] = ..., timestamp: _Optional[int] = ...) -> None: ...

class IntegratedServiceInfo(_message.Message):
    __slots__ = ("name", "enabled", "endpoint", "connectionState", "data")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    CONNECTIONSTATE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    name: str
    enabled: bool
    endpoint: str
    connectionState: str
    data: str
    def __init__(self, name: _Optional[str] = ..., enabled: _Optional[bool] = ..., endpoint: _Optional[str] = ..., connectionState: _Optional[str] = ..., data: _Optional[str] = ...) -> None: ...
