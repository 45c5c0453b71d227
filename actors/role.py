"""RoleActor: one per aggregating role; it folds its children's states into its own.

The environment is the hub of task states: it hands each role its tasks' new states (one
batch per role after a transition, or one update when a task changes by itself: a crash,
the end of a run), and a sub-role reports its merged state to its parent role. When the
merged state changes the role tells its own parent (a role, or the environment for the
root), so an ERROR in a task reaches the environment in a few actor hops, with no polling,
and always after the environment has the task's own report. Messages are fire-and-forget
and versioned, so an old update arriving late changes nothing.

Role actors are detached and restarted by Ray after a crash; a restarted role knows its
children but not their states, so it asks the environment to send them again.
"""

from __future__ import annotations

import time
from typing import Any

import ray

from o2ctl.core.aggregate import RoleAggregate


class RoleRuntime:
    def __init__(
        self,
        env_id: str,
        path: str,
        children: dict[str, bool],
        parent: Any,
        parent_is_env: bool,
        env: Any = None,
    ) -> None:
        self.env_id = env_id
        self.path = path
        self.agg = RoleAggregate(children)
        self.parent = parent
        self.parent_is_env = parent_is_env
        self.env = env
        self.version = time.time_ns() // 1000  # above an earlier life's, after a restart

    def __repr__(self) -> str:
        return f"Role({self.env_id}:{self.path})"

    def _changed(self) -> None:
        self.version += 1
        if self.parent is None:
            return
        if self.parent_is_env:
            self.parent.root_changed.remote(self.agg.state.value, self.version)
            return
        self.parent.child_changed.remote(self.path, self.agg.state.value, self.version)
        if self.env is not None:  # the root's change reaches the environment by root_changed
            self.env.role_changed.remote(self.path, self.agg.state.value)

    def child_changed(self, path: str, state: str, version: int) -> None:
        if self.agg.update(path, state, version):
            self._changed()

    def children_changed(self, updates: list[tuple[str, str, int]]) -> str:
        if self.agg.update_many(updates):
            self._changed()
        return self.agg.state.value

    def set_children(self, children: dict[str, bool]) -> str:
        """A modified environment: children added or removed (states of the others kept)."""
        if self.agg.set_children(children):
            self._changed()
        return self.agg.state.value

    def snapshot(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "state": self.agg.state.value,
            "children": {p: c.state.value for p, c in self.agg.children.items()},
        }


class Role(RoleRuntime):
    """The Ray actor: a restarted one asks the environment for its children's states."""

    async def __init__(self, *args: Any) -> None:  # type: ignore[misc]
        RoleRuntime.__init__(self, *args)
        if ray.get_runtime_context().was_current_actor_reconstructed and self.env is not None:
            self.env.role_restarted.remote(self.path)


RoleActor = ray.remote(num_cpus=0, max_restarts=-1)(Role)
