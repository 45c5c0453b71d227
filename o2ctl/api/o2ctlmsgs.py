"""From the controller's node rows to the messages of o2ctl's own service (``o2ctl.proto``).

The farm's nodes and o2ctl's own environment modification are not part of AliECS's
Control API; they are served by ``o2ctl.O2Ctl`` beside it, and their messages are built
here, field by field, from the same dicts the SDK gives. Nothing here calls anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from o2ctl.api._gen import o2ctl_pb2 as pb


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


def modify_reply(d: Mapping[str, Any]) -> pb.ModifyEnvironmentReply:
    """What ``Environment.modify`` answers."""
    return pb.ModifyEnvironmentReply(
        added=d["added"],
        removed=d["removed"],
        changed=[pb.ChangedTask(path=p, keys=k) for p, k in d["changed"].items()],
        restarted=d["restarted"],
        untouched=d["untouched"],
        tookSeconds=d["took_s"],
        blockedWhileRunning=d["blocked_while_running"],
        dryRun=bool(d.get("dry_run")),
        runNumber=int(d.get("run_number") or 0),
        refused=str(d.get("refused") or ""),
        warnings=[str(w) for w in d.get("warnings", ())],
    )
