"""The benchmark suite cannot silently break: all of it, at N = 3, each measure once.

``python -m bench.run_all --tiny`` runs in a subprocess, as a user runs it (it starts Rays
of its own: a local one, then a ``cluster_utils.Cluster`` for the farm harness, so it
cannot share the session's), with its JSON and a copy of the README in a temporary
directory. The test checks that the run ended without a failure and that every measure
came out (no timing is asserted: two busy CI cores say nothing about speed), with the
pieces that make it readable: the four transition floors (the design floor among them),
the CPU split by part, both farm layouts with their role actors by node (the root role and
its shards), the farm model of the control tree, the machine's facts and the load average
before and after, and the README's two sections written by ``--readme``. The modify
measure must say "not available" while ``Environment.modify`` does not exist, and must be
measured once it does.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from o2ctl.sdk import Environment
from tests.conftest import ROOT

RUN_TIMEOUT_S = 420
MEASURES = (
    "CONFIGURE",
    "START_ACTIVITY",
    "STOP_ACTIVITY",
    "RESET",
    "deploy cold",
    "deploy warm",
    "memory/task",
    "idle CPU/task",
    "failure→ERROR",
    "crash controller→usable",
    "crash environment→usable",
)
PARTS = {"env", "controller", "gcs", "raylets", "task actors", "devices"}
EVENTS = ("CONFIGURE", "START_ACTIVITY", "STOP_ACTIVITY", "RESET")


def run_suite(out: Path, readme: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "bench.run_all", "--tiny", "--out", str(out)]
    proc = subprocess.Popen(
        [*argv, "--readme", str(readme)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)  # the suite cleans up on SIGTERM
        try:
            stdout, stderr = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
        pytest.fail(f"the tiny suite ran over {RUN_TIMEOUT_S}s:\n{stderr[-4000:]}")
    return subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)


@pytest.mark.timeout(RUN_TIMEOUT_S + 120)
def test_the_whole_suite_runs_at_n_3_and_produces_every_measure(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    shutil.copy(ROOT / "README.md", readme)
    done = run_suite(tmp_path / "results", readme)
    assert done.returncode == 0, done.stdout[-3000:] + "\n" + done.stderr[-6000:]
    doc = json.loads((tmp_path / "results" / "latest.json").read_text())
    assert doc["meta"]["errors"] == [] and doc["meta"]["tiny"]

    figures = {(f["measure"], f["n"]): f for f in doc["figures"]}
    for measure in MEASURES:
        f = figures.get((measure, 3))
        assert f is not None, f"no {measure} at N = 3 in {sorted(figures)}"
        assert f["samples"] and not f["missing"], f
    modify = figures[("modify add k", 3)]
    if callable(getattr(Environment, "modify", None)):
        assert modify["samples"] and modify["floor"], modify
        assert modify["notes"]["from_pool_s"] >= 0
    else:
        assert not modify["samples"] and "not available" in modify["missing"], modify
    assert any(m.startswith("expand") for m, _ in figures)

    for event in EVENTS:
        notes = figures[(event, 3)]["notes"]
        assert figures[(event, 3)]["floor"] > 0 and notes["grpc_floor"] > 0
        assert notes["grpc_idle_floor"] > 0 and notes["grpc_idle_ratio"] > 0
        assert notes["design_floor"] > 0 and notes["design_ratio"] > 0
        assert set(notes["cpu_split_ms"]) == PARTS
    assert set(figures[("crash controller→usable", 3)]["notes"]) == {"back_ms", "stopped_ms"}
    _farm(doc)
    _report(doc["meta"], done.stdout, readme.read_text())


def _farm(doc: dict[str, Any]) -> None:
    layouts = {r["layout"]: r for r in doc["farm"]}
    assert set(layouts) == {"1x4", "2x2"}
    assert sorted(layouts["2x2"]["tasks_per_node"].values()) == [2, 2]
    for r in layouts.values():
        assert r["tasks"] == 4 and r["actors"] >= 4 and r["deploy_s"] > 0
        assert all(len(r["transition_ms"][e]) == 1 for e in EVENTS)
        assert {"env", "controller", "gcs", "raylet head"} <= set(r["cpu_ms"]["CONFIGURE"])
        assert r["first_configure_ms"] > 0
        assert all(len(r["cpu_samples_ms"][e]["env"]) == 1 for e in EVENTS)
    # one node: the root role lives there and drives its tasks, no shard
    assert list(layouts["1x4"]["role_actors"].values()) == ["bench-node1"]
    assert "roles bench-node1" in layouts["1x4"]["cpu_ms"]["CONFIGURE"]
    # two nodes: the root role on the control node, one shard of it on each node
    spread = layouts["2x2"]["role_actors"]
    shards = sorted(where for name, where in spread.items() if "@" in name)
    assert sorted(spread.values()) == ["bench-node1", "bench-node2", "head"], spread
    assert shards == ["bench-node1", "bench-node2"], spread
    assert {"roles head", "roles bench-node2"} <= set(layouts["2x2"]["cpu_ms"]["CONFIGURE"])
    model = doc["farm_model"]
    assert model and "ALICE FLPs" in model["tables"] and "serial control plane" in model["tables"]
    assert model["tree"]["layouts"] == ["1x4", "2x2"]


def _report(meta: dict[str, Any], stdout: str, readme: str) -> None:
    assert len(meta["load_before"]) == 3 and len(meta["load_after"]) == 3
    assert meta["machine"]["memory_gb"] > 0 and meta["machine"]["ray_memory_gb"] > 0
    assert "load average" in stdout and "## At farm scale" in stdout
    results = readme.split("<!-- bench:results -->")[1].split("<!-- /bench:results -->")[0]
    assert "| CONFIGURE | 3 |" in results and "load average" in results
    assert "python -m bench.run_all --tiny" in results
    farm = readme.split("<!-- bench:farm -->")[1].split("<!-- /bench:farm -->")[0]
    assert "| 2x2 | 4 |" in farm and "tasks per node" in farm
