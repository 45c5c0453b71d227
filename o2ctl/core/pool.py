"""The idle pool: tasks kept alive in STANDBY between environments, waiting to be reused.

A task enters the pool when its environment is destroyed with ``keep_tasks`` and the task
is alive and in STANDBY. A new environment claims, for each of its task roles, an idle
task of the same task class on a node that meets the role's constraints (aliecs.md §7);
the claim is exclusive (a claimed task leaves the pool at once, so two environments
created together never share one). Pure bookkeeping: the controller holds one pool.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from o2ctl.core.placement import ConstraintLike, NodeInfo, satisfies


@dataclass(frozen=True)
class IdleTask:
    task_id: str
    task_class: str
    node_id: str
    actor_name: str
    control_port: int | None
    since: float = 0.0


class IdlePool:
    def __init__(self) -> None:
        self._idle: dict[str, IdleTask] = {}

    def __len__(self) -> int:
        return len(self._idle)

    def add(self, task: IdleTask) -> None:
        self._idle[task.task_id] = task

    def remove(self, task_id: str) -> IdleTask | None:
        return self._idle.pop(task_id, None)

    def tasks(self) -> list[IdleTask]:
        return sorted(self._idle.values(), key=lambda t: (t.task_class, t.task_id))

    def claim(
        self,
        task_class: str,
        constraints: Sequence[ConstraintLike],
        nodes: Mapping[str, NodeInfo],
    ) -> IdleTask | None:
        """Take the oldest idle task of ``task_class`` whose node meets ``constraints``."""
        for t in sorted(self._idle.values(), key=lambda t: t.since):
            node = nodes.get(t.node_id)
            if t.task_class != task_class or node is None or not node.alive:
                continue
            if satisfies(node, constraints):
                return self._idle.pop(t.task_id)
        return None

    def drop_node(self, node_ids: Iterable[str]) -> list[IdleTask]:
        """Forget idle tasks on nodes that are gone; returns them."""
        gone = set(node_ids)
        out = [t for t in self._idle.values() if t.node_id in gone]
        for t in out:
            del self._idle[t.task_id]
        return out
