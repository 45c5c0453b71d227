"""ControlApiActor: the Control API's gRPC server, living inside the Ray cluster.

One per cluster (named ``o2ctl-api`` in the ``o2ctl`` namespace, detached), so it outlives
the process that started it, like the controller. It runs the grpc.aio server
(``o2ctl.api.server`` behind ``o2ctl.api.listener``) in the actor's own event loop: every
RPC becomes awaited calls on the controller actor, with no thread or second event loop in
between. It binds to 127.0.0.1 unless told otherwise (``start_api`` pins it to the
caller's node, so that address means the caller's machine); port 0 picks a free port,
reported by ``address()``. Under ``up --ha`` the pinning is soft and Ray restarts it
(on another node when the head is lost): it serves again on the same port.

The token is generated when not given and written to ``<state dir>/api-token`` (mode
0600) on that node, where a local CLI finds it; ``stop()`` ends the server and removes
the token file (when it still holds this server's token).

It lives in the API layer, not in ``actors/``, though it is an actor: it runs the API's
server, and the layer contract (``pyproject.toml``) lets the API import the actors, never
the actors the API.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

import ray

from o2ctl.config.durable import STATE_DIR_ENV

log = logging.getLogger("o2ctl.api")


class ControlApiRuntime:
    """The logic of the API actor (Ray wraps it as ``ControlApiActor``)."""

    def __init__(
        self,
        controller: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        state_dir: str | None = None,
    ) -> None:
        from o2ctl.api.auth import new_token
        from o2ctl.config.durable import state_dir as default_state_dir

        if state_dir:
            os.environ[STATE_DIR_ENV] = state_dir  # the repositories GetWorkflowTemplates lists
        self.state_dir = Path(state_dir) if state_dir else default_state_dir()
        self.controller = controller
        self.host, self.port = host, port
        self.token = token or new_token()
        self.tls_cert, self.tls_key = tls_cert, tls_key
        self.running: Any = None  # o2ctl.api.listener.RunningServer once started
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"ControlApi({self.host}:{self.running.port if self.running else self.port})"

    async def start(self) -> dict[str, Any]:
        """Serve (once; later calls answer with the same server) and write the token file."""
        from o2ctl.api.auth import write_token
        from o2ctl.api.listener import start_server

        async with self._lock:
            if self.running is None:
                self.running = await start_server(
                    self.controller,
                    self.token,
                    host=self.host,
                    port=self.port,
                    tls_cert=self.tls_cert,
                    tls_key=self.tls_key,
                )
                path = await asyncio.to_thread(write_token, self.token, self.state_dir)
                log.info("Control API on %s, token in %s", self.running.address, path)
        return self.describe()

    def describe(self) -> dict[str, Any]:
        from o2ctl.api.auth import token_path

        return {
            "address": self.address(),
            "token": self.token,
            "tls": bool(self.tls_cert),
            "token_file": str(token_path(self.state_dir)),
        }

    def address(self) -> str:
        """``host:port`` the server listens on ("" before ``start``)."""
        return self.running.address if self.running is not None else ""

    async def stop(self, grace: float = 2.0) -> None:
        """End open streams, stop serving and remove the token file."""
        from o2ctl.api.auth import remove_token
        from o2ctl.api.listener import stop_server

        async with self._lock:
            if self.running is not None:
                await stop_server(self.running, grace)
                self.running = None
                await asyncio.to_thread(remove_token, self.token, self.state_dir)


class ControlApi(ControlApiRuntime):
    """The Ray actor. Under ``up --ha`` Ray restarts it (``start_api`` gives it
    ``max_restarts=-1``, a fixed port and token): a restarted one serves again at once, on
    the same port with the same token, so clients find it where they found it before."""

    async def __init__(self, *args: Any) -> None:  # type: ignore[misc]
        ControlApiRuntime.__init__(self, *args)
        if ray.get_runtime_context().was_current_actor_reconstructed:
            try:
                await self.start()
            except Exception as exc:  # `o2ctl up` again calls start(), and says why not
                log.error("Control API restarted, cannot serve on port %s: %s", self.port, exc)


ControlApiActor = ray.remote(num_cpus=0, max_restarts=0)(ControlApi)
