"""RoleActor: one per aggregating role; it drives its subtree and folds its children's states.

Transitions come down the tree: the environment sends one ``drive`` to its root role, and
each role sends the OCC event to its own direct tasks, one ``drive`` to each sub-role, and
one to a *shard* of itself on each other node holding its direct tasks (a RoleActor named
``<role>@<node>`` on that node, made on first need; ``actors/drive.py``), then folds what
came back into its aggregate and answers with its merged state and every task's outcome.
A role whose tasks are all on one node lives on that node (``deploy.create_roles``).

Between transitions, the environment hands each role its tasks' new states when a task
changes by itself (a crash, the end of a run), and a sub-role reports its merged state to
its parent role. When the
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

from actors import naming
from actors.drive import TreeDriver
from o2ctl.core.aggregate import RoleAggregate
from o2ctl.core.drive import SHARD_MARK, Outcome, Target, parent_of
from o2ctl.core.occevents import OccEvent


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
        node = _node_id()
        if SHARD_MARK in path:  # a node shard drives what it is given, on its node
            self.driver = TreeDriver(env_id, path.split(SHARD_MARK, 1)[0])
        else:
            self.driver = TreeDriver(env_id, path, node, _make_shard(env_id) if node else None)

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

    async def drive(
        self,
        event: OccEvent,
        args: dict[str, str] | None,
        targets: list[Target],
        timeout: float,
        version: int,
        careful: bool = False,
    ) -> tuple[str, int, list[Outcome]]:
        """Send ``event`` to ``targets`` (all under this role) through the subtree; fold
        the outcomes in (``version``: the environment's counter for task states)."""
        outs, roles = await self.driver.drive(event, args, targets, timeout, version, careful)
        mine = [(o.path, o.state, version) for o in outs if parent_of(o.path) == self.path]
        if self.agg.update_many(mine + roles):
            self._changed()
        return self.agg.state.value, self.version, outs

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


def _node_id() -> str:
    try:
        return str(ray.get_runtime_context().get_node_id())
    except Exception:  # not in a Ray worker (plain tests): no node, no shards
        return ""


def _make_shard(env_id: str) -> Any:
    def make(name: str, node_id: str) -> Any:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        return RoleActor.options(
            name=name,
            namespace=naming.NAMESPACE,
            lifetime="detached",
            get_if_exists=True,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
        ).remote(env_id, name.split(":", 1)[1], {}, None, False, None)

    return make


RoleActor = ray.remote(num_cpus=0, max_restarts=-1)(Role)
