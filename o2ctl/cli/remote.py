"""The CLI over the Control API (``--endpoint``): the same verbs, spoken over gRPC.

``o2ctl --endpoint HOST:PORT env …`` reaches a system through its ``o2control.Control``
service instead of joining its Ray cluster: from a machine outside the cluster, or where
Ray is not installed the same way. ``RemoteClient`` and ``RemoteEnvironment`` offer the
subset of the SDK's ``Client``/``Environment`` that the commands use, over ``ApiClient``;
the token comes from ``--token``, ``$O2CTL_API_TOKEN`` or the local token file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from actors.errors import ControlError, NotFound
from o2ctl.api.client import ApiClient


class RemoteEnvironment:
    def __init__(self, api: ApiClient, env_id: str) -> None:
        self.api, self.id = api, env_id

    def summary(self) -> dict[str, Any]:
        return dict(self.api.environment(self.id)["summary"])

    @property
    def tree(self) -> dict[str, Any]:
        return dict(self.api.environment(self.id)["tree"])

    @property
    def tasks(self) -> list[dict[str, Any]]:
        return list(self.api.environment(self.id)["tasks"])

    @property
    def run_number(self) -> int | None:
        return self.summary().get("run_number")

    def transition(self, event: str) -> str:
        return str(self.api.control(self.id, event)["state"])

    def modify(self, **change: Any) -> dict[str, Any]:
        return self.api.modify_environment(self.id, **change)

    def destroy(
        self, keep_tasks: bool = False, allow_in_running: bool = False, force: bool = False
    ) -> dict[str, Any]:
        return dict(self.api.destroy(self.id, keep_tasks, allow_in_running, force))


class RemoteClient:
    def __init__(self, endpoint: str, token: str | None = None) -> None:
        self.api = ApiClient(endpoint, token)

    def create_environment(
        self,
        workflow: str,
        vars: dict[str, Any] | None = None,
        auto_configure: bool = True,
        progress: Callable[[Any], None] | None = None,
        reclaim: bool = False,
    ) -> RemoteEnvironment:
        if reclaim:
            raise ControlError("--reclaim is not offered over the Control API: use --address")
        summary = self.api.create_environment(workflow, vars, auto_configure)
        return RemoteEnvironment(self.api, summary["env_id"])

    def environments(self) -> list[dict[str, Any]]:
        return self.api.environments()

    def environment(self, env_id: str) -> RemoteEnvironment:
        if env_id not in {e["env_id"] for e in self.api.environments()}:
            raise NotFound(f"no environment {env_id!r}")
        return RemoteEnvironment(self.api, env_id)

    def tasks(self) -> list[dict[str, Any]]:
        return self.api.tasks()

    def clean_tasks(self, task_ids: list[str] | None = None) -> list[str]:
        return self.api.clean_tasks(task_ids)

    def info(self) -> dict[str, Any]:
        return self.api.info()

    def doctor(self, clean: bool = False) -> dict[str, Any]:
        raise ControlError("doctor is not offered over the Control API: use --address")

    def nodes(self) -> list[dict[str, Any]]:
        return self.api.nodes()

    def assign_node(
        self, machine_id: str, mode: str, grace_s: float | None = None
    ) -> dict[str, Any]:
        return self.api.assign_node(machine_id, mode, grace_s)

    def event_cursor(self) -> int:
        return int(self.api.info()["last_event_seq"])

    def warnings(self, env_id: str, after: int) -> list[str]:
        """The expansion warnings published for ``env_id`` after event ``after``."""
        found = []
        for ev in self.api.events(env_id, after=after, timeout=1.0):
            warning = (ev.get("detail") or {}).get("warning")
            if warning:
                found.append(str(warning))
            if ev.get("kind") == "transition":  # warnings come first: none after DEPLOY
                break
        return found
