"""RUNNING: a device's run loop, how STOP ends it, and rate logging.

Two kinds of loop, as in FairMQ. A device that registered data handlers (``OnData``) waits
on its input sockets and calls the handler per message; one without calls
``conditional_run`` repeatedly, paced by the ``rate`` property (messages per second; 0 means
as fast as reasonable, which here is bursts with short pauses, so that an unthrottled
sampler leaves CPU for the rest of the chain on a small machine). Either ends by itself
when a handler returns False, and the device then goes back to READY on its own.

STOP must not lose data in flight: a source stops at once, while a device with inputs keeps
receiving until its inputs stay quiet for :data:`DRAIN_QUIET_S`, bounded by
:data:`DRAIN_WINDOW_S` so that STOP never hangs. Receiving polls with a timeout, so an idle
RUNNING device wakes a few times a second and an idle READY one not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from occ.fairmq.sockets import ChannelSocket

if TYPE_CHECKING:
    from occ.fairmq.device import DataHandler, Device

log = logging.getLogger("fairmq")

POLL_S = 0.2
"""How often a waiting receive looks at the stop flag."""
DRAIN_QUIET_S = 0.5
"""After STOP, inputs are drained until no message came for this long…"""
DRAIN_WINDOW_S = 3.0
"""…or for at most this long."""
SOURCE_STOP_GRACE_S = 0.5
"""A source whose iteration is stuck (e.g. a send with no peer) is cancelled after this."""
LIVE_COUNT_S = 0.25
"""How often a running device with a count file writes its count so far."""
BURST = 20
BURST_PAUSE_S = 0.01
"""With ``rate`` 0, a pause after every burst: at most ~2000 messages per second."""


async def run(device: Device, stop: asyncio.Event) -> None:
    """The whole RUNNING phase: pre-run, the loop, post-run and the report."""
    device.handled = 0
    device.pre_run()
    helpers = [asyncio.create_task(_log_rates(device)), asyncio.create_task(_live_count(device))]
    try:
        if device.data_handlers:
            await _on_data(device, stop)
        else:
            await _conditional(device, stop)
    finally:
        for helper in helpers:
            helper.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
    device.end_run()


async def _live_count(device: Device) -> None:
    """While RUNNING, the count file follows the run (an operator sees data flowing)."""
    if not device.prop("count-file"):
        return
    written = -1
    while True:
        if device.handled != written:
            written = device.handled
            device.write_count()  # a few bytes, no fsync: as end_run does
        await asyncio.sleep(LIVE_COUNT_S)


async def finish(task: asyncio.Task[None], *, has_inputs: bool) -> None:
    """Wait for a run loop told to stop; cancel it when it outlives its drain bound."""
    limit = DRAIN_WINDOW_S + POLL_S + 0.5 if has_inputs else SOURCE_STOP_GRACE_S
    done, _ = await asyncio.wait({task}, timeout=limit)
    if not done:
        log.warning("run loop did not stop within %.1fs; cancelling it", limit)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _conditional(device: Device, stop: asyncio.Event) -> None:
    rate = device.float_prop("rate", default=0.0)
    period = 1.0 / rate if rate > 0 else 0.0
    loop = asyncio.get_running_loop()
    next_at = loop.time()
    in_burst = 0
    while not stop.is_set():
        if not await device.conditional_run():
            return
        if period:
            next_at += period
            delay = next_at - loop.time()
            if delay < -1.0:  # far behind: restart the schedule rather than burst to catch up
                next_at = loop.time()
            elif delay > 0:
                await _pause(stop, delay)
        else:
            in_burst += 1
            if in_burst >= BURST:
                in_burst = 0
                await _pause(stop, BURST_PAUSE_S)


async def _pause(stop: asyncio.Event, delay: float) -> None:
    """Sleep ``delay`` seconds, waking early on ``stop`` when the pause is long."""
    if delay < 0.05:
        await asyncio.sleep(delay)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), delay)


async def _on_data(device: Device, stop: asyncio.Event) -> None:
    loops: list[asyncio.Task[bool]] = []
    for name, handler in device.data_handlers.items():
        for sock in device.channels.get(name) or [device.socket(name)]:
            loops.append(asyncio.create_task(_receive(sock, handler, stop)))
    try:
        pending: set[asyncio.Task[bool]] = set(loops)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            if any(not task.result() for task in done):  # result() re-raises a failure
                return
    finally:
        for task in loops:
            task.cancel()
        await asyncio.gather(*loops, return_exceptions=True)


async def _receive(sock: ChannelSocket, handler: DataHandler, stop: asyncio.Event) -> bool:
    """Feed ``handler`` from ``sock``: False when it asked to end, True when drained."""
    loop = asyncio.get_running_loop()
    window_end: float | None = None
    while True:
        draining = stop.is_set()
        timeout = POLL_S
        if draining:
            if window_end is None:
                window_end = loop.time() + DRAIN_WINDOW_S
            remaining = window_end - loop.time()
            if remaining <= 0:
                log.warning("%s: drain window of %.1fs used up", sock.label, DRAIN_WINDOW_S)
                return True
            timeout = min(DRAIN_QUIET_S, remaining)
        payload = await sock.receive(timeout)
        if payload is None:
            if draining:
                return True
            continue
        if not await handler(payload, sock.spec.index):
            return False


async def _log_rates(device: Device) -> None:
    """FairMQ's rate logging: per socket with ``rateLogging`` > 0, every that many seconds."""
    socks = [s for subs in device.channels.values() for s in subs if s.spec.rate_logging > 0]
    if not socks:
        return
    interval = min(s.spec.rate_logging for s in socks)
    for sock in socks:
        sock.counters.take()
    while True:
        await asyncio.sleep(interval)
        for sock in socks:
            m_in, b_in, m_out, b_out, span = sock.counters.take()
            span = max(span, 1e-9)
            log.info(
                "%s: in: %.1f msg/s (%.3f MB/s) out: %.1f msg/s (%.3f MB/s)",
                sock.label,
                m_in / span,
                b_in / span / 1e6,
                m_out / span,
                b_out / span / 1e6,
            )
