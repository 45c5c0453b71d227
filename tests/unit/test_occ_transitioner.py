"""The FairMQ transitioner's step sequences, checked against a scripted device.

``Scripted`` answers each FairMQ step from a literal copy of the table in aliecs.md §4
(written out here again, so a wrong table in ``occ.transitioner`` cannot agree with
itself), and can be told to get stuck, fail or go silent on a step.
"""

from __future__ import annotations

import pytest

from occ import transitioner as fmq
from occ.client import flavour_from_argv

REFERENCE = {
    ("IDLE", "INIT DEVICE"): "INITIALIZING DEVICE",
    ("IDLE", "END"): "EXITING",
    ("INITIALIZING DEVICE", "COMPLETE INIT"): "INITIALIZED",
    ("INITIALIZED", "BIND"): "BOUND",
    ("BOUND", "CONNECT"): "DEVICE READY",
    ("DEVICE READY", "INIT TASK"): "READY",
    ("READY", "RUN"): "RUNNING",
    ("RUNNING", "STOP"): "READY",
    ("READY", "RESET TASK"): "DEVICE READY",
    ("INITIALIZED", "RESET DEVICE"): "IDLE",
    ("BOUND", "RESET DEVICE"): "IDLE",
    ("DEVICE READY", "RESET DEVICE"): "IDLE",
}


class Scripted:
    def __init__(
        self, state: str = "IDLE", *, stuck: str = "", error: str = "", silent: str = ""
    ) -> None:
        self.state = state
        self.stuck, self.error, self.silent = stuck, error, silent
        self.sent: list[tuple[str, dict[str, str]]] = []

    async def do_step(self, src: str, event: str, args: dict[str, str]) -> str:
        self.sent.append((event, args))
        assert src == self.state, f"{event} sent with srcState {src}, device is {self.state}"
        if event == self.silent:
            raise fmq.StepError("did not answer within 1.0 s")
        if event == self.error:
            self.state = "ERROR"
        elif event != self.stuck:
            self.state = REFERENCE[(src, event)]
        return self.state

    async def query_state(self) -> str:
        return self.state

    def transitioner(self) -> fmq.FairMQTransitioner:
        return fmq.FairMQTransitioner(self.do_step, self.query_state)


def test_table_matches_the_reference() -> None:
    assert fmq.FAIRMQ_TRANSITIONS == REFERENCE


async def test_configure_pushes_arguments_with_init_device_only() -> None:
    device = Scripted()
    final = await device.transitioner().commit("CONFIGURE", "IDLE", {"k": "v"})
    assert final == "READY"
    assert device.sent == [
        ("INIT DEVICE", {"k": "v"}),
        ("COMPLETE INIT", {}),
        ("BIND", {}),
        ("CONNECT", {}),
        ("INIT TASK", {}),
    ]


@pytest.mark.parametrize(
    ("event", "start", "steps", "final"),
    [
        ("START", "READY", ["RUN"], "RUNNING"),
        ("STOP", "RUNNING", ["STOP"], "READY"),
        ("RESET", "READY", ["RESET TASK", "RESET DEVICE"], "IDLE"),
        ("RESET", "BOUND", ["RESET DEVICE"], "IDLE"),
        ("EXIT", "READY", ["RESET TASK", "RESET DEVICE", "END"], "EXITING"),
        ("EXIT", "IDLE", ["END"], "EXITING"),
    ],
)
async def test_event_sequences(event: str, start: str, steps: list[str], final: str) -> None:
    device = Scripted(start)
    assert await device.transitioner().commit(event, start, {"run_number": "5"}) == final
    assert [s for s, _ in device.sent] == steps
    with_args = {s for s, a in device.sent if a}
    assert with_args == ({steps[0]} if event in ("START", "STOP") else set())


@pytest.mark.parametrize(
    ("stuck", "at"), [("BIND", "INITIALIZED"), ("CONNECT", "BOUND"), ("INIT TASK", "DEVICE READY")]
)
async def test_stuck_configure_rolls_back_by_reset_device(stuck: str, at: str) -> None:
    device = Scripted(stuck=stuck)
    with pytest.raises(fmq.TransitionFailed) as caught:
        await device.transitioner().commit("CONFIGURE", "IDLE", {})
    failed = caught.value
    assert (failed.step, failed.reached, failed.rolled_back_to) == (stuck, at, "IDLE")
    assert device.sent[-2:] == [(stuck, {}), ("RESET DEVICE", {})]
    assert device.state == "IDLE"
    assert "rolled back by RESET DEVICE to IDLE" in str(failed)


async def test_error_stops_without_rollback() -> None:
    device = Scripted(error="BIND")
    with pytest.raises(fmq.TransitionFailed) as caught:
        await device.transitioner().commit("CONFIGURE", "IDLE", {})
    assert (caught.value.step, caught.value.reached, caught.value.rolled_back_to) == (
        "BIND",
        "ERROR",
        None,
    )
    assert [s for s, _ in device.sent] == ["INIT DEVICE", "COMPLETE INIT", "BIND"]


async def test_silent_step_reads_the_state_then_rolls_back() -> None:
    device = Scripted(silent="CONNECT")
    with pytest.raises(fmq.TransitionFailed) as caught:
        await device.transitioner().commit("CONFIGURE", "IDLE", {})
    assert caught.value.reached == "BOUND"
    assert "did not answer within 1.0 s" in caught.value.reason
    assert device.state == "IDLE"


async def test_silent_first_step_propagates_unchanged() -> None:
    device = Scripted("READY", silent="RUN")
    with pytest.raises(fmq.StepError, match="did not answer"):
        await device.transitioner().commit("START", "READY", {})


@pytest.mark.parametrize(
    ("event", "state", "match"),
    [
        ("STOP", "IDLE", "STOP is not possible from IDLE"),
        ("EXIT", "RUNNING", "END is not possible from RUNNING"),
        ("GO_ERROR", "READY", "no FairMQ equivalent"),
        ("FLY", "IDLE", "unknown OCC event 'FLY'"),
    ],
)
async def test_impossible_events_are_refused_before_sending(
    event: str, state: str, match: str
) -> None:
    device = Scripted(state)
    with pytest.raises(ValueError, match=match):
        await device.transitioner().commit(event, state, {})
    assert device.sent == []


def test_state_mapping() -> None:
    pairs = {
        "IDLE": "STANDBY",
        "READY": "CONFIGURED",
        "RUNNING": "RUNNING",
        "ERROR": "ERROR",
        "EXITING": "DONE",
    }
    for fairmq_state, occ in pairs.items():
        assert fmq.occ_state(fairmq_state) == occ
        assert not fmq.is_intermediate(fairmq_state)
        assert fmq.FAIRMQ_OF_OCC[occ] == fairmq_state
    assert fmq.occ_state("BOUND") == "UNKNOWN"
    assert fmq.is_intermediate("INITIALIZING DEVICE")


@pytest.mark.parametrize(
    ("argv", "flavour"),
    [
        ("dev --id x -S /lib -P OCClite --color false --control-port 4", "json"),
        (["dev", "-P", "OCC"], "protobuf"),
        (["dev", "--plugin=dds,OCClite"], "json"),
        (["dev", "-POCClite"], "json"),
        ("dev --id OCClite", "protobuf"),
        ([], "protobuf"),
    ],
)
def test_flavour_from_argv(argv: str | list[str], flavour: str) -> None:
    assert flavour_from_argv(argv) == flavour


@pytest.mark.parametrize(
    ("found", "steps"),
    [
        ("INITIALIZING DEVICE", ["COMPLETE INIT", "BIND", "CONNECT", "INIT TASK"]),
        ("INITIALIZED", ["BIND", "CONNECT", "INIT TASK"]),
        ("BOUND", ["CONNECT", "INIT TASK"]),
        ("DEVICE READY", ["INIT TASK"]),
        ("READY", []),
    ],
)
async def test_configure_resumes_where_a_timed_out_attempt_left_the_device(
    found: str, steps: list[str]
) -> None:
    device = Scripted(found)
    assert await device.transitioner().commit("CONFIGURE", found, {"k": "v"}) == "READY"
    assert [s for s, _ in device.sent] == steps
    assert all(not a for _, a in device.sent), "only INIT DEVICE carries the arguments"


@pytest.mark.parametrize(
    ("event", "state"), [("START", "RUNNING"), ("STOP", "READY"), ("RESET", "IDLE")]
)
async def test_a_device_already_there_gets_no_step(event: str, state: str) -> None:
    device = Scripted(state)
    assert await device.transitioner().commit(event, state, {}) == state
    assert device.sent == []
