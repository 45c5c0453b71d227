"""The farm, owned by the controller: node modes, pilots on async nodes, reclaiming them.

``FarmManager`` is plain Python held by the controller actor (it needs the event loop of an
async actor and Ray's node table; no actor of its own). What flows through it:

* **Nodes** come from ``ray.nodes()`` (in a thread, every ``poll_s``) as pure-core
  ``FarmNode`` values with their current mode; ``nodes`` is what placement uses.
* **Modes** are durable records (``RecordStore`` kind ``nodes``, key the machine id):
  ``{"mode", "target", "label", "ray_node", "since"}``. A node that joins — seen for the
  first time, with its ``node_class`` label changed, or as another Ray node than the one its
  record was made for (a new ``o2ctl up``, a node started again) — starts from its label:
  a record left by an earlier system never silently wins over what the node was started
  with; from then on the controller owns it.
  ``target`` is written *before* a change is made, so a controller restarted in the middle
  of one finishes it (``reconcile``); placement treats a node as sync only when both its
  mode and its target are sync.
* **Pilots**: an async node has a pilot-job actor (``actors.pilot``). A node that joins as
  async gets its pilot at the next pass; ``assign(..., "async")`` starts it and returns once
  the pilot process runs. Pilot restarts reported by the actor become node events.
* **Reclaim**: ``assign(..., "sync", grace_s)`` stops the pilot (SIGTERM, grace, SIGKILL) and
  records the node sync once nothing of it is left; ``reclaim`` does that for a deploy.

Assigning async is refused while an environment has tasks on the node: the caller passes
what runs there (``tasks_on_node``), having ended idle-pool tasks first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import ray

from actors import metrics
from actors.errors import NotFound
from actors.farmnodes import (
    check_grace,
    describe_tasks,
    effective,
    farm_node,
    label_mode,
    machine_of,
)
from actors.farmpilots import PilotKeeper
from actors.pilot import pilot_command as resolve_pilot_command
from o2ctl.config import state_dir
from o2ctl.config.records import RecordStore
from o2ctl.core.errors import ControlError
from o2ctl.core.events import Event
from o2ctl.core.farm import FarmNode, Mode, Usage, free, parse_mode

log = logging.getLogger("o2ctl.farm")


class FarmManager:
    def __init__(
        self,
        records: RecordStore,
        emit: Callable[[Event], object] | None = None,
        *,
        pilot_command: str | Sequence[str] | None = None,
        pilot_dir: str | None = None,
        pilot_grace_s: float = 10.0,
        farm_poll_s: float = 1.0,
        system_id: str = "",
    ) -> None:
        resolve_pilot_command(pilot_command)  # a bad setting fails when the controller starts
        self.records = records
        self.system_id = system_id  # marks the pilots' processes (O2CTL_SYSTEM)
        self.emit = emit or (lambda event: None)
        self.pilots = PilotKeeper(self, pilot_command, str(pilot_dir or state_dir() / "pilots"))
        self.grace_s = check_grace(pilot_grace_s)
        self.poll_s = max(0.2, float(farm_poll_s))
        self.modes: dict[str, dict[str, Any]] = {}
        self.nodes: list[FarmNode] = []
        self._locks: dict[str, asyncio.Lock] = {}
        self._loaded = False
        self._task: asyncio.Task[None] | None = None
        with contextlib.suppress(RuntimeError):  # no loop yet: the first call starts it
            self._task = asyncio.get_running_loop().create_task(self._run())

    # -- the node table -----------------------------------------------------------------
    async def refresh(self) -> list[FarmNode]:
        """Read Ray's node table; record the mode of nodes seen for the first time."""
        if not self._loaded:
            self.modes = await asyncio.to_thread(self.records.all, "nodes")
            self._loaded = True
        raw = await asyncio.to_thread(ray.nodes)
        nodes = []
        for entry in raw:
            mid, label = machine_of(entry), label_mode(entry)
            rec, ray_node = self.modes.get(mid), str(entry.get("NodeID", ""))
            if entry.get("Alive") and joins(rec, label.value, ray_node):
                detail = {"from_label": label.value}
                if rec is not None and rec.get("label") == label.value:  # say what it replaces
                    detail["replaced"] = f"mode {rec.get('mode')} of an earlier Ray node"
                rec = {"mode": label.value, "target": label.value, "label": label.value}
                await self._put(mid, {**rec, "ray_node": ray_node})
                self.event(mid, label.value, "JOINED", detail=detail)
            elif entry.get("Alive") and rec is not None and not rec.get("ray_node"):
                await self._put(mid, {**rec, "ray_node": ray_node})  # a record from before
            nodes.append(farm_node(entry, effective(rec) if rec else label))
        alive = {n.machine_id for n in nodes if n.alive}
        latest_dead = {n.machine_id: n for n in nodes if not n.alive and n.machine_id not in alive}
        self.nodes = [n for n in nodes if n.alive] + list(latest_dead.values())
        for n in self.nodes:
            metrics.node_mode(n.machine_id, self.mode_of(n.machine_id))
        return self.nodes

    def mode_of(self, machine_id: str) -> str:
        rec = self.modes.get(machine_id)
        return str(rec["mode"]) if rec else "sync"

    def pilot_owners(self) -> list[str]:
        """Machines whose pilot belongs to this system (``doctor`` leaves their processes)."""
        return sorted(
            m for m, rec in self.modes.items() if "async" in (rec.get("mode"), rec.get("target"))
        )

    def node_ids(self, machine_id: str) -> set[str]:
        return {n.node_id for n in self.nodes if n.machine_id == machine_id}

    async def _node(self, machine_id: str) -> FarmNode:
        for attempt in range(2):
            found = [n for n in self.nodes if n.machine_id == machine_id]
            alive = [n for n in found if n.alive]
            if len(alive) > 1:
                raise ControlError(
                    f"machine {machine_id} has {len(alive)} live Ray nodes "
                    f"({', '.join(n.node_id[:12] for n in alive)}): give each a distinct "
                    "machine_id label"
                )
            if found:
                return (alive or found)[0]
            if attempt == 0:
                await self.refresh()
        known = ", ".join(sorted({n.machine_id for n in self.nodes})) or "none"
        raise NotFound(f"no node {machine_id!r} in the cluster (known: {known})")

    async def _put(self, machine_id: str, record: dict[str, Any]) -> None:
        """Record a node's mode: in memory at once (placement sees it), then durably."""
        self.modes[machine_id] = {**record, "since": time.time()}
        try:
            await asyncio.to_thread(self.records.put, "nodes", machine_id, self.modes[machine_id])
        except Exception as exc:  # a machine id that is no valid key, a store that is down
            log.warning("node %s: mode not recorded durably: %s", machine_id, exc)

    def event(self, machine_id: str, state: str, what: str, **fields: Any) -> None:
        with contextlib.suppress(Exception):
            self.emit(Event("node", "", path=machine_id, state=state, event=what, **fields))

    # -- assignment -----------------------------------------------------------------------
    async def assign(
        self,
        machine_id: str,
        mode: str,
        grace_s: float | None = None,
        tasks_on_node: Sequence[Mapping[str, Any]] = (),
    ) -> dict[str, Any]:
        """Make ``machine_id`` sync or async; returns ``{"machine_id", "node_class",
        "pilot", "took_s", "how"}`` once done (pilot running, or nothing of it left)."""
        want = parse_mode(mode)
        grace = self.grace_s if grace_s is None else check_grace(grace_s)
        node = await self._node(machine_id)
        t0 = time.monotonic()
        lock = self._locks.setdefault(machine_id, asyncio.Lock())
        if want is Mode.ASYNC and tasks_on_node:
            raise ControlError(
                f"node {machine_id} runs {len(tasks_on_node)} task(s) of environments "
                f"({describe_tasks(tasks_on_node)}): destroy those environments before "
                "making it async"
            )
        async with lock:
            if want is Mode.ASYNC:
                how = await self._make_async(node)
            else:
                how = await self._make_sync(node, grace)
        return {
            "machine_id": machine_id,
            "node_class": self.mode_of(machine_id),
            "pilot": self.pilots.row(machine_id),
            "took_s": round(time.monotonic() - t0, 3),
            "how": how,
        }

    async def reclaim(self, machine_ids: Iterable[str], grace_s: float | None = None) -> None:
        """Make these async nodes sync (for a deploy that may reclaim), all at once."""
        await asyncio.gather(*(self.assign(m, "sync", grace_s) for m in machine_ids))

    async def _make_async(self, node: FarmNode) -> str:
        mid = node.machine_id
        rec = self.modes.get(mid) or {"label": node.labels.get("node_class", "sync")}
        if rec.get("mode") == "async" and rec.get("target") == "async":
            await self.pilots.ensure(node)
            return "already async"
        if not node.alive:
            raise ControlError(f"node {mid} is not alive: no pilot can run there")
        await self._put(mid, {**rec, "mode": rec.get("mode", "sync"), "target": "async"})
        self.event(mid, "sync", "ASSIGN", status="STARTED", detail={"to": "async"})
        try:
            status = await self.pilots.ensure(node)
            if status.get("state") != "running":
                raise ControlError(f"the pilot of {mid} did not start: {status.get('error')}")
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await self.pilots.stop(mid, 0.0)
            await self._put(mid, {**rec, "mode": "sync", "target": "sync"})
            self.event(mid, "sync", "ASSIGN", status="DONE_ERROR", error=str(exc)[:300])
            raise
        await self._put(mid, {**rec, "mode": "async", "target": "async"})
        self.event(mid, "async", "ASSIGN", status="DONE_OK", detail={"pid": status.get("pid")})
        return "pilot started"

    async def _make_sync(self, node: FarmNode, grace_s: float) -> str:
        mid = node.machine_id
        rec = self.modes.get(mid) or {"label": "sync"}
        if rec.get("mode", "sync") == "sync" and rec.get("target", "sync") == "sync":
            return "already sync"
        await self._put(mid, {**rec, "mode": "async", "target": "sync"})
        self.event(mid, "async", "ASSIGN", status="STARTED", detail={"to": "sync"})
        try:
            how = await self.pilots.stop(mid, grace_s)
        except BaseException as exc:
            self.event(mid, "async", "ASSIGN", status="DONE_ERROR", error=str(exc)[:300])
            raise
        await self._put(mid, {**rec, "mode": "sync", "target": "sync"})
        self.event(mid, "sync", "ASSIGN", status="DONE_OK", detail={"how": how})
        return how

    # -- the background pass ------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            try:
                await self.refresh()
                await self.reconcile()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("farm pass failed")
            await asyncio.sleep(self.poll_s)

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def reconcile(self) -> None:
        """Pilots for async nodes (joined, or a change the last controller left half-done);
        their statuses polled for restarts."""
        jobs = []
        for node in self.nodes:
            rec, lock = self.modes.get(node.machine_id), self._locks.get(node.machine_id)
            if rec is None or not node.alive or (lock is not None and lock.locked()):
                continue
            if rec.get("target") == "async":
                jobs.append(self._settle(node, "async"))
            elif rec.get("mode") == "async":
                jobs.append(self._settle(node, "sync"))
        await asyncio.gather(*jobs, return_exceptions=True)

    async def _settle(self, node: FarmNode, want: str) -> None:
        lock = self._locks.setdefault(node.machine_id, asyncio.Lock())
        async with lock:
            if want == "sync":
                await self._make_sync(node, self.grace_s)
                return
            rec = self.modes[node.machine_id]
            if rec.get("mode") != "async":
                await self._make_async(node)
                return
            await self.pilots.poll(node)

    # -- listing ------------------------------------------------------------------------
    async def rows(self, usage: Mapping[str, Usage] | None = None) -> list[dict[str, Any]]:
        """``o2ctl node list``: one row per node; ``usage`` per node id from the caller."""
        usage = usage or {}
        out = []
        for n in sorted(await self.refresh(), key=lambda n: (n.machine_id, not n.alive)):
            used = usage.get(n.node_id, Usage())
            cpu, memory = free(n, used)
            rec = self.modes.get(n.machine_id) or {}
            out.append(
                {
                    "machine_id": n.machine_id,
                    "node_id": n.node_id,
                    "ip": n.ip,
                    "node_class": rec.get("mode", n.mode.value),
                    "target": rec.get("target", n.mode.value),
                    "alive": n.alive,
                    "labels": dict(n.labels),
                    "tasks": used.tasks,
                    "cpu": round(cpu, 3),
                    "memory": round(memory, 1),
                    "pilot": self.pilots.row(n.machine_id) if n.alive else None,
                }
            )
        return out


def joins(rec: dict[str, Any] | None, label: str, ray_node: str) -> bool:
    """Whether a live node starts from its label now (see the module's docstring)."""
    if rec is None or rec.get("label") != label:
        return True
    return bool(rec.get("ray_node")) and rec.get("ray_node") != ray_node
