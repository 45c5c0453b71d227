"""From the Control API's protobuf messages back to the plain dicts the SDK gives.

A client of the API (``ApiClient``, used by the CLI's ``--endpoint``) answers with the
same dict shapes as the Python SDK (``Client`` / ``Environment``): environment summaries,
task rows, role trees, event records. So code that prints or checks them (the CLI's
tables and trees) works the same whether it talks to Ray directly or to the gRPC API.
The inverse of ``messages``; fields the API does not carry are absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from o2ctl.api._gen import events_pb2 as ev_pb
from o2ctl.api._gen import o2control_pb2 as pb
from o2ctl.api._gen import o2ctl_pb2


def seconds(millis: int | str) -> float:
    try:
        return int(millis) / 1000.0
    except ValueError:
        return 0.0


def template(t: pb.WorkflowTemplateInfo) -> dict[str, Any]:
    """A listed workflow template; ``var_specs`` as ``o2ctl.templates.varspecs`` reads them."""
    return {
        "repo": t.repo,
        "template": t.template,
        "revision": t.revision,
        "default": t.default,
        "description": t.description,
        "var_specs": {name: var_spec(s) for name, s in t.varSpecMap.items()},
    }


def var_spec(s: pb.VarSpecMessage) -> dict[str, Any]:
    return {
        "default_value": s.defaultValue,
        "type": pb.VarSpecMessage.Type.Name(s.type),
        "widget": pb.VarSpecMessage.UiWidget.Name(s.widget),
        "allowed_values": list(s.allowedValues),
        "index": s.index,
        "rows": s.rows,
        "label": s.label,
        "description": s.description,
        "panel": s.panel,
        "visible_if": s.visibleIf,
        "enabled_if": s.enabledIf,
    }


def summary(info: pb.EnvironmentInfo) -> dict[str, Any]:
    """An environment as ``Environment.summary()`` reads (without durations)."""
    return {
        "env_id": info.id,
        "workflow": info.workflowTemplate,
        "state": info.state,
        "root_state": info.rootState,
        "busy": info.currentTransition or None,
        # as Environment.summary(): no current run once stopped, the ended one kept as last
        "run_number": info.currentRunNumber or None,
        "last_run_number": None if info.currentRunNumber else (info.lastRunNumber or None),
        "created": seconds(info.createdWhen),
        "tasks": info.numberOfTasks,
        "detectors": list(info.includedDetectors),
        "user_vars": dict(info.userVars),
        "last_error": info.lastError,
        "allowed_events": list(info.allowedEvents),
    }


def task(info: pb.ShortTaskInfo) -> dict[str, Any]:
    """A task row as ``Environment.tasks`` / ``Client.tasks()`` give it."""
    return {
        "task_id": info.taskId,
        "role_path": info.name,
        "task_class": info.className,
        "host": info.deploymentInfo.hostname,
        "node_id": info.deploymentInfo.agentId,
        "pid": int(info.pid) if info.pid.isdigit() else None,
        "state": info.state,
        "status": info.status,
        "control_mode": info.controlMode,
        "control_port": info.controlPort or None,
        "critical": info.critical,
        "error": info.error,
        "log_path": info.sandboxStdout,
        "env_id": info.envId or None,
        "idle": not info.locked,
    }


def tree(role: pb.RoleInfo, tasks: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """A role tree as ``Environment.tree`` gives it; task details from ``tasks`` by id."""
    out: dict[str, Any] = {
        "name": role.name,
        "path": role.fullPath,
        "kind": role.kind,
        "critical": role.critical,
        "state": role.state,
        "status": role.status,
    }
    if role.roles or not role.taskIds:
        out["children"] = [tree(r, tasks) for r in role.roles]
        return out
    known = (tasks or {}).get(role.taskIds[0], {})
    out.update(
        task_id=role.taskIds[0],
        host=known.get("host", ""),
        pid=known.get("pid"),
        task_class=known.get("task_class", ""),
    )
    return out


_STATUS = {
    ev_pb.NULL: "",
    ev_pb.STARTED: "STARTED",
    ev_pb.ONGOING: "ONGOING",
    ev_pb.DONE_OK: "DONE_OK",
    ev_pb.DONE_ERROR: "DONE_ERROR",
    ev_pb.DONE_TIMEOUT: "DONE_ERROR",
}


WARNING_MARK = " warning: "  # how ``Event.describe`` writes a warning into the message


def _warning(message: str) -> dict[str, str]:
    """An expansion warning carried in an environment event's message, as the SDK's detail."""
    return {"warning": message.split(WARNING_MARK, 1)[1]} if WARNING_MARK in message else {}


def event(ev: ev_pb.Event) -> dict[str, Any]:
    """An event record as ``Client.events()`` yields it (``lost``: events dropped before)."""
    out: dict[str, Any] = {
        "kind": "",
        "env_id": "",
        "path": "",
        "state": "",
        "event": "",
        "status": "",
        "error": "",
        "detail": {},
        "time": seconds(ev.timestamp),
        "seq": ev.seq,
        "lost": ev.eventsLost,
    }
    which = ev.WhichOneof("Payload")
    if which == "environmentEvent":
        e = ev.environmentEvent
        out.update(
            kind="transition" if e.transition else "environment",
            env_id=e.environmentId,
            state=e.state,
            event=e.transition,
            status=_STATUS.get(e.transitionStatus, ""),
            error=e.error,
            detail={"run_number": e.runNumber or None, **_warning(e.message)},
        )
    elif which == "taskEvent":
        t = ev.taskEvent
        detail: dict[str, Any] = {"task_id": t.taskid}
        if t.deviceEvent:
            detail["device_event"] = t.deviceEvent
        out.update(
            kind="task",
            env_id=t.environmentId,
            path=t.path,
            state=t.state,
            event=t.traits.trigger,
            status=_STATUS.get(t.hookStatus, ""),
            error=t.error,
            detail=detail,
        )
    elif which == "roleEvent":
        r = ev.roleEvent
        out.update(kind="role", env_id=r.environmentId, path=r.rolePath, state=r.state)
    elif which == "nodeEvent":
        n = ev.nodeEvent
        out.update(
            kind="node",
            path=n.machineId,
            state=n.state,
            event=n.event,
            status=_STATUS.get(n.status, ""),
            error=n.error,
        )
    elif which == "callEvent":
        c = ev.callEvent
        out.update(
            kind="call",
            env_id=c.environmentId,
            path=c.path,
            event=c.traits.trigger,
            status=_STATUS.get(c.callStatus, ""),
            error=c.error,
        )
    return out


def pilot(info: o2ctl_pb2.PilotInfo, present: bool) -> dict[str, Any] | None:
    """A node's pilot as in ``Client.nodes()`` rows (None: no pilot)."""
    if not present:
        return None
    return {
        "pid": info.pid or None,
        "state": info.state,
        "since": info.since or None,
        "jobs": info.jobs if info.HasField("jobs") else None,
        "restarts": info.restarts,
    }


def node(info: o2ctl_pb2.NodeInfo) -> dict[str, Any]:
    """A node row as ``Client.nodes()`` gives it."""
    return {
        "machine_id": info.machineId,
        "node_id": info.nodeId,
        "ip": info.ip,
        "node_class": info.nodeClass,
        "target": info.target,
        "alive": info.alive,
        "labels": dict(info.labels),
        "tasks": info.tasks,
        "cpu": info.cpu,
        "memory": info.memory,
        "pilot": pilot(info.pilot, info.HasField("pilot")),
    }


def assigned(reply: o2ctl_pb2.AssignNodeReply) -> dict[str, Any]:
    """What ``Client.assign_node`` answers."""
    return {
        "machine_id": reply.machineId,
        "node_class": reply.nodeClass,
        "pilot": pilot(reply.pilot, reply.HasField("pilot")),
        "took_s": reply.tookSeconds,
        "how": reply.how,
    }
