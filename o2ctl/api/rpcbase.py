"""What every servicer of the API shares: the error-to-status wrapper and actor plumbing.

What flows through: a handler of ``server`` (AliECS's ``o2control.Control``), ``repos``,
``auto`` or ``o2ctlservice`` (o2ctl's own ``o2ctl.O2Ctl``) awaits the controller or an
environment actor through ``ServicerBase._ask`` (every call has a deadline, the client's
own when it sent one); any error the handler raises becomes one gRPC status with a
one-line message (``status.status_of``) through ``rpc``. The servicers hold no state of
the control system: only a cache of environment actor handles.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
import ray

from actors import naming
from actors.errors import NotFound
from o2ctl.api.status import BadRequest, status_of

log = logging.getLogger("o2ctl.api")

DEFAULT_DEADLINE_S = 600.0  # a create waits for deploy and configure: minutes, not seconds
Reply = TypeVar("Reply")
Handler = Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[Reply]]


def rpc(
    plain: grpc.StatusCode = grpc.StatusCode.FAILED_PRECONDITION,
) -> Callable[[Handler[Reply]], Handler[Reply]]:
    """Answer any error of the handler with its status code; ``plain`` for a ControlError."""

    def wrap(method: Handler[Reply]) -> Handler[Reply]:
        @functools.wraps(method)
        async def handler(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Reply:
            try:
                return await method(self, request, context)
            except grpc.aio.AbortError:
                raise
            except Exception as exc:
                code, message = status_of(exc, plain)
                log.info("%s: %s %s", method.__name__, code.name, message)
                await context.abort(code, message)
                raise  # abort raises; this line is never reached

        return handler

    return wrap


class ServicerBase:
    """The controller, the server's closing flag and the environment actors, asked with
    deadlines."""

    def __init__(self, controller: Any, closing: asyncio.Event | None = None) -> None:
        self.controller = controller
        self.closing = closing or asyncio.Event()
        self._envs: dict[str, Any] = {}

    async def _ask(self, ref: Any, context: grpc.aio.ServicerContext | None) -> Any:
        left = context.time_remaining() if context is not None else None
        timeout = min(left, DEFAULT_DEADLINE_S) if left is not None else DEFAULT_DEADLINE_S
        try:
            return await asyncio.wait_for(ref, timeout)
        except TimeoutError:
            raise TimeoutError(f"no answer from the control system within {timeout:.0f}s") from None

    async def _env(self, env_id: str, context: grpc.aio.ServicerContext | None) -> Any:
        """The environment actor of ``env_id``, or NotFound naming the known ones."""
        if not env_id:
            raise BadRequest("the environment id is empty")
        ids = await self._ask(self.controller.environment_ids.remote(), context)
        if env_id not in ids:
            self._envs.pop(env_id, None)
            raise NotFound(f"no environment {env_id!r} (known: {', '.join(ids) or 'none'})")
        if env_id not in self._envs:
            try:
                self._envs[env_id] = await asyncio.to_thread(
                    ray.get_actor, naming.env_actor(env_id), namespace=naming.NAMESPACE
                )
            except ValueError:
                raise NotFound(f"environment {env_id} no longer exists") from None
        return self._envs[env_id]

    async def _read_env(
        self, env_id: str, context: grpc.aio.ServicerContext | None, *methods: str
    ) -> list[Any]:
        env = await self._env(env_id, context)
        try:
            return list(
                await asyncio.gather(
                    *(self._ask(getattr(env, m).remote(), context) for m in methods)
                )
            )
        except ray.exceptions.RayActorError:
            self._envs.pop(env_id, None)
            raise NotFound(f"environment {env_id} no longer exists") from None
