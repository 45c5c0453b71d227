"""The suite's pure pieces: farm layouts, the farm model, the README sections, new rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.common import SAMPLER_RATE_HZ, Figure, workflow_vars
from bench.farmmodel import (
    Costs,
    control_plane,
    costs_from,
    farm_model,
    node,
    tables,
    transition_s,
)
from bench.farmscale import Layout
from bench.readme import update_readme
from bench.report import floors_table, table

COSTS = Costs(
    n=100,
    cores=2,
    memory_mb=70.0,
    idle_ms_per_s=10.0,
    node_cpu_ms=40.0,
    env_cpu_ms=2.0,
    control_cpu_ms=3.0,
    floor_ms=100.0,
    deploy_s=1.0,
    actors_per_task=1.5,
    gcs_idle_ms_per_s=0.5,
    raylet_idle_ms_per_s=4.0,
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
    one, twenty = node(COSTS, 1, 2), node(COSTS, 20, 2)
    assert twenty["memory_mb"] == pytest.approx(20 * one["memory_mb"]) == 1400
    assert twenty["idle_cores"] == pytest.approx(0.204)  # 20 tasks and the node's raylet
    assert twenty["transition_s"] == pytest.approx((100 + 20 * 40 / 2) / 1e3)
    assert node(COSTS, 20, 32)["deploy_s"] == pytest.approx(20 * 1.0 * 2 / 32)


def test_the_environment_actor_is_a_serial_bound_that_grows_with_the_farm() -> None:
    cp = control_plane(COSTS, 4000)
    assert cp["env_serial_s"] == pytest.approx(8.0) and cp["actors"] == 6000
    # 4,000 tasks at 20 per node: the one environment actor, not the nodes, sets the pace
    assert transition_s(COSTS, 4000, 20, 32) == pytest.approx((100 + 8000) / 1e3)
    # one node with 100 tasks on 2 cores: the node does
    assert transition_s(COSTS, 100, 100, 2) == pytest.approx((100 + 2000) / 1e3)
    text = tables(COSTS)
    assert "ALICE FLPs, 20 tasks each | 200 | 4,000 | 6,000 |" in text
    assert "13,500 ⚠" in text  # 9,000 tasks x 1.5 actors: past Ray's 10,000


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
            {"tasks": 100, "nodes": 1, "actors": 90, "idle_ms_per_s": {"gcs": 9.0}},
            {
                "tasks": 100,
                "nodes": 4,
                "actors": 102,
                "idle_ms_per_s": {"gcs": 20.0, "raylets nodes": 12.0},
            },
        ],
    }
    c = costs_from(doc)
    assert (c.n, c.memory_mb, c.idle_ms_per_s, c.deploy_s) == (100, 72.0, 12.0, 1.5)
    assert c.node_cpu_ms == 40.0 and c.env_cpu_ms == 2.0 and c.control_cpu_ms == 3.0
    assert c.floor_ms == 30.0  # the floor of the smallest size: the devices' own time
    # the layout with the most nodes speaks for the farm
    assert c.actors_per_task == pytest.approx(1.02) and c.gcs_idle_ms_per_s == 0.2
    assert c.raylet_idle_ms_per_s == 3.0
    with pytest.raises(ValueError, match="no size"):
        costs_from({"meta": {}, "figures": []})
    model = farm_model(doc)
    assert model is not None and model["bound"]["n"] == 200 and model["costs"]["n"] == 100
    assert "At N = 200 on the same 2 cores, oversubscribed" in model["tables"]
    assert "120.0 ms of node CPU" in model["tables"]  # (20000 + 4000) / 200


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
