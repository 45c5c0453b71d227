"""The Done-When of Foundation item 4: the fairmq-ex-1-n-1 chain as real processes, driven by
the OCC client with OCC events, in both wire flavours, data flowing over real ZeroMQ.

Wiring as in the example workflow: the sampler binds ``data1``, the sink binds ``data2``,
the processors connect to both.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from test_fairmq_launch import (
    PROCESSOR,
    SAMPLER,
    SINK,
    Launched,
    Launcher,
    channel,
    free_port,
    launching,
)

from occ.client import OccError, ProcessController


@pytest.fixture
async def launcher(tmp_path: Path) -> AsyncIterator[Launcher]:
    async with launching(tmp_path) as made:
        yield made


PROPERTIES = {"severity": "trace", "color": "false"}  # pushed with CONFIGURE, as AliECS does


def wiring(p1: int, p2: int) -> dict[str, dict[str, str]]:
    return {
        "sampler": channel("data1", "bind", "push", p1) | PROPERTIES,
        "sink": channel("data2", "bind", "pull", p2) | PROPERTIES,
        "processor": channel("data1", "connect", "pull", p1)
        | channel("data2", "connect", "push", p2)
        | PROPERTIES,
    }


class Chain:
    def __init__(self, devices: list[Launched]) -> None:
        self.devices = devices
        self.control: dict[str, ProcessController] = {d.name: d.controller() for d in devices}

    def config(self, name: str, p1: int, p2: int) -> dict[str, str]:
        return wiring(p1, p2)["processor" if name.startswith("processor") else name]

    async def all(self, event: str, names: list[str] | None = None, **args: str) -> set[str]:
        names = names or list(self.control)
        p1, p2 = args.pop("p1", ""), args.pop("p2", "")
        calls = [
            self.control[n].transition(
                event, self.config(n, int(p1), int(p2)) if event == "CONFIGURE" else args, 10
            )
            for n in names
        ]
        return set(await asyncio.gather(*calls))

    async def sampler_done(self, within: float = 20.0) -> None:
        """The sampler went back to CONFIGURED on its own (seen by polling: no event)."""
        async with asyncio.timeout(within):
            async for update in self.control["sampler"].watch(poll_interval=0.1):
                if update.state == "CONFIGURED":
                    break
        # The watch does not refresh the state the controller remembers; a controller's
        # task actor would, from the same observation.
        assert await self.control["sampler"].get_state() == "CONFIGURED"

    async def close(self) -> None:
        for control in self.control.values():
            await control.close()


async def start_chain(
    launcher: Launcher, plugin: str, processors: int, messages: int, count_file: str
) -> Chain:
    devices = [await launcher.start(SAMPLER, "sampler", plugin, "--max-messages", str(messages))]
    for i in range(1, processors + 1):
        devices.append(await launcher.start(PROCESSOR, f"processor{i}", plugin))
    devices.append(await launcher.start(SINK, "sink", plugin, "--count-file", count_file))
    chain = Chain(devices)
    await asyncio.gather(*(c.wait_ready(20) for c in chain.control.values()))
    return chain


RUN_ARGS = {"run_number": "42", "runNumber": "42", "run_type": "TECHNICAL"}


async def one_run(chain: Chain, count_file: str, messages: int) -> None:
    """START (consumers first), let the sampler finish by itself, STOP, check the count."""
    consumers = [n for n in chain.control if n != "sampler"]
    assert await chain.all("START", consumers, **RUN_ARGS) == {"RUNNING"}
    assert await chain.all("START", ["sampler"], **RUN_ARGS) == {"RUNNING"}
    await chain.sampler_done()
    # Upstream first, as data flows: each consumer drains what is still in flight.
    processors = [n for n in consumers if n != "sink"]
    assert await chain.all("STOP", processors) == {"CONFIGURED"}
    assert await chain.all("STOP", ["sink"]) == {"CONFIGURED"}
    assert read_count(count_file) == messages


def read_count(path: str) -> int:
    with open(path) as f:
        return int(f.read())


@pytest.mark.parametrize("plugin", ["OCClite", "OCC"])
async def test_chain_configure_start_stop_reset_exit(
    launcher: Launcher, plugin: str, tmp_path: Path
) -> None:
    count = str(tmp_path / "sink.count")
    chain = await start_chain(launcher, plugin, processors=2, messages=500, count_file=count)
    try:
        p1, p2 = free_port(), free_port()
        assert await chain.all("CONFIGURE", p1=str(p1), p2=str(p2)) == {"CONFIGURED"}
        await one_run(chain, count, 500)
        outputs = {d.name: d.output() for d in chain.devices}
        assert "sent 500 messages" in outputs["sampler"]
        assert "received 500 messages" in outputs["sink"]
        assert "processed" in outputs["processor1"] and "processed" in outputs["processor2"]
        assert await chain.all("RESET") == {"STANDBY"}
        assert await chain.all("EXIT") == {"DONE"}
    finally:
        await chain.close()
    codes = await asyncio.gather(*(d.exit_code() for d in chain.devices))
    assert codes == [0] * len(chain.devices)


async def test_reconfigure_after_reset_in_the_same_processes(
    launcher: Launcher, tmp_path: Path
) -> None:
    """The idle pool's reuse: RESET, then CONFIGURE again with new ports, same pids."""
    count = str(tmp_path / "sink.count")
    chain = await start_chain(launcher, "OCClite", processors=1, messages=60, count_file=count)
    pids = [d.proc.pid for d in chain.devices]
    try:
        for _ in range(2):
            p1, p2 = free_port(), free_port()
            assert await chain.all("CONFIGURE", p1=str(p1), p2=str(p2)) == {"CONFIGURED"}
            await one_run(chain, count, 60)
            assert await chain.all("RESET") == {"STANDBY"}
        assert [d.proc.returncode for d in chain.devices] == [None] * 3
        assert [d.proc.pid for d in chain.devices] == pids
        assert await chain.all("EXIT") == {"DONE"}
    finally:
        await chain.close()


async def test_bad_channel_config_ends_in_error_with_its_message(launcher: Launcher) -> None:
    sink = await launcher.start(SINK, "sink", "OCClite")
    control = sink.controller()
    bad = channel("data2", "bind", "pull", free_port()) | {"chans.data2.0.sndTimeoutMs": "100"}
    try:
        await control.wait_ready(20)
        with pytest.raises(OccError) as failed:
            await control.transition("CONFIGURE", bad, 10)
        assert failed.value.step == "INIT DEVICE"
        assert failed.value.state == "ERROR"
    finally:
        await control.close()
    assert await sink.exit_code() == 1
    assert "chans.data2.0.sndTimeoutMs" in sink.output()


async def test_failure_while_running_ends_in_error(launcher: Launcher) -> None:
    sink = await launcher.start(SINK, "sink", "OCC", "--fail-on", "RUN")
    control = sink.controller()
    try:
        await control.wait_ready(20)
        await control.transition("CONFIGURE", channel("data2", "bind", "pull", free_port()), 10)
        assert await control.transition("START", RUN_ARGS, 10) == "RUNNING"
        seen = []
        with pytest.raises(OccError, match="stopped answering"):
            async with asyncio.timeout(10):
                async for update in control.watch(poll_interval=0.1):
                    seen.append(update.state)
        assert "ERROR" in seen
    finally:
        await control.close()
    assert await sink.exit_code() == 1
    assert "run loop failed: failure injected in the run loop (fail-on RUN)" in sink.output()
