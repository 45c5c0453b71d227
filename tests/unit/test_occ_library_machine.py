"""The OCC library's state machine, driven directly (the wire is tested in tests/system)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator

import pytest

from occ._gen import occ_pb2 as pb
from occ.endpoint import Refusal
from occ.library_machine import TRANSITIONS, Handlers, OccMachine


async def next_within(source: AsyncIterator[object], within: float = 5.0) -> object:
    return await asyncio.wait_for(anext(source), within)


class Recorder:
    def __init__(self, fail_in: str = "", iterations: int = 0) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.fail_in = fail_in
        self.iterations = iterations
        self.iterated = 0
        self.iterating = asyncio.Event()

    def handler(self, name: str):  # type: ignore[no-untyped-def]
        async def handle(arguments: dict[str, str]) -> None:
            self.calls.append((name, arguments))
            if name == self.fail_in:
                raise RuntimeError(f"{name} broke")

        return handle

    async def iterate(self) -> bool:
        self.iterated += 1
        self.iterating.set()
        if self.fail_in == "iterate":
            raise RuntimeError("iterate broke")
        await asyncio.sleep(0.001)
        return not (self.iterations and self.iterated >= self.iterations)

    def handlers(self, *, iterate: bool = True) -> Handlers:
        names = ("configure", "reset", "start", "stop", "pause", "resume", "exit")
        return Handlers(
            **{n: self.handler(n) for n in names}, iterate=self.iterate if iterate else None
        )


def machine(recorder: Recorder, **kw: bool) -> OccMachine:
    return OccMachine(recorder.handlers(**kw), log=io.StringIO())


async def test_full_cycle_calls_handlers_with_arguments() -> None:
    rec = Recorder()
    m = machine(rec, iterate=False)
    steps = [
        ("STANDBY", "CONFIGURE", {"a": "1"}, "CONFIGURED"),
        ("CONFIGURED", "START", {"run_number": "3"}, "RUNNING"),
        ("RUNNING", "PAUSE", {}, "PAUSED"),
        ("PAUSED", "RESUME", {}, "RUNNING"),
        ("RUNNING", "STOP", {}, "CONFIGURED"),
        ("CONFIGURED", "RESET", {}, "STANDBY"),
        ("STANDBY", "EXIT", {}, "DONE"),
    ]
    for src, event, args, dst in steps:
        result = await m.transition(src, event, args)
        assert (result.state, result.ok, result.trigger) == (dst, True, pb.EXECUTOR)
    assert rec.calls[0] == ("configure", {"a": "1"})
    assert rec.calls[1] == ("start", {"run_number": "3"})
    await asyncio.wait_for(m.wait_done(), 1)


@pytest.mark.parametrize(
    ("src", "event", "refusal"),
    [
        ("RUNNING", "CONFIGURE", Refusal.STATE_MISMATCH),
        ("STANDBY", "START", Refusal.NOT_ALLOWED),
        ("STANDBY", "FLY", Refusal.NOT_ALLOWED),
    ],
)
async def test_refusals_change_nothing(src: str, event: str, refusal: Refusal) -> None:
    rec = Recorder()
    m = machine(rec)
    result = await m.transition(src, event, {})
    assert (result.ok, result.state, result.refusal) == (False, "STANDBY", refusal)
    assert m.current_state() == "STANDBY" and rec.calls == []


async def test_failing_handler_goes_to_error_with_its_message_and_an_event() -> None:
    rec = Recorder(fail_in="configure")
    m = machine(rec)
    events = m.subscribe_events()
    result = await m.transition("STANDBY", "CONFIGURE", {})
    assert (result.state, result.ok, result.trigger) == ("ERROR", False, pb.DEVICE_ERROR)
    assert "configure broke" in result.message and "configure broke" in m.error_message
    assert await next_within(events) == pb.TASK_INTERNAL_ERROR
    assert (await m.transition("ERROR", "RECOVER", {})).state == "STANDBY"


async def test_iterate_returning_false_ends_the_run_with_end_of_stream() -> None:
    rec = Recorder(iterations=3)
    m = machine(rec)
    states, events = m.subscribe_states(), m.subscribe_events()
    assert await next_within(states) == (pb.STATE_STABLE, "STANDBY")
    await m.transition("STANDBY", "CONFIGURE", {})
    await m.transition("CONFIGURED", "START", {})
    assert await next_within(events) == pb.END_OF_STREAM
    assert m.current_state() == "CONFIGURED"
    assert rec.iterated == 3
    assert [c for c, _ in rec.calls] == ["configure", "start", "stop"]
    seen = [await next_within(states) for _ in range(3)]
    assert [s for _, s in seen] == ["CONFIGURED", "RUNNING", "CONFIGURED"]


async def test_stop_ends_the_loop_and_a_new_run_restarts_it() -> None:
    rec = Recorder()
    m = machine(rec)
    await m.transition("STANDBY", "CONFIGURE", {})
    for _ in range(2):
        await m.transition("CONFIGURED", "START", {})
        await asyncio.wait_for(rec.iterating.wait(), 5)
        assert (await m.transition("RUNNING", "STOP", {})).state == "CONFIGURED"
        count = rec.iterated
        await asyncio.sleep(0.02)
        assert rec.iterated == count, "iterate still called after STOP"
        rec.iterated = 0
        rec.iterating.clear()


async def test_iterate_failure_goes_to_error() -> None:
    m = machine(Recorder(fail_in="iterate"))
    events = m.subscribe_events()
    await m.transition("STANDBY", "CONFIGURE", {})
    await m.transition("CONFIGURED", "START", {})
    assert await next_within(events) == pb.TASK_INTERNAL_ERROR
    assert m.current_state() == "ERROR" and "iterate broke" in m.error_message


async def test_terminate_runs_exit_and_closes_streams() -> None:
    rec = Recorder()
    m = machine(rec)
    states = m.subscribe_states()
    await m.transition("STANDBY", "CONFIGURE", {})
    await m.transition("CONFIGURED", "START", {})
    await m.terminate()
    m.close()
    assert m.current_state() == "DONE" and rec.calls[-1][0] == "exit"
    assert [s async for _, s in states][-1] == "DONE"


def test_table_is_the_reference() -> None:
    simple = {k: v for k, v in TRANSITIONS.items() if k[1] != "GO_ERROR"}
    assert simple == {
        ("STANDBY", "CONFIGURE"): "CONFIGURED",
        ("STANDBY", "EXIT"): "DONE",
        ("CONFIGURED", "START"): "RUNNING",
        ("CONFIGURED", "RESET"): "STANDBY",
        ("CONFIGURED", "EXIT"): "DONE",
        ("RUNNING", "STOP"): "CONFIGURED",
        ("RUNNING", "PAUSE"): "PAUSED",
        ("PAUSED", "RESUME"): "RUNNING",
        ("PAUSED", "STOP"): "CONFIGURED",
        ("ERROR", "RECOVER"): "STANDBY",
        ("ERROR", "EXIT"): "DONE",
    }
