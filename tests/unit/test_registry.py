"""The controller's books (``actors.registry.TaskRegistry``, plain Python): admission and
the site limit per node, what a task costs, and a control port found taken.

No Ray: the registry is what the controller actor holds; nodes are pure-core ``FarmNode``s
as the farm manager builds them from Ray's node table.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from actors.registry import TaskRegistry
from o2ctl.core.farm import FarmNode, Mode, NoNodeFits, Usage
from o2ctl.core.ports import PortAllocator, PortsExhausted

OVERHEAD = 55.0


def node(machine_id: str, cpu: float = 2, memory: float = 1000, max_tasks: int = 0) -> FarmNode:
    return FarmNode(
        machine_id, f"id-{machine_id}", "10.0.0.7", {}, True, Mode.SYNC, cpu, memory, max_tasks
    )


def req(role: str, memory: float = 24, cpu: float = 0.005, controlled: bool = True) -> Any:
    return {
        "role_path": role,
        "task_class": "proc",
        "constraints": [],
        "controlled": controlled,
        "wants": {"cpu": cpu, "memory": memory},
    }


def registry(lo: int = 20000, hi: int = 20099) -> TaskRegistry:
    return TaskRegistry(PortAllocator((lo, hi)))


def deploy(reg: TaskRegistry, env_id: str, requests: list[Any], nodes: list[FarmNode]) -> None:
    """Place and register, as DEPLOY does once every task is up."""
    placed, _ = reg.place(env_id, requests, nodes, overhead_mb=OVERHEAD)
    reg.register(
        env_id,
        [
            {
                **r,
                "task_id": p["task_id"],
                "actor_name": p["actor_name"],
                "node_id": p["node"]["node_id"],
                "control_port": p["control_port"],
            }
            for r, p in zip(requests, placed, strict=True)
        ],
    )


def test_the_site_limit_per_node_refuses_naming_it_and_places_nothing() -> None:
    reg, nodes = registry(), [node("flp1", max_tasks=3), node("flp2", max_tasks=3)]
    deploy(reg, "e1", [req(f"a{i}") for i in range(4)], nodes)
    assert reg.load() == {"id-flp1": 2, "id-flp2": 2}
    with pytest.raises(NoNodeFits) as err:
        reg.place("e2", [req(f"b{i}") for i in range(3)], nodes, overhead_mb=OVERHEAD)
    text = str(err.value)
    assert text.startswith("no node for role b2 (task class proc), which wants cpu 0.005, memory")
    assert text.endswith("flp1, flp2: at the site limit of 3 tasks per node"), text
    assert not reg.pending and len(reg.ports.snapshot()) == 4, "nothing of e2 is kept"
    placed, _ = reg.place("e2", [req("b0"), req("b1")], nodes, overhead_mb=OVERHEAD)
    assert sorted(p["node"]["hostname"] for p in placed) == ["flp1", "flp2"]


def test_admission_counts_wants_and_the_control_planes_cost_per_task() -> None:
    reg, nodes = registry(), [node("flp1", memory=400)]
    deploy(reg, "e1", [req("a", memory=100), req("b", memory=45)], nodes)
    assert reg.usage(OVERHEAD) == {"id-flp1": Usage(2, 0.01, 100 + 45 + 2 * OVERHEAD)}
    # 400 - 255 = 145 MB free: one more 24 MB task fits with its overhead, two do not
    with pytest.raises(NoNodeFits, match=r"flp1: not enough memory: 66 MB free, 79 MB wanted"):
        reg.place("e2", [req("c"), req("d")], nodes, overhead_mb=OVERHEAD)
    assert not reg.pending
    placed, _ = reg.place("e2", [req("c")], nodes, overhead_mb=OVERHEAD)
    assert reg.usage(OVERHEAD)["id-flp1"].tasks == 3, "a placed task counts before it is up"
    reg.unplace("e2", placed)
    assert reg.usage(OVERHEAD)["id-flp1"].tasks == 2 and not reg.ports.held_by("e2")


def test_a_port_found_taken_is_never_handed_out_again() -> None:
    reg, nodes = registry(20000, 20003), [node("flp1")]
    placed, _ = reg.place("e1", [req("a"), req("b")], nodes)
    a, b = placed
    assert {a["control_port"], b["control_port"]} == {20000, 20001}
    bad = a["control_port"]
    new = reg.replace_port(a["task_id"], "10.0.0.7", bad)
    assert new not in (bad, b["control_port"])
    assert [(r.port, r.owner) for r in reg.ports.held_by(a["task_id"])] == [(new, a["task_id"])]
    reg.unplace("e1", placed)  # the environment goes: its ports are free again, not that one
    assert [(r.port, r.owner) for r in reg.ports.snapshot()] == [(bad, "foreign")]
    got = reg.place("e2", [req(f"c{i}") for i in range(3)], nodes)[0]
    assert bad not in {p["control_port"] for p in got}
    with pytest.raises(PortsExhausted):  # the fourth port of the range is the taken one
        reg.place("e3", [req("d")], nodes)
    assert len(reg.pending) == 3, "e3 left nothing behind"
    other = replace(node("flp9"), ip="10.0.0.8")  # another physical host
    assert reg.place("e4", [req("x")], [other])[0][0]["control_port"] == bad, "per host only"


def test_what_a_cancelled_deploy_placed_is_dropped_with_its_environment() -> None:
    reg, nodes = registry(), [node("flp1")]
    reg.place("e1", [req("a"), req("b")], nodes)
    kept, _ = reg.place("e2", [req("c")], nodes)
    assert len(reg.drop_pending("e1")) == 2
    assert list(reg.pending) == [kept[0]["task_id"]] and reg.usage()["id-flp1"].tasks == 1
    assert [r.owner for r in reg.ports.snapshot()] == [kept[0]["task_id"]]
    assert reg.drop_pending("e1") == []
