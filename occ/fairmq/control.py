"""Driving a device without a controller: FairMQ's static mode, and the way down on a signal.

Static mode (no ``-P``) takes the device from IDLE to RUNNING by itself, waits for its run
loop to end, and walks it down to EXITING. A SIGTERM/SIGINT in any mode walks the device
down from wherever it is (STOP, RESET TASK, RESET DEVICE, END), as FairMQ does, bounded by
:data:`SHUTDOWN_TIMEOUT_S` so that the process always ends before the controller's
SIGTERM→SIGKILL escalation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from occ.fairmq.device import Device
from occ.fairmq.states import TERMINAL, State, Transition

log = logging.getLogger("fairmq")

SHUTDOWN_TIMEOUT_S = 2.5

STARTUP = (
    Transition.INIT_DEVICE,
    Transition.COMPLETE_INIT,
    Transition.BIND,
    Transition.CONNECT,
    Transition.INIT_TASK,
    Transition.RUN,
)

WAY_DOWN: dict[State, Transition] = {
    State.RUNNING: Transition.STOP,
    State.READY: Transition.RESET_TASK,
    State.DEVICE_READY: Transition.RESET_DEVICE,
    State.BOUND: Transition.RESET_DEVICE,
    State.INITIALIZED: Transition.RESET_DEVICE,
    State.INITIALIZING_DEVICE: Transition.COMPLETE_INIT,
    State.IDLE: Transition.END,
}
"""From each stable state, the next step towards EXITING."""


async def run_static(device: Device) -> None:
    """Static control: up to RUNNING, wait for the run loop to end, then down and out."""
    for transition in STARTUP:
        async with device.lock:
            if device.state in TERMINAL:
                return
            await device.change_state(transition, {})
    await wait_until(device, lambda s: s is not State.RUNNING)
    await shut_down(device)


async def shut_down(device: Device) -> None:
    """Walk the device down to EXITING; force it out if that takes too long."""
    try:
        async with asyncio.timeout(SHUTDOWN_TIMEOUT_S):
            async with device.lock:
                while device.state not in TERMINAL:
                    await device.change_state(WAY_DOWN[device.state], {})
    except TimeoutError:
        log.warning("device %s: orderly shutdown took over %.1fs", device.id, SHUTDOWN_TIMEOUT_S)
        device.force_exit()


async def wait_until(device: Device, check: Callable[[State], bool]) -> None:
    """Wait until ``check(state)`` holds for the device's state."""
    reached = asyncio.Event()

    def on_state(state: State) -> None:
        if check(state):
            reached.set()

    remove = device.add_listener(on_state)
    try:
        if not check(device.state):
            await reached.wait()
    finally:
        remove()
