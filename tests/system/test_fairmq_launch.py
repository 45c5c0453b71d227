"""Launching the FairMQ-style devices as a controller does, and what their command line means.

Also the launcher the other ``test_fairmq_*`` system tests import: real processes started
with ``occ.processes.spawn`` (owner ``test-fairmq``) with the arguments AliECS appends
(``--id … -S … -P … --color false --control-port N``), stopped at the end of each test.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from occ.client import ProcessController, make_controller
from occ.processes import spawn, terminate

BIN = Path(sys.executable).parent
OWNER = "test-fairmq"
PLUGINS = {"OCClite": "json", "OCC": "protobuf"}
SAMPLER, PROCESSOR, SINK = (f"fairmq-ex-1-n-1-{k}" for k in ("sampler", "processor", "sink"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def channel(name: str, method: str, kind: str, port: int) -> dict[str, str]:
    """A channel as AliECS pushes it at CONFIGURE (bind: ``tcp://*:port`` and autoBind=0)."""
    p = f"chans.{name}.0."
    args = {
        f"chans.{name}.numSockets": "1",
        p + "method": method,
        p + "type": kind,
        p + "transport": "default",
        p + "sndBufSize": "1000",
        p + "rcvBufSize": "1000",
        p + "sndKernelSize": "0",
        p + "rcvKernelSize": "0",
        p + "rateLogging": "0",
    }
    if method == "bind":
        args |= {p + "address": f"tcp://*:{port}", p + "autoBind": "0"}
    else:
        args[p + "address"] = f"tcp://127.0.0.1:{port}"
    return args


@dataclass
class Launched:
    """One device process."""

    name: str
    proc: asyncio.subprocess.Process
    port: int
    plugin: str
    log: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def controller(self) -> ProcessController:
        flavour = "json" if self.plugin == "OCClite" else "protobuf"
        return make_controller("fairmq", self.address, name=self.name, flavour=flavour)

    async def exit_code(self, within: float = 10.0) -> int:
        return await asyncio.wait_for(self.proc.wait(), within)


class Launcher:
    """Starts devices like a controller would and makes sure none outlives the test."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[Launched] = []

    async def start(
        self,
        script: str,
        name: str,
        plugin: str | None = "OCClite",
        *extra: str,
        env: dict[str, str] | None = None,
        port: int | None = None,
    ) -> Launched:
        port = port or free_port()
        argv = [str(BIN / script), *extra, "--id", name, "-S", "/opt/occ/lib"]
        if plugin:
            argv += ["-P", plugin]
        argv += ["--color", "false", "--control-port", str(port)]
        log = self.logs / f"{name}.log"
        proc = await spawn(argv, owner=OWNER, env=env, stdout_path=str(log), stderr_path=str(log))
        launched = Launched(name, proc, port, plugin or "", log)
        self.started.append(launched)
        return launched

    async def stop_all(self) -> None:
        for launched in self.started:
            if launched.proc.returncode is not None:  # shown with a failing test's output
                print(f"{launched.name}: exited with status {launched.proc.returncode}")
            await terminate(launched.proc.pid, grace_s=3.0, process=launched.proc)


@contextlib.asynccontextmanager
async def launching(logs: Path) -> AsyncIterator[Launcher]:
    """A launcher whose devices are all stopped on the way out."""
    made = Launcher(logs)
    try:
        yield made
    finally:
        await made.stop_all()


@pytest.fixture
async def launcher(tmp_path: Path) -> AsyncIterator[Launcher]:
    async with launching(tmp_path) as made:
        yield made


# --- the command line ---------------------------------------------------------------


async def test_unknown_option_is_rejected_like_fairmq(launcher: Launcher) -> None:
    sink = await launcher.start(SINK, "sink", "OCClite", "--no-such-option", "1")
    assert await sink.exit_code() == 1
    assert "unrecognized arguments: --no-such-option" in sink.output()


async def test_unknown_plugin_is_rejected(launcher: Launcher) -> None:
    sink = await launcher.start(SINK, "sink", "DDS")
    assert await sink.exit_code() == 1
    assert "-P DDS: expected exactly one of OCClite, OCC" in sink.output()


async def test_control_port_env_wins(launcher: Launcher) -> None:
    env_port = free_port()
    sink = await launcher.start(SINK, "sink", "OCC", env={"OCC_CONTROL_PORT": str(env_port)})
    sink.port = env_port
    control = sink.controller()
    try:
        assert await control.wait_ready(15) == "STANDBY"
        assert await control.transition("EXIT", {}, 10) == "DONE"
    finally:
        await control.close()
    assert await sink.exit_code() == 0
    assert f"listening on 127.0.0.1:{env_port}" in sink.output()


async def test_sigterm_while_running_walks_down_and_exits_0(launcher: Launcher) -> None:
    sink = await launcher.start(SINK, "sink", "OCClite")
    control = sink.controller()
    try:
        await control.wait_ready(15)
        await control.transition("CONFIGURE", channel("data2", "bind", "pull", free_port()), 10)
        assert await control.transition("START", {"run_number": "1"}, 10) == "RUNNING"
    finally:
        await control.close()
    assert await terminate(sink.proc.pid, grace_s=5.0, process=sink.proc) == "SIGTERM"
    assert sink.proc.returncode == 0
    out = sink.output()
    for step in ("RUNNING ---> READY", "RESETTING DEVICE ---> IDLE", "IDLE ---> EXITING"):
        assert step in out


async def test_static_mode_without_plugin(launcher: Launcher, tmp_path: Path) -> None:
    """No -P: FairMQ's static control, channels from --channel-config, out when done."""
    port, count = free_port(), tmp_path / "count"
    sink_chan = f"name=data2,type=pull,method=bind,address=tcp://127.0.0.1:{port},rateLogging=0"
    src_chan = f"name=data1,type=push,method=connect,address=tcp://127.0.0.1:{port}"
    sink = await launcher.start(
        SINK, "sink", None, "--channel-config", sink_chan, "--max-messages", "30",
        "--count-file", str(count),
    )  # fmt: skip
    sampler = await launcher.start(
        SAMPLER, "sampler", None, "--channel-config", src_chan, "--max-messages", "30"
    )
    assert await sampler.exit_code(20) == 0
    assert await sink.exit_code(20) == 0
    assert count.read_text().strip() == "30"
    assert "received 30 messages" in sink.output()


async def test_memory_and_idle_cpu_are_small(launcher: Launcher) -> None:
    sink = await launcher.start(SINK, "sink", "OCClite")
    control = sink.controller()
    try:
        await control.wait_ready(15)
        proc = psutil.Process(sink.proc.pid)
        assert proc.memory_info().rss < 120e6
        proc.cpu_percent(None)
        await asyncio.sleep(0.5)  # measuring idle CPU over a window, not waiting on a state
        assert proc.cpu_percent(None) < 10
        await control.transition("EXIT", {}, 10)
    finally:
        await control.close()
    assert await sink.exit_code() == 0
