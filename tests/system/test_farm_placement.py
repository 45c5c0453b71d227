"""Placement over a farm of Ray nodes on this one machine (issue 10's Done-when).

The ``farm`` fixture adds labelled nodes to the session's ``ray.cluster_utils.Cluster``;
every node is a Ray node of its own with the same IP. A copy of our pipeline holds each
role to a node by its ``machine_id`` (variables ``sampler_node``, ``proc_node``,
``sink_node``). Where a task runs is checked against Ray's own record (the task actor's
runtime context, ``ray_node_id`` in its snapshot), not only o2ctl's task table.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import ray

from actors import naming
from o2ctl.demo import PIPELINE
from o2ctl.sdk import ControlError
from tests.conftest import ROOT, Farm, ours, wait_for
from tests.system.test_farm import pilot_processes, row

pytestmark = pytest.mark.ray
OVERHEAD_MB = 55.0  # EnvSettings.task_overhead_mb (the session's controller: the default)


@pytest.fixture
def machines(farm: Farm, clean_o2: Any) -> Iterator[Any]:
    """``add(prefix, mode)`` -> a new farm node's machine id; all sync again at the end."""
    added: list[str] = []

    def add(prefix: str, mode: str = "sync") -> str:
        machine_id = f"{prefix}-{uuid.uuid4().hex[:6]}"
        farm.add(machine_id, mode)
        added.append(machine_id)
        wait_for(lambda: row(clean_o2, machine_id), 15, f"{machine_id} in the node list")
        return machine_id

    yield add
    for machine_id in added:
        clean_o2.assign_node(machine_id, "sync", grace_s=1)


@pytest.fixture
def spread_repo(tmp_path: Path) -> Iterator[str]:
    """Our pipeline as workflow ``spread``: each role held to the node its variable names."""
    from o2ctl.config import RepositoryManager

    repo = tmp_path / "spread"
    shutil.copytree(ROOT / "workflows" / "tasks", repo / "tasks")
    (repo / "workflows").mkdir()
    text = (ROOT / "workflows" / "workflows" / f"{PIPELINE}.yaml").read_text()
    for task, var in (
        ("processor", "proc_node"),
        ("sampler", "sampler_node"),
        ("sink", "sink_node"),
    ):
        held = (
            "    constraints:\n      - attribute: machine_id\n"
            f'        value: "{{{{ {var} }}}}"\n'
            f"    task:\n      load: fairmq-ex-1-n-1-{task}\n"
        )
        before = text
        text = text.replace(f"    task:\n      load: fairmq-ex-1-n-1-{task}\n", held)
        assert text != before, task
    text = text.replace(f"name: !public {PIPELINE}", "name: spread")
    (repo / "workflows" / "spread.yaml").write_text(text)
    manager = RepositoryManager()
    manager.add(str(repo), name="spread")
    yield "spread/workflows/spread"
    manager.remove("spread")


def head_of(client: Any) -> dict[str, Any]:
    head = ray.get(client.controller.info.remote(), timeout=30)["node_id"]
    return next(r for r in client.nodes() if r["node_id"] == head)


def ray_nodes() -> dict[str, dict[str, Any]]:
    return {n["NodeID"]: n for n in ray.nodes() if n["Alive"]}


def where(task: dict[str, Any]) -> str:
    """Ray's own record of the node a task actor runs on."""
    actor = ray.get_actor(task["actor_name"], namespace=naming.NAMESPACE)
    snap: dict[str, Any] = ray.get(actor.snapshot.remote(), timeout=30)
    return str(snap["ray_node_id"])


def task_pids() -> set[int]:
    return {p.pid for p in ours() if p.owner.startswith("o2ctl-task/")}


def test_roles_held_to_nodes_land_there_with_distinct_ports(
    machines: Any,
    clean_o2: Any,
    spread_repo: str,
    tmp_path: Path,
) -> None:
    a, b = machines("flpa"), machines("flpb")
    head = head_of(clean_o2)
    before = {r["machine_id"]: r for r in clean_o2.nodes()}
    counter = tmp_path / "count"
    env = clean_o2.create_environment(
        spread_repo,
        vars={
            "nProcessors": "2",
            "sampler_node": a,
            "proc_node": b,
            "sink_node": head["machine_id"],
            "sink_count_file": str(counter),
        },
    )
    tasks = {t["role_path"].rsplit(".", 1)[1]: t for t in env.tasks}
    assert {k: t["host"] for k, t in tasks.items()} == {
        "sampler": a,
        "processor1": b,
        "processor2": b,
        "sink": head["machine_id"],
    }
    by_node = ray_nodes()
    for t in tasks.values():
        ray_node = where(t)
        assert ray_node == t["node_id"], t
        machine = (by_node[ray_node].get("Labels") or {}).get("machine_id")
        assert machine == (None if t["host"] == head["machine_id"] else t["host"]), machine
    ips = {by_node[t["node_id"]]["NodeManagerAddress"] for t in tasks.values()}
    assert len(ips) == 1, f"one physical host under three Ray nodes: {ips}"

    control = [t["control_port"] for t in tasks.values()]
    bound = [p for t in tasks.values() for p in (t.get("ports") or {}).values()]
    assert len(bound) == 2, "the sampler's data1 and the sink's data2"
    assert len(set(control + bound)) == len(control + bound), (control, bound)

    after = {r["machine_id"]: r for r in clean_o2.nodes()}
    for machine, placed in ((a, ["sampler"]), (b, ["processor1", "processor2"])):
        wants = [tasks[k]["wants"] for k in placed]
        assert after[machine]["tasks"] == before[machine]["tasks"] + len(placed)
        memory = sum(float(w["memory"]) + OVERHEAD_MB for w in wants)
        assert after[machine]["memory"] == pytest.approx(before[machine]["memory"] - memory, 0.01)
        cpu = sum(float(w["cpu"]) for w in wants)
        assert after[machine]["cpu"] == pytest.approx(before[machine]["cpu"] - cpu, abs=0.002)

    env.start()  # the ports are real: data flows from flpa through flpb to the head
    wait_for(lambda: _count(counter) > 5, 20, "data to reach the sink")
    env.stop()
    env.destroy()
    assert {r["machine_id"]: r["tasks"] for r in clean_o2.nodes() if r["machine_id"] in (a, b)} == {
        a: 0,
        b: 0,
    }


def _count(path: Path) -> int:
    try:
        return int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def test_a_role_that_fits_only_an_async_node_needs_reclaim(
    machines: Any,
    clean_o2: Any,
    spread_repo: str,
) -> None:
    epn = machines("epn", "async")
    wait_for(lambda: (row(clean_o2, epn) or {}).get("pilot"), 15, f"the pilot of {epn}")
    pilot = row(clean_o2, epn)["pilot"]  # type: ignore[index]
    head = head_of(clean_o2)["machine_id"]
    held = {"nProcessors": "2", "sampler_node": head, "proc_node": epn, "sink_node": head}
    actors, pids = set(naming.named_actors()), task_pids()

    with pytest.raises(ControlError) as err:
        clean_o2.create_environment(spread_repo, vars=held)
    text = str(err.value)
    assert text.startswith("no node for role spread.processor1 (task class "), text
    assert f"{epn}: async" in text and text.endswith(f"async node {epn} would fit; use --reclaim")
    assert set(naming.named_actors()) == actors and task_pids() == pids, "nothing started"
    assert row(clean_o2, epn)["pilot"]["pid"] == pilot["pid"], "the pilot was left alone"  # type: ignore[index]

    cursor = ray.get(clean_o2.controller.last_event_seq.remote(), timeout=30)
    env = clean_o2.create_environment(spread_repo, vars=held, reclaim=True)
    on_epn = [t for t in env.tasks if t["host"] == epn]
    assert len(on_epn) == 2 and env.state == "CONFIGURED"
    node = row(clean_o2, epn)
    assert node is not None and node["node_class"] == "sync" and node["pilot"] is None
    assert not pilot_processes(epn), "the pilot and its jobs are gone"
    assert {where(t) for t in on_epn} == {node["node_id"]}
    reclaim = [
        (e["status"], e["state"])
        for e in clean_o2.events(after=cursor, timeout=1)
        if e["kind"] == "node"
        and e["event"] == "RECLAIM"
        and e["env_id"] == env.id
        and e["path"] == epn
    ]
    assert reclaim == [("STARTED", "async"), ("DONE_OK", "sync")], reclaim

    with pytest.raises(ControlError) as refused:
        clean_o2.assign_node(epn, "async")
    assert f"node {epn} runs 2 task(s) of environments ({env.id}: " in str(refused.value)
    assert all(t["task_id"] in str(refused.value) for t in on_epn)
    assert row(clean_o2, epn)["node_class"] == "sync"  # type: ignore[index]
    env.destroy()


def test_destroy_while_a_deploy_reclaims_leaves_nothing_placed(
    machines: Any, clean_o2: Any, spread_repo: str
) -> None:
    """The destroy lands while the controller stops the pilot (DEPLOY waits in placement)."""
    epn = machines("epn", "async")
    wait_for(lambda: (row(clean_o2, epn) or {}).get("pilot"), 15, f"the pilot of {epn}")
    head = head_of(clean_o2)
    held = {"nProcessors": "2", "sampler_node": head["machine_id"], "proc_node": epn}
    held["sink_node"] = head["machine_id"]
    request_id = uuid.uuid4().hex
    cursor = ray.get(clean_o2.controller.last_event_seq.remote(), timeout=30)
    create = clean_o2.controller.create_environment.remote(
        spread_repo, held, True, request_id, True
    )
    env_id = ""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        batch = ray.get(clean_o2.controller.wait_events.remote(cursor, 0.5), timeout=30)
        cursor = batch["last_seq"]
        for e in batch["events"]:
            if e["kind"] == "node" and e["event"] == "RECLAIM" and e["status"] == "STARTED":
                env_id = e["env_id"]
        if env_id:
            break
    assert env_id, "the deploy started reclaiming"
    clean_o2.environment(env_id).destroy()
    with pytest.raises(
        ray.exceptions.RayTaskError, match=f"creation of environment {env_id} cancelled by destroy"
    ):
        ray.get(create, timeout=30)
    assert not naming.named_actors(naming.env_prefix(env_id))
    rows = {r["machine_id"]: r for r in clean_o2.nodes()}
    assert (rows[head["machine_id"]]["tasks"], rows[epn]["tasks"]) == (head["tasks"], 0)
