"""Watching the farm's nodes: a node that disappears takes its tasks with it.

The controller's farm (``actors.farm``) reads Ray's node table once a second; this watch
looks at that table after it. When a node that was alive is dead or gone, every environment
with tasks on it is told (``nodes_lost``): those tasks are marked lost and the environment
goes to ERROR naming the node and the tasks; RECOVER places them again on other fitting
nodes. Idle tasks on the node leave the pool. The loop never dies on one failed pass: it
says so and goes on.

Under ``up --ha`` the head's nodes carry ``HEAD_LABEL``: a dead one is said once as
``head_lost``, and an alive one beside a dead one as ``head_back`` (Ray keeps dead nodes in
its table, so a controller restarted by the head's loss still sees both and says them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from actors import books
from o2ctl.core.events import Event
from o2ctl.core.farm import head_changes

if TYPE_CHECKING:
    from actors.controller import ControllerRuntime

log = logging.getLogger("o2ctl.nodewatch")
PERIOD_S = 1.0


class NodeWatch:
    def __init__(self, ctrl: ControllerRuntime) -> None:
        self.ctrl = ctrl
        self.alive: dict[str, str] = {}  # node id -> host name, as last seen alive
        self._task: asyncio.Task[None] | None = None
        self._heads_said: set[str] = set()  # head nodes whose loss or return was said

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._loop())

    async def _loop(self) -> None:
        while True:
            t0 = time.monotonic()
            try:
                await self.check()
            except Exception:
                log.exception("node watch pass failed; trying again")
            await asyncio.sleep(max(0.05, PERIOD_S - (time.monotonic() - t0)))

    async def check(self) -> list[str]:
        now = {n.node_id: n.machine_id for n in self.ctrl.farm.nodes if n.alive}
        lost = [(nid, host) for nid, host in self.alive.items() if nid not in now]
        self.alive = now
        for node_id, host in lost:
            await self.node_lost(node_id, host)
        self.head_events()
        return [nid for nid, _ in lost]

    def head_events(self) -> None:
        for what, node in head_changes(self.ctrl.farm.nodes, self._heads_said):
            self._heads_said.add(node.node_id)
            self.ctrl.events.append(
                Event("environment", "", detail={what: node.machine_id, "node_id": node.node_id})
            )

    async def node_lost(self, node_id: str, host: str) -> None:
        ctrl = self.ctrl
        on_node = ctrl.registry.on_node(node_id)
        envs = sorted({r["env_id"] for r in on_node if r.get("env_id")})
        ctrl.events.append(
            Event(
                "environment",
                "",
                detail={"node_lost": host, "node_id": node_id, "tasks": len(on_node), "envs": envs},
            )
        )
        idle = ctrl.registry.pool.drop_node([node_id])
        ctrl.registry.release([], [t.task_id for t in idle])
        await asyncio.to_thread(books.write_pool, ctrl, [], [t.task_id for t in idle])
        for env_id in envs:
            env = ctrl.envs.get(env_id)
            if env is not None:
                with contextlib.suppress(Exception):
                    await env.nodes_lost.remote(node_id, host)
