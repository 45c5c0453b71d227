"""The API's event stream, read once and fanned out to every open page.

One thread follows ``ApiClient.events`` (a blocking gRPC stream) from the start of the
controller's event log, so the console also learns when each environment entered its
current state; every event is handed to the event loop, which remembers that time and
puts the event on the queue of each browser connected by Server-Sent Events. A browser
too slow to drain its queue loses the oldest events and is told (``lost``), and its page
reloads its snapshot. After an error (the API restarting) the stream is re-opened, after a
pause, from the last event seen; ``stop`` closes the client, which ends a blocked read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("o2ctl.console")

RETRY_S = 2.0
QUEUE_MAX = 5000  # events buffered per browser before the oldest are dropped
ENV_KINDS = ("environment", "transition")


class EventFanout:
    def __init__(self, client_factory: Callable[[], Any], loop: asyncio.AbstractEventLoop):
        self._make_client = client_factory
        self._loop = loop
        self._stop = threading.Event()
        self._queues: set[asyncio.Queue[dict[str, Any]]] = set()
        self.state_since: dict[str, tuple[str, float]] = {}  # env id -> (state, since)
        self.last_error = ""
        self._client: Any = None
        self._thread = threading.Thread(target=self._follow, name="console-feed", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        client = self._client
        if client is not None:
            client.close()  # the blocked read ends with an error; the thread sees the flag

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_MAX)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._queues.discard(queue)

    def since(self, env_id: str, state: str) -> float | None:
        """When ``env_id`` entered ``state``, if the event log said so."""
        known = self.state_since.get(env_id)
        return known[1] if known and known[0] == state else None

    def announce(self, event: dict[str, Any]) -> None:
        """An event of the console's own (a create's outcome) to every open page."""
        self._publish({"kind": "console", "env_id": "", "seq": 0, **event})

    # -- on the event loop ----------------------------------------------------------------
    def _publish(self, event: dict[str, Any]) -> None:
        env_id, state = event.get("env_id"), event.get("state")
        if event.get("kind") in ENV_KINDS and env_id and state:
            known = self.state_since.get(env_id)
            if known is None or known[0] != state:
                self.state_since[env_id] = (state, float(event.get("time") or 0.0))
        for queue in list(self._queues):
            sent = event
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                sent = {**event, "lost": True}
            queue.put_nowait(sent)

    # -- in the thread --------------------------------------------------------------------
    def _follow(self) -> None:
        after = 0
        while not self._stop.is_set():
            try:
                self._client = self._client or self._make_client()
                for event in self._client.events(after=after):
                    after = max(after, int(event.get("seq") or 0))
                    self._loop.call_soon_threadsafe(self._publish, event)
                self.last_error = ""
            except Exception as exc:  # the API restarting, the system going down, ``stop``
                self.last_error = str(exc)
                if not self._stop.is_set():
                    log.info("console event feed: %s", exc)
                    if self._client is not None:
                        self._client.close()
                    self._client = None
                    self._stop.wait(RETRY_S)
