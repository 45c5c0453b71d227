"""The pilot-job actors of the farm's async nodes, as the controller's farm manager keeps them.

``PilotKeeper`` belongs to ``actors.farm.FarmManager``: it finds, creates, asks and ends the
pilot actor of each async node (``actors.pilot``; handles cached, since a name lookup is a
GCS call), and turns what the actors report into node events. Ending an actor that is only
restarting would orphan its pilot, so a stop waits for a restarting actor while its node
is alive; an actor gone for good, or bound to an older Ray node of the machine, is
replaced, and the new one adopts the pilot from its launch record.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import ray

from actors import metrics
from actors.pilot import create_pilot_actor, find_pilot_actor
from o2ctl.core.errors import ControlError
from o2ctl.core.farm import FarmNode

if TYPE_CHECKING:
    from actors.farm import FarmManager

START_TIMEOUT_S = 60.0  # a pilot actor may first need a worker process on its node
STATUS_TIMEOUT_S = 5.0
MAX_UNANSWERED = 30  # passes (about seconds) a pilot actor may not answer before replaced
GONE = (ray.exceptions.ActorDiedError, ray.exceptions.ActorUnschedulableError)


class PilotKeeper:
    def __init__(
        self, farm: FarmManager, command: str | Sequence[str] | None, directory: str
    ) -> None:
        self.farm = farm
        self.command = command
        self.directory = directory
        self.statuses: dict[str, dict[str, Any]] = {}  # machine id -> last pilot status
        self._seen: dict[str, tuple[str, int]] = {}  # machine id -> (incarnation, last seq)
        self._handles: dict[str, Any] = {}  # machine id -> pilot actor handle
        self._unanswered: dict[str, int] = {}

    async def _handle(self, machine_id: str) -> Any | None:
        handle = self._handles.get(machine_id)
        if handle is None:
            handle = await asyncio.to_thread(find_pilot_actor, machine_id)
            if handle is not None:
                self._handles[machine_id] = handle
        return handle

    async def _end_actor(self, machine_id: str, handle: Any) -> None:
        self._handles.pop(machine_id, None)
        self._unanswered.pop(machine_id, None)
        await asyncio.to_thread(ray.kill, handle, no_restart=True)

    def _alive(self, machine_id: str) -> bool:
        return any(n.alive for n in self.farm.nodes if n.machine_id == machine_id)

    async def ensure(self, node: FarmNode) -> dict[str, Any]:
        """The pilot of ``node`` running. An actor that is gone for good, or bound to an
        older Ray node of the machine, is replaced (the new one adopts the pilot from the
        launch record); one that does not answer (restarting) is asked again later."""
        mid = node.machine_id
        handle: Any = await self._handle(mid)
        if handle is not None:
            try:
                status = await asyncio.wait_for(handle.status.remote(), STATUS_TIMEOUT_S)
                replace = status.get("node_id") != node.node_id
            except GONE:
                replace = True
            except (ray.exceptions.RayActorError, TimeoutError) as exc:
                self._unanswered[mid] = self._unanswered.get(mid, 0) + 1
                if self._unanswered[mid] < MAX_UNANSWERED:
                    raise ControlError(
                        f"the pilot actor of {mid} does not answer ({type(exc).__name__}); "
                        "it may be restarting: try again"
                    ) from None
                replace = True
            if replace:
                await self._end_actor(mid, handle)
                handle = None
        if handle is None:
            handle = await asyncio.to_thread(
                create_pilot_actor,
                mid,
                node.node_id,
                self.command,
                self.directory,
                self.farm.system_id,
            )
            self._handles[mid] = handle
        status = dict(await asyncio.wait_for(handle.start.remote(), START_TIMEOUT_S))
        self._unanswered.pop(mid, None)
        self.observe(mid, status)
        return status

    async def stop(self, machine_id: str, grace_s: float) -> str:
        """Stop the pilot and end its actor; how it ended (the signal, or why unknown).
        A restarting actor is waited for (it re-adopts the pilot first) while the node is
        alive: ending it unasked would leave its pilot running."""
        handle = await self._handle(machine_id)
        if handle is None:
            return "no pilot"
        for _ in range(MAX_UNANSWERED):
            try:
                status = await asyncio.wait_for(handle.stop.remote(grace_s), grace_s + 20.0)
                how = str((status.get("events") or [{}])[-1].get("how", "stopped"))
                break
            except GONE as exc:
                how = f"pilot actor gone ({type(exc).__name__}): its node may be down"
                break
            except ray.exceptions.RayActorError as exc:
                if not self._alive(machine_id):
                    how = f"pilot actor unreachable ({type(exc).__name__}): its node is down"
                    break
                await asyncio.sleep(1.0)
            except TimeoutError:
                raise ControlError(
                    f"the pilot of {machine_id} did not stop within {grace_s + 20.0:.0f}s"
                ) from None
        else:
            raise ControlError(f"the pilot actor of {machine_id} did not answer; try again")
        await self._end_actor(machine_id, handle)
        self.statuses.pop(machine_id, None)
        self._seen.pop(machine_id, None)
        return how

    def observe(self, machine_id: str, status: Mapping[str, Any]) -> None:
        """Keep a pilot's latest status; its new events become node events."""
        self.statuses[machine_id] = dict(status)
        incarnation, last = self._seen.get(machine_id, ("", 0))
        if status.get("incarnation") != incarnation:
            last = 0
        for ev in status.get("events") or ():
            if ev.get("seq", 0) > last:
                last = ev["seq"]
                error = str(ev.get("how") or ev.get("error") or "")
                self.farm.event(
                    machine_id,
                    self.farm.mode_of(machine_id),
                    f"PILOT_{ev['what'].upper()}",
                    error=error,
                    detail={"pilot": ev},
                )
        self._seen[machine_id] = (str(status.get("incarnation", "")), last)
        if status.get("jobs") is not None:
            metrics.pilot_jobs(machine_id, int(status["jobs"]))

    def row(self, machine_id: str) -> dict[str, Any] | None:
        st = self.statuses.get(machine_id)
        if not st or st.get("state") in (None, "idle", "stopped"):
            return None
        return {k: st.get(k) for k in ("pid", "state", "since", "jobs", "restarts")}

    async def poll(self, node: FarmNode) -> None:
        """Ask the pilot of an async node how it is (starting it if it is not there)."""
        handle = await self._handle(node.machine_id)
        if handle is None:
            await self.ensure(node)
            return
        try:
            status = await asyncio.wait_for(handle.status.remote(), STATUS_TIMEOUT_S)
        except Exception:
            status = {}  # gone or restarting: ensure tells which
        if status.get("node_id") != node.node_id or status.get("state") in ("idle", "stopped"):
            await self.ensure(node)
        else:
            self.observe(node.machine_id, status)
