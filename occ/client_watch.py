"""Watching a process: its state changes and device events as one stream of updates.

A controller has to notice within a second when a process ends its run, fails or exits
(aliecs.md §3). No single OCC source covers all of that:

* EventStream carries END_OF_STREAM and TASK_INTERNAL_ERROR, but real FairMQ plugins send
  no event when a device returns to READY on its own;
* StateStream (protobuf flavour only) carries every state change, intermediate ones too;
* GetState always works, and failing is how a dead process shows.

So ``watch_states`` listens to the streams and also polls GetState, then merges everything
into ``StateUpdate`` values with repeated states left out. An event comes with a fresh
GetState, so the update that carries it also carries the state the event left behind.
When the process stops answering, the controller's ``on_lost`` decides what that means. A
process that was told to EXIT ends the watch quietly; any other returns the error to raise.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import cast

import grpc

from occ._gen import occ_pb2 as pb
from occ.client_channel import CallFailed, OccChannel


@dataclass(frozen=True)
class StateUpdate:
    """One observation of a process: its state (OCC name, raw name) and maybe an event."""

    state: str
    raw_state: str
    intermediate: bool
    event: int | None = None  # occ_pb DeviceEventType value


Describe = Callable[[str], tuple[str, bool]]  # raw state → (OCC state, intermediate)
OnLost = Callable[[str, str | None], Exception | None]  # (reason, last raw state) → error
_Item = tuple[str, object, object]


async def _poll(channel: OccChannel, queue: asyncio.Queue[_Item], interval: float) -> None:
    timeout = max(1.0, 2 * interval)
    while True:
        try:
            reply = await channel.get_state(timeout)
        except CallFailed as err:
            queue.put_nowait(("lost", err.reason, None))
            return
        except asyncio.CancelledError:
            if not channel.closed:
                raise
            # grpc.aio cancels a call in flight when its channel closes: the watch must end
            queue.put_nowait(("lost", "the controller was closed", None))
            return
        except Exception as err:  # e.g. the channel closed under us: never leave the watch hanging
            queue.put_nowait(("lost", f"{type(err).__name__}: {err}", None))
            return
        queue.put_nowait(("state", reply.state, None))
        await asyncio.sleep(interval)


async def _pump_events(channel: OccChannel, queue: asyncio.Queue[_Item]) -> None:
    call = channel.events()
    try:
        async for reply in call:
            if reply.event.type == pb.NULL_DEVICE_EVENT:
                continue
            try:
                state = await channel.get_state(1.0)
                queue.put_nowait(("state", state.state, None))
            except CallFailed:
                pass  # the poller reports a lost process
            queue.put_nowait(("event", reply.event.type, None))
    except grpc.aio.AioRpcError:
        return  # stream broken: the poller will tell whether the process is gone
    finally:
        call.cancel()  # type: ignore[attr-defined]


async def _pump_states(channel: OccChannel, queue: asyncio.Queue[_Item]) -> None:
    call = channel.states()
    if call is None:
        return
    try:
        async for reply in call:
            queue.put_nowait(("state", reply.state, reply.type == pb.STATE_INTERMEDIATE))
    except grpc.aio.AioRpcError:
        return
    finally:
        call.cancel()  # type: ignore[attr-defined]


async def watch_states(
    channel: OccChannel, describe: Describe, on_lost: OnLost, poll_interval: float = 0.25
) -> AsyncIterator[StateUpdate]:
    """Updates until the process is gone; see the module docstring."""
    queue: asyncio.Queue[_Item] = asyncio.Queue()
    tasks = [
        asyncio.create_task(_pump_events(channel, queue)),
        asyncio.create_task(_pump_states(channel, queue)),
        asyncio.create_task(_poll(channel, queue, poll_interval)),
    ]
    last: str | None = None
    try:
        while True:
            kind, value, hint = await queue.get()
            if kind == "lost":
                error = on_lost(str(value), last)
                if error is None:
                    return
                raise error
            if kind == "state":
                raw = str(value)
                if raw == last:
                    continue
                last = raw
                state, intermediate = describe(raw)
                yield StateUpdate(state, raw, intermediate if hint is None else bool(hint))
            else:
                state, intermediate = describe(last) if last is not None else ("UNKNOWN", False)
                yield StateUpdate(state, last or "", intermediate, cast(int, value))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
