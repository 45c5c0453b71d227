"""From the control plane's plain dicts to the Control API's protobuf messages.

The actors answer with plain dicts (environment summaries, task tables, role trees, event
records: the same the SDK and the CLI show); the API server only reshapes them here into
the messages of ``o2control.proto`` and ``events.proto`` (AliECS's contract), field by
field, so the mapping between our names and AliECS's is written down in one place. o2ctl's
own service's messages are in ``o2ctlmsgs``. Nothing here calls anything.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from o2ctl.api._gen import events_pb2 as ev_pb
from o2ctl.api._gen import o2control_pb2 as pb
from o2ctl.core.events import Event
from o2ctl.core.states import DeploymentStatus, aggregate_deployment

_OP_STATUS = {
    "": ev_pb.NULL,
    "STARTED": ev_pb.STARTED,
    "ONGOING": ev_pb.ONGOING,
    "DONE_OK": ev_pb.DONE_OK,
    "DONE_ERROR": ev_pb.DONE_ERROR,
}


def millis(seconds: float | None) -> int:
    return round((seconds or 0.0) * 1000)


def now_ms() -> int:
    """The ``timestamp`` of a reply: when it was sent, ms since the Unix epoch."""
    return round(time.time() * 1000)


def run_number(value: object) -> int:
    return int(value) if isinstance(value, int) else 0


def current_run(summary: Mapping[str, Any]) -> int:
    """The run in progress, as AliECS counts it: 0 once the run has ended."""
    return run_number(summary.get("run_number")) if summary.get("state") == "RUNNING" else 0


def latest_run(summary: Mapping[str, Any]) -> int:
    """The run in progress, or else the environment's last one (o2ctl's lastRunNumber)."""
    return run_number(summary.get("run_number") or summary.get("last_run_number"))


def environment_info(
    summary: Mapping[str, Any],
    tasks: Iterable[Mapping[str, Any]] = (),
    root_role: str = "",
    variables: Mapping[str, str] | None = None,
) -> pb.EnvironmentInfo:
    """One environment, from ``EnvironmentActor.summary()`` (its task table, and the root
    role's variables from its tree)."""
    workflow = str(summary.get("workflow", ""))
    rows = list(tasks)
    active = sum(1 for t in rows if t.get("pid")) if rows else 0
    hosts = {t.get("host") for t in rows if t.get("host")}
    return pb.EnvironmentInfo(
        id=summary["env_id"],
        createdWhen=millis(summary.get("created")),
        state=summary.get("state", ""),
        tasks=[short_task(t, summary["env_id"]) for t in rows],
        rootRole=root_role or workflow.rsplit("/", 1)[-1].split("@", 1)[0],
        currentRunNumber=current_run(summary),
        vars=dict(variables or {}),
        userVars={str(k): str(v) for k, v in (summary.get("user_vars") or {}).items()},
        includedDetectors=list(summary.get("detectors") or ()),
        numberOfHosts=len(hosts),
        numberOfTasks=int(summary.get("tasks") or 0),
        currentTransition=summary.get("busy") or "",
        numberOfActiveTasks=active,
        numberOfInactiveTasks=len(rows) - active if rows else 0,
        workflowTemplate=workflow,
        rootState=summary.get("root_state", ""),
        lastError=summary.get("last_error") or "",
        allowedEvents=list(summary.get("allowed_events") or ()),
        lastRunNumber=latest_run(summary),
    )


def short_task(task: Mapping[str, Any], env_id: str | None = None) -> pb.ShortTaskInfo:
    """One task, from an environment's task table or the controller's task list."""
    env = env_id if env_id is not None else (task.get("env_id") or "")
    pid = task.get("pid")
    return pb.ShortTaskInfo(
        name=task.get("role_path") or "",
        locked=bool(env) and not task.get("idle", False),
        taskId=task["task_id"],
        status=task.get("status") or ("ACTIVE" if pid else "INACTIVE"),
        state=task.get("state") or "",
        className=task.get("task_class") or "",
        deploymentInfo=pb.TaskDeploymentInfo(
            hostname=task.get("host") or "", agentId=task.get("node_id") or ""
        ),
        pid=str(pid) if pid else "",
        sandboxStdout=task.get("log_path") or "",
        claimable=not env or bool(task.get("idle", False)),
        critical=bool(task.get("critical", True)),
        envId=env,
        controlMode=task.get("control_mode") or "",
        controlPort=int(task.get("control_port") or 0),
        error=task.get("error") or "",
    )


def task_info(task: Mapping[str, Any]) -> pb.TaskInfo:
    short = short_task(task)
    return pb.TaskInfo(
        shortInfo=short,
        classInfo=pb.TaskClassInfo(name=short.className, controlMode=short.controlMode),
        taskPath=short.name,
        envId=short.envId,
    )


def role_info(node: Mapping[str, Any]) -> pb.RoleInfo:
    """A role and its subtree, from ``EnvironmentActor.tree()``."""
    children = [role_info(c) for c in node.get("children", ())]
    if "task_id" in node:
        status = DeploymentStatus.ACTIVE if node.get("pid") else DeploymentStatus.INACTIVE
        task_ids = [node["task_id"]]
    else:
        status = aggregate_deployment(DeploymentStatus(c.status) for c in children)
        task_ids = [t for c in children for t in c.taskIds]
    return pb.RoleInfo(
        name=node.get("name", ""),
        status=status.value,
        state=node.get("state", ""),
        fullPath=node.get("path", ""),
        taskIds=task_ids,
        roles=children,
        vars=node.get("vars") or {},
        kind=node.get("kind", ""),
        critical=bool(node.get("critical", True)),
    )


def matching_roles(tree: Mapping[str, Any], path_spec: str) -> list[pb.RoleInfo]:
    """The roles whose full path matches the glob ``path_spec`` ("": the root)."""
    if not path_spec:
        return [role_info(tree)]
    return [role_info(n) for n in _walk(tree) if fnmatch.fnmatchcase(n.get("path", ""), path_spec)]


def _walk(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield node
    for child in node.get("children", ()):
        yield from _walk(child)


def event(record: Mapping[str, Any], lost: bool = False) -> ev_pb.Event:
    """One ``events.Event``, from an ``o2ctl.core.events.Event`` record."""
    kind = record.get("kind", "")
    nano = round(float(record.get("time") or 0.0) * 1e9)
    out = ev_pb.Event(
        timestamp=nano // 1_000_000,
        timestampNano=nano,
        seq=int(record.get("seq", 0)),
        eventsLost=lost,
    )
    fill = _PAYLOAD.get(kind)
    if fill is not None:
        fill(out, record)
    return out


def _environment(out: ev_pb.Event, r: Mapping[str, Any]) -> None:
    """An environment's state change, or a step of one of its transitions."""
    detail = r.get("detail") or {}
    transition = r.get("event", "") if r.get("kind") == "transition" else ""
    status = _OP_STATUS.get(r.get("status") or "", ev_pb.NULL) if transition else ev_pb.NULL
    step = _STEP.get(r.get("status") or "", "").format(t=transition) if transition else ""
    e = out.environmentEvent
    e.environmentId = r.get("env_id", "")
    e.state = r.get("state", "")
    e.runNumber = run_number(detail.get("run_number"))
    e.error = r.get("error", "")
    e.message = str(detail.get("message") or describe(r))
    e.transition = transition
    e.transitionStep = step
    e.transitionStatus = status
    e.vars.update({str(k): str(v) for k, v in (detail.get("vars") or {}).items()})
    if detail.get("workflow"):
        e.workflowTemplateInfo.path = str(detail["workflow"])
        e.workflowTemplateInfo.name = str(detail["workflow"]).rsplit("/", 1)[-1]


_STEP = {"STARTED": "before_{t}", "ONGOING": "{t}", "DONE_OK": "after_{t}", "DONE_ERROR": "{t}"}


def _task(out: ev_pb.Event, r: Mapping[str, Any]) -> None:
    detail = r.get("detail") or {}
    t = out.taskEvent
    t.taskid = str(detail.get("task_id", ""))
    t.name = f"{detail.get('task_class') or r.get('path', '')}#{t.taskid}"
    t.state = r.get("state", "")
    t.status = str(detail.get("status") or "")
    t.hostname = str(detail.get("host") or "")
    t.className = str(detail.get("task_class") or "")
    t.environmentId = r.get("env_id", "")
    t.path = r.get("path", "")
    t.error = r.get("error", "")
    t.deviceEvent = str(detail.get("device_event") or "")
    if r.get("event"):  # a hook task: the hook point it ran at
        t.traits.trigger = r["event"]
        t.hookStatus = _OP_STATUS.get(r.get("status") or "", ev_pb.NULL)


def _role(out: ev_pb.Event, r: Mapping[str, Any]) -> None:
    path = r.get("path", "")
    e = out.roleEvent
    e.name, e.state, e.rolePath = path.rsplit(".", 1)[-1], r.get("state", ""), path
    e.environmentId = r.get("env_id", "")


def _call(out: ev_pb.Event, r: Mapping[str, Any]) -> None:
    detail = r.get("detail") or {}
    c = out.callEvent
    c.func = str(detail.get("func") or r.get("path", "").rsplit(".", 1)[-1])
    c.callStatus = _OP_STATUS.get(r.get("status") or "", ev_pb.NULL)
    c.error = r.get("error", "")
    c.environmentId = r.get("env_id", "")
    c.path = r.get("path", "")
    c.traits.trigger = r.get("event", "")
    if detail.get("return") is not None:
        setattr(c, "return", str(detail["return"]))


def _node(out: ev_pb.Event, r: Mapping[str, Any]) -> None:
    n = out.nodeEvent
    n.machineId, n.state, n.event = r.get("path", ""), r.get("state", ""), r.get("event", "")
    n.status = _OP_STATUS.get(r.get("status") or "", ev_pb.NULL)
    n.error, n.message = r.get("error", ""), describe(r)


_PAYLOAD = {
    "environment": _environment,
    "transition": _environment,
    "task": _task,
    "role": _role,
    "call": _call,
    "node": _node,
}


def describe(record: Mapping[str, Any]) -> str:
    """The one-line text of an event record, as the CLI prints it."""
    return Event(**record).describe()
