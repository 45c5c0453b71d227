"""Devices in one event loop, driven through the OCC plugin adapter (real ZeroMQ sockets).

Fast checks of what the system tests then prove across processes: the replies of every
step, refusals leaving the state unchanged, errors naming what failed, data flowing with
no loss across STOP, a device returning to READY by itself, and reconfiguration.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable

import pytest

from occ._gen import occ_pb2 as pb
from occ.devices.processor import Processor
from occ.devices.sampler import Sampler
from occ.devices.sink import Sink
from occ.endpoint import Refusal, TransitionResult
from occ.fairmq.control import wait_until
from occ.fairmq.device import Device
from occ.fairmq.plugin import OccPlugin

CONFIGURE = ("INIT DEVICE", "COMPLETE INIT", "BIND", "CONNECT", "INIT TASK")
RESET = ("RESET TASK", "RESET DEVICE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chan(name: str, method: str, kind: str, port: int) -> dict[str, str]:
    p = f"chans.{name}.0."
    host = "*" if method == "bind" else "127.0.0.1"
    return {
        f"chans.{name}.numSockets": "1",
        p + "address": f"tcp://{host}:{port}",
        p + "method": method,
        p + "type": kind,
        p + "transport": "default",
        p + "sndBufSize": "1000",
        p + "rcvBufSize": "1000",
        p + "rateLogging": "0",
        **({p + "autoBind": "0"} if method == "bind" else {}),
    }


async def step(plugin: OccPlugin, *events: str, args: dict[str, str] | None = None) -> str:
    """Send FairMQ transitions from the current state; each must land where expected."""
    result: TransitionResult | None = None
    for event in events:
        result = await plugin.transition(plugin.current_state(), event, dict(args or {}))
        assert result.ok, f"{event}: {result}"
        assert result.trigger == pb.EXECUTOR
    assert result is not None
    return result.state


class Chain:
    """sampler → processors → sink, as the fairmq-ex-1-n-1 workflow wires them."""

    def __init__(self, processors: int = 2, sampler_props: dict[str, str] | None = None):
        self.sampler = OccPlugin(Sampler("sampler", {"max-messages": "0", **(sampler_props or {})}))
        self.processors = [OccPlugin(Processor(f"processor{i}")) for i in range(processors)]
        self.sink = OccPlugin(Sink("sink"))

    @property
    def all(self) -> list[OccPlugin]:
        return [self.sampler, *self.processors, self.sink]

    async def configure(self) -> None:
        p1, p2 = free_port(), free_port()
        await step(self.sampler, *CONFIGURE, args=chan("data1", "bind", "push", p1))
        await step(self.sink, *CONFIGURE, args=chan("data2", "bind", "pull", p2))
        both = chan("data1", "connect", "pull", p1) | chan("data2", "connect", "push", p2)
        for proc in self.processors:
            await step(proc, *CONFIGURE, args=both)

    async def close(self) -> None:
        for plugin in self.all:
            await plugin.device.close()


@pytest.fixture
async def chain() -> AsyncIterator[Chain]:
    made = Chain()
    yield made
    await made.close()


async def wait_state(device: Device, state: str, within: float = 5.0) -> None:
    async with asyncio.timeout(within):
        await wait_until(device, lambda s: s == state)


async def eventually(cond: Callable[[], bool], what: str, within: float = 10.0) -> None:
    for _ in range(int(within / 0.01)):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out after {within}s waiting for {what}")


async def test_configure_answers_each_step(chain: Chain) -> None:
    sampler = chain.sampler
    answers = []
    for event in CONFIGURE:
        result = await sampler.transition(
            sampler.current_state(), event, chan("d", "bind", "push", free_port())
        )
        answers.append((result.state, result.ok, result.trigger, result.transition_event))
    assert answers == [
        ("INITIALIZING DEVICE", True, pb.EXECUTOR, "INIT DEVICE"),
        ("INITIALIZED", True, pb.EXECUTOR, "COMPLETE INIT"),
        ("BOUND", True, pb.EXECUTOR, "BIND"),
        ("DEVICE READY", True, pb.EXECUTOR, "CONNECT"),
        ("READY", True, pb.EXECUTOR, "INIT TASK"),
    ]
    assert sampler.device.properties["chans.d.0.sndBufSize"] == 1000  # typed as the plugin does


async def test_refusals_leave_the_state_unchanged(chain: Chain) -> None:
    sink = chain.sink
    mismatch = await sink.transition("READY", "RUN", {})
    assert (mismatch.refusal, mismatch.state, mismatch.ok) == (
        Refusal.STATE_MISMATCH,
        "IDLE",
        False,
    )
    unknown = await sink.transition("IDLE", "CONFIGURE", {})
    assert unknown.refusal is Refusal.NOT_ALLOWED
    assert "not a valid transition name" in unknown.message
    not_here = await sink.transition("IDLE", "RUN", {})
    assert not_here.refusal is Refusal.NOT_ALLOWED
    assert "allowed from IDLE: END, INIT DEVICE" in not_here.message
    assert sink.current_state() == "IDLE"


async def test_data_flows_and_stop_loses_nothing(chain: Chain) -> None:
    await chain.configure()
    for plugin in [chain.sink, *chain.processors, chain.sampler]:
        assert await step(plugin, "RUN") == "RUNNING"
    await eventually(lambda: chain.sink.device.handled >= 300, "300 messages at the sink")
    for plugin in chain.all:  # source first, as a controller may: in-flight data drains
        assert await step(plugin, "STOP") == "READY"
    sent = chain.sampler.device.handled
    processed = sum(p.device.handled for p in chain.processors)
    assert chain.sink.device.handled == processed == sent > 0
    assert all(p.device.handled > 0 for p in chain.processors)  # load spread over both


async def test_sampler_returns_to_ready_by_itself_without_event(chain: Chain) -> None:
    chain.sampler.device.properties["max-messages"] = "25"
    await chain.configure()
    events = chain.sampler.subscribe_events()
    next_event = asyncio.ensure_future(anext(events))
    for plugin in chain.all:
        await step(plugin, "RUN")
    await wait_state(chain.sampler.device, "READY")
    assert chain.sampler.device.handled == 25
    for plugin in [*chain.processors, chain.sink]:
        await step(plugin, "STOP")
    assert chain.sink.device.handled == 25
    assert not next_event.done()
    for plugin in chain.all:
        await step(plugin, *RESET, "END")
    assert await next_event == pb.NULL_DEVICE_EVENT
    await events.aclose()


async def test_state_stream_shows_intermediate_states(chain: Chain) -> None:
    seen: list[tuple[int, str]] = []

    async def collect() -> None:
        async for item in chain.sink.subscribe_states():
            seen.append(item)

    collector = asyncio.create_task(collect())
    await asyncio.sleep(0)
    await step(chain.sink, *CONFIGURE, args=chan("data2", "bind", "pull", free_port()))
    await step(chain.sink, *RESET, "END")
    await asyncio.wait_for(collector, 5)
    stable, inter = pb.STATE_STABLE, pb.STATE_INTERMEDIATE
    assert seen == [
        (stable, "IDLE"),
        (stable, "INITIALIZING DEVICE"),
        (stable, "INITIALIZED"),
        (inter, "BINDING"),
        (stable, "BOUND"),
        (inter, "CONNECTING"),
        (stable, "DEVICE READY"),
        (inter, "INITIALIZING TASK"),
        (stable, "READY"),
        (inter, "RESETTING TASK"),
        (stable, "DEVICE READY"),
        (inter, "RESETTING DEVICE"),
        (stable, "IDLE"),
        (stable, "EXITING"),
    ]


async def test_bad_channel_config_ends_in_error_naming_the_key(chain: Chain) -> None:
    args = chan("data2", "bind", "pull", free_port()) | {"chans.data2.0.rcvTimeoutMs": "100"}
    result = await chain.sink.transition("IDLE", "INIT DEVICE", args)
    assert (result.state, result.ok, result.trigger) == ("ERROR", False, pb.DEVICE_ERROR)
    assert "chans.data2.0.rcvTimeoutMs" in result.message
    assert chain.sink.device.ended.is_set()
    after = await chain.sink.transition("ERROR", "RESET DEVICE", {})
    assert after.refusal is Refusal.NOT_ALLOWED and chain.sink.current_state() == "ERROR"


async def test_bind_clash_is_an_error(chain: Chain) -> None:
    port = free_port()
    await step(chain.sampler, *CONFIGURE, args=chan("data1", "bind", "push", port))
    await step(chain.sink, "INIT DEVICE", "COMPLETE INIT", args=chan("data2", "bind", "pull", port))
    result = await chain.sink.transition("INITIALIZED", "BIND", {})
    assert (result.state, result.trigger) == ("ERROR", pb.DEVICE_ERROR)
    assert "chans.data2.0.address: cannot bind" in result.message


async def test_failure_in_the_run_loop(chain: Chain) -> None:
    chain.sink.device.properties["fail-on"] = "RUN"
    await step(chain.sink, *CONFIGURE, args=chan("data2", "bind", "pull", free_port()))
    assert await step(chain.sink, "RUN") == "RUNNING"
    await wait_state(chain.sink.device, "ERROR")
    assert "fail-on RUN" in chain.sink.device.error_message


async def test_error_found_from_the_controller(chain: Chain) -> None:
    result = await chain.sink.transition("IDLE", "ERROR FOUND", {})
    assert (result.state, result.ok, result.trigger) == ("ERROR", True, pb.DEVICE_ERROR)


async def test_reconfigure_after_reset_with_new_ports(chain: Chain) -> None:
    chain.sampler.device.properties["max-messages"] = "40"
    for _ in range(2):
        await chain.configure()
        for plugin in chain.all:
            await step(plugin, "RUN")
        await wait_state(chain.sampler.device, "READY")
        for plugin in [*chain.processors, chain.sink]:
            await step(plugin, "STOP")
        assert chain.sink.device.handled == 40
        for plugin in chain.all:
            assert await step(plugin, *RESET) == "IDLE"
            assert plugin.device.channels == {}
