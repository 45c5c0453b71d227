"""The FairMQ controller over real gRPC, against a fake FairMQ device, in both flavours.

``FakeDevice`` is a boundary stand-in: it plays the part of a real C++ FairMQ device with
the OCC plugin (state machine of aliecs.md §4, written out here on its own, plus the
plugin's refusal styles through ``occ.endpoint``). It records every FairMQ transition it
receives, so the tests see the exact step sequence the transitioner sends. The real
Python devices of ``occ/devices`` get their own tests.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from occ import endpoint
from occ._gen import occ_pb2 as pb
from occ.client import OccError, make_controller
from occ.endpoint import Refusal, TransitionResult
from occ.library_broadcast import Broadcast

TABLE = {
    ("IDLE", "INIT DEVICE"): ["INITIALIZING DEVICE"],
    ("IDLE", "END"): ["EXITING"],
    ("INITIALIZING DEVICE", "COMPLETE INIT"): ["INITIALIZED"],
    ("INITIALIZED", "BIND"): ["BINDING", "BOUND"],
    ("BOUND", "CONNECT"): ["CONNECTING", "DEVICE READY"],
    ("DEVICE READY", "INIT TASK"): ["INITIALIZING TASK", "READY"],
    ("READY", "RUN"): ["RUNNING"],
    ("RUNNING", "STOP"): ["READY"],
    ("READY", "RESET TASK"): ["RESETTING TASK", "DEVICE READY"],
    **{
        (s, "RESET DEVICE"): ["RESETTING DEVICE", "IDLE"]
        for s in ("INITIALIZED", "BOUND", "DEVICE READY")
    },
}
CONFIGURE_STEPS = ["INIT DEVICE", "COMPLETE INIT", "BIND", "CONNECT", "INIT TASK"]


class FakeDevice:
    """Stands in for a real FairMQ device (see the module docstring)."""

    def __init__(self, *, stuck: str = "", error: str = "", silent: str = "") -> None:
        self.state = "IDLE"
        self.received: list[tuple[str, dict[str, str]]] = []
        self.stuck, self.error, self.silent = stuck, error, silent
        self._states: Broadcast[tuple[int, str]] = Broadcast()
        self._events: Broadcast[int] = Broadcast()

    def current_state(self) -> str:
        return self.state

    def pid(self) -> int:
        return os.getpid()

    def subscribe_states(self) -> AsyncIterator[tuple[int, str]]:
        return self._states.subscribe(lambda: (pb.STATE_STABLE, self.state))

    def subscribe_events(self) -> AsyncIterator[int]:
        return self._events.subscribe()  # a real plugin sends none on a run's end

    def _go(self, state: str, intermediate: bool = False) -> None:
        self.state = state
        self._states.publish((pb.STATE_INTERMEDIATE if intermediate else pb.STATE_STABLE, state))

    async def transition(self, src: str, event: str, arguments: dict[str, str]) -> TransitionResult:
        if src != self.state:
            return TransitionResult(self.state, False, refusal=Refusal.STATE_MISMATCH)
        path = TABLE.get((self.state, event))
        if path is None:
            return TransitionResult(
                self.state, False, refusal=Refusal.NOT_ALLOWED, message=f"{event} from {src}"
            )
        self.received.append((event, dict(arguments)))
        if event == self.silent:
            await asyncio.Event().wait()  # a real device may never answer
        if event == self.error:
            self._go("ERROR")
            return TransitionResult("ERROR", False, pb.DEVICE_ERROR, event)
        if event == self.stuck:
            return TransitionResult(self.state, False, pb.DEVICE_INTENTIONAL, event)
        for step in path[:-1]:
            self._go(step, intermediate=True)
        self._go(path[-1])
        return TransitionResult(self.state, True, pb.EXECUTOR, event)

    def end_run_by_itself(self) -> None:
        assert self.state == "RUNNING"
        self._go("READY")


Connect = Callable[..., Awaitable[tuple[FakeDevice, Any]]]


@pytest.fixture(params=["protobuf", "json"])
async def connect(request: pytest.FixtureRequest) -> AsyncIterator[Connect]:
    """Serve a ``FakeDevice(**options)`` in the flavour of the run; return it and a controller."""
    flavour = request.param
    opened: list[tuple[Any, Any]] = []

    async def make(**options: str) -> tuple[FakeDevice, Any]:
        fake = FakeDevice(**options)
        server = await endpoint.serve(fake, 0, flavour)
        address = f"127.0.0.1:{endpoint.bound_port(server)}"
        ctl = make_controller("fairmq", address, name="dev", flavour=flavour)
        opened.append((server, ctl))
        return fake, ctl

    yield make
    for server, ctl in opened:
        await ctl.close()
        await endpoint.shutdown(server, grace=0.5)


def events(fake: FakeDevice) -> list[str]:
    return [e for e, _ in fake.received]


async def test_full_cycle_step_sequence_and_arguments(connect: Connect) -> None:
    fake, ctl = await connect()
    assert await ctl.wait_ready(5.0) == "STANDBY"
    assert await ctl.transition("CONFIGURE", {"chans.data.numSockets": "1"}) == "CONFIGURED"
    assert fake.received[0] == ("INIT DEVICE", {"chans.data.numSockets": "1"})
    assert all(args == {} for _, args in fake.received[1:])
    assert events(fake) == CONFIGURE_STEPS
    assert await ctl.transition("START", {"run_number": "7"}) == "RUNNING"
    assert await ctl.transition("STOP", {"run_number": "7"}) == "CONFIGURED"
    assert fake.received[-2:] == [("RUN", {"run_number": "7"}), ("STOP", {"run_number": "7"})]
    assert await ctl.transition("RESET") == "STANDBY"
    assert events(fake)[-2:] == ["RESET TASK", "RESET DEVICE"]
    await ctl.transition("CONFIGURE")
    fake.received.clear()
    assert await ctl.transition("EXIT") == "DONE"
    assert events(fake) == ["RESET TASK", "RESET DEVICE", "END"]


async def test_stuck_step_is_rolled_back(connect: Connect) -> None:
    fake, ctl = await connect(stuck="CONNECT")
    with pytest.raises(OccError) as caught:
        await ctl.transition("CONFIGURE", {"a": "b"})
    err = caught.value
    assert (err.event, err.step, err.state) == ("CONFIGURE", "CONNECT", "STANDBY")
    assert "ended in BOUND (expected DEVICE READY)" in str(err) and "rolled back" in str(err)
    assert events(fake) == ["INIT DEVICE", "COMPLETE INIT", "BIND", "CONNECT", "RESET DEVICE"]
    assert fake.state == "IDLE" and await ctl.get_state() == "STANDBY"


async def test_error_stops_the_sequence(connect: Connect) -> None:
    fake, ctl = await connect(error="BIND")
    with pytest.raises(
        OccError, match=r"dev at .*: CONFIGURE \(FairMQ step BIND\): step BIND ended in ERROR"
    ) as caught:
        await ctl.transition("CONFIGURE")
    assert caught.value.state == "ERROR"
    assert events(fake) == ["INIT DEVICE", "COMPLETE INIT", "BIND"]


async def test_a_silent_device_hits_the_deadline(connect: Connect) -> None:
    _, ctl = await connect(silent="RUN")
    await ctl.transition("CONFIGURE")
    with pytest.raises(OccError, match=r"START \(FairMQ step RUN\): did not answer within 0\.5 s"):
        await ctl.transition("START", timeout=0.5)


async def test_impossible_events_are_not_sent(connect: Connect) -> None:
    fake, ctl = await connect()
    await ctl.wait_ready(5.0)
    with pytest.raises(OccError, match="STOP is not possible from IDLE"):
        await ctl.transition("STOP")
    with pytest.raises(OccError, match="no FairMQ equivalent"):
        await ctl.transition("GO_ERROR")
    assert fake.received == []


async def test_return_to_ready_on_its_own_is_seen_and_handled(connect: Connect) -> None:
    fake, ctl = await connect()
    await ctl.transition("CONFIGURE")
    await ctl.transition("START")
    updates = ctl.watch(poll_interval=0.1)
    assert (await asyncio.wait_for(anext(updates), 5)).state == "RUNNING"
    fake.end_run_by_itself()
    update = await asyncio.wait_for(anext(updates), 5)
    assert (update.state, update.raw_state, update.intermediate, update.event) == (
        "CONFIGURED",
        "READY",
        False,
        None,
    )
    await updates.aclose()
    # The controller still believes RUNNING: RESET refreshes its view once and goes on.
    assert await ctl.transition("RESET") == "STANDBY"
    assert events(fake)[-2:] == ["RESET TASK", "RESET DEVICE"]


async def test_watch_shows_intermediate_states_on_protobuf() -> None:
    fake = FakeDevice()
    server = await endpoint.serve(fake, 0, "protobuf")
    ctl = make_controller("fairmq", f"127.0.0.1:{endpoint.bound_port(server)}", name="dev")
    try:
        updates = ctl.watch(poll_interval=5.0)
        assert (await asyncio.wait_for(anext(updates), 5)).raw_state == "IDLE"
        await ctl.transition("CONFIGURE")
        seen = []
        while not seen or seen[-1].raw_state != "READY":
            seen.append(await asyncio.wait_for(anext(updates), 5))
        assert [u.raw_state for u in seen] == [
            "INITIALIZING DEVICE",
            "INITIALIZED",
            "BINDING",
            "BOUND",
            "CONNECTING",
            "DEVICE READY",
            "INITIALIZING TASK",
            "READY",
        ]
        assert [u.intermediate for u in seen] == [
            False,
            False,
            True,
            False,
            True,
            False,
            True,
            False,
        ]
        assert seen[3].state == "UNKNOWN" and seen[-1].state == "CONFIGURED"
        await updates.aclose()  # type: ignore[attr-defined]
    finally:
        await ctl.close()
        await endpoint.shutdown(server, grace=0.5)


async def test_closing_the_controller_ends_a_running_watch(connect: Connect) -> None:
    _, ctl = await connect()
    updates = ctl.watch(poll_interval=0.1)
    assert (await asyncio.wait_for(anext(updates), 5)).state == "STANDBY"
    await ctl.close()
    with pytest.raises(OccError, match="stopped answering"):
        await asyncio.wait_for(anext(updates), 5)
    with pytest.raises(OccError, match="the controller was closed"):
        await ctl.get_state()
