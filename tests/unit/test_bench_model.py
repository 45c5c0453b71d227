"""The suite's pure pieces: farm layouts, the farm model, the README sections, new rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.common import SAMPLER_RATE_HZ, Figure, workflow_vars
from bench.farmmodel import (
    Costs,
    Tree,
    control_plane,
    costs_from,
    env_growth,
    fit_linear,
    node,
    serial,
    transition_s,
    tree_from,
)
from bench.farmscale import Layout
from bench.farmtables import farm_model, growth_lines, tables
from bench.readme import farm_table, update_readme
from bench.report import floors_table, table

COSTS = Costs(
    n=100,
    cores=2,
    memory_mb=70.0,
    idle_ms_per_s=10.0,
    node_cpu_ms=40.0,
    other_cpu_ms=1.0,
    floor_ms=100.0,
    deploy_s=1.0,
    gcs_idle_ms_per_s=0.5,
    raylet_idle_ms_per_s=4.0,
)
TREE = Tree(
    env_call_ms=20.0,
    env_task_ms=0.01,
    root_call_ms=5.0,
    root_child_ms=0.5,
    root_task_ms=0.02,
    node_call_ms=3.0,
    node_task_ms=1.0,
    actors_fixed=2.0,
    actors_per_task=1.0,
    actors_per_node=1.0,
    layouts=("1x100", "4x25", "4x50", "10x10"),
)


def test_the_workflow_runs_at_one_fixed_small_data_rate() -> None:
    assert workflow_vars(10) == {"nProcessors": "8", "sampler_rate": str(SAMPLER_RATE_HZ)}
    assert 0 < SAMPLER_RATE_HZ <= 1000
    with pytest.raises(ValueError, match="at least 3 tasks"):
        workflow_vars(2)


def test_layouts_parse_and_refuse_what_cannot_run() -> None:
    assert [(lay.label, lay.total) for lay in Layout.parse("1x100, 4x25")] == [
        ("1x100", 100),
        ("4x25", 100),
    ]
    assert Layout.parse("none") == [] and Layout.parse("") == []
    with pytest.raises(ValueError, match="0x5"):
        Layout.parse("0x5")
    with pytest.raises(ValueError):
        Layout.parse("2xmany")


def test_a_node_costs_k_times_a_task_and_shares_its_cores() -> None:
    one, twenty = node(COSTS, TREE, 1, 2), node(COSTS, TREE, 20, 2)
    assert twenty["memory_mb"] == pytest.approx(20 * one["memory_mb"]) == 1400
    assert twenty["idle_cores"] == pytest.approx(0.204)  # 20 tasks and the node's raylet
    assert twenty["role_cpu_s"] == pytest.approx((3 + 20 * 1) / 1e3)  # its role or shard
    assert twenty["transition_s"] == pytest.approx((100 + 23 + 20 * 40 / 2) / 1e3)
    assert node(COSTS, TREE, 20, 32)["deploy_s"] == pytest.approx(20 * 1.0 * 2 / 32)


def test_the_serial_path_is_one_env_call_the_root_per_node_and_the_busiest_node() -> None:
    path = serial(TREE, 200, 20)  # ALICE: 200 FLPs x 20 tasks, one shard per FLP
    assert path["env"] == pytest.approx(20 + 4000 * 0.01)  # its call, its table
    assert path["root"] == pytest.approx(5 + 200 * 0.5 + 4000 * 0.02)
    assert path["node"] == pytest.approx(3 + 20 * 1.0)  # one node's 20, not the farm's 4,000
    assert path["serial"] == pytest.approx(60 + 185 + 23)
    # on one node the root role is that node's role: no root term
    assert serial(TREE, 1, 100) == pytest.approx(
        {"env": 21.0, "root": 0.0, "node": 103.0, "serial": 124.0}
    )
    cp = control_plane(COSTS, TREE, 200, 20)
    assert cp["serial_s"] == pytest.approx(0.268) and cp["actors"] == 2 + 4000 + 200
    # every node's role counted once, and the controller and GCS per task
    assert cp["control_cpu_s"] == pytest.approx((60 + 185 + 200 * 23 + 4000 * 1.0) / 1e3)
    assert transition_s(COSTS, TREE, 200, 20, 32) == pytest.approx((100 + 268 + 20 * 40 / 32) / 1e3)
    text = tables(COSTS, TREE)
    assert "| ALICE FLPs, 20 tasks each | 200 | 4,000 | 4,202 | 60 ms | 185 ms | 23 ms | " in text
    assert "0.27 s ✔ (≤ 0.5 s)" in text
    assert "| 450 | 9,000 | 9,452 | 110 ms |" in text  # 9,000 tasks + 450 shards + 2
    two_each = Tree(**{**TREE.__dict__, "actors_per_task": 2.0})
    assert "| 450 | 9,000 | 18,452 ⚠ |" in tables(COSTS, two_each)  # past Ray's 10,000
    slow = Tree(**{**TREE.__dict__, "root_child_ms": 2.0})  # 200 x 2 ms more at the root
    assert "0.57 s ✘ (≤ 0.5 s)" in tables(COSTS, slow)
    fast = Tree(**{**TREE.__dict__, "root_task_ms": 0.0, "env_task_ms": 0.0, "root_child_ms": 0.1})
    assert "✔ (moonshot ≤ 0.1 s)" in tables(COSTS, fast)


def test_fit_recovers_linear_costs_and_drops_what_the_points_cannot_tell() -> None:
    rows = [(1.0, m, t) for m, t in ((4, 100), (4, 200), (10, 100))]
    ys = [5 + 0.5 * m + 0.02 * t for _, m, t in rows]
    assert fit_linear(rows, ys) == pytest.approx([5.0, 0.5, 0.02])
    # two points with the same tasks: no per-task cost can be told, the call is their mean
    assert fit_linear([(1.0, 4.0), (1.0, 4.0)], [10.0, 14.0]) == pytest.approx([12.0, 0.0])
    # a negative per-unit cost is noise: taken as 0, the rest fitted again
    assert fit_linear([(1.0, 10.0), (1.0, 20.0)], [12.0, 10.0]) == pytest.approx([11.0, 0.0])
    assert fit_linear([], []) == []
    # the Ray actors of two layouts of 4 tasks: keep the per-task actor, drop the rest
    assert fit_linear([(1.0, 4, 0), (1.0, 4, 2)], [6.0, 8.0], drop=(2, 0)) == pytest.approx(
        [0.0, 1.75, 0.0]
    )


def _layout(label: str, nodes: int, per: int, env: float, head: float, node_ms: float) -> dict:
    tasks = nodes * per
    machines = [f"bench-node{i + 1}" for i in range(nodes)]
    configure = {"env": [env, env], "roles head": [head] * 2}
    configure.update({f"roles {m}": [node_ms, node_ms] for m in machines})
    return {
        "layout": label,
        "nodes": nodes,
        "tasks": tasks,
        "actors": 2 + tasks + (nodes if nodes > 1 else 0),
        "deploy_s": 10.0,
        "tasks_per_node": {m: per for m in machines},
        "transition_ms": {
            e: [100.0] for e in ("CONFIGURE", "START_ACTIVITY", "STOP_ACTIVITY", "RESET")
        },
        "cpu_ms": {},
        "cpu_samples_ms": {
            e: configure for e in ("CONFIGURE", "START_ACTIVITY", "STOP_ACTIVITY", "RESET")
        },
        "idle_ms_per_s": {"env": 1.0, "roles head": 0.5},
        "role_actors": {f"e:root@{m}": m for m in machines},
    }


FARM = [
    _layout("1x100", 1, 100, 30.0, 0.0, 3 + 100 * 1.0),
    _layout("4x25", 4, 25, 30.0, 5 + 4 * 0.5 + 100 * 0.02, 3 + 25 * 1.0),
    _layout("4x50", 4, 50, 31.0, 5 + 4 * 0.5 + 200 * 0.02, 3 + 50 * 1.0),
    _layout("10x10", 10, 10, 30.0, 5 + 10 * 0.5 + 100 * 0.02, 3 + 10 * 1.0),
]


def test_the_tree_is_fitted_on_the_farm_layouts() -> None:
    t = tree_from(FARM)
    assert t.env_call_ms == pytest.approx(29.0) and t.env_task_ms == pytest.approx(0.01)
    assert (t.root_call_ms, t.root_child_ms, t.root_task_ms) == pytest.approx((5, 0.5, 0.02))
    assert (t.node_call_ms, t.node_task_ms) == pytest.approx((3.0, 1.0))
    assert (t.actors_fixed, t.actors_per_task) == pytest.approx((2.0, 1.0))
    assert t.layouts == ("1x100", "4x25", "4x50", "10x10")
    with pytest.raises(ValueError, match="role actors"):  # results from before the tree
        tree_from([{**FARM[0], "role_actors": {}}])


def test_the_env_actor_must_not_grow_with_the_tasks_on_fixed_nodes() -> None:
    (g,) = env_growth(FARM)  # 4x25 → 4x50; 1x100 and 10x10 have no partner
    assert (g["few"], g["many"], g["tasks_ratio"]) == ("4x25", "4x50", 2.0)
    assert g["ratio"] == pytest.approx(31 / 30) and g["ok"]
    assert "30.0 → 31.0 ms, x1.03: does not grow ✔" in growth_lines(FARM)
    grown = [FARM[1], _layout("4x50", 4, 50, 60.0, 1.0, 1.0)]
    assert not env_growth(grown)[0]["ok"] and "grows ✘" in growth_lines(grown)
    table = farm_table(FARM)
    assert "| 4x50 | CONFIGURE | 100 ms | 31.0 | 11.0 |" in table
    assert "mean 13.0, max 13.0 (10 nodes)" in table and "does not grow ✔" in table


def test_costs_come_from_the_smallest_size_of_fifty_and_the_largest_is_the_bound() -> None:
    split = {"env": 200.0, "controller": 50.0, "gcs": 50.0, "task actors": 3000, "devices": 1000}
    hot = {"env": 800.0, "controller": 100.0, "gcs": 100.0, "task actors": 20000, "devices": 4000}

    def fig(measure: str, n: int, median: float, **notes: object) -> dict[str, object]:
        return {"measure": measure, "n": n, "samples": [median], "median": median, "notes": notes}

    doc = {
        "meta": {"cpus": 2},
        "figures": [
            fig("CONFIGURE", 10, 50.0, grpc_floor=30.0, cpu_split_ms=split),
            fig("CONFIGURE", 100, 900.0, grpc_floor=300.0, cpu_split_ms=split),
            fig("CONFIGURE", 200, 9000.0, grpc_floor=600.0, cpu_split_ms=hot),
            *(fig("memory/task", n, 72.0) for n in (10, 100, 200)),
            *(fig("deploy cold", n, n * 1.5) for n in (10, 100, 200)),
            fig("idle CPU/task", 100, 12.0),
        ],
        "farm": [
            {**FARM[0], "idle_ms_per_s": {"gcs": 9.0}},
            {**FARM[3], "idle_ms_per_s": {"gcs": 20.0, "raylets nodes": 30.0}},
        ],
    }
    c = costs_from(doc)
    assert (c.n, c.memory_mb, c.idle_ms_per_s, c.deploy_s) == (100, 72.0, 12.0, 1.5)
    assert c.node_cpu_ms == 40.0 and c.other_cpu_ms == 1.0
    assert c.floor_ms == 30.0  # the floor of the smallest size: the devices' own time
    # the layout with the most nodes speaks for the farm at rest
    assert c.gcs_idle_ms_per_s == 0.2 and c.raylet_idle_ms_per_s == 3.0
    with pytest.raises(ValueError, match="no size"):
        costs_from({"meta": {}, "figures": []})
    model = farm_model(doc)
    assert model is not None and model["bound"]["n"] == 200 and model["costs"]["n"] == 100
    assert model["tree"]["node_task_ms"] == pytest.approx(1.0)
    assert "At N = 200 on the same 2 cores, oversubscribed" in model["tables"]
    assert "120.0 ms of node CPU" in model["tables"]  # (20000 + 4000) / 200
    assert farm_model({**doc, "farm": []}) is None  # no tree measured: no model


def test_a_measure_not_available_is_a_row_that_says_why() -> None:
    f = Figure.unavailable("modify add k", 10, "s", "not available: no modify yet")
    assert f.passed is None and f.ratio is None and f.to_dict()["median"] is None
    row = table([f]).splitlines()[2]
    assert row.startswith("| modify add k | 10 | — |") and "no modify yet" in row


def test_each_transition_is_judged_against_its_four_floors() -> None:
    notes = {
        "grpc_floor": 100.0,
        "grpc_idle_floor": 150.0,
        "grpc_ratio": 4.0,
        "grpc_idle_ratio": 400 / 150,
        "grpc_limit": 3.0,
        "design_floor": 320.0,
        "design_ratio": 400 / 320,
        "design_limit": 1.2,
        "env_ms": 390.0,
    }
    f = Figure("CONFIGURE", 100, "ms", [400.0], floor=200.0, limit=1.5, notes=notes)
    row = floors_table([f]).splitlines()[2]
    assert "| 400 ms | 320 ms | 200 ms | 100 ms | 150 ms |" in row
    assert "1.25x ✘ (≤ 1.2) | 2.00x ✘ (≤ 1.5)" in row and "4.00x ✘ (≤ 3)" in row
    assert "2.67x |" in row
    assert "design floor 320 ms, x1.25 of it; gRPC floor 100 ms" in table([f])
    f.notes["design_floor"] = 380.0
    f.notes["design_ratio"] = 400 / 380
    assert "1.05x ✔ | 2.00x ✘" in floors_table([f])
    # a run without the design floor (an older JSON) still renders, with a dash
    old = Figure("RESET", 10, "ms", [40.0], floor=20.0, notes={"grpc_floor": 10.0})
    assert floors_table([old]).splitlines()[2].startswith("| RESET | 10 | 40.0 ms | — | 20.0 ms")


def test_the_readme_sections_are_replaced_between_their_markers_only(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        "intro\n<!-- bench:results -->\nold\n<!-- /bench:results -->\nmiddle\n"
        "<!-- bench:farm -->\nold farm\n<!-- /bench:farm -->\nend\n"
    )
    update_readme("NEW TABLE", "NEW FARM", readme)
    text = readme.read_text()
    assert "old" not in text and text.startswith("intro\n") and text.endswith("end\n")
    assert "<!-- bench:results -->\nNEW TABLE\n<!-- /bench:results -->\nmiddle" in text
    update_readme("AGAIN", "NEW FARM", readme)
    assert "NEW TABLE" not in readme.read_text() and "AGAIN" in readme.read_text()
    readme.write_text("no markers\n")
    with pytest.raises(ValueError, match="bench:results"):
        update_readme("x", "y", readme)
