"""From the control plane's plain dicts to the Control API's protobuf messages.

The actors answer with plain dicts (environment summaries, task tables, role trees, event
records: the same the SDK and the CLI show); the API server only reshapes them here into
the messages of ``o2control.proto``, field by field, so the mapping between our names and
the AliECS-compatible ones is written down in one place. Nothing here calls anything.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from o2ctl.api._gen import o2control_pb2 as pb
from o2ctl.core.events import Event
from o2ctl.core.states import DeploymentStatus, aggregate_deployment

_OP_STATUS = {
    "": pb.NULL,
    "STARTED": pb.STARTED,
    "ONGOING": pb.ONGOING,
    "DONE_OK": pb.DONE_OK,
    "DONE_ERROR": pb.DONE_ERROR,
}


def millis(seconds: float | None) -> str:
    return str(round((seconds or 0.0) * 1000))


def run_number(value: object) -> int:
    return int(value) if isinstance(value, int) else 0


def environment_info(
    summary: Mapping[str, Any], tasks: Iterable[Mapping[str, Any]] = (), root_role: str = ""
) -> pb.EnvironmentInfo:
    """One environment, from ``EnvironmentActor.summary()`` (and its task table)."""
    workflow = str(summary.get("workflow", ""))
    return pb.EnvironmentInfo(
        id=summary["env_id"],
        createdWhen=millis(summary.get("created")),
        state=summary.get("state", ""),
        tasks=[short_task(t, summary["env_id"]) for t in tasks],
        rootRole=root_role or workflow.rsplit("/", 1)[-1].split("@", 1)[0],
        currentRunNumber=run_number(summary.get("run_number")),
        userVars={str(k): str(v) for k, v in (summary.get("user_vars") or {}).items()},
        workflowTemplate=workflow,
        rootState=summary.get("root_state", ""),
        currentTransition=summary.get("busy") or "",
        lastError=summary.get("last_error") or "",
        detectors=list(summary.get("detectors") or ()),
        allowedEvents=list(summary.get("allowed_events") or ()),
        tasksCount=int(summary.get("tasks") or 0),
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
        envId=env,
        controlMode=task.get("control_mode") or "",
        controlPort=int(task.get("control_port") or 0),
        critical=bool(task.get("critical", True)),
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


def event(record: Mapping[str, Any], lost: bool = False) -> pb.Event:
    """One event, from an ``o2ctl.core.events.Event`` record."""
    kind = record.get("kind", "")
    env_id = record.get("env_id", "")
    detail = record.get("detail") or {}
    status = _OP_STATUS.get(record.get("status") or "", pb.NULL)
    out = pb.Event(
        timestamp=millis(record.get("time")), seq=int(record.get("seq", 0)), eventsLost=lost
    )
    if kind in ("environment", "transition"):
        out.environmentEvent.CopyFrom(
            pb.Ev_EnvironmentEvent(
                environmentId=env_id,
                state=record.get("state", ""),
                currentRunNumber=run_number(detail.get("run_number")),
                error=record.get("error", ""),
                message=describe(record),
                transition=record.get("event", "") if kind == "transition" else "",
                transitionStatus=status if kind == "transition" else pb.NULL,
            )
        )
    elif kind == "task":
        out.taskEvent.CopyFrom(
            pb.Ev_TaskEvent(
                name=record.get("path", ""),
                taskid=str(detail.get("task_id", "")),
                state=record.get("state", ""),
                environmentId=env_id,
                error=record.get("error", ""),
                hookPoint=record.get("event", ""),
                hookStatus=status,
            )
        )
    elif kind == "role":
        path = record.get("path", "")
        out.roleEvent.CopyFrom(
            pb.Ev_RoleEvent(
                name=path.rsplit(".", 1)[-1],
                state=record.get("state", ""),
                rolePath=path,
                environmentId=env_id,
            )
        )
    elif kind == "node":
        out.nodeEvent.CopyFrom(
            pb.Ev_NodeEvent(
                machineId=record.get("path", ""),
                state=record.get("state", ""),
                event=record.get("event", ""),
                status=status,
                error=record.get("error", ""),
                message=describe(record),
            )
        )
    elif kind == "call":
        out.callEvent.CopyFrom(
            pb.Ev_CallEvent(
                path=record.get("path", ""),
                callStatus=status,
                error=record.get("error", ""),
                environmentId=env_id,
                hookPoint=record.get("event", ""),
            )
        )
    return out


def pilot_info(pilot: Mapping[str, Any] | None) -> pb.PilotInfo | None:
    """A node's pilot, from a node row's ``pilot`` (None: no pilot)."""
    if not pilot:
        return None
    jobs = pilot.get("jobs")
    return pb.PilotInfo(
        pid=int(pilot.get("pid") or 0),
        state=str(pilot.get("state") or ""),
        since=float(pilot.get("since") or 0.0),
        jobs=int(jobs) if isinstance(jobs, int) else None,
        restarts=int(pilot.get("restarts") or 0),
    )


def node_info(row: Mapping[str, Any]) -> pb.NodeInfo:
    """One node, from the controller's ``list_nodes`` row."""
    return pb.NodeInfo(
        machineId=row["machine_id"],
        nodeId=row.get("node_id", ""),
        ip=row.get("ip", ""),
        nodeClass=row.get("node_class", ""),
        target=row.get("target", ""),
        alive=bool(row.get("alive")),
        labels={str(k): str(v) for k, v in (row.get("labels") or {}).items()},
        tasks=int(row.get("tasks") or 0),
        cpu=float(row.get("cpu") or 0.0),
        memory=float(row.get("memory") or 0.0),
        pilot=pilot_info(row.get("pilot")),
    )


def assign_reply(result: Mapping[str, Any]) -> pb.AssignNodeReply:
    return pb.AssignNodeReply(
        machineId=result["machine_id"],
        nodeClass=result.get("node_class", ""),
        pilot=pilot_info(result.get("pilot")),
        tookSeconds=float(result.get("took_s") or 0.0),
        how=str(result.get("how") or ""),
    )


def describe(record: Mapping[str, Any]) -> str:
    """The one-line text of an event record, as the CLI prints it."""
    return Event(**record).describe()
