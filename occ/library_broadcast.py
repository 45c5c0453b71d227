"""Fan-out of state changes and device events to every open OCC stream.

A process may have several watchers at once: the task actor's EventStream, an operator's
StateStream, a test. Each subscriber gets its own unbounded queue, so a slow reader never
blocks the state machine that publishes. ``close`` ends every subscription (the streams
then finish cleanly). Plain asyncio, shared by the OCC library and usable by any
``Controllable``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Generic, TypeVar, cast

T = TypeVar("T")

_END = object()


class Broadcast(Generic[T]):
    """Publish values to all current subscribers."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[object]] = set()
        self._closed = False

    def publish(self, value: T) -> None:
        for queue in self._queues:
            queue.put_nowait(value)

    def close(self) -> None:
        """End every subscription, now and for later subscribers."""
        self._closed = True
        for queue in self._queues:
            queue.put_nowait(_END)

    def subscribe(self, first: Callable[[], T] | None = None) -> AsyncIterator[T]:
        """Values published from now on (the subscription starts at this call), preceded by
        ``first()`` when given."""
        queue: asyncio.Queue[object] = asyncio.Queue()
        if first is not None:
            queue.put_nowait(first())
        if self._closed:
            queue.put_nowait(_END)
        self._queues.add(queue)
        return self._drain(queue)

    async def _drain(self, queue: asyncio.Queue[object]) -> AsyncIterator[T]:
        try:
            while True:
                value = await queue.get()
                if value is _END:
                    return
                yield cast(T, value)
        finally:
            self._queues.discard(queue)
