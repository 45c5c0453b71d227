"""The controller's books: every task, the idle pool, ports and placements.

Plain Python held by the controller actor. ``place`` turns an environment's task requests
into placements: a claimed idle task when one matches, otherwise a node chosen by
constraints and load with a control port reserved for the new task. Every task id that
exists is in ``tasks`` with its environment (or none, when idle), so that nothing alive is
unaccounted for: ``o2ctl task list`` shows them all and ``task clean`` ends idle ones.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from actors import naming
from o2ctl.core.ids import new_id
from o2ctl.core.placement import NodeInfo, choose_node
from o2ctl.core.pool import IdlePool, IdleTask
from o2ctl.core.ports import PortAllocator


@dataclass(frozen=True)
class Constraint:
    attribute: str
    value: str


class TaskRegistry:
    def __init__(self, ports: PortAllocator) -> None:
        self.ports = ports
        self.pool = IdlePool()
        self.tasks: dict[str, dict[str, Any]] = {}  # task_id -> record

    def load(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for rec in self.tasks.values():
            counts[rec["node_id"]] = counts.get(rec["node_id"], 0) + 1
        return counts

    def place(
        self, env_id: str, requests: Sequence[Mapping[str, Any]], nodes: Mapping[str, NodeInfo]
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        load = self.load()
        try:
            for req in requests:
                cons = [Constraint(a, v) for a, v in req["constraints"]]
                idle = self.pool.claim(req["task_class"], cons, nodes)
                if idle is not None:
                    node = nodes[idle.node_id]
                    out.append(
                        self._placement(
                            idle.task_id, node, idle.control_port, True, idle.actor_name
                        )
                    )
                    self.tasks[idle.task_id]["env_id"] = env_id
                    continue
                node = choose_node(req["role_path"], cons, list(nodes.values()), load)
                task_id = new_id()
                port = (
                    self.ports.allocate(node.node_id, task_id, "control")
                    if req["controlled"]
                    else None
                )
                load[node.node_id] = load.get(node.node_id, 0) + 1
                out.append(
                    self._placement(
                        task_id,
                        node,
                        port,
                        False,
                        naming.task_actor(env_id, req["role_path"], task_id),
                    )
                )
        except Exception:
            self.unplace(env_id, out)
            raise
        return out

    @staticmethod
    def _placement(
        task_id: str, node: NodeInfo, port: int | None, reused: bool, actor_name: str
    ) -> dict[str, Any]:
        return {
            "task_id": task_id,
            "reused": reused,
            "actor_name": actor_name,
            "control_port": port,
            "node": {"node_id": node.node_id, "hostname": node.hostname, "ip": node.ip},
        }

    def unplace(self, env_id: str, placements: Sequence[Mapping[str, Any]]) -> None:
        """Undo ``place``: new tasks' ports are freed, claimed tasks go back to the pool."""
        for p in placements:
            if p["reused"]:
                rec = self.tasks.get(p["task_id"])
                if rec is not None:
                    rec["env_id"] = None
                    self.pool.add(self._idle(rec))
            else:
                self.ports.release_owner(p["task_id"])

    @staticmethod
    def _idle(rec: Mapping[str, Any]) -> IdleTask:
        return IdleTask(
            rec["task_id"],
            rec["task_class"],
            rec["node_id"],
            rec["actor_name"],
            rec.get("control_port"),
            time.time(),
        )

    def register(
        self,
        env_id: str,
        records: Sequence[Mapping[str, Any]],
        actor_names: Mapping[str, str],
        nodes: Mapping[str, str],
    ) -> None:
        for r in records:
            rec = dict(r)
            rec.update(
                env_id=env_id, actor_name=actor_names[r["task_id"]], node_id=nodes[r["task_id"]]
            )
            self.tasks[r["task_id"]] = rec

    def release(self, kept: Sequence[str], dropped: Sequence[str]) -> None:
        for task_id in kept:
            rec = self.tasks.get(task_id)
            if rec is not None:
                rec.update(env_id=None, role_path="", state="STANDBY")
                self.ports.release_owner(task_id, keep_purposes=["control"])
                self.pool.add(self._idle(rec))
        for task_id in dropped:
            self.tasks.pop(task_id, None)
            self.pool.remove(task_id)
            self.ports.release_owner(task_id)

    def channel_ports(self, need: Mapping[str, tuple[str, list[str]]]) -> dict[str, dict[str, int]]:
        """Fresh ports for each task's TCP binds (what it held before is released first)."""
        out: dict[str, dict[str, int]] = {}
        for task_id, (node_id, purposes) in need.items():
            self.ports.release_owner(task_id, keep_purposes=["control"])
            out[task_id] = self.ports.allocate_many(node_id, task_id, purposes)
        return out
