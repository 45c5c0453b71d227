"""ConsoleActor: the console's web server, living in the Ray cluster beside the Control API.

One per cluster (named ``o2ctl-console``, detached, pinned to the node of the process that
starts it, like the API actor), so ``o2ctl down``, which stops that Ray, ends it. It runs
the aiohttp application (``web``) in the actor's own event loop and the event feed's
thread; it reaches the control system only through the Control API's address, with the
API's token for the shared event stream, and each operator's calls with their own token.
It binds 127.0.0.1 unless told otherwise; port 0 picks a free port. The address is
written to ``<state dir>/console-url`` (where ``o2ctl console`` finds it) and removed at
``stop``. ``start_console``/``stop_console``/``console_url`` are the CLI's side.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from actors import naming
from o2ctl.config.durable import STATE_DIR_ENV, atomic_write, state_dir

log = logging.getLogger("o2ctl.console")

CONSOLE_ACTOR = "o2ctl-console"
URL_FILE = "console-url"
START_TIMEOUT_S = 60.0
SHUTDOWN_S = 2.0


class ConsoleRuntime:
    """The logic of the console actor (Ray wraps it as ``ConsoleActor``)."""

    def __init__(self, api_address: str, api_token: str, host: str, port: int, state: str) -> None:
        os.environ[STATE_DIR_ENV] = state  # the bookkeeping database the runs page reads
        self.api_address, self.api_token = api_address, api_token
        self.host, self.port = host, port
        self.state = Path(state)
        self.url = ""
        self._runner: Any = None
        self._feed: Any = None
        self._closing = asyncio.Event()
        self._lock = asyncio.Lock()

    async def start(self) -> str:
        """Serve (once; later calls answer with the same address); the console's URL."""
        from aiohttp import web

        from o2ctl.api.client import ApiClient
        from o2ctl.console.feed import EventFanout
        from o2ctl.console.web import make_app

        async with self._lock:
            if self._runner is None:
                loop = asyncio.get_running_loop()
                self._feed = EventFanout(lambda: ApiClient(self.api_address, self.api_token), loop)
                app = make_app(self.api_address, self._feed, self._closing)
                runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_S)
                await runner.setup()
                site = web.TCPSite(runner, self.host, self.port, shutdown_timeout=SHUTDOWN_S)
                await site.start()
                self._runner = runner
                self._feed.start()
                port = runner.addresses[0][1]
                self.url = f"http://{_url_host(self.host)}:{port}"
                await asyncio.to_thread(atomic_write, self.state / URL_FILE, self.url + "\n")
                log.info("console on %s", self.url)
        return self.url

    async def stop(self) -> None:
        async with self._lock:
            if self._runner is not None:
                self._closing.set()
                self._feed.stop()
                await self._runner.cleanup()
                self._runner = None
                await asyncio.to_thread(forget_url, self.state, self.url)


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def forget_url(state: Path, url: str | None = None) -> None:
    """Remove the console-url file (if it still names ``url``, when given)."""
    path = state / URL_FILE
    with contextlib.suppress(OSError):
        if url is None or path.read_text().strip() == url:
            path.unlink()


def console_url(state: Path | None = None) -> str | None:
    """The address a running console wrote, or None."""
    try:
        return (state or state_dir()).joinpath(URL_FILE).read_text().strip() or None
    except OSError:
        return None


ConsoleActor = ray.remote(num_cpus=0, max_restarts=0)(ConsoleRuntime)


def start_console(api_address: str, api_token: str, host: str = "127.0.0.1", port: int = 0) -> str:
    """Serve the console (or find it served) beside the Control API; its URL."""
    from o2ctl.sdk import call

    actor: Any = ConsoleActor.options(
        name=CONSOLE_ACTOR,
        namespace=naming.NAMESPACE,
        lifetime="detached",
        get_if_exists=True,
        scheduling_strategy=NodeAffinitySchedulingStrategy(
            ray.get_runtime_context().get_node_id(), soft=False
        ),
    ).remote(api_address, api_token, host, port, str(state_dir()))
    return str(call(actor.start.remote(), timeout=START_TIMEOUT_S))


def stop_console() -> bool:
    """Stop the console if one runs; True when one was stopped."""
    from o2ctl.api.serve import stop_served

    return stop_served(CONSOLE_ACTOR)
