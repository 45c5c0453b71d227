"""``Environment``: the handle on one environment, its transitions and its reads.

Cheap to create and stateless: every method asks the controller (commands) or the
environment's own actor (reads, retried across its restart). In Jupyter it renders as a
coloured tree of ``[STATE] role → task`` and a task table (``o2ctl.render``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import ray

from actors import naming
from actors.errors import ControlError, NotFound
from o2ctl.render import environment_html
from o2ctl.sdk.calls import acall, call, follow_events, read

if TYPE_CHECKING:
    from o2ctl.sdk.client import Client


class Environment:
    """A handle on one environment; cheap to create, holds no state of its own."""

    def __init__(self, client: Client, env_id: str) -> None:
        self.client = client
        self.id = env_id

    @property
    def actor(self) -> Any:
        try:
            return ray.get_actor(naming.env_actor(self.id), namespace=naming.NAMESPACE)
        except ValueError:
            raise NotFound(f"environment {self.id} no longer exists") from None

    def __repr__(self) -> str:
        try:
            return f"<Environment {self.id} {self.state}>"
        except ControlError:
            return f"<Environment {self.id} (gone)>"

    # -- transitions ----------------------------------------------------------------------
    def transition(self, event: str) -> str:
        return str(call(self.client.controller.control_environment.remote(self.id, event)))

    async def atransition(self, event: str) -> str:
        return str(await acall(self.client.controller.control_environment.remote(self.id, event)))

    def configure(self) -> str:
        return self.transition("CONFIGURE")

    def start(self) -> str:
        return self.transition("START_ACTIVITY")

    def stop(self) -> str:
        return self.transition("STOP_ACTIVITY")

    def reset(self) -> str:
        return self.transition("RESET")

    def recover(self) -> str:
        return self.transition("RECOVER")

    async def astart(self) -> str:
        return await self.atransition("START_ACTIVITY")

    async def astop(self) -> str:
        return await self.atransition("STOP_ACTIVITY")

    def destroy(
        self, keep_tasks: bool = False, allow_in_running: bool = False, force: bool = False
    ) -> dict[str, Any]:
        return dict(
            call(
                self.client.controller.destroy_environment.remote(
                    self.id, keep_tasks, allow_in_running, force
                )
            )
        )

    def modify(
        self,
        vars: dict[str, Any] | None = None,
        exclude: list[str] | None = None,
        include: list[str] | None = None,
        kill: bool = False,
        dry_run: bool = False,
        restart_run: bool = False,
    ) -> dict[str, Any]:
        """Change what this environment should be and apply the smallest change to what runs.

        ``vars``: variables to set (as at creation, ``path.to.role:key`` too); ``exclude`` /
        ``include``: role subtrees switched off / on again (a detector leaving or joining);
        ``kill``: removed tasks are ended rather than kept in the idle pool; ``dry_run``:
        only say what would change; ``restart_run``: a change a run cannot absorb (a process
        that must restart) is made by stopping the run and starting a new one. Returns the
        diff: added, removed, changed (with the keys that differ), restarted, untouched."""
        return dict(
            call(
                self.client.controller.modify_environment.remote(
                    self.id,
                    {str(k): str(v) for k, v in (vars or {}).items()},
                    list(exclude or ()),
                    list(include or ()),
                    kill,
                    dry_run,
                    restart_run,
                )
            )
        )

    async def adestroy(
        self, keep_tasks: bool = False, allow_in_running: bool = False, force: bool = False
    ) -> dict[str, Any]:
        return dict(
            await acall(
                self.client.controller.destroy_environment.remote(
                    self.id, keep_tasks, allow_in_running, force
                )
            )
        )

    # -- reads --------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return str(call(read(self.actor.state).remote(), timeout=30))

    def summary(self) -> dict[str, Any]:
        return dict(call(read(self.actor.summary).remote(), timeout=30))

    @property
    def run_number(self) -> int | None:
        return self.summary()["run_number"]  # type: ignore[no-any-return]

    @property
    def tasks(self) -> list[dict[str, Any]]:
        return list(call(read(self.actor.task_table).remote(), timeout=30))

    @property
    def tree(self) -> dict[str, Any]:
        return dict(call(read(self.actor.tree).remote(), timeout=30))

    def events(self, after: int = 0, timeout: float | None = None) -> Iterator[dict[str, Any]]:
        yield from follow_events(self.actor, after, timeout)

    def wait_for_state(self, state: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            now = self.state
            if now == state:
                return now
            if time.monotonic() > deadline:
                raise ControlError(
                    f"environment {self.id} is {now}, not {state}, after {timeout:.0f}s"
                )
            time.sleep(0.05)

    def _repr_html_(self) -> str:
        return environment_html(self.summary(), self.tree, self.tasks)
