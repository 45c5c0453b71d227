"""The controller: the named, detached entry point of a running o2ctl system.

One per cluster, in the ``o2ctl`` namespace, so that the SDK and the CLI reach a running
system from any process (``ray.get_actor(CONTROLLER, namespace=NAMESPACE)``). It expands
workflows (templates from the configuration repository), creates environment actors and
keeps the books (``TaskRegistry``: every task, the idle pool, ports per host), locks
detectors (one environment per detector), hands out run numbers (durable, from the
runtime store), watches the nodes and keeps the cluster-wide event log.

create = expand → lock detectors → write the environment's record → DEPLOY → CONFIGURE;
on any failure the environment is destroyed (forced), its detectors released, and the
caller gets one error naming what failed: nothing is left half-deployed.

Crash safety: the controller is a cache of durable records (``o2ctl.config.records``):
environments (their task tables), the idle pool, node modes. Ray restarts it after a
crash and ``actors.books.restore`` rebuilds everything from those records and the live
environment actors; no process is touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import replace
from typing import Any

import ray

from actors import books, envlife, naming
from actors.cluster import NodeCache, port_is_free
from actors.errors import (
    AdmissionRefused,
    ControlError,
)
from actors.farm import FarmManager
from actors.farmnodes import split_settings
from actors.nodewatch import NodeWatch
from actors.registry import TaskRegistry
from actors.transitions.common import EnvSettings
from o2ctl.core.detectorlocks import DetectorLocks
from o2ctl.core.events import Event, EventLog
from o2ctl.core.farm import FarmNode
from o2ctl.core.ports import PortAllocator

log = logging.getLogger("o2ctl.controller")


class ControllerRuntime:
    def __init__(
        self,
        state_dir: str | None = None,
        repo: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        if state_dir:
            os.environ["O2CTL_STATE_DIR"] = state_dir
        from o2ctl.config import RepositoryManager, open_runtime_store
        from o2ctl.config import state_dir as current_state_dir
        from o2ctl.config.records import open_record_store

        self.state_dir = str(current_state_dir())
        self.repos = RepositoryManager()
        self.repo_uri = repo
        store_uri = os.environ.get("O2CTL_RUNTIME_STORE")
        self.store = open_runtime_store(store_uri)
        self.records_uri = store_uri or f"file://{self.state_dir}"
        self.records = open_record_store(self.records_uri)
        self.system_id = books.system_id(self.state_dir)
        settings, farm_settings = split_settings(settings)  # farm (FarmManager): its own keys
        self.nodes = NodeCache()
        self._local_node = ray.get_runtime_context().get_node_id()
        self._local_ips = {"127.0.0.1"}
        self.settings = replace(
            EnvSettings(),
            **{
                "log_dir": os.path.join(self.state_dir, "logs"),
                "state_dir": self.state_dir,
                "system_id": self.system_id,
                "records_uri": self.records_uri,
                "control_node_id": self._local_node,
                **(settings or {}),
            },
        )
        ports = PortAllocator(is_free=self._port_free, seed=self.system_id)
        self.registry = TaskRegistry(ports)
        self.envs: dict[str, Any] = {}
        self.detectors = DetectorLocks()  # one environment per detector
        self.events = EventLog(capacity=50_000)
        self.orphan_records: list[str] = []  # environment records whose actor is gone
        self.broken: dict[str, str] = {}  # environment records that cannot be read: why
        self.broken_pool: dict[str, str] = {}  # idle-pool records that cannot be read
        self._destroying: set[str] = set()
        self.watch = NodeWatch(self)
        self.farm = FarmManager(
            self.records, self.events.append, system_id=self.system_id, **farm_settings
        )

    def __repr__(self) -> str:
        return "Controller"

    def _port_free(self, host: str, port: int) -> bool:
        return port_is_free(port) if host in self._local_ips else True

    # -- environments -----------------------------------------------------------------
    def _expand(self, workflow: str, user_vars: dict[str, str], env_id: str) -> Any:
        from o2ctl.expansion import expand_for_environment

        repo = self.repos.lookup(self.repo_uri) if self.repo_uri else None
        return expand_for_environment(
            self.repos,
            self.store,
            workflow,
            user_vars,
            repo=repo,
            builtins={"environment_id": env_id},
        )

    async def create_environment(
        self,
        workflow: str,
        user_vars: dict[str, str] | None = None,
        auto_configure: bool = True,
        request_id: str = "",
        reclaim: bool = False,
        env_id: str = "",
    ) -> dict[str, Any]:
        """DEPLOY + CONFIGURE a new environment; returns its summary once CONFIGURED
        (admission first; ``actors/envlife.py``)."""
        return await envlife.create(
            self, workflow, user_vars, auto_configure, request_id, reclaim, env_id
        )

    async def control_home(self, prefer: str = "") -> str:
        """Where an environment's roles that span nodes live (``envlife.home``)."""
        return await envlife.home(self, prefer)

    async def _forget(self, env_id: str) -> None:
        await envlife.forget_env(self, env_id)

    def _self(self) -> Any:
        return ray.get_runtime_context().current_actor

    def _env(self, env_id: str) -> Any:
        return envlife.env_of(self, env_id)

    async def control_environment(self, env_id: str, event: str) -> str:
        return await envlife.control(self, env_id, event)

    async def destroy_environment(
        self,
        env_id: str,
        keep_tasks: bool = False,
        allow_in_running: bool = False,
        force: bool = False,
    ) -> dict[str, Any]:
        return await envlife.destroy(self, env_id, keep_tasks, allow_in_running, force)

    async def modify_environment(
        self,
        env_id: str,
        user_vars: dict[str, str] | None = None,
        exclude: list[str] | None = None,
        include: list[str] | None = None,
        kill: bool = False,
        dry_run: bool = False,
        restart_run: bool = False,
    ) -> dict[str, Any]:
        """Change what environment ``env_id`` should be and apply the smallest change to
        what runs (``actors/transitions/modify.py``)."""
        return await envlife.modify(
            self, env_id, user_vars, exclude, include, kill, dry_run, restart_run
        )

    async def list_environments(self) -> list[dict[str, Any]]:
        ids = sorted(self.envs)
        got = await asyncio.gather(
            *(self.envs[i].summary.options(max_task_retries=3).remote() for i in ids),
            return_exceptions=True,
        )
        return [g for g in got if isinstance(g, dict)] + [
            books.broken_summary(i, why) for i, why in sorted(self.broken.items())
        ]

    def environment_ids(self) -> list[str]:
        return sorted({*self.envs, *self.broken})  # a broken one can still be destroyed

    # -- books --------------------------------------------------------------------------
    async def _nodes(self) -> list[FarmNode]:
        limit = self.settings.max_tasks_per_node
        return [replace(n, max_tasks=limit) for n in await self.farm.refresh()]

    def _check_env_limit(self, env_id: str, requests: list[dict[str, Any]]) -> None:
        """The site limit of tasks per environment; a request that ``replaces`` a task (one
        lost with its node, placed again at RECOVER) takes that task's place."""
        limit = self.settings.max_tasks_per_environment
        replaced = {r.get("replaces") for r in requests}
        have = sum(
            1
            for task_id, r in self.registry.tasks.items()
            if r.get("env_id") == env_id and task_id not in replaced
        )
        adding = len(requests)
        if limit and have + adding > limit:
            raise AdmissionRefused(
                f"environment {env_id} would have {have + adding} tasks: over the site limit "
                f"of {limit} tasks per environment (setting max_tasks_per_environment)"
            )

    async def admit(self, env_id: str, requests: list[dict[str, Any]], reclaim: bool) -> None:
        """Whether the whole environment fits, before anything starts (nothing is kept)."""
        self._check_env_limit(env_id, requests)
        placed, _ = self.registry.place(
            env_id,
            requests,
            await self._nodes(),
            reclaim=reclaim,
            overhead_mb=self.settings.task_overhead_mb,
        )
        self.registry.unplace(env_id, placed)

    async def place(
        self, env_id: str, requests: list[dict[str, Any]], reclaim: bool = False
    ) -> list[dict[str, Any]]:
        """Places for ``requests`` (idle tasks claimed first), reclaiming async nodes first
        when allowed; ``NoNodeFits`` names each node and why when something does not fit."""
        self._check_env_limit(env_id, requests)
        placed, machines = self.registry.place(
            env_id,
            requests,
            await self._nodes(),
            reclaim=reclaim,
            overhead_mb=self.settings.task_overhead_mb,
        )
        if machines:
            try:
                await self._reclaim(env_id, machines)
            except BaseException:
                self.registry.unplace(env_id, placed)
                raise
        gone = env_id in self._destroying or env_id not in self.envs  # while nodes were read
        if gone and not all(r.get("hook") for r in requests):  # (DESTROY hooks run then)
            self.registry.unplace(env_id, placed)  # or reclaimed: its deploy is cancelled
            raise ControlError(f"environment {env_id} was destroyed while its tasks were placed")
        claimed = [p["task_id"] for p in placed if p["reused"]]
        await asyncio.gather(*(asyncio.to_thread(books.unpool, self, t) for t in claimed))
        return placed

    async def _reclaim(self, env_id: str, machines: list[str]) -> None:
        for m in machines:
            self.events.append(
                Event("node", env_id, path=m, state="async", event="RECLAIM", status="STARTED")
            )
        await self.farm.reclaim(machines)
        for m in machines:
            self.events.append(
                Event("node", env_id, path=m, state="sync", event="RECLAIM", status="DONE_OK")
            )

    def unplace(self, env_id: str, placements: list[dict[str, Any]]) -> None:
        self.registry.unplace(env_id, placements)
        for p in placements:
            if p["reused"] and p["task_id"] in self.registry.tasks:
                books.pool_record(self, self.registry.tasks[p["task_id"]])

    def replace_port(self, task_id: str, node: dict[str, Any], bad_port: int) -> int:
        return self.registry.replace_port(task_id, node["ip"], bad_port)

    def register_tasks(self, env_id: str, records: list[dict[str, Any]]) -> None:
        self.registry.register(env_id, records)

    def allocate_channel_ports(
        self, need: dict[str, tuple[str, list[str]]], keep: bool = False
    ) -> dict[str, dict[str, int]]:
        return self.registry.channel_ports(need, keep)

    async def release_environment(self, env_id: str, kept: list[str], dropped: list[str]) -> None:
        pooled = self.registry.release(kept, dropped)
        await asyncio.to_thread(books.write_pool, self, pooled, dropped)

    async def next_run_number(self) -> int:
        return int(await asyncio.to_thread(self.store.next_run_number))

    # -- tasks --------------------------------------------------------------------------
    async def list_tasks(self) -> list[dict[str, Any]]:
        """Every task: the environments' own task tables (one truth), then the idle pool."""
        return await books.task_list(self)

    async def clean_tasks(self, task_ids: list[str] | None = None) -> list[str]:
        """End idle tasks (all of them, or those named); returns the ids ended."""
        idle = self.registry.pool.tasks()
        chosen = [t for t in idle if task_ids is None or t.task_id in task_ids]
        if task_ids:
            busy = set(task_ids) - {t.task_id for t in chosen}
            if busy:
                raise ControlError(f"not idle (in an environment, or unknown): {sorted(busy)}")
        actors = []
        for t in chosen:
            with contextlib.suppress(ValueError):
                actors.append(ray.get_actor(t.actor_name, namespace=naming.NAMESPACE))
        await asyncio.gather(
            *(a.terminate.remote(self.settings.kill_grace_s) for a in actors),
            return_exceptions=True,
        )
        for a in actors:
            with contextlib.suppress(Exception):
                ray.kill(a)
        dropped = [t.task_id for t in chosen]
        self.registry.release([], dropped)
        await asyncio.to_thread(books.write_pool, self, [], dropped)
        return dropped

    # -- events -------------------------------------------------------------------------
    def publish_events(self, batch: list[dict[str, Any]]) -> None:
        for raw in batch:
            raw = {k: v for k, v in raw.items() if k != "seq"}
            self.events.append(Event(**raw))

    def last_event_seq(self) -> int:
        return self.events.last_seq

    async def wait_events(self, after: int, timeout: float = 10.0) -> dict[str, Any]:
        batch = await self.events.wait_after(after, timeout)
        return {
            "events": [e.to_dict() for e in batch.events],
            "last_seq": batch.last_seq,
            "gap": batch.gap,
        }

    # -- system -------------------------------------------------------------------------
    async def doctor(self, clean: bool = False) -> dict[str, Any]:
        """Orphans: processes of ours, actors and records that belong to nothing."""
        from actors.doctor import examine

        return await examine(self, clean)

    async def shutdown(self) -> dict[str, Any]:
        """Destroy every environment (forced), end every idle task, sweep what is left."""
        destroyed = []
        for env_id in list(self.envs):
            with contextlib.suppress(Exception):
                await self.destroy_environment(env_id, force=True)
            destroyed.append(env_id)
        cleaned = await self.clean_tasks()
        swept = await self.doctor(clean=True)
        return {"destroyed": destroyed, "cleaned": cleaned, "swept": swept["count"]}

    def info(self) -> dict[str, Any]:
        return {
            "environments": len(self.envs),
            "tasks": len(self.registry.tasks),
            "idle": len(self.registry.pool),
            "detectors": self.detectors.table(),
            "repo": self.repo_uri,
            "last_run_number": self.store.last_run_number(),
            "node_id": self._local_node,
            "system_id": self.system_id,
            "state_dir": self.state_dir,
            "records": self.records_uri,
            "pid": os.getpid(),
        }

    # -- farm (FarmManager) ----------------------------------------------------------------
    # Thin forwarding into actors/farm.py, which owns node modes and pilots. What runs on
    # a node comes from the registry: idle tasks there are ended before the node goes async.
    async def list_nodes(self) -> list[dict[str, Any]]:  # (self.nodes is the NodeCache)
        return await self.farm.rows(self.registry.usage(self.settings.task_overhead_mb))

    async def assign_node(
        self, machine_id: str, mode: str, grace_s: float | None = None
    ) -> dict[str, Any]:
        def on_node() -> list[dict[str, Any]]:
            ids = self.farm.node_ids(machine_id)
            return [r for r in self.registry.tasks.values() if r.get("node_id") in ids]

        idle = [r["task_id"] for r in on_node() if not r.get("env_id")]
        if str(mode).lower() == "async" and idle and all(not r.get("env_id") for r in on_node()):
            await self.clean_tasks(idle)
        busy = [r for r in on_node() if r.get("env_id")]
        return await self.farm.assign(machine_id, mode, grace_s, busy)


class Controller(ControllerRuntime):
    """The Ray actor: rebuilt from the durable records whenever it starts."""

    async def __init__(self, *args: Any) -> None:  # type: ignore[misc]
        ControllerRuntime.__init__(self, *args)
        self._local_ips = await books.local_ips(self)
        await books.restore(self)
        self.watch.start()


ControllerActor = ray.remote(  # type: ignore[call-overload]
    num_cpus=0, max_restarts=-1, max_task_retries=0, max_concurrency=1000
)(Controller)
