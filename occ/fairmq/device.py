"""The FairMQ-style device: its state machine driven step by step, and the hooks it calls.

A device moves only through :meth:`Device.change_state`, which follows the literal table of
``occ.fairmq.states`` and does, at each step, what a FairMQ device does there: INIT DEVICE
takes the pushed configuration (typed as the OCC plugin types it) and parses the channels,
COMPLETE INIT calls :meth:`Device.init`, BIND and CONNECT open the ZeroMQ sockets, INIT TASK
calls :meth:`Device.init_task`, RUN starts the run loop (``occ.fairmq.runloop``), STOP
drains and ends it, RESET TASK and RESET DEVICE undo the above so that the same process can
be configured again with new ports (the idle pool relies on it), END exits. Intermediate
states are entered and left on the way, so listeners see exactly what FairMQ publishes.

Any exception inside a step or the run loop is FairMQ's ERROR FOUND: the device enters
ERROR, which is terminal (the process then ends with a non-zero code). Subclasses (the
sampler, processor and sink in ``occ.devices``) override only the hooks.

Callers that request transitions hold :attr:`Device.lock`, so one transition runs at a
time; the only change made without it is the device's own return to READY when its run
loop ends by itself (FairMQ does that too, and sends no event for it).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

import zmq.asyncio

from occ.fairmq import runloop
from occ.fairmq.channels import (
    Properties,
    PropertyValue,
    SubChannel,
    build_channels,
    push_properties,
)
from occ.fairmq.sockets import ChannelSocket, open_socket
from occ.fairmq.states import State, Transition, next_state

log = logging.getLogger("fairmq")

StateListener = Callable[[State], None]
DataHandler = Callable[[bytes, int], Awaitable[bool]]
"""``(payload, sub-channel index) -> keep running?``, FairMQ's OnData."""


class DeviceError(RuntimeError):
    """A failure inside the device; it leads to ERROR."""


@dataclass(frozen=True)
class Option:
    """A device option: ``--<name>`` on the command line, property ``<name>`` in the config."""

    name: str
    default: str
    help: str
    aliases: tuple[str, ...] = ()


class Device:
    """Base FairMQ device; subclasses override the hooks and register data handlers."""

    OPTIONS: ClassVar[tuple[Option, ...]] = ()
    """Device-specific options (besides FairMQ's generic ones)."""
    HANDLED: ClassVar[str] = "handled"
    """What the device does to a message, for the end-of-run report ("received 5 messages")."""

    def __init__(self, device_id: str, properties: Mapping[str, PropertyValue] | None = None):
        self.id = device_id
        self.properties: Properties = dict(properties or {})
        self.channels: dict[str, list[ChannelSocket]] = {}
        self.data_handlers: dict[str, DataHandler] = {}
        self.lock = asyncio.Lock()
        self.ended = asyncio.Event()
        self.error_message = ""
        self.handled = 0
        """Messages handled in the current (or last) run; reported after each run."""
        self._state = State.IDLE
        self._listeners: list[StateListener] = []
        self._zmq: zmq.asyncio.Context | None = None
        self._stop = asyncio.Event()
        self._run_task: asyncio.Task[None] | None = None
        self._specs: dict[str, list[SubChannel]] = {}

    # --- hooks for subclasses (FairMQ's Init, InitTask, PreRun, ConditionalRun, …) ---

    def init(self) -> None:
        """After COMPLETE INIT: the configuration is complete."""

    def init_task(self) -> None:
        """INITIALIZING TASK: read the device's properties."""

    def pre_run(self) -> None:
        """Entering RUNNING, before the loop."""

    async def conditional_run(self) -> bool:
        """One iteration of the run loop of a device without data handlers; False ends it."""
        return False

    def post_run(self) -> None:
        """After the run loop ended (by itself or by STOP), before READY."""

    def reset_task(self) -> None:
        """RESETTING TASK: undo :meth:`init_task`."""

    def reset(self) -> None:
        """RESETTING DEVICE: undo :meth:`init` (sockets are closed by the base class)."""

    # --- helpers for subclasses ---

    def end_run(self) -> None:
        """After the run loop: :meth:`post_run`, then report the count (log and count file)."""
        self.post_run()
        log.info("device %s: %s %d messages", self.id, self.HANDLED, self.handled)
        self.write_count()

    def write_count(self) -> None:
        """Write the messages handled in this run to the ``count-file`` property's file."""
        path = self.prop("count-file")
        if path:
            tmp = f"{path}.tmp{os.getpid()}"
            with open(tmp, "w") as out:
                out.write(f"{self.handled}\n")
            os.replace(tmp, path)

    def on_data(self, channel: str, handler: DataHandler) -> None:
        """Call ``handler`` for every message arriving on ``channel`` while RUNNING."""
        self.data_handlers[channel] = handler

    def socket(self, channel: str, index: int = 0) -> ChannelSocket:
        try:
            return self.channels[channel][index]
        except (KeyError, IndexError):
            have = ", ".join(f"{n}[{len(s)}]" for n, s in self.channels.items()) or "none"
            raise DeviceError(
                f"device {self.id}: no channel {channel}[{index}] (have {have})"
            ) from None

    async def send(self, channel: str, payload: bytes, index: int = 0) -> None:
        await self.socket(channel, index).send(payload)

    def prop(self, *keys: str, default: str = "") -> str:
        """The first of ``keys`` set in the configuration, as a string."""
        for key in keys:
            if key in self.properties:
                return str(self.properties[key])
        return default

    def int_prop(self, *keys: str, default: int = 0) -> int:
        text = self.prop(*keys, default=str(default))
        try:
            return int(text)
        except ValueError:
            raise DeviceError(f"property {keys[0]}: expected an integer, got {text!r}") from None

    def float_prop(self, *keys: str, default: float = 0.0) -> float:
        text = self.prop(*keys, default=str(default))
        try:
            return float(text)
        except ValueError:
            raise DeviceError(f"property {keys[0]}: expected a number, got {text!r}") from None

    # --- state ---

    @property
    def state(self) -> State:
        return self._state

    def add_listener(self, listener: StateListener) -> Callable[[], None]:
        """Call ``listener`` on every state entered; returns the function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _enter(self, state: State) -> None:
        log.log(STATE_LEVEL, "%s ---> %s", self._state, state)
        self._state = state
        for listener in list(self._listeners):
            listener(state)
        if state in (State.EXITING, State.ERROR):
            self.ended.set()

    def fail(self, message: str) -> None:
        """ERROR FOUND: enter ERROR (terminal) with ``message``, ending any run loop."""
        if self._state in (State.ERROR, State.EXITING):
            return
        self.error_message = message
        log.error("device %s: %s", self.id, message)
        if self._run_task is not None and self._run_task is not asyncio.current_task():
            self._run_task.cancel()
        self._enter(State.ERROR)

    def force_exit(self) -> None:
        """Give up on an orderly way down: EXITING now (sockets are closed at process exit)."""
        if self._state not in (State.ERROR, State.EXITING):
            self._enter(State.EXITING)

    # --- transitions (callers hold self.lock) ---

    async def change_state(self, transition: Transition, arguments: Mapping[str, str]) -> None:
        """Perform ``transition`` (refused by ``TransitionRefused`` when not in the table)."""
        next_state(self._state, transition)
        if transition is Transition.ERROR_FOUND:
            self.fail("ERROR FOUND requested by the controller")
            return
        try:
            if self.prop("fail-on") == transition.value and transition is not Transition.RUN:
                raise DeviceError(f"failure injected at {transition} (fail-on)")
            await self._STEPS[transition](self, arguments)
        except Exception as err:  # any exception is FairMQ's ERROR FOUND
            self.fail(f"{transition} failed: {err}")

    async def _init_device(self, arguments: Mapping[str, str]) -> None:
        self._enter(State.INITIALIZING_DEVICE)
        self.properties.update(push_properties(arguments.items()))
        self._specs = build_channels(self.properties)
        pushed = sorted(f"{k}={v}" for k, v in arguments.items() if not k.startswith("chans."))
        log.info("device %s: configured with %s", self.id, ", ".join(pushed) or "no properties")

    async def _complete_init(self, arguments: Mapping[str, str]) -> None:
        self.init()
        self._enter(State.INITIALIZED)

    async def _bind(self, arguments: Mapping[str, str]) -> None:
        self._enter(State.BINDING)
        self._open_sockets("bind")
        self._enter(State.BOUND)

    async def _connect(self, arguments: Mapping[str, str]) -> None:
        self._enter(State.CONNECTING)
        self._open_sockets("connect")
        self._enter(State.DEVICE_READY)

    async def _init_task(self, arguments: Mapping[str, str]) -> None:
        self._enter(State.INITIALIZING_TASK)
        self.init_task()
        self._enter(State.READY)

    async def _run(self, arguments: Mapping[str, str]) -> None:
        self.properties.update(arguments)
        self._stop = asyncio.Event()
        self._enter(State.RUNNING)
        self._run_task = asyncio.create_task(self._running(), name=f"{self.id} run loop")

    async def _running(self) -> None:
        try:
            if self.prop("fail-on") == Transition.RUN.value:
                raise DeviceError("failure injected in the run loop (fail-on RUN)")
            await runloop.run(self, self._stop)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            self.fail(f"run loop failed: {err}")
            return
        if not self._stop.is_set() and self._state is State.RUNNING:
            log.info("device %s: run loop ended by itself", self.id)
            self._enter(State.READY)

    async def _stop_running(self, arguments: Mapping[str, str]) -> None:
        self.properties.update(arguments)
        self._stop.set()
        task = self._run_task
        if task is not None:
            await runloop.finish(task, has_inputs=bool(self.data_handlers))
            if task.cancelled() and self._state is State.RUNNING:
                self.end_run()
        if self._state is State.RUNNING:
            self._enter(State.READY)

    async def _reset_task(self, arguments: Mapping[str, str]) -> None:
        self._enter(State.RESETTING_TASK)
        self.reset_task()
        self._enter(State.DEVICE_READY)

    async def _reset_device(self, arguments: Mapping[str, str]) -> None:
        self._enter(State.RESETTING_DEVICE)
        self.close_sockets()
        # Channels come anew with the next INIT DEVICE (possibly other names or ports).
        self.properties = {k: v for k, v in self.properties.items() if not k.startswith("chans.")}
        self.reset()
        self._enter(State.IDLE)

    async def _end(self, arguments: Mapping[str, str]) -> None:
        self.close_sockets()
        self._enter(State.EXITING)

    _STEPS: ClassVar[dict[Transition, Callable[[Device, Mapping[str, str]], Awaitable[None]]]] = {
        Transition.INIT_DEVICE: _init_device,
        Transition.COMPLETE_INIT: _complete_init,
        Transition.BIND: _bind,
        Transition.CONNECT: _connect,
        Transition.INIT_TASK: _init_task,
        Transition.RUN: _run,
        Transition.STOP: _stop_running,
        Transition.RESET_TASK: _reset_task,
        Transition.RESET_DEVICE: _reset_device,
        Transition.END: _end,
    }

    # --- sockets ---

    def _open_sockets(self, method: str) -> None:
        if self._zmq is None:
            self._zmq = zmq.asyncio.Context(io_threads=1)
        for name, subs in self._specs.items():
            for spec in subs:
                if spec.method != method:
                    continue
                sock = open_socket(self._zmq, spec)
                self.channels.setdefault(name, []).append(sock)
                self.properties[f"{spec.prefix}.address"] = sock.address
                log.debug("channel %s: %s %s %s", sock.label, spec.type, method, sock.address)
        for opened in self.channels.values():
            opened.sort(key=lambda s: s.spec.index)

    def close_sockets(self) -> None:
        for subs in self.channels.values():
            for sock in subs:
                sock.close()
        self.channels = {}
        self._specs = {}

    async def close(self) -> None:
        """Release everything at process exit (closed sockets get their linger to flush)."""
        if self._run_task is not None and not self._run_task.done():
            self._run_task.cancel()
            await asyncio.gather(self._run_task, return_exceptions=True)
        self.close_sockets()
        if self._zmq is not None:
            await asyncio.to_thread(self._zmq.term)
            self._zmq = None


STATE_LEVEL = 25
"""FairMQ's STATE log severity, between INFO and WARNING."""
logging.addLevelName(STATE_LEVEL, "STATE")
