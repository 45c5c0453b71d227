"""Events: every state change and transition step, in order, for subscribers.

An ``Event`` is a frozen record (aliecs.md §8: what changed and an operation status
STARTED / ONGOING / DONE_OK / DONE_ERROR). An ``EventLog`` keeps the latest events in a
ring with increasing sequence numbers; a subscriber long-polls ``wait_after(seq)``, which
returns at once with whatever is newer or waits for the next event. Losing the oldest
events of a slow subscriber is reported (``gap``), never silent.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

Kind = Literal["environment", "role", "task", "transition", "call", "node"]
Status = Literal["STARTED", "ONGOING", "DONE_OK", "DONE_ERROR", ""]


@dataclass(frozen=True)
class Event:
    kind: Kind
    env_id: str
    path: str = ""
    state: str = ""
    event: str = ""  # the transition, for kind == "transition"
    status: Status = ""
    error: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)
    seq: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in _FIELDS}  # shallow: asdict is slow

    def describe(self) -> str:
        what = f"{self.kind} {self.path or self.env_id}"
        parts = [what]
        if self.event:
            parts.append(self.event)
        if self.status:
            parts.append(self.status)
        if self.state:
            parts.append(f"-> {self.state}")
        if self.error:
            parts.append(f"error: {self.error}")
        if self.detail.get("warning"):
            parts.append(f"warning: {self.detail['warning']}")
        return " ".join(parts)


_FIELDS = fields(Event)


@dataclass(frozen=True)
class EventBatch:
    events: list[Event]
    last_seq: int
    gap: bool  # some events after the caller's cursor were dropped


class EventLog:
    def __init__(self, capacity: int = 10_000, start_seq: int = 0) -> None:
        """``start_seq``: the last sequence number of an earlier life of this log (a restarted
        actor continues the numbering, so its subscribers' cursors stay meaningful)."""
        self._events: deque[Event] = deque(maxlen=capacity)
        self._seq = start_seq
        self._cond: asyncio.Condition | None = None

    @property
    def last_seq(self) -> int:
        return self._seq

    def append(self, ev: Event) -> Event:
        self._seq += 1
        stamped = replace(ev, seq=self._seq)
        self._events.append(stamped)
        if self._cond is not None:
            cond = self._cond

            async def _notify() -> None:
                async with cond:
                    cond.notify_all()

            with contextlib.suppress(RuntimeError):  # no loop: nobody can be waiting
                asyncio.get_running_loop().create_task(_notify())
        return stamped

    def after(self, seq: int) -> EventBatch:
        if seq > self._seq:  # a cursor from before a restart that lost the log's tail
            return EventBatch(list(self._events), self._seq, True)
        first = self._events[0].seq if self._events else self._seq + 1
        gap = seq + 1 < first and seq < self._seq
        events = [e for e in self._events if e.seq > seq] if seq < self._seq else []
        return EventBatch(events, self._seq, gap)

    async def wait_after(self, seq: int, timeout: float) -> EventBatch:
        if self._cond is None:
            self._cond = asyncio.Condition()
        if seq == self._seq:
            async with self._cond:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._cond.wait_for(lambda: self._seq > seq), timeout)
        return self.after(seq)
