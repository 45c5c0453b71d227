"""The event feed behind ``Subscribe``: the controller's event log, long-polled, as protos.

The controller keeps one cluster-wide log of every environment, role, task and call event
with increasing sequence numbers (``o2ctl.core.events``). A subscriber's stream is a loop
of long polls (``wait_events(after, timeout)``) from its cursor on, each batch filtered by
environment and reshaped into ``events.Event`` messages. Events the log already dropped before a
slow subscriber read them are flagged on the next event sent (``eventsLost``), never hidden.
The loop ends when the server closes (so the stream ends with OK, not cut off) and every
poll has a deadline.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from o2ctl.api import messages
from o2ctl.api._gen import events_pb2 as pb

POLL_S = 5.0  # how long one long-poll waits for news
SLACK_S = 25.0  # how late the controller may answer a poll before it counts as gone
NEWEST = 2**62  # a cursor after every event: a poll from it answers at once with the seq


class EventFeed:
    def __init__(self, controller: Any, closing: asyncio.Event) -> None:
        self.controller = controller
        self.closing = closing

    async def last_seq(self) -> int:
        """The sequence number of the newest event in the log."""
        batch = await asyncio.wait_for(
            _await(self.controller.wait_events.remote(NEWEST, 0.0)), SLACK_S
        )
        return int(batch["last_seq"])

    async def follow(self, after: int, env_id: str = "") -> AsyncIterator[pb.Event]:
        """Every event after ``after`` (of ``env_id`` only, when given), until closing."""
        lost = False
        while (batch := await self._poll(after)) is not None:
            lost = lost or bool(batch["gap"])
            for record in batch["events"]:
                if not env_id or record.get("env_id") == env_id:
                    yield messages.event(record, lost)
                    lost = False
            after = batch["last_seq"]

    async def _poll(self, after: int) -> dict[str, Any] | None:
        """The next batch of events after ``after``; None once the server is closing."""
        if self.closing.is_set():
            return None
        poll = asyncio.ensure_future(_await(self.controller.wait_events.remote(after, POLL_S)))
        closing = asyncio.ensure_future(self.closing.wait())
        try:
            done, _ = await asyncio.wait(
                {poll, closing}, timeout=POLL_S + SLACK_S, return_when=asyncio.FIRST_COMPLETED
            )
        finally:  # also when the subscriber goes away (the stream is cancelled)
            for f in (poll, closing):
                if not f.done():
                    f.cancel()
        if poll in done:
            return dict(poll.result())
        if closing in done:
            return None
        raise TimeoutError(
            f"the controller did not answer an event poll within {POLL_S + SLACK_S:.0f}s"
        )


async def _await(ref: Any) -> Any:
    return await ref
