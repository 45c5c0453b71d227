"""The OCC client the task actors use: one ``ProcessController`` per controlled process.

Two control modes share one interface. The caller speaks OCC events (an ``OccEvent`` or its
wire name; an unknown name is refused before anything is sent) and OCC states; the
controller turns them into whatever the process understands:

* ``direct``: the process uses the OCC library, so OCC events go on the wire as they are.
* ``fairmq``: the process is a FairMQ device. Each OCC event becomes its FairMQ steps
  (``occ.transitioner``), and FairMQ states are mapped back (IDLE↔STANDBY, READY↔CONFIGURED,
  EXITING↔DONE; the intermediate ones read as UNKNOWN in ``get_state``, and as they are in
  ``watch``).

Every call has a deadline (the ``timeout`` arguments are gRPC deadlines, hence the
``noqa: ASYNC109``). Every failure is an ``OccError`` naming the process (name and
address), the event, the FairMQ step if there was one, and what the process said, or that
it "did not answer within 10.0 s". The controller remembers the last state it saw and uses
it as ``srcState``, so a transition is one call. If the process has moved on by itself (a
FairMQ device ending its run), the refusal triggers one GetState and one retry.
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import AsyncIterator, Sequence
from typing import Literal, Protocol

from o2ctl.core.occevents import OccEvent, UnknownOccEvent, parse_occ_event
from o2ctl.core.states import TaskState
from occ import transitioner as fmq
from occ._gen import occ_pb2 as pb
from occ.client_channel import CallFailed, OccChannel
from occ.client_watch import StateUpdate, watch_states
from occ.fairmq.states import Transition

__all__ = [
    "OccError",
    "ProcessController",
    "StateUpdate",
    "flavour_from_argv",
    "make_controller",
]

Mode = Literal["fairmq", "direct"]
Flavour = Literal["protobuf", "json"]


class OccError(Exception):
    """An OCC operation on one process failed; the message says which, where and why."""

    def __init__(
        self,
        process: str,
        address: str,
        event: str,
        reason: str,
        *,
        step: str | None = None,
        state: str | None = None,
    ) -> None:
        self.process = process
        self.address = address
        self.event = event
        self.reason = reason
        self.step = step
        self.state = state  # the process's OCC state after the failure, when known
        where = f"{event} (FairMQ step {step})" if step else event
        super().__init__(f"process {process} at {address}: {where}: {reason}")


class ProcessController(Protocol):
    """OCC control of one process, whatever its control mode."""

    name: str
    address: str
    last_pid: int

    async def get_state(self, timeout: float = 5.0) -> str: ...

    async def transition(
        self,
        event: OccEvent | str,
        arguments: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> str: ...

    async def wait_ready(self, timeout: float) -> str: ...

    def watch(self, poll_interval: float = 0.25) -> AsyncIterator[StateUpdate]: ...

    async def close(self) -> None: ...


class _Stale(Exception):
    """The remembered state was out of date: read it again and retry once."""


class _Controller:
    """What both modes share: the channel, the remembered state, errors, waiting, watching."""

    def __init__(self, address: str, *, name: str, flavour: Flavour) -> None:
        self.name = name
        self.address = address
        self.flavour = flavour
        self.channel = OccChannel(address, flavour)
        self._known: str | None = None  # the raw state last seen
        self.last_pid = -1  # the pid the process last reported in GetState (0: none given)

    def describe(self, raw: str) -> tuple[str, bool]:
        """(OCC state, intermediate) of a raw state."""
        return raw, False

    def error(self, event: str, reason: str, **context: str | None) -> OccError:
        return OccError(self.name, self.address, event, reason, **context)

    async def _raw_state(self, event: str, within: float, *, wait: bool = False) -> str:
        try:
            reply = await self.channel.get_state(max(within, 0.001), wait_for_ready=wait)
        except CallFailed as err:
            self._known = None
            raise self.error(event, err.reason) from None
        self._known = reply.state
        self.last_pid = int(reply.pid)
        return reply.state

    async def get_state(self, timeout: float = 5.0) -> str:
        return self.describe(await self._raw_state("GetState", timeout))[0]

    async def wait_ready(self, timeout: float) -> str:
        """Wait until the process answers GetState (it may still be starting)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                return self.describe(
                    await self._raw_state("start", deadline - loop.time(), wait=True)
                )[0]
            except OccError as err:
                if loop.time() + 0.05 >= deadline:
                    raise self.error(
                        "start", f"did not answer within {timeout:.1f} s ({err.reason})"
                    ) from None
                await asyncio.sleep(0.05)

    async def transition(
        self,
        event: OccEvent | str,
        arguments: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> str:
        try:
            occ_event = parse_occ_event(event)
        except UnknownOccEvent as err:  # nothing sent: a process knows no other event
            raise self.error(str(event), str(err)) from None
        return await self._transition(occ_event, arguments or {}, timeout)

    async def _transition(self, event: OccEvent, args: dict[str, str], timeout: float) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        cached = self._known
        src = cached if cached is not None else await self._raw_state(event, timeout)
        try:
            return await self._commit(event, src, args, deadline, stale_ok=cached is not None)
        except _Stale:
            src = await self._raw_state(event, deadline - loop.time())
            return await self._commit(event, src, args, deadline, stale_ok=False)
        except OccError:
            self._known = None
            raise

    async def _commit(
        self, event: OccEvent, src: str, args: dict[str, str], deadline: float, *, stale_ok: bool
    ) -> str:
        raise NotImplementedError

    def watch(self, poll_interval: float = 0.25) -> AsyncIterator[StateUpdate]:
        return self._watch(poll_interval)

    async def _watch(self, poll_interval: float) -> AsyncIterator[StateUpdate]:
        # What the watch sees is the freshest state: the next transition starts from it
        # (a FairMQ device back in READY by itself would otherwise be planned from RUNNING).
        async for update in watch_states(self.channel, self.describe, self._on_lost, poll_interval):
            if not update.intermediate:
                self._known = update.raw_state
            yield update

    def _on_lost(self, reason: str, last_raw: str | None) -> Exception | None:
        seen = [s for s in (last_raw, self._known) if s is not None]
        if any(self.describe(s)[0] == TaskState.DONE for s in seen):
            return None
        return self.error("watch", f"stopped answering: {reason}")

    async def close(self) -> None:
        await self.channel.close()


class DirectController(_Controller):
    """A process on the OCC library: OCC events on the wire."""

    async def _commit(
        self, event: OccEvent, src: str, args: dict[str, str], deadline: float, *, stale_ok: bool
    ) -> str:
        timeout = deadline - asyncio.get_running_loop().time()
        try:
            reply, message = await self.channel.transition(src, event, args, timeout)
        except CallFailed as err:
            if err.mismatch and stale_ok:
                raise _Stale from None
            raise self.error(event, err.reason + _said(err.message)) from None
        self._known = reply.state
        if reply.ok:
            return reply.state
        failed = reply.state == TaskState.ERROR and src != TaskState.ERROR
        if reply.trigger == pb.DEVICE_ERROR or failed:
            raise self.error(event, "the process failed" + _said(message), state=reply.state)
        if reply.state != src:
            if stale_ok:
                raise _Stale
            reason = f"refused: state mismatch (sent {src}, the process is in {reply.state})"
            raise self.error(event, reason, state=reply.state)
        reason = f"refused in state {reply.state}" + _said(message or "event not allowed")
        raise self.error(event, reason, state=reply.state)


class FairMQController(_Controller):
    """A FairMQ device: each OCC event becomes its FairMQ steps."""

    def describe(self, raw: str) -> tuple[str, bool]:
        return fmq.occ_state(raw), fmq.is_intermediate(raw)

    async def _commit(
        self, event: OccEvent, src: str, args: dict[str, str], deadline: float, *, stale_ok: bool
    ) -> str:
        loop = asyncio.get_running_loop()
        said: list[str] = []  # what the device explained (trailing metadata), if anything

        async def do_step(state: str, step: Transition, step_args: dict[str, str]) -> str:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise fmq.StepError(f"no time left for {step} (deadline passed)")
            try:
                reply, message = await self.channel.transition(state, step, step_args, remaining)
                if message:
                    said.append(message)
            except CallFailed as err:
                raise fmq.StepError(
                    err.reason + _said(err.message), mismatch=err.mismatch
                ) from None
            self._known = reply.state
            return reply.state

        async def query_state() -> str:
            try:
                return (await self.channel.get_state(2.0)).state
            except CallFailed as err:
                raise fmq.StepError(err.reason) from None

        try:
            final = await fmq.FairMQTransitioner(do_step, query_state).commit(event, src, args)
        except ValueError as err:  # refused here, nothing sent: maybe the state has moved on
            if stale_ok:
                raise _Stale from None
            raise self.error(event, str(err), state=fmq.occ_state(src)) from None
        except fmq.StepError as err:  # the first step got no answer: nothing happened
            if err.mismatch and stale_ok:
                raise _Stale from None
            step = fmq.plan(event, src)[0].transition
            raise self.error(event, err.reason, step=step) from None
        except fmq.TransitionFailed as failed:
            now = failed.rolled_back_to or failed.reached
            self._known = now
            state = fmq.occ_state(now) if now is not None else None
            reason = str(failed) + (_said(said[-1]) if said else "")
            raise self.error(event, reason, step=failed.step, state=state) from None
        return fmq.occ_state(final)


def _said(message: str) -> str:
    return f": {message}" if message else ""


def make_controller(
    mode: Mode, address: str, *, name: str, flavour: Flavour = "protobuf"
) -> ProcessController:
    """A controller for the process at ``address`` (``host:port``) in control ``mode``."""
    if mode == "direct":
        return DirectController(address, name=name, flavour=flavour)
    if mode == "fairmq":
        return FairMQController(address, name=name, flavour=flavour)
    raise ValueError(f"unknown control mode {mode!r} for {name}; known: direct, fairmq")


def flavour_from_argv(argv: str | Sequence[str]) -> Flavour:
    """The wire flavour of a FairMQ device from its command line: json if ``-P OCClite``."""
    tokens = shlex.split(argv) if isinstance(argv, str) else list(argv)
    for i, token in enumerate(tokens):
        value = None
        if token in ("-P", "--plugin") and i + 1 < len(tokens):
            value = tokens[i + 1]
        elif token.startswith("--plugin="):
            value = token.split("=", 1)[1]
        elif token.startswith("-P") and len(token) > 2:
            value = token[2:]
        if value is not None and "OCClite" in value.split(","):
            return "json"
    return "protobuf"
