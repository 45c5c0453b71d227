"""Launch plans, the idle pool's claim rules, placement and the event log."""

import asyncio
from dataclasses import dataclass

import pytest

from o2ctl.core.events import Event, EventLog
from o2ctl.core.launch import LaunchError, plan_launch
from o2ctl.core.placement import NodeInfo, PlacementError, choose_node
from o2ctl.core.pool import IdlePool, IdleTask


def test_fairmq_launch_arguments_and_flavour() -> None:
    p = plan_launch(
        role_path="e.s",
        task_id="T",
        control_mode="fairmq",
        value="dev",
        arguments=["--rate", "5"],
        control_port=20001,
        environ={"CONTROL_OCCPLUGIN_ROOT": "/plug"},
    )
    assert p.argv == (
        "dev",
        "--rate",
        "5",
        "--id",
        "T",
        "-S",
        "/plug/lib",
        "-P",
        "OCClite",
        "--color",
        "false",
        "--control-port",
        "20001",
    )
    assert p.flavour == "json" and p.env["OCC_CONTROL_PORT"] == "20001"
    own = plan_launch(
        role_path="e.s",
        task_id="T",
        control_mode="fairmq",
        value="source m.sh && dev -P OCC",
        shell=True,
        control_port=1,
        environ={},
    )
    assert own.flavour == "protobuf" and "OCClite" not in own.command_line
    assert own.argv[:2] == ("/bin/sh", "-c")


def test_direct_basic_and_bad_env() -> None:
    d = plan_launch(
        role_path="e.d", task_id="T", control_mode="direct", value="x", control_port=5, env=["A=1"]
    )
    assert d.argv == ("x",) and d.env["A"] == "1" and d.flavour == "protobuf"
    b = plan_launch(role_path="e.b", task_id="T", control_mode="basic", value="true")
    assert not b.controlled and "OCC_CONTROL_PORT" not in b.env
    with pytest.raises(LaunchError, match=r"task e\.d: command\.env entry 'oops'"):
        plan_launch(
            role_path="e.d",
            task_id="T",
            control_mode="direct",
            value="x",
            control_port=5,
            env=["oops"],
        )


@dataclass(frozen=True)
class C:
    attribute: str
    value: str


NODES = {
    "n1": NodeInfo("n1", "flp001", "10.0.0.1"),
    "n2": NodeInfo("n2", "flp002", "10.0.0.2", {"machine_type": "qc"}),
    "n3": NodeInfo("n3", "epn001", "10.0.0.3", {"node_class": "async"}),
}


def test_pool_claims_same_class_on_a_fitting_node_once() -> None:
    pool = IdlePool()
    pool.add(IdleTask("a", "sink", "n1", "actor-a", 1, since=1))
    pool.add(IdleTask("b", "sink", "n2", "actor-b", 2, since=2))
    assert pool.claim("sampler", [], NODES) is None
    got = pool.claim("sink", [C("machine_id", "flp002")], NODES)
    assert got is not None and got.task_id == "b"
    assert pool.claim("sink", [C("machine_id", "flp002")], NODES) is None
    assert pool.claim("sink", [], NODES).task_id == "a"  # type: ignore[union-attr]
    assert len(pool) == 0


def test_placement_respects_constraints_class_and_load() -> None:
    nodes = list(NODES.values())
    assert choose_node("r", [C("machine_type", "qc")], nodes).node_id == "n2"
    assert choose_node("r", [], nodes, load={"n1": 3}).node_id == "n2"
    with pytest.raises(PlacementError, match="no sync node for r: wants machine_id=epn001"):
        choose_node("r", [C("machine_id", "epn001")], nodes)


async def test_event_log_long_poll() -> None:
    log = EventLog(capacity=3)
    waiter = asyncio.create_task(log.wait_after(0, 5.0))
    await asyncio.sleep(0)
    log.append(Event("task", "E", path="p", state="ERROR"))
    batch = await asyncio.wait_for(waiter, 2.0)
    assert [e.state for e in batch.events] == ["ERROR"] and batch.last_seq == 1
    for i in range(5):
        log.append(Event("task", "E", state=str(i)))
    later = log.after(1)
    assert later.gap and [e.seq for e in later.events] == [4, 5, 6]
    assert (await log.wait_after(6, 0.05)).events == []
