"""The Python SDK: what an operator uses from a notebook or a script.

``connect()`` reaches a running o2ctl system (a Ray cluster with the controller actor in
it) or starts a local one; ``Client.create_environment`` returns an ``Environment`` handle
whose methods map one-to-one on the environment's transitions. Every call waits with a
deadline and raises one clear ``ControlError`` (never a Ray traceback); ``a*`` variants
are awaitable for asyncio code. In Jupyter an environment renders as a coloured tree of
``[STATE] role → task`` and a task table.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import RayActorError, RayTaskError

from actors import naming
from actors.errors import ControlError, NotFound, Restarting
from actors.reasons import unwrap
from o2ctl.core.envfsm import TransitionRefused
from o2ctl.progress import ProgressReader, Step, text_progress
from o2ctl.render import environment_html

DEFAULT_TIMEOUT = 600.0


RESTARTING = (
    "the o2ctl control plane is restarting after a crash (the controller, or this "
    "environment's actor); the call was not confirmed: try again in a few seconds"
)
READ_RETRIES = 5
"""Reads are retried across an actor's restart (they change nothing); commands are not."""


def call(ref: Any, timeout: float = DEFAULT_TIMEOUT) -> Any:
    """``ray.get`` with a deadline, re-raising the actor's own error without Ray's wrapping."""
    try:
        return ray.get(ref, timeout=timeout)
    except RayTaskError as exc:
        raise unwrap(exc) from None
    except RayActorError:
        raise Restarting(RESTARTING) from None
    except ray.exceptions.GetTimeoutError:
        raise ControlError(f"no answer from the control system within {timeout:.0f}s") from None


async def acall(ref: Any, timeout: float = DEFAULT_TIMEOUT) -> Any:
    try:
        return await asyncio.wait_for(ref, timeout)
    except RayTaskError as exc:
        raise unwrap(exc) from None
    except RayActorError:
        raise Restarting(RESTARTING) from None
    except TimeoutError:
        raise ControlError(f"no answer from the control system within {timeout:.0f}s") from None


def read(method: Any) -> Any:
    """A read-only actor method, retried across a restart of its actor."""
    return method.options(max_task_retries=READ_RETRIES)


def _use_local_token() -> None:
    """Send this machine's Ray token when joining an existing cluster.

    ``ray start`` turns token authentication on whenever ``~/.ray/auth_token`` exists, but
    a client joining it only sends the token when ``RAY_AUTH_MODE=token`` is set (seen with
    Ray 2.60): without this, ``o2ctl`` commands could not reach an ``o2ctl up`` cluster.
    """
    if "RAY_AUTH_MODE" in os.environ or not (Path.home() / ".ray" / "auth_token").exists():
        return
    try:  # Ray's own switch also refreshes its already-loaded config
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available,
        )

        quiet = logging.getLogger("ray._private.authentication.authentication_token_setup")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # it would warn that it did what we asked
        try:
            maybe_enable_token_auth_if_token_available(warn_if_disabled=False)
        finally:
            quiet.setLevel(level)
    except ImportError:  # another Ray version: the variable alone, for what it is worth
        os.environ["RAY_AUTH_MODE"] = "token"


@contextlib.contextmanager
def _neutral_cwd(enabled: bool) -> Iterator[None]:
    """While Ray starts its job: the working directory is an empty one of ours."""
    if not enabled:
        yield
        return
    from o2ctl.config import state_dir

    here, neutral = os.getcwd(), state_dir() / "ray-cwd"
    neutral.mkdir(parents=True, exist_ok=True)
    os.chdir(neutral)
    try:
        yield
    finally:
        os.chdir(here)


def _controller(
    create: bool, state_dir: str | None, repo: str | None, settings: dict[str, Any] | None
) -> Any:
    try:
        return ray.get_actor(naming.CONTROLLER, namespace=naming.NAMESPACE)
    except ValueError:
        if not create:
            raise ControlError(
                "no o2ctl controller is running in this Ray cluster (start one with `o2ctl up`)"
            ) from None
    from actors.cluster import pinned
    from actors.controller import ControllerActor

    actor = ControllerActor.options(
        name=naming.CONTROLLER,
        namespace=naming.NAMESPACE,
        lifetime="detached",
        get_if_exists=True,
        scheduling_strategy=pinned(ray.get_runtime_context().get_node_id()),
    ).remote(state_dir, repo, settings)
    call(read(actor.info).remote(), timeout=120)
    return actor


def connect(
    address: str | None = None,
    *,
    start: bool = True,
    state_dir: str | None = None,
    repo: str | None = None,
    settings: dict[str, Any] | None = None,
    num_cpus: int | None = None,
    isolate_cwd: bool = False,
    **ray_options: Any,
) -> Client:
    """Reach the o2ctl system at ``address`` (``auto``, ``ray://…``), or start a local one.

    ``isolate_cwd``: keep this process's working directory out of the workers' import path
    (Ray adds it; the CLI, run from anywhere, must not let ``/tmp/something`` shadow a
    package in the controller it starts). A notebook keeps Ray's behaviour by default."""
    if not ray.is_initialized():
        address = address or os.environ.get("O2CTL_RAY_ADDRESS") or os.environ.get("RAY_ADDRESS")
        kwargs: dict[str, Any] = {
            "namespace": naming.NAMESPACE,
            "logging_level": "ERROR",
            "log_to_driver": False,
        }
        with _neutral_cwd(isolate_cwd):
            if address:
                _use_local_token()
                ray.init(address=address, **kwargs)
            elif start:
                ray.init(address="local", num_cpus=num_cpus, **kwargs, **ray_options)
            else:
                ray.init(address="auto", **kwargs)
    return Client(_controller(start, state_dir, repo, settings))


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
            raise NotFound(f"no environment {env_id!r}")
        return Environment(self, env_id)

    def tasks(self) -> list[dict[str, Any]]:
        return list(call(read(self.controller.list_tasks).remote()))

    def clean_tasks(self, task_ids: list[str] | None = None) -> list[str]:
        return list(call(self.controller.clean_tasks.remote(task_ids)))

    def info(self) -> dict[str, Any]:
        return dict(call(read(self.controller.info).remote()))

    def events(self, after: int = 0, timeout: float | None = None) -> Iterator[dict[str, Any]]:
        """Every event of every environment, as they come (ends after ``timeout`` idle s)."""
        yield from _follow(self.controller, after, timeout)

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


def _follow(actor: Any, after: int, timeout: float | None) -> Iterator[dict[str, Any]]:
    deadline = None if timeout is None else time.monotonic() + timeout
    while deadline is None or time.monotonic() < deadline:
        wait = 5.0 if deadline is None else max(0.05, min(5.0, deadline - time.monotonic()))
        batch = call(read(actor.wait_events).remote(after, wait))
        for ev in batch["events"]:
            yield ev
            if deadline is not None:
                deadline = time.monotonic() + timeout  # type: ignore[operator]
        after = batch["last_seq"]


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
        yield from _follow(self.actor, after, timeout)

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


__all__ = ["Client", "ControlError", "Environment", "TransitionRefused", "connect"]
