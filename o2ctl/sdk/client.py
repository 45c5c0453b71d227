"""``Client``: the handle on a whole o2ctl system (its controller actor).

It creates environments (following their progress when asked), lists environments, tasks
and nodes, reads the event log of every environment, and drives the farm (node modes).
One environment is an ``Environment`` (``o2ctl.sdk.environment``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import ray

from actors.errors import NotFound
from o2ctl.progress import ProgressReader, Step, text_progress
from o2ctl.sdk.calls import acall, call, follow_events, read
from o2ctl.sdk.environment import Environment


class Client:
    def __init__(self, controller: Any) -> None:
        self.controller = controller

    def create_environment(
        self,
        workflow: str,
        vars: dict[str, Any] | None = None,
        auto_configure: bool = True,
        progress: Callable[[Step], None] | bool | None = None,
        reclaim: bool = False,
    ) -> Environment:
        """DEPLOY + CONFIGURE ``workflow``; returns once CONFIGURED (or raises, leaving nothing).

        ``progress``: a callback given each ``Step`` (tasks deployed / configured out of
        the total), or True to print them. ``reclaim``: a task that fits no sync node may
        take an async node, whose pilot is stopped first.
        """
        request_id = uuid.uuid4().hex
        cursor = int(call(read(self.controller.last_event_seq).remote()))
        ref = self.controller.create_environment.remote(
            workflow, vars or {}, auto_configure, request_id, reclaim
        )
        if progress:
            report = text_progress() if progress is True else progress
            self._follow(ref, cursor, ProgressReader(request_id), report)
        summary = call(ref)
        return Environment(self, summary["env_id"])

    def _follow(
        self, ref: Any, cursor: int, reader: ProgressReader, report: Callable[[Step], None]
    ) -> None:
        while not ray.wait([ref], timeout=0)[0]:
            batch = call(read(self.controller.wait_events).remote(cursor, 0.5))
            cursor = batch["last_seq"]
            for step in reader.feed(batch["events"]):
                report(step)

    async def acreate_environment(
        self,
        workflow: str,
        vars: dict[str, Any] | None = None,
        auto_configure: bool = True,
        reclaim: bool = False,
    ) -> Environment:
        summary = await acall(
            self.controller.create_environment.remote(
                workflow, vars or {}, auto_configure, "", reclaim
            )
        )
        return Environment(self, summary["env_id"])

    def environments(self) -> list[dict[str, Any]]:
        return list(call(read(self.controller.list_environments).remote()))

    def environment(self, env_id: str) -> Environment:
        if env_id not in call(read(self.controller.environment_ids).remote()):
            raise NotFound(f"no environment {env_id[:80]!r}")
        return Environment(self, env_id)

    def tasks(self) -> list[dict[str, Any]]:
        return list(call(read(self.controller.list_tasks).remote()))

    def clean_tasks(self, task_ids: list[str] | None = None) -> list[str]:
        return list(call(self.controller.clean_tasks.remote(task_ids)))

    def info(self) -> dict[str, Any]:
        return dict(call(read(self.controller.info).remote()))

    def events(self, after: int = 0, timeout: float | None = None) -> Iterator[dict[str, Any]]:
        """Every event of every environment, as they come (ends after ``timeout`` idle s)."""
        yield from follow_events(self.controller, after, timeout)

    def shutdown(self) -> dict[str, Any]:
        return dict(call(self.controller.shutdown.remote()))

    def doctor(self, clean: bool = False) -> dict[str, Any]:
        """Orphans of this system (processes, actors, records); ended with ``clean``."""
        return dict(call(self.controller.doctor.remote(clean)))

    # -- farm (FarmManager) -------------------------------------------------------------
    def nodes(self) -> list[dict[str, Any]]:
        """Every node: machine_id, node_id, ip, node_class (its mode), alive, labels, tasks,
        free cpu and memory (MB), pilot (None, or pid, state, since, jobs)."""
        return list(call(read(self.controller.list_nodes).remote(), timeout=60))

    def assign_node(
        self, machine_id: str, mode: str, grace_s: float | None = None
    ) -> dict[str, Any]:
        """Make a node ``sync`` or ``async`` (starting, or stopping within ``grace_s``, its
        pilot); returns once done: ``{machine_id, node_class, pilot, took_s, how}``."""
        return dict(call(self.controller.assign_node.remote(machine_id, mode, grace_s)))
