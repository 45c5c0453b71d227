from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OpStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NULL: _ClassVar[OpStatus]
    STARTED: _ClassVar[OpStatus]
    ONGOING: _ClassVar[OpStatus]
    DONE_OK: _ClassVar[OpStatus]
    DONE_ERROR: _ClassVar[OpStatus]
NULL: OpStatus
STARTED: OpStatus
ONGOING: OpStatus
DONE_OK: OpStatus
DONE_ERROR: OpStatus

class Empty(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ("id", "envId", "after")
    ID_FIELD_NUMBER: _ClassVar[int]
    ENVID_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    id: str
    envId: str
    after: int
    def __init__(self, id: _Optional[str] = ..., envId: _Optional[str] = ..., after: _Optional[int] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("timestamp", "environmentEvent", "taskEvent", "roleEvent", "callEvent", "nodeEvent", "seq", "eventsLost")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENTEVENT_FIELD_NUMBER: _ClassVar[int]
    TASKEVENT_FIELD_NUMBER: _ClassVar[int]
    ROLEEVENT_FIELD_NUMBER: _ClassVar[int]
    CALLEVENT_FIELD_NUMBER: _ClassVar[int]
    NODEEVENT_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    EVENTSLOST_FIELD_NUMBER: _ClassVar[int]
    timestamp: str
    environmentEvent: Ev_EnvironmentEvent
    taskEvent: Ev_TaskEvent
    roleEvent: Ev_RoleEvent
    callEvent: Ev_CallEvent
    nodeEvent: Ev_NodeEvent
    seq: int
    eventsLost: bool
    def __init__(self, timestamp: _Optional[str] = ..., environmentEvent: _Optional[_Union[Ev_EnvironmentEvent, _Mapping]] = ..., taskEvent: _Optional[_Union[Ev_TaskEvent, _Mapping]] = ..., roleEvent: _Optional[_Union[Ev_RoleEvent, _Mapping]] = ..., callEvent: _Optional[_Union[Ev_CallEvent, _Mapping]] = ..., nodeEvent: _Optional[_Union[Ev_NodeEvent, _Mapping]] = ..., seq: _Optional[int] = ..., eventsLost: _Optional[bool] = ...) -> None: ...

class Ev_EnvironmentEvent(_message.Message):
    __slots__ = ("environmentId", "state", "currentRunNumber", "error", "message", "transition", "transitionStatus")
    ENVIRONMENTID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CURRENTRUNNUMBER_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TRANSITION_FIELD_NUMBER: _ClassVar[int]
    TRANSITIONSTATUS_FIELD_NUMBER: _ClassVar[int]
    environmentId: str
    state: str
    currentRunNumber: int
    error: str
    message: str
    transition: str
    transitionStatus: OpStatus
    def __init__(self, environmentId: _Optional[str] = ..., state: _Optional[str] = ..., currentRunNumber: _Optional[int] = ..., error: _Optional[str] = ..., message: _Optional[str] = ..., transition: _Optional[str] = ..., transitionStatus: _Optional[_Union[OpStatus, str]] = ...) -> None: ...

class Ev_TaskEvent(_message.Message):
    __slots__ = ("name", "taskid", "state", "status", "hostname", "className", "environmentId", "error", "hookPoint", "hookStatus")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TASKID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    CLASSNAME_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENTID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    HOOKPOINT_FIELD_NUMBER: _ClassVar[int]
    HOOKSTATUS_FIELD_NUMBER: _ClassVar[int]
    name: str
    taskid: str
    state: str
    status: str
    hostname: str
    className: str
    environmentId: str
    error: str
    hookPoint: str
    hookStatus: OpStatus
    def __init__(self, name: _Optional[str] = ..., taskid: _Optional[str] = ..., state: _Optional[str] = ..., status: _Optional[str] = ..., hostname: _Optional[str] = ..., className: _Optional[str] = ..., environmentId: _Optional[str] = ..., error: _Optional[str] = ..., hookPoint: _Optional[str] = ..., hookStatus: _Optional[_Union[OpStatus, str]] = ...) -> None: ...

class Ev_RoleEvent(_message.Message):
    __slots__ = ("name", "status", "state", "rolePath", "environmentId")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ROLEPATH_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENTID_FIELD_NUMBER: _ClassVar[int]
    name: str
    status: str
    state: str
    rolePath: str
    environmentId: str
    def __init__(self, name: _Optional[str] = ..., status: _Optional[str] = ..., state: _Optional[str] = ..., rolePath: _Optional[str] = ..., environmentId: _Optional[str] = ...) -> None: ...

class Ev_CallEvent(_message.Message):
    __slots__ = ("path", "callStatus", "error", "environmentId", "hookPoint")
    PATH_FIELD_NUMBER: _ClassVar[int]
    CALLSTATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENTID_FIELD_NUMBER: _ClassVar[int]
    HOOKPOINT_FIELD_NUMBER: _ClassVar[int]
    path: str
    callStatus: OpStatus
    error: str
    environmentId: str
    hookPoint: str
    def __init__(self, path: _Optional[str] = ..., callStatus: _Optional[_Union[OpStatus, str]] = ..., error: _Optional[str] = ..., environmentId: _Optional[str] = ..., hookPoint: _Optional[str] = ...) -> None: ...

class Ev_NodeEvent(_message.Message):
    __slots__ = ("machineId", "state", "event", "status", "error", "message")
    MACHINEID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    machineId: str
    state: str
    event: str
    status: OpStatus
    error: str
    message: str
    def __init__(self, machineId: _Optional[str] = ..., state: _Optional[str] = ..., event: _Optional[str] = ..., status: _Optional[_Union[OpStatus, str]] = ..., error: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

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
    __slots__ = ("frameworkId", "environmentsCount", "tasksCount", "state", "instanceName", "version", "configurationEndpoint", "lastEventSeq", "lastRunNumber", "idleTasksCount", "detectors")
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
    INSTANCENAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CONFIGURATIONENDPOINT_FIELD_NUMBER: _ClassVar[int]
    LASTEVENTSEQ_FIELD_NUMBER: _ClassVar[int]
    LASTRUNNUMBER_FIELD_NUMBER: _ClassVar[int]
    IDLETASKSCOUNT_FIELD_NUMBER: _ClassVar[int]
    DETECTORS_FIELD_NUMBER: _ClassVar[int]
    frameworkId: str
    environmentsCount: int
    tasksCount: int
    state: str
    instanceName: str
    version: Version
    configurationEndpoint: str
    lastEventSeq: int
    lastRunNumber: int
    idleTasksCount: int
    detectors: _containers.ScalarMap[str, str]
    def __init__(self, frameworkId: _Optional[str] = ..., environmentsCount: _Optional[int] = ..., tasksCount: _Optional[int] = ..., state: _Optional[str] = ..., instanceName: _Optional[str] = ..., version: _Optional[_Union[Version, _Mapping]] = ..., configurationEndpoint: _Optional[str] = ..., lastEventSeq: _Optional[int] = ..., lastRunNumber: _Optional[int] = ..., idleTasksCount: _Optional[int] = ..., detectors: _Optional[_Mapping[str, str]] = ...) -> None: ...

class GetActiveDetectorsReply(_message.Message):
    __slots__ = ("detectors",)
    DETECTORS_FIELD_NUMBER: _ClassVar[int]
    detectors: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, detectors: _Optional[_Iterable[str]] = ...) -> None: ...

class GetEnvironmentsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetEnvironmentsReply(_message.Message):
    __slots__ = ("frameworkId", "environments")
    FRAMEWORKID_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENTS_FIELD_NUMBER: _ClassVar[int]
    frameworkId: str
    environments: _containers.RepeatedCompositeFieldContainer[EnvironmentInfo]
    def __init__(self, frameworkId: _Optional[str] = ..., environments: _Optional[_Iterable[_Union[EnvironmentInfo, _Mapping]]] = ...) -> None: ...

class EnvironmentInfo(_message.Message):
    __slots__ = ("id", "createdWhen", "state", "tasks", "rootRole", "currentRunNumber", "userVars", "workflowTemplate", "rootState", "currentTransition", "lastError", "detectors", "allowedEvents", "tasksCount")
    class UserVarsEntry(_message.Message):
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
    USERVARS_FIELD_NUMBER: _ClassVar[int]
    WORKFLOWTEMPLATE_FIELD_NUMBER: _ClassVar[int]
    ROOTSTATE_FIELD_NUMBER: _ClassVar[int]
    CURRENTTRANSITION_FIELD_NUMBER: _ClassVar[int]
    LASTERROR_FIELD_NUMBER: _ClassVar[int]
    DETECTORS_FIELD_NUMBER: _ClassVar[int]
    ALLOWEDEVENTS_FIELD_NUMBER: _ClassVar[int]
    TASKSCOUNT_FIELD_NUMBER: _ClassVar[int]
    id: str
    createdWhen: str
    state: str
    tasks: _containers.RepeatedCompositeFieldContainer[ShortTaskInfo]
    rootRole: str
    currentRunNumber: int
    userVars: _containers.ScalarMap[str, str]
    workflowTemplate: str
    rootState: str
    currentTransition: str
    lastError: str
    detectors: _containers.RepeatedScalarFieldContainer[str]
    allowedEvents: _containers.RepeatedScalarFieldContainer[str]
    tasksCount: int
    def __init__(self, id: _Optional[str] = ..., createdWhen: _Optional[str] = ..., state: _Optional[str] = ..., tasks: _Optional[_Iterable[_Union[ShortTaskInfo, _Mapping]]] = ..., rootRole: _Optional[str] = ..., currentRunNumber: _Optional[int] = ..., userVars: _Optional[_Mapping[str, str]] = ..., workflowTemplate: _Optional[str] = ..., rootState: _Optional[str] = ..., currentTransition: _Optional[str] = ..., lastError: _Optional[str] = ..., detectors: _Optional[_Iterable[str]] = ..., allowedEvents: _Optional[_Iterable[str]] = ..., tasksCount: _Optional[int] = ...) -> None: ...

class NewEnvironmentRequest(_message.Message):
    __slots__ = ("workflowTemplate", "vars", "public", "deployOnly")
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
    DEPLOYONLY_FIELD_NUMBER: _ClassVar[int]
    workflowTemplate: str
    vars: _containers.ScalarMap[str, str]
    public: bool
    deployOnly: bool
    def __init__(self, workflowTemplate: _Optional[str] = ..., vars: _Optional[_Mapping[str, str]] = ..., public: _Optional[bool] = ..., deployOnly: _Optional[bool] = ...) -> None: ...

class NewEnvironmentReply(_message.Message):
    __slots__ = ("environment", "public")
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_FIELD_NUMBER: _ClassVar[int]
    environment: EnvironmentInfo
    public: bool
    def __init__(self, environment: _Optional[_Union[EnvironmentInfo, _Mapping]] = ..., public: _Optional[bool] = ...) -> None: ...

class GetEnvironmentRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetEnvironmentReply(_message.Message):
    __slots__ = ("environment", "workflow", "public")
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_FIELD_NUMBER: _ClassVar[int]
    environment: EnvironmentInfo
    workflow: RoleInfo
    public: bool
    def __init__(self, environment: _Optional[_Union[EnvironmentInfo, _Mapping]] = ..., workflow: _Optional[_Union[RoleInfo, _Mapping]] = ..., public: _Optional[bool] = ...) -> None: ...

class ControlEnvironmentRequest(_message.Message):
    __slots__ = ("id", "type")
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
    id: str
    type: ControlEnvironmentRequest.Optype
    def __init__(self, id: _Optional[str] = ..., type: _Optional[_Union[ControlEnvironmentRequest.Optype, str]] = ...) -> None: ...

class ControlEnvironmentReply(_message.Message):
    __slots__ = ("id", "state", "currentRunNumber")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CURRENTRUNNUMBER_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: str
    currentRunNumber: int
    def __init__(self, id: _Optional[str] = ..., state: _Optional[str] = ..., currentRunNumber: _Optional[int] = ...) -> None: ...

class DestroyEnvironmentRequest(_message.Message):
    __slots__ = ("id", "keepTasks", "allowInRunningState", "force")
    ID_FIELD_NUMBER: _ClassVar[int]
    KEEPTASKS_FIELD_NUMBER: _ClassVar[int]
    ALLOWINRUNNINGSTATE_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    id: str
    keepTasks: bool
    allowInRunningState: bool
    force: bool
    def __init__(self, id: _Optional[str] = ..., keepTasks: _Optional[bool] = ..., allowInRunningState: _Optional[bool] = ..., force: _Optional[bool] = ...) -> None: ...

class DestroyEnvironmentReply(_message.Message):
    __slots__ = ("cleanupTasksReply", "problems")
    CLEANUPTASKSREPLY_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    cleanupTasksReply: CleanupTasksReply
    problems: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, cleanupTasksReply: _Optional[_Union[CleanupTasksReply, _Mapping]] = ..., problems: _Optional[_Iterable[str]] = ...) -> None: ...

class TaskDeploymentInfo(_message.Message):
    __slots__ = ("hostname", "agentId")
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    AGENTID_FIELD_NUMBER: _ClassVar[int]
    hostname: str
    agentId: str
    def __init__(self, hostname: _Optional[str] = ..., agentId: _Optional[str] = ...) -> None: ...

class ShortTaskInfo(_message.Message):
    __slots__ = ("name", "locked", "taskId", "status", "state", "className", "deploymentInfo", "pid", "sandboxStdout", "envId", "controlMode", "controlPort", "critical", "error")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LOCKED_FIELD_NUMBER: _ClassVar[int]
    TASKID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CLASSNAME_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENTINFO_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    SANDBOXSTDOUT_FIELD_NUMBER: _ClassVar[int]
    ENVID_FIELD_NUMBER: _ClassVar[int]
    CONTROLMODE_FIELD_NUMBER: _ClassVar[int]
    CONTROLPORT_FIELD_NUMBER: _ClassVar[int]
    CRITICAL_FIELD_NUMBER: _ClassVar[int]
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
    envId: str
    controlMode: str
    controlPort: int
    critical: bool
    error: str
    def __init__(self, name: _Optional[str] = ..., locked: _Optional[bool] = ..., taskId: _Optional[str] = ..., status: _Optional[str] = ..., state: _Optional[str] = ..., className: _Optional[str] = ..., deploymentInfo: _Optional[_Union[TaskDeploymentInfo, _Mapping]] = ..., pid: _Optional[str] = ..., sandboxStdout: _Optional[str] = ..., envId: _Optional[str] = ..., controlMode: _Optional[str] = ..., controlPort: _Optional[int] = ..., critical: _Optional[bool] = ..., error: _Optional[str] = ...) -> None: ...

class GetTasksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetTasksReply(_message.Message):
    __slots__ = ("tasks",)
    TASKS_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[ShortTaskInfo]
    def __init__(self, tasks: _Optional[_Iterable[_Union[ShortTaskInfo, _Mapping]]] = ...) -> None: ...

class GetTaskRequest(_message.Message):
    __slots__ = ("taskId",)
    TASKID_FIELD_NUMBER: _ClassVar[int]
    taskId: str
    def __init__(self, taskId: _Optional[str] = ...) -> None: ...

class TaskClassInfo(_message.Message):
    __slots__ = ("name", "controlMode")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTROLMODE_FIELD_NUMBER: _ClassVar[int]
    name: str
    controlMode: str
    def __init__(self, name: _Optional[str] = ..., controlMode: _Optional[str] = ...) -> None: ...

class TaskInfo(_message.Message):
    __slots__ = ("shortInfo", "classInfo", "taskPath", "envId")
    SHORTINFO_FIELD_NUMBER: _ClassVar[int]
    CLASSINFO_FIELD_NUMBER: _ClassVar[int]
    TASKPATH_FIELD_NUMBER: _ClassVar[int]
    ENVID_FIELD_NUMBER: _ClassVar[int]
    shortInfo: ShortTaskInfo
    classInfo: TaskClassInfo
    taskPath: str
    envId: str
    def __init__(self, shortInfo: _Optional[_Union[ShortTaskInfo, _Mapping]] = ..., classInfo: _Optional[_Union[TaskClassInfo, _Mapping]] = ..., taskPath: _Optional[str] = ..., envId: _Optional[str] = ...) -> None: ...

class GetTaskReply(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: TaskInfo
    def __init__(self, task: _Optional[_Union[TaskInfo, _Mapping]] = ...) -> None: ...

class CleanupTasksRequest(_message.Message):
    __slots__ = ("taskIds",)
    TASKIDS_FIELD_NUMBER: _ClassVar[int]
    taskIds: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, taskIds: _Optional[_Iterable[str]] = ...) -> None: ...

class CleanupTasksReply(_message.Message):
    __slots__ = ("killedTasks", "runningTasks")
    KILLEDTASKS_FIELD_NUMBER: _ClassVar[int]
    RUNNINGTASKS_FIELD_NUMBER: _ClassVar[int]
    killedTasks: _containers.RepeatedCompositeFieldContainer[ShortTaskInfo]
    runningTasks: _containers.RepeatedCompositeFieldContainer[ShortTaskInfo]
    def __init__(self, killedTasks: _Optional[_Iterable[_Union[ShortTaskInfo, _Mapping]]] = ..., runningTasks: _Optional[_Iterable[_Union[ShortTaskInfo, _Mapping]]] = ...) -> None: ...

class GetRolesRequest(_message.Message):
    __slots__ = ("envId", "pathSpec")
    ENVID_FIELD_NUMBER: _ClassVar[int]
    PATHSPEC_FIELD_NUMBER: _ClassVar[int]
    envId: str
    pathSpec: str
    def __init__(self, envId: _Optional[str] = ..., pathSpec: _Optional[str] = ...) -> None: ...

class RoleInfo(_message.Message):
    __slots__ = ("name", "status", "state", "fullPath", "taskIds", "roles", "kind", "critical")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    FULLPATH_FIELD_NUMBER: _ClassVar[int]
    TASKIDS_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CRITICAL_FIELD_NUMBER: _ClassVar[int]
    name: str
    status: str
    state: str
    fullPath: str
    taskIds: _containers.RepeatedScalarFieldContainer[str]
    roles: _containers.RepeatedCompositeFieldContainer[RoleInfo]
    kind: str
    critical: bool
    def __init__(self, name: _Optional[str] = ..., status: _Optional[str] = ..., state: _Optional[str] = ..., fullPath: _Optional[str] = ..., taskIds: _Optional[_Iterable[str]] = ..., roles: _Optional[_Iterable[_Union[RoleInfo, _Mapping]]] = ..., kind: _Optional[str] = ..., critical: _Optional[bool] = ...) -> None: ...

class GetRolesReply(_message.Message):
    __slots__ = ("roles",)
    ROLES_FIELD_NUMBER: _ClassVar[int]
    roles: _containers.RepeatedCompositeFieldContainer[RoleInfo]
    def __init__(self, roles: _Optional[_Iterable[_Union[RoleInfo, _Mapping]]] = ...) -> None: ...

class GetWorkflowTemplatesRequest(_message.Message):
    __slots__ = ("repoPattern",)
    REPOPATTERN_FIELD_NUMBER: _ClassVar[int]
    repoPattern: str
    def __init__(self, repoPattern: _Optional[str] = ...) -> None: ...

class WorkflowTemplateInfo(_message.Message):
    __slots__ = ("repo", "template", "revision", "default")
    REPO_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_FIELD_NUMBER: _ClassVar[int]
    repo: str
    template: str
    revision: str
    default: bool
    def __init__(self, repo: _Optional[str] = ..., template: _Optional[str] = ..., revision: _Optional[str] = ..., default: _Optional[bool] = ...) -> None: ...

class GetWorkflowTemplatesReply(_message.Message):
    __slots__ = ("workflowTemplates",)
    WORKFLOWTEMPLATES_FIELD_NUMBER: _ClassVar[int]
    workflowTemplates: _containers.RepeatedCompositeFieldContainer[WorkflowTemplateInfo]
    def __init__(self, workflowTemplates: _Optional[_Iterable[_Union[WorkflowTemplateInfo, _Mapping]]] = ...) -> None: ...

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
    __slots__ = ("added", "removed", "changed", "restarted", "untouched", "tookSeconds", "blockedWhileRunning", "dryRun", "runNumber")
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
    added: _containers.RepeatedScalarFieldContainer[str]
    removed: _containers.RepeatedScalarFieldContainer[str]
    changed: _containers.RepeatedCompositeFieldContainer[ChangedTask]
    restarted: _containers.ScalarMap[str, str]
    untouched: int
    tookSeconds: float
    blockedWhileRunning: _containers.RepeatedScalarFieldContainer[str]
    dryRun: bool
    runNumber: int
    def __init__(self, added: _Optional[_Iterable[str]] = ..., removed: _Optional[_Iterable[str]] = ..., changed: _Optional[_Iterable[_Union[ChangedTask, _Mapping]]] = ..., restarted: _Optional[_Mapping[str, str]] = ..., untouched: _Optional[int] = ..., tookSeconds: _Optional[float] = ..., blockedWhileRunning: _Optional[_Iterable[str]] = ..., dryRun: _Optional[bool] = ..., runNumber: _Optional[int] = ...) -> None: ...
