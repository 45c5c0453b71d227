"""A deploy's progress: how many tasks are up, and when it has stalled.

What flows through: one awaitable per task (its actor created, its process answering);
each one's end (up or failed) is progress, published as a DEPLOY ``ONGOING`` event at most
every 0.2 s so operators watch long deploys move.

The deployment timeout counts from the deploy's **last progress**, not from its start: a
cold deploy of N tasks on a small node starts Ray workers a few at a time, so the last
task may come up minutes after the first while every second something moves; a deploy in
which nothing has come up (or failed) for the whole timeout has stalled — a task that can
never be scheduled, a node that refuses it — and every task still pending fails, named,
so the deploy is undone instead of hanging.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

PUBLISH_EVERY_S = 0.2


class Stalled(TimeoutError):
    """Nothing of the deploy moved for its whole deployment timeout."""


class DeployProgress:
    """``publish`` gets ``{"done", "failed", "total"}`` as the deploy moves."""

    def __init__(
        self, publish: Callable[[dict[str, int]], None], total: int, timeout_s: float
    ) -> None:
        self.publish, self.total, self.timeout_s = publish, total, timeout_s
        self.done = self.failed = 0
        self.published = 0.0
        self.moved = time.monotonic()
        self.stalled = False

    async def gather(self, starts: Sequence[Awaitable[Any]]) -> list[Any]:
        """Every start's result or exception, in order; pending ones fail when stalled."""
        tasks = [asyncio.ensure_future(self._track(s)) for s in starts]
        watch = asyncio.create_task(self._watch(tasks))
        try:
            return await asyncio.gather(*tasks, return_exceptions=True)
        except asyncio.CancelledError:
            for t in tasks:
                t.cancel()
            raise
        finally:
            watch.cancel()

    async def _track(self, start: Awaitable[Any]) -> Any:
        try:
            result = await start
            self.done += 1
            return result
        except asyncio.CancelledError:
            self.failed += 1
            if self.stalled:
                raise Stalled(
                    f"not up, and no task of this deploy came up for {self.timeout_s:g}s "
                    "(the deployment timeout)"
                ) from None
            raise
        except BaseException:
            self.failed += 1
            raise
        finally:
            self.moved = time.monotonic()
            self._publish()

    async def _watch(self, tasks: Sequence[asyncio.Future[Any]]) -> None:
        while True:
            pending = [t for t in tasks if not t.done()]
            if not pending:
                return
            quiet = time.monotonic() - self.moved
            if quiet >= self.timeout_s:
                self.stalled = True
                for t in pending:
                    t.cancel()
                return
            await asyncio.sleep(min(1.0, self.timeout_s - quiet))

    def _publish(self) -> None:
        now = time.monotonic()
        if now - self.published <= PUBLISH_EVERY_S and self.done + self.failed != self.total:
            return
        self.published = now
        self.publish({"done": self.done, "failed": self.failed, "total": self.total})
