"""The controller's books: every task, the idle pool, ports and placements.

Plain Python held by the controller actor. ``place`` turns an environment's task requests
into placements: a claimed idle task when one matches, otherwise a node chosen by
constraints and load with a control port reserved for the new task. Every task id that
exists is in ``tasks`` with its environment (or none, when idle), so that nothing alive is
unaccounted for: ``o2ctl task list`` shows them all and ``task clean`` ends idle ones.

Ports are reserved per **physical host** (the node's IP address), not per Ray node: several
Ray nodes on one machine (a development farm) must never be handed the same port.

The books are rebuilt after a controller restart from the durable records (``restore``):
each environment's task table (with the channel ports its tasks hold) and the idle pool's
own records. Pool changes are written by the controller before it acknowledges them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from actors import naming
from o2ctl.core import farm
from o2ctl.core.envrecord import EnvRecord
from o2ctl.core.ids import new_id
from o2ctl.core.pool import IdlePool, IdleTask
from o2ctl.core.ports import PortAllocator, PortRecord


@dataclass(frozen=True)
class Constraint:
    attribute: str
    value: str


class TaskRegistry:
    def __init__(self, ports: PortAllocator) -> None:
        self.ports = ports
        self.pool = IdlePool()
        self.tasks: dict[str, dict[str, Any]] = {}  # task_id -> record
        self.pending: dict[str, dict[str, Any]] = {}  # placed, not registered yet (deploying)

    def load(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for rec in self.tasks.values():
            counts[rec["node_id"]] = counts.get(rec["node_id"], 0) + 1
        return counts

    def usage(self, overhead_mb: float = 0.0) -> dict[str, farm.Usage]:
        """What every known task takes on its node: its wants, plus what a task costs the
        control plane itself (its actor's memory, ``overhead_mb``)."""
        known = [*self.tasks.values(), *self.pending.values()]
        return farm.tally((rec["node_id"], self.request(rec, overhead_mb)) for rec in known)

    @staticmethod
    def request(req: Mapping[str, Any], overhead_mb: float = 0.0) -> farm.Request:
        wants = dict(req.get("wants") or {})
        memory = float(wants.get("memory") or 0) if _number(wants.get("memory")) else 0.0
        if overhead_mb:
            wants["memory"] = memory + overhead_mb
        return farm.request(
            req.get("role_path", ""), req.get("task_class", ""), req.get("constraints", ()), wants
        )

    def on_node(self, node_id: str) -> list[dict[str, Any]]:
        return [r for r in self.tasks.values() if r.get("node_id") == node_id]

    def place(
        self,
        env_id: str,
        requests: Sequence[Mapping[str, Any]],
        nodes: Sequence[farm.FarmNode],
        *,
        reclaim: bool = False,
        overhead_mb: float = 0.0,
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """A placement per request (claimed idle tasks first), all or nothing, and the async
        machines to reclaim before anything starts (only with ``reclaim``). Admission: every
        new task must fit a node's free capacity, or nothing is placed (``NoNodeFits``)."""
        by_id = {n.node_id: n for n in nodes}
        sync = {n.node_id: n for n in nodes if n.alive and n.mode is farm.Mode.SYNC}
        out: dict[int, dict[str, Any]] = {}
        try:
            for i, req in enumerate(requests):
                cons = [Constraint(a, v) for a, v in req["constraints"]]
                idle = self.pool.claim(req["task_class"], cons, sync)  # type: ignore[arg-type]
                if idle is not None:
                    out[i] = self._placement(
                        idle.task_id, by_id[idle.node_id], idle.control_port, True, idle.actor_name
                    )
                    self.tasks[idle.task_id]["env_id"] = env_id
            fresh = [i for i in range(len(requests)) if i not in out]
            wanted = [self.request(requests[i], overhead_mb) for i in fresh]
            avoid = {n for i in fresh for n in requests[i].get("avoid", ())}
            usable = [n for n in nodes if n.node_id not in avoid]  # e.g. a node going away
            chosen = farm.place(wanted, usable, self.usage(overhead_mb), reclaim=reclaim)
            for i, node in zip(fresh, chosen, strict=True):
                req, task_id = requests[i], new_id()
                port = (
                    self.ports.allocate(node.ip, task_id, "control") if req["controlled"] else None
                )  # first: a host out of ports must leave no pending task behind
                self.pending[task_id] = {"node_id": node.node_id, "env_id": env_id, **dict(req)}
                name = naming.task_actor(env_id, req["role_path"], task_id)
                out[i] = self._placement(task_id, node, port, False, name)
        except Exception:
            self.unplace(env_id, list(out.values()))
            raise
        placements = [out[i] for i in range(len(requests))]
        return placements, farm.to_reclaim(by_id[p["node"]["node_id"]] for p in placements)

    @staticmethod
    def _placement(
        task_id: str, node: farm.FarmNode, port: int | None, reused: bool, actor_name: str
    ) -> dict[str, Any]:
        return {
            "task_id": task_id,
            "reused": reused,
            "actor_name": actor_name,
            "control_port": port,
            "node": {"node_id": node.node_id, "hostname": node.machine_id, "ip": node.ip},
        }

    def unplace(self, env_id: str, placements: Sequence[Mapping[str, Any]]) -> None:
        """Undo ``place``: new tasks' ports are freed, claimed tasks go back to the pool."""
        for p in placements:
            if p["reused"]:
                rec = self.tasks.get(p["task_id"])
                if rec is not None:
                    rec["env_id"] = None
                    self.pool.add(self.idle(rec))
            else:
                self.ports.release_owner(p["task_id"])
                self.pending.pop(p["task_id"], None)

    def drop_pending(self, env_id: str) -> list[str]:
        """Forget the tasks placed for ``env_id`` that never came up (a deploy cancelled while
        it was placed), with their ports; returns their ids."""
        gone = [t for t, rec in self.pending.items() if rec.get("env_id") == env_id]
        for task_id in gone:
            del self.pending[task_id]
            self.ports.release_owner(task_id)
        return gone

    def replace_port(self, task_id: str, ip: str, bad_port: int) -> int:
        """Another control port for ``task_id``: ``bad_port`` is held by someone else, and
        stays reserved (under no task) so that it is not handed out again."""
        channels = [r.purpose for r in self.ports.held_by(task_id) if r.purpose != "control"]
        self.ports.release_owner(task_id, keep_purposes=channels)
        self.ports.restore([PortRecord(ip, bad_port, "foreign", "taken")])
        port = self.ports.allocate(ip, task_id, "control")
        if task_id in self.tasks:  # a running task's (RECOVER): its record follows
            self.tasks[task_id]["control_port"] = port
        return port

    @staticmethod
    def idle(rec: Mapping[str, Any]) -> IdleTask:
        return IdleTask(
            rec["task_id"],
            rec["task_class"],
            rec["node_id"],
            rec["actor_name"],
            rec.get("control_port"),
            rec.get("since") or time.time(),
        )

    def register(self, env_id: str, records: Sequence[Mapping[str, Any]]) -> None:
        for r in records:
            self.pending.pop(r["task_id"], None)
            rec = {k: r[k] for k in ("task_id", "task_class", "actor_name", "node_id") if k in r}
            rec.update(
                env_id=env_id,
                host=r.get("host", ""),
                ip=r.get("ip", ""),
                role_path=r.get("role_path", ""),
                control_port=r.get("control_port"),
                pid=r.get("pid", 0),
                log_path=r.get("log_path", ""),
                wants=dict(r.get("wants") or {}),
            )
            self.tasks[r["task_id"]] = rec

    def release(self, kept: Sequence[str], dropped: Sequence[str]) -> list[dict[str, Any]]:
        """Kept tasks go to the pool (their records are returned, to be written); dropped
        ones are forgotten with every port they held."""
        pooled = []
        for task_id in kept:
            rec = self.tasks.get(task_id)
            if rec is not None:
                rec.update(env_id=None, role_path="", state="STANDBY", since=time.time())
                self.ports.release_owner(task_id, keep_purposes=["control"])
                self.pool.add(self.idle(rec))
                pooled.append(dict(rec))
        for task_id in dropped:
            self.pending.pop(task_id, None)
            self.tasks.pop(task_id, None)
            self.pool.remove(task_id)
            self.ports.release_owner(task_id)
        return pooled

    def channel_ports(
        self, need: Mapping[str, tuple[str, list[str]]], keep: bool = False
    ) -> dict[str, dict[str, int]]:
        """Ports for each task's TCP binds; ``need`` maps a task id to (its host's IP, the
        purposes). At CONFIGURE every port is fresh (what a task held before is released
        first); with ``keep`` (a modify) a task keeps the ports it holds for the purposes
        still needed, so its peers' addresses do not move, and only new ones are taken."""
        out: dict[str, dict[str, int]] = {}
        for task_id, (ip, purposes) in need.items():
            held = {
                r.purpose: r.port for r in self.ports.held_by(task_id) if r.purpose != "control"
            }
            kept = {p: held[p] for p in purposes if keep and p in held}
            for purpose in held:
                if purpose not in kept:
                    self.ports.release_owner_purpose(task_id, purpose)
            missing = [p for p in purposes if p not in kept]
            out[task_id] = {**kept, **self.ports.allocate_many(ip, task_id, missing)}
        return out

    # -- after a controller restart -------------------------------------------------------
    def restore_environment(self, rec: EnvRecord) -> None:
        self.register(rec.env_id, list(rec.tasks.values()))
        for t in rec.tasks.values():
            self._restore_ports(t)

    def restore_idle(self, rec: Mapping[str, Any]) -> None:
        self.tasks[rec["task_id"]] = {**rec, "env_id": None}
        self.pool.add(self.idle(rec))
        self._restore_ports(rec)

    def _restore_ports(self, t: Mapping[str, Any]) -> None:
        ip, owner = t.get("ip", ""), t["task_id"]
        held = [
            PortRecord(ip, int(p), owner, purpose) for purpose, p in (t.get("ports") or {}).items()
        ]
        if t.get("control_port"):
            held.append(PortRecord(ip, int(t["control_port"]), owner, "control"))
        self.ports.restore(held)


def _number(value: object) -> bool:
    try:
        float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True
