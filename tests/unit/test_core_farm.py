"""Farm placement: modes, constraints, capacity, spreading and the refusal message."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from o2ctl.core.errors import ControlError
from o2ctl.core.farm import (
    FarmError,
    FarmNode,
    Mode,
    NoNodeFits,
    Request,
    Usage,
    free,
    initial_mode,
    parse_mode,
    place,
    refusal,
    request,
    tally,
    to_reclaim,
    would_fit_async,
)


def node(
    machine_id: str,
    mode: Mode = Mode.SYNC,
    cpu: float = 4,
    memory: float = 8000,
    alive: bool = True,
    **labels: str,
) -> FarmNode:
    return FarmNode(machine_id, f"id-{machine_id}", "10.0.0.1", labels, alive, mode, cpu, memory)


FARM = [
    node("flp1", machine_type="flp"),
    node("flp2", machine_type="flp", cpu=1),
    node("qc1", machine_type="qc"),
    node("epn1", Mode.ASYNC, machine_type="epn"),
    node("dead1", alive=False, machine_type="flp"),
]


def test_modes_start_from_the_node_class_label() -> None:
    assert initial_mode({}) is Mode.SYNC
    assert initial_mode({"node_class": "async"}) is Mode.ASYNC
    assert parse_mode(" ASYNC ") is Mode.ASYNC
    with pytest.raises(FarmError, match="node_class label is 'gpu': expected sync or async"):
        initial_mode({"node_class": "gpu"})


def test_requests_from_pairs_objects_and_wants() -> None:
    @dataclass
    class C:
        attribute: str
        value: str
        operator: str = "exists"

    req = request("a.b", "cls", [("machine_type", "flp"), C("rack", "")], {"cpu": "1.5"})
    assert req.cpu == 1.5 and req.memory == 0
    assert req.describe() == "machine_type=flp, rack exists, cpu 1.5"
    for bad in ("-1", "lots", True, float("nan"), 1e12):
        with pytest.raises(FarmError, match=r"role a\.b: wants\.memory is"):
            request("a.b", wants={"memory": bad})


def test_each_refusal_reason() -> None:
    req = request("r", wants={"cpu": 2, "memory": 100})
    assert refusal(FARM[4], req, Usage()) == "dead"
    assert refusal(FARM[3], req, Usage()) == "async"
    assert refusal(FARM[3], req, Usage(), accept_async=True) is None
    assert refusal(FARM[1], req, Usage()) == "not enough cpu: 1 free, 2 wanted"
    assert refusal(FARM[0], req, Usage(1, 3, 0)) == "not enough cpu: 1 free, 2 wanted"
    assert refusal(FARM[0], req, Usage(1, 0, 7950)) == (
        "not enough memory: 50 MB free, 100 MB wanted"
    )
    qc = request("r", constraints=[("machine_type", "qc")])
    assert refusal(FARM[0], qc, Usage()) == "constraint machine_type=qc not met (machine_type=flp)"
    rack = request("r", constraints=[("rack", "A")])
    assert refusal(FARM[0], rack, Usage()) == "constraint rack=A not met (no rack)"
    assert free(FARM[1], Usage(2, 3, 9000)) == (0.0, 0.0)


def test_node_class_and_machine_id_are_attributes() -> None:
    assert FARM[3].attribute("node_class") == "async"
    assert FARM[3].with_mode(Mode.SYNC).attribute("node_class") == "sync"
    assert FARM[0].attribute("machine_id") == "flp1" == FARM[0].attribute("hostname")
    assert FARM[0].host == "10.0.0.1"


def test_place_honours_constraints_capacity_and_spreads() -> None:
    reqs = [request(f"r{i}", constraints=[("machine_type", "flp")]) for i in range(4)]
    chosen = place(reqs, FARM)
    assert [n.machine_id for n in chosen] == ["flp1", "flp2", "flp1", "flp2"]
    heavy = [request(f"h{i}", wants={"cpu": 1}) for i in range(3)]
    placed = {"id-qc1": Usage(5, 0, 0)}
    got = [n.machine_id for n in place(heavy, FARM, placed)]
    assert got == ["flp1", "flp2", "flp1"], "flp2 has one core, qc1 is loaded"


def test_refusal_names_the_role_what_it_wants_and_every_node() -> None:
    req = request("readout.flp9", "o2-readout", [("machine_type", "epn")], {"cpu": 2})
    with pytest.raises(NoNodeFits) as err:
        place([req], FARM)
    text = str(err.value)
    assert text.startswith(
        "no node for role readout.flp9 (task class o2-readout), which wants machine_type=epn, "
        "cpu 2: "
    )
    assert "flp1, flp2: constraint machine_type=epn not met (machine_type=flp); " in text
    assert "epn1: async" in text and "dead1: dead" in text
    assert text.endswith("async node epn1 would fit; use --reclaim")
    assert err.value.reclaimable == ("epn1",)
    assert {m for m, _ in err.value.refusals} == {n.machine_id for n in FARM}
    assert isinstance(err.value, ControlError)
    again = pickle.loads(pickle.dumps(err.value))
    assert str(again) == text and again.refusals == err.value.refusals


def test_refusal_groups_many_nodes_by_reason() -> None:
    many = [node(f"flp{i:03}", machine_type="flp") for i in range(200)]
    with pytest.raises(NoNodeFits) as err:
        place([request("r", constraints=[("machine_type", "epn")])], many)
    text = str(err.value)
    assert "flp000, flp001" in text and "and 192 more: constraint machine_type=epn" in text
    assert len(text) < 400 and "--reclaim" not in text


def test_reclaim_takes_async_nodes_only_when_no_sync_node_fits() -> None:
    epn = [request(f"e{i}", constraints=[("machine_type", "epn")]) for i in range(2)]
    chosen = place([request("any"), *epn], FARM, reclaim=True)
    assert [n.machine_id for n in chosen] == ["flp1", "epn1", "epn1"]
    assert to_reclaim(chosen) == ["epn1"]
    assert would_fit_async(epn[0], FARM) == [FARM[3]]
    assert would_fit_async(request("big", wants={"cpu": 99}), FARM) == []
    with pytest.raises(NoNodeFits) as err:
        place([request("big", wants={"cpu": 99})], FARM, reclaim=True)
    assert err.value.reclaimable == () and "would fit" not in str(err.value)


def test_tally_sums_usage_per_node() -> None:
    got = tally([("a", Request("x", cpu=1)), ("a", Request("y", memory=5)), ("b", Request("z"))])
    assert got == {"a": Usage(2, 1.0, 5.0), "b": Usage(1, 0.0, 0.0)}


# -- properties -------------------------------------------------------------------------
nodes_st = st.lists(
    st.builds(
        node,
        machine_id=st.sampled_from(["a", "b", "c", "d", "e", "f"]),
        mode=st.sampled_from(list(Mode)),
        cpu=st.sampled_from([0, 1, 2, 4]),
        memory=st.sampled_from([0, 100, 1000]),
        alive=st.booleans(),
        machine_type=st.sampled_from(["flp", "epn"]),
    ),
    max_size=6,
    unique_by=lambda n: n.machine_id,
)
requests_st = st.lists(
    st.builds(
        request,
        role_path=st.sampled_from(["r.a", "r.b", "r.c"]),
        constraints=st.sampled_from([[], [("machine_type", "flp")], [("machine_type", "epn")]]),
        wants=st.fixed_dictionaries(
            {"cpu": st.sampled_from([0, 0.5, 1]), "memory": st.sampled_from([0, 50, 500])}
        ),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(nodes_st, requests_st, st.booleans())
def test_placement_never_overcommits_and_refusals_are_complete(
    nodes: list[FarmNode], reqs: list[Request], reclaim: bool
) -> None:
    try:
        chosen = place(reqs, nodes, reclaim=reclaim)
    except NoNodeFits as err:
        assert len(err.refusals) == len(nodes)
        assert all(reason != "fits" for _, reason in err.refusals)
        return
    used = tally((n.node_id, r) for n, r in zip(chosen, reqs, strict=True))
    for n in chosen:
        assert n.alive and (reclaim or n.mode is Mode.SYNC)
        assert used[n.node_id].cpu <= n.cpu + 1e-9 and used[n.node_id].memory <= n.memory + 1e-9
    for n, r in zip(chosen, reqs, strict=True):
        assert all(c.holds(n) for c in r.constraints)
    if not reclaim:
        assert to_reclaim(chosen) == []


@given(st.integers(1, 6), st.integers(0, 40))
def test_identical_nodes_get_an_even_share(count: int, tasks: int) -> None:
    nodes = [node(f"n{i}") for i in range(count)]
    chosen = place([Request(f"r{i}") for i in range(tasks)], nodes)
    per = [sum(1 for c in chosen if c.machine_id == n.machine_id) for n in nodes]
    assert max(per) - min(per) <= 1


def test_the_head_of_up_ha_takes_a_task_only_when_no_other_node_fits() -> None:
    from o2ctl.core.farm import FarmNode, Mode, Request, place
    from o2ctl.core.placement import HEAD_LABEL

    head = FarmNode("head", "h", "127.0.0.1", labels={HEAD_LABEL: "1"}, mode=Mode.SYNC,
                    cpu=8, memory=8000)  # fmt: skip
    flp = FarmNode("flp1", "f", "127.0.0.1", mode=Mode.SYNC, cpu=1, memory=1000)
    req = Request("r#t")
    assert [n.machine_id for n in place([req, req, req], [head, flp])] == ["flp1"] * 3
    assert [n.machine_id for n in place([req], [head])] == ["head"]


def test_head_lost_and_back_are_said_once_each() -> None:
    from o2ctl.core.farm import FarmNode, head_changes
    from o2ctl.core.placement import HEAD_LABEL

    old = FarmNode("head", "n0", "127.0.0.1", labels={HEAD_LABEL: "1"}, alive=False)
    new = FarmNode("head", "n1", "127.0.0.1", labels={HEAD_LABEL: "1"})
    flp = FarmNode("flp1", "n2", "127.0.0.1", alive=False)
    said: set[str] = set()
    assert head_changes([new, flp], said) == []  # a head alone and alive: nothing to say
    changes = head_changes([old, new, flp], said)
    assert [(what, n.node_id) for what, n in changes] == [("head_lost", "n0"), ("head_back", "n1")]
    said |= {"n0", "n1"}
    assert head_changes([old, new, flp], said) == []


def test_control_actors_go_off_the_head_to_a_farm_node_with_room() -> None:
    from o2ctl.core.farm import FarmNode, Mode, Usage, control_home
    from o2ctl.core.placement import HEAD_LABEL

    head = FarmNode("head", "h", "127.0.0.1", labels={HEAD_LABEL: "1"}, cpu=8, max_tasks=2)
    a = FarmNode("flp1", "a", "127.0.0.1", cpu=1, max_tasks=2)
    b = FarmNode("flp2", "b", "127.0.0.1", cpu=1, max_tasks=2)
    assert control_home([head, a, b], fallback="h") == "a"  # least loaded, then by name
    assert control_home([head, a, b], {"a": Usage(1)}, fallback="h") == "b"
    assert control_home([head, a, b], prefer="b", fallback="h") == "b"  # beside its env
    assert control_home([head, a, b], prefer="h", fallback="h") == "a"  # never the head
    full = {"a": Usage(2), "b": Usage(2)}  # at the site limit: no room
    assert control_home([head, a, b], full, fallback="h") == "h"
    dead, pilot = replace(a, alive=False), replace(b, mode=Mode.ASYNC)
    assert control_home([head, dead, pilot], fallback="h") == "h"
    assert control_home([head], fallback="h") == "h"  # only the head: the controller's node
