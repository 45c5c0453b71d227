"""A role's view of its children: their latest states and the merged state.

Updates arrive from two directions (the environment's batch after a transition, and a
task's own report when it changes by itself), so each carries the child's state version;
an update older than what the role already holds is ignored. The merged state is the pure
``aggregate`` of ``o2ctl.core.states`` over critical children.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from o2ctl.core.states import TaskState, aggregate


@dataclass
class ChildState:
    state: TaskState
    critical: bool
    version: int = -1


class RoleAggregate:
    def __init__(self, children: Mapping[str, bool]) -> None:
        """``children`` maps each child's path to whether it is critical."""
        self.children = {p: ChildState(TaskState.UNKNOWN, c) for p, c in children.items()}
        self.state = self._merge()

    def _merge(self) -> TaskState:
        if not self.children:
            return TaskState.INVARIANT
        return aggregate((c.state, c.critical) for c in self.children.values())

    def update(self, path: str, state: str, version: int = -1) -> bool:
        """Fold one child's new state in; True when the role's own state changed."""
        return self.update_many([(path, state, version)])

    def update_many(self, updates: Iterable[tuple[str, str, int]]) -> bool:
        for path, state, version in updates:
            child = self.children.get(path)
            if child is None or (version >= 0 and version < child.version):
                continue
            child.state = TaskState(state)
            child.version = max(version, child.version)
        before, self.state = self.state, self._merge()
        return before != self.state

    def set_children(self, children: Mapping[str, bool]) -> bool:
        """The role's children change (an environment modified): those that stay keep their
        state, new ones start UNKNOWN; True when the role's own state changed."""
        old = self.children
        self.children = {
            p: old[p]
            if p in old and old[p].critical == c
            else ChildState(
                old[p].state if p in old else TaskState.UNKNOWN,
                c,
                old[p].version if p in old else -1,
            )
            for p, c in children.items()
        }
        before, self.state = self.state, self._merge()
        return before != self.state
