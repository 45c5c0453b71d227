"""The controller: the named, detached entry point of a running o2ctl system.

One per cluster, in the ``o2ctl`` namespace, so that the SDK and the CLI reach a running
system from any process (``ray.get_actor(CONTROLLER, namespace=NAMESPACE)``). It expands
workflows (templates from the configuration repository), creates environment actors and
keeps the books (``TaskRegistry``: every task, the idle pool, ports per host), locks
detectors (one environment per detector), hands out run numbers (durable, from the
runtime store) and keeps the cluster-wide event log that subscribers long-poll.

create = expand → lock detectors → DEPLOY → CONFIGURE; on any failure the environment is
destroyed (forced), its detectors released, and the caller gets one error naming what
failed: nothing is left half-deployed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from dataclasses import replace
from typing import Any

import ray

from actors import naming
from actors.cluster import NodeCache, port_is_free
from actors.environment import EnvironmentActor
from actors.errors import ControlError, DetectorBusy, NotFound
from actors.registry import TaskRegistry
from actors.transitions.common import EnvSettings
from o2ctl.config import state_dir as config_state_dir
from o2ctl.core.errors import InvalidWorkflow
from o2ctl.core.events import Event, EventLog
from o2ctl.core.ids import new_id
from o2ctl.core.ports import PortAllocator

log = logging.getLogger("o2ctl.controller")


def parse_detectors(value: object) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip().upper() for v in value if str(v).strip()]
    text = str(value).strip()
    if text.startswith("["):
        with contextlib.suppress(ValueError):
            return parse_detectors(json.loads(text))
    return [d.strip().upper() for d in text.split(",") if d.strip()]


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

        self.repos = RepositoryManager()
        self.repo_uri = repo
        self.store = open_runtime_store(os.environ.get("O2CTL_RUNTIME_STORE"))
        self.settings = replace(EnvSettings(), **(settings or {}))
        self.nodes = NodeCache()
        self._local_node = ray.get_runtime_context().get_node_id()
        self.registry = TaskRegistry(PortAllocator(is_free=self._port_free))
        self.envs: dict[str, Any] = {}
        self.detectors: dict[str, str] = {}  # detector -> env id
        self.events = EventLog(capacity=50_000)

    def __repr__(self) -> str:
        return "Controller"

    def _port_free(self, node_id: str, port: int) -> bool:
        return port_is_free(port) if node_id == self._local_node else True

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

    def _lock_detectors(self, env_id: str, detectors: list[str]) -> None:
        for d in detectors:
            holder = self.detectors.get(d)
            if holder is not None:
                raise DetectorBusy(
                    f"detector {d} is already in use by environment {holder}; "
                    "destroy that environment or leave the detector out"
                )
        for d in detectors:
            self.detectors[d] = env_id

    async def create_environment(
        self,
        workflow: str,
        user_vars: dict[str, str] | None = None,
        auto_configure: bool = True,
        request_id: str = "",
    ) -> dict[str, Any]:
        """DEPLOY + CONFIGURE a new environment; returns its summary once CONFIGURED.

        ``request_id`` tags the environment's first event, so that a caller following the
        event log can show progress before this call returns.
        """
        user_vars = {str(k): str(v) for k, v in (user_vars or {}).items()}
        env_id = new_id()
        try:
            expanded = await asyncio.to_thread(self._expand, workflow, user_vars, env_id)
        except Exception as exc:
            raise InvalidWorkflow(str(exc)) from None
        detectors = parse_detectors(expanded.variables.get("detectors"))
        self._lock_detectors(env_id, detectors)
        env = EnvironmentActor.options(
            name=naming.env_actor(env_id),
            namespace=naming.NAMESPACE,
            lifetime="detached",
        ).remote(env_id, expanded, self._self(), self.settings, user_vars, detectors)
        self.envs[env_id] = env
        self.events.append(
            Event(
                "environment",
                env_id,
                state="STANDBY",
                detail={
                    "request_id": request_id,
                    "workflow": workflow,
                    "tasks": len(expanded.root.tasks()),
                },
            )
        )
        try:
            await env.transition.remote("DEPLOY")
            if auto_configure:
                await env.transition.remote("CONFIGURE")
        except Exception:
            await self._discard(env_id, env)
            raise
        return dict(await env.summary.remote())

    async def _discard(self, env_id: str, env: Any) -> None:
        with contextlib.suppress(Exception):
            await env.destroy.remote(force=True)
        await self._forget(env_id)

    async def _forget(self, env_id: str) -> None:
        env = self.envs.pop(env_id, None)
        for d in [d for d, holder in self.detectors.items() if holder == env_id]:
            del self.detectors[d]
        if env is not None:
            with contextlib.suppress(Exception):
                ray.kill(env)

    def _self(self) -> Any:
        return ray.get_runtime_context().current_actor

    def _env(self, env_id: str) -> Any:
        env = self.envs.get(env_id)
        if env is None:
            known = ", ".join(sorted(self.envs)) or "none"
            raise NotFound(f"no environment {env_id!r} (known: {known})")
        return env

    async def control_environment(self, env_id: str, event: str) -> str:
        return str(await self._env(env_id).transition.remote(event))

    async def destroy_environment(
        self,
        env_id: str,
        keep_tasks: bool = False,
        allow_in_running: bool = False,
        force: bool = False,
    ) -> dict[str, Any]:
        env = self._env(env_id)
        result = dict(await env.destroy.remote(keep_tasks, allow_in_running, force))
        await self._forget(env_id)
        self.events.append(Event("environment", env_id, state="DESTROYED"))
        return result

    async def list_environments(self) -> list[dict[str, Any]]:
        ids = sorted(self.envs)
        got = await asyncio.gather(
            *(self.envs[i].summary.remote() for i in ids), return_exceptions=True
        )
        return [g for g in got if isinstance(g, dict)]

    def environment_ids(self) -> list[str]:
        return sorted(self.envs)

    # -- books --------------------------------------------------------------------------
    async def place(self, env_id: str, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        nodes = await self.nodes.get()
        try:
            return self.registry.place(env_id, requests, nodes)
        except Exception as exc:
            raise ControlError(str(exc)) from None

    def unplace(self, env_id: str, placements: list[dict[str, Any]]) -> None:
        self.registry.unplace(env_id, placements)

    def register_tasks(self, env_id: str, records: list[dict[str, Any]]) -> None:
        names = {
            r["task_id"]: naming.task_actor(env_id, r["role_path"], r["task_id"]) for r in records
        }
        for r in records:
            old = self.registry.tasks.get(r["task_id"])
            if old is not None:
                names[r["task_id"]] = old["actor_name"]
        nodes = {r["task_id"]: str(r["node_id"]) for r in records}
        self.registry.register(env_id, records, names, nodes)

    def allocate_channel_ports(
        self, need: dict[str, tuple[str, list[str]]]
    ) -> dict[str, dict[str, int]]:
        return self.registry.channel_ports(need)

    def release_environment(self, env_id: str, kept: list[str], dropped: list[str]) -> None:
        self.registry.release(kept, dropped)

    async def next_run_number(self) -> int:
        return int(await asyncio.to_thread(self.store.next_run_number))

    # -- tasks --------------------------------------------------------------------------
    def list_tasks(self) -> list[dict[str, Any]]:
        idle = {t.task_id for t in self.registry.pool.tasks()}
        return [
            {**r, "idle": r["task_id"] in idle}
            for r in sorted(self.registry.tasks.values(), key=lambda r: r["task_id"])
        ]

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
        self.registry.release([], [t.task_id for t in chosen])
        return [t.task_id for t in chosen]

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
    async def shutdown(self) -> dict[str, Any]:
        """Destroy every environment (forced) and end every idle task."""
        destroyed = []
        for env_id in list(self.envs):
            with contextlib.suppress(Exception):
                await self.destroy_environment(env_id, force=True)
            destroyed.append(env_id)
        cleaned = await self.clean_tasks()
        return {"destroyed": destroyed, "cleaned": cleaned}

    def info(self) -> dict[str, Any]:
        return {
            "environments": len(self.envs),
            "tasks": len(self.registry.tasks),
            "idle": len(self.registry.pool),
            "detectors": dict(self.detectors),
            "repo": self.repo_uri,
            "last_run_number": self.store.last_run_number(),
            "node_id": self._local_node,
            "state_dir": str(config_state_dir()),  # where the plugin runner keeps its files
        }


ControllerActor = ray.remote(  # type: ignore[call-overload]
    num_cpus=0, max_restarts=0, max_concurrency=1000
)(ControllerRuntime)
