"""A real direct-mode process (``o2ctl-direct-example``) driven by the real OCC client.

Each test launches the console script as a marked process (owner ``test-occ``) on a free
port, talks to it over gRPC on 127.0.0.1 and leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from occ._gen import occ_pb2 as pb
from occ.client import OccError, StateUpdate, make_controller
from occ.client_channel import OccChannel
from occ.processes import spawn, terminate

EXAMPLE = str(Path(sys.executable).parent / "o2ctl-direct-example")
Started = tuple[asyncio.subprocess.Process, str, Path]
Start = Callable[..., Awaitable[Started]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def start(tmp_path: Path) -> AsyncIterator[Start]:
    started: list[asyncio.subprocess.Process] = []

    async def launch(*options: str) -> Started:
        port = free_port()
        out = tmp_path / f"stdout{len(started)}.txt"
        proc = await spawn(
            [EXAMPLE, *options],
            owner="test-occ",
            env={"OCC_CONTROL_PORT": str(port)},
            stdout_path=str(out),
            stderr_path=str(tmp_path / f"stderr{len(started)}.txt"),
        )
        started.append(proc)
        return proc, f"127.0.0.1:{port}", out

    yield launch
    for proc in started:
        await terminate(proc.pid, grace_s=2.0, process=proc)


def reported(out: Path) -> list[dict[str, object]]:
    text = out.read_text() if out.exists() else ""
    return [json.loads(line) for line in text.splitlines()]


async def exited(proc: asyncio.subprocess.Process, within: float = 10.0) -> int:
    return await asyncio.wait_for(proc.wait(), within)


async def collect(
    updates: AsyncIterator[StateUpdate], until: Callable[[StateUpdate], bool]
) -> list[StateUpdate]:
    seen = []
    async for update in updates:
        seen.append(update)
        if until(update):
            break
    return seen


async def test_full_cycle_with_arguments_then_exit(start: Start) -> None:
    proc, address, out = await start()
    ctl = make_controller("direct", address, name="example")
    try:
        assert await ctl.wait_ready(20.0) == "STANDBY"
        args = {"chans.data.0.address": "tcp://127.0.0.1:5555", "who": "test"}
        assert await ctl.transition("CONFIGURE", args) == "CONFIGURED"
        assert await ctl.transition("START", {"run_number": "42"}) == "RUNNING"
        assert await ctl.transition("STOP") == "CONFIGURED"
        assert await ctl.transition("RESET") == "STANDBY"
        assert await ctl.transition("EXIT") == "DONE"
        assert await exited(proc) == 0
    finally:
        await ctl.close()
    calls = reported(out)
    assert calls[0] == {"handler": "configure", "arguments": args}
    assert calls[1] == {"handler": "start", "arguments": {"run_number": "42"}}
    assert [c["handler"] for c in calls] == ["configure", "start", "stop", "reset", "exit"]


async def test_refusals_leave_the_state_unchanged(start: Start) -> None:
    proc, address, out = await start()
    ctl = make_controller("direct", address, name="example")
    raw = OccChannel(address, "protobuf")
    try:
        await ctl.wait_ready(20.0)
        reply, message = await raw.transition("RUNNING", "CONFIGURE", {}, 5.0)
        assert (reply.ok, reply.state) == (False, "STANDBY") and "RUNNING" in message
        reply, message = await raw.transition("STANDBY", "FLY", {}, 5.0)
        assert (reply.ok, reply.state) == (False, "STANDBY") and "FLY" in message
        with pytest.raises(OccError) as caught:
            await ctl.transition("START")
        err = caught.value
        assert (err.process, err.address, err.event, err.state) == (
            "example",
            address,
            "START",
            "STANDBY",
        )
        assert "not allowed in STANDBY" in str(err) and "example" in str(err)
        assert await ctl.get_state() == "STANDBY"
        assert reported(out) == []
        assert await ctl.transition("EXIT") == "DONE"
        assert await exited(proc) == 0
    finally:
        await raw.close()
        await ctl.close()


async def test_failing_handler_ends_in_error_with_its_message(start: Start) -> None:
    _, address, _ = await start("--fail-in", "configure")
    ctl = make_controller("direct", address, name="fragile")
    try:
        await ctl.wait_ready(20.0)
        updates = ctl.watch(poll_interval=0.1)
        assert (await asyncio.wait_for(anext(updates), 5)).state == "STANDBY"
        with pytest.raises(OccError, match="configure failed on purpose") as caught:
            await ctl.transition("CONFIGURE", {"x": "1"})
        assert caught.value.state == "ERROR"
        seen = await asyncio.wait_for(collect(updates, lambda u: u.event is not None), 5)
        assert seen[-1] == StateUpdate("ERROR", "ERROR", False, pb.TASK_INTERNAL_ERROR)
        await updates.aclose()  # type: ignore[attr-defined]
        assert await ctl.get_state() == "ERROR"
        assert await ctl.transition("RECOVER") == "STANDBY"
    finally:
        await ctl.close()


async def test_end_of_run_is_seen_by_watch_and_exit_ends_the_watch(start: Start) -> None:
    proc, address, out = await start("--iterations", "5", "--iterate-interval", "0.01")
    ctl = make_controller("direct", address, name="short-run")
    try:
        await ctl.wait_ready(20.0)
        await ctl.transition("CONFIGURE")
        updates = ctl.watch(poll_interval=0.1)
        await ctl.transition("START")
        seen = await asyncio.wait_for(collect(updates, lambda u: u.event is not None), 10)
        assert seen[-1].event == pb.END_OF_STREAM and seen[-1].state == "CONFIGURED"
        assert {"handler": "iterate", "arguments": {"iterations": "5"}} in reported(out)
        assert await ctl.transition("EXIT") == "DONE"
        rest = await asyncio.wait_for(collect(updates, lambda u: False), 10)
        assert [u.state for u in rest][-1:] in ([], ["DONE"])  # then it ends quietly
        assert await exited(proc) == 0
    finally:
        await ctl.close()


async def test_sigterm_exits_cleanly_while_running(start: Start) -> None:
    proc, address, out = await start()
    ctl = make_controller("direct", address, name="running")
    try:
        await ctl.wait_ready(20.0)
        await ctl.transition("CONFIGURE")
        await ctl.transition("START")
        proc.send_signal(signal.SIGTERM)
        assert await exited(proc) == 0
        assert reported(out)[-1]["handler"] == "exit"
        with pytest.raises(OccError, match=r"running at 127\.0\.0\.1:\d+: GetState: not reachable"):
            await ctl.get_state(timeout=2.0)
    finally:
        await ctl.close()


async def test_wait_ready_waits_for_a_slow_start_and_times_out_on_silence(start: Start) -> None:
    proc, address, _ = await start("--startup-delay", "1.0")
    ctl = make_controller("direct", address, name="slow")
    nobody = make_controller("direct", f"127.0.0.1:{free_port()}", name="nobody")
    try:
        assert await ctl.wait_ready(20.0) == "STANDBY"
        with pytest.raises(OccError, match=r"nobody .*: start: did not answer within 0\.5 s"):
            await nobody.wait_ready(0.5)
        await ctl.transition("EXIT")
        assert await exited(proc) == 0
    finally:
        await ctl.close()
        await nobody.close()
