"""The farm on the session's real Ray: node modes, pilots on async nodes, reclaiming them.

Each test adds labelled nodes (``farm`` fixture) with machine ids of its own, drives them
through the SDK as an operator would, and checks processes by their owner mark and Ray's
own view of where the pilot actor runs. Every node a test made async is assigned back to
sync before its nodes are removed, so no pilot outlives the test.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import psutil
import pytest
import ray

from actors.pilot import create_pilot_actor, find_pilot_actor
from actors.pilotjob import marked_left, pilot_owner
from o2ctl.core.errors import ControlError
from tests.conftest import Farm, wait_for

pytestmark = pytest.mark.ray
PILOT = os.path.join(os.path.dirname(sys.executable), "o2ctl-pilot")


@pytest.fixture
def nodes(farm: Farm, clean_o2: Any) -> Iterator[Any]:
    """``add(prefix, mode)`` -> a new farm node's machine id; all sync again at the end."""
    added: list[str] = []

    def add(prefix: str, mode: str = "sync", cpus: int = 1) -> str:
        machine_id = f"{prefix}-{uuid.uuid4().hex[:6]}"
        farm.add(machine_id, mode, num_cpus=cpus)
        added.append(machine_id)
        wait_for(lambda: row(clean_o2, machine_id), 15, f"{machine_id} in the node list")
        return machine_id

    yield add
    for machine_id in added:
        clean_o2.assign_node(machine_id, "sync", grace_s=1)


def row(client: Any, machine_id: str) -> dict[str, Any] | None:
    return next((r for r in client.nodes() if r["machine_id"] == machine_id), None)


def pilot_processes(machine_id: str) -> list[int]:
    out = []
    for pid in marked_left(pilot_owner(machine_id)):
        try:
            if "o2ctl-pilot" in " ".join(psutil.Process(pid).cmdline()):
                out.append(pid)
        except psutil.Error:
            continue
    return out


def scrape_head() -> str:
    """Ray's Prometheus export on the head node (where the controller runs)."""
    head = next(n for n in ray.nodes() if n["Alive"] and "node:__internal_head__" in n["Resources"])
    url = f"http://{head['NodeManagerAddress']}:{head['MetricsExportPort']}/metrics"
    with urllib.request.urlopen(url, timeout=5) as reply:
        return str(reply.read().decode())


def status(machine_id: str) -> dict[str, Any]:
    actor = find_pilot_actor(machine_id)
    assert actor is not None, f"no pilot actor for {machine_id}"
    return dict(ray.get(actor.status.remote(), timeout=30))


def test_node_list_and_a_node_that_joins_async_gets_its_pilot(nodes: Any, clean_o2: Any) -> None:
    flp = nodes("flp", "sync", cpus=2)
    epn = nodes("epn", "async")
    listed = {r["machine_id"]: r for r in clean_o2.nodes()}
    f = listed[flp]
    assert f["node_class"] == "sync" and f["alive"] and f["pilot"] is None
    assert f["labels"] == {"machine_id": flp, "node_class": "sync"}
    assert f["cpu"] == 2 and f["memory"] > 0 and f["tasks"] == 0 and f["ip"]
    assert listed[epn]["node_class"] == "async"
    got = wait_for(lambda: (row(clean_o2, epn) or {}).get("pilot"), 10, "the pilot of " + epn)
    assert got["state"] == "running" and psutil.pid_exists(got["pid"])  # type: ignore[index]
    assert pilot_processes(epn) == [got["pid"]]  # type: ignore[index]
    st = status(epn)
    assert st["ray_node_id"] == listed[epn]["node_id"], "Ray runs the pilot actor on its node"


def test_assign_async_then_reclaim_within_the_grace_period(
    nodes: Any, clean_o2: Any, state_dir: Any
) -> None:
    epn = nodes("epn")
    t0 = time.monotonic()
    done = clean_o2.assign_node(epn, "async")
    assert done["node_class"] == "async" and done["pilot"]["state"] == "running"
    pid = done["pilot"]["pid"]
    assert time.monotonic() - t0 < 10 and pilot_processes(epn) == [pid]
    record = json.loads((state_dir / "records" / "nodes" / f"{epn}.json").read_text())
    assert record["mode"] == record["target"] == "async" and record["label"] == "sync"
    wait_for(lambda: (row(clean_o2, epn)["pilot"] or {}).get("jobs"), 15, "a grid job done")  # type: ignore[index]
    assert len(marked_left(pilot_owner(epn))) >= 2, "the pilot and its running job"
    metric = re.compile(
        r'o2ctl_node_mode\{[^}]*machine_id="' + epn + r'"[^}]*mode="async"[^}]*\} 1'
    )
    wait_for(lambda: metric.search(scrape_head()), 60, "the node's mode in Ray's metrics export")
    assert clean_o2.assign_node(epn, "async")["how"] == "already async"

    t0 = time.monotonic()
    back = clean_o2.assign_node(epn, "sync", grace_s=2)
    took = time.monotonic() - t0
    assert back["node_class"] == "sync" and back["how"] == "SIGTERM" and back["pilot"] is None
    assert took < 2 + 1 and not marked_left(pilot_owner(epn)), took
    assert row(clean_o2, epn)["pilot"] is None  # type: ignore[index]
    assert find_pilot_actor(epn) is None or wait_for(lambda: find_pilot_actor(epn) is None, 10)


def test_a_killed_pilot_is_restarted_and_the_restart_is_an_event(nodes: Any, clean_o2: Any) -> None:
    epn = nodes("epn")
    cursor = clean_o2.info() and ray.get(clean_o2.controller.last_event_seq.remote())
    first = clean_o2.assign_node(epn, "async")["pilot"]["pid"]
    os.kill(first, signal.SIGKILL)
    again = wait_for(
        lambda: (
            (p := (row(clean_o2, epn) or {}).get("pilot")) and p["pid"] not in (None, first) and p
        ),
        15,
        "a new pilot",
    )
    assert again["restarts"] == 1 and pilot_processes(epn) == [again["pid"]]  # type: ignore[index]
    events = [e for e in clean_o2.events(after=cursor, timeout=3) if e["path"] == epn]
    restarted = [e for e in events if e["event"] == "PILOT_RESTARTED"]
    assert restarted and restarted[0]["detail"]["pilot"]["old_pid"] == first
    assert restarted[0]["error"] == "killed by SIGKILL" and restarted[0]["kind"] == "node"


def test_a_restarted_pilot_actor_adopts_its_pilot(nodes: Any, clean_o2: Any) -> None:
    epn = nodes("epn")
    pid = clean_o2.assign_node(epn, "async")["pilot"]["pid"]
    before = status(epn)
    os.kill(before["actor_pid"], signal.SIGKILL)
    after = wait_for(
        lambda: (s := _status_or_none(epn)) and s["actor_pid"] != before["actor_pid"] and s,
        30,
        "the pilot actor back",
    )
    assert after["pid"] == pid and after["incarnation"] != before["incarnation"]
    assert [e["what"] for e in after["events"]] == ["adopted"]
    assert pilot_processes(epn) == [pid], "adopted, not a second pilot"


def _status_or_none(machine_id: str) -> dict[str, Any] | None:
    try:
        return status(machine_id)
    except Exception:
        return None


def test_async_is_refused_while_an_environment_runs_there(nodes: Any, clean_o2: Any) -> None:
    flp = nodes("flp")
    env = clean_o2.create_environment(
        "direct-example", vars={"nWorkers": "2", "cleanup_enabled": "false"}
    )
    on_flp = [t for t in env.tasks if t["host"] == flp]
    assert on_flp, "two workers spread over the head and the new node"
    with pytest.raises(ControlError) as err:
        clean_o2.assign_node(flp, "async")
    text = str(err.value)
    assert text.startswith(f"node {flp} runs 1 task(s) of environments ({env.id}: ")
    assert on_flp[0]["task_id"] in text and "destroy those environments" in text
    assert row(clean_o2, flp)["node_class"] == "sync" and not pilot_processes(flp)  # type: ignore[index]

    env.destroy(keep_tasks=True)
    idle = [t for t in clean_o2.tasks() if t["idle"] and t["host"] == flp]
    assert idle, "the worker on the node waits in the idle pool"
    done = clean_o2.assign_node(flp, "async")
    assert done["node_class"] == "async", "idle tasks there were ended first"
    left = {t["task_id"] for t in clean_o2.tasks()}
    assert not left & {t["task_id"] for t in idle}


def test_bad_requests_change_nothing(nodes: Any, clean_o2: Any) -> None:
    flp = nodes("flp")
    with pytest.raises(ControlError, match="mode is 'gpu': expected sync or async"):
        clean_o2.assign_node(flp, "gpu")
    with pytest.raises(ControlError, match="grace period -1: expected 0 to 3600 seconds"):
        clean_o2.assign_node(flp, "sync", grace_s=-1)
    with pytest.raises(ControlError, match=r"no node 'nope' in the cluster \(known: .*"):
        clean_o2.assign_node("nope", "async")
    assert row(clean_o2, flp)["node_class"] == "sync"  # type: ignore[index]


def test_a_stubborn_pilot_is_killed_after_the_grace_period(
    nodes: Any, clean_o2: Any, tmp_path: Any
) -> None:
    """The pilot actor itself, with a pilot that ignores SIGTERM (its jobs too)."""
    epn = nodes("epn")
    node_id = row(clean_o2, epn)["node_id"]  # type: ignore[index]
    stubborn = [PILOT, "--stubborn", "--job-seconds", "60"]
    actor = create_pilot_actor(epn, node_id, stubborn, str(tmp_path))
    try:
        pid = ray.get(actor.start.remote(), timeout=60)["pid"]
        wait_for(lambda: len(marked_left(pilot_owner(epn))) == 2, 10, "the pilot's first job")
        t0 = time.monotonic()
        done = ray.get(actor.stop.remote(1.0), timeout=30)
        took = time.monotonic() - t0
        assert 1.0 <= took < 1.0 + 1.0, took
        assert done["events"][-1] == {**done["events"][-1], "what": "stopped", "pid": pid}
        assert done["events"][-1]["how"] == "SIGKILL" and not marked_left(pilot_owner(epn))
    finally:
        ray.kill(actor, no_restart=True)


@pytest.fixture(scope="module")
def api(o2: Any) -> Iterator[Any]:
    from o2ctl.api.client import ApiClient
    from o2ctl.api.serve import start_api, stop_api

    address, token = start_api()
    with ApiClient(address, token) as client:
        yield client
    stop_api()


def test_the_control_api_lists_and_assigns_nodes(nodes: Any, clean_o2: Any, api: Any) -> None:
    from o2ctl.api.client import ApiError

    epn = nodes("epn")
    listed = {r["machine_id"]: r for r in api.nodes()}
    assert listed[epn] == {**row(clean_o2, epn), "cpu": listed[epn]["cpu"]}  # type: ignore[dict-item]
    after = api.info()["last_event_seq"]
    done = api.assign_node(epn, "async")
    assert done["node_class"] == "async" and done["pilot"]["pid"] in pilot_processes(epn)
    events = [e for e in api.events(after=after, timeout=3) if e["path"] == epn]
    assert ("ASSIGN", "DONE_OK", "async") in [(e["event"], e["status"], e["state"]) for e in events]
    assert all(e["kind"] == "node" for e in events)
    back = api.assign_node(epn, "sync", grace_s=1.5)
    assert back == {**back, "node_class": "sync", "pilot": None, "how": "SIGTERM"}
    assert not marked_left(pilot_owner(epn))
    for args, code in (
        ((epn, "gpu"), "INVALID_ARGUMENT"),
        ((epn, "sync", -2.0), "INVALID_ARGUMENT"),
        (("", "sync"), "INVALID_ARGUMENT"),
        (("nope", "async"), "NOT_FOUND"),
    ):
        with pytest.raises(ApiError) as err:
            api.assign_node(*args)
        assert err.value.code == code, (args, err.value)


def test_a_node_started_again_as_async_is_async_whatever_an_earlier_record_said(
    farm: Farm, clean_o2: Any, state_dir: Any
) -> None:
    """Issue 19, case 6: ``up --nodes epn1:async`` after an earlier system left epn1's record
    at sync. The same here in one system: the node joins async, is assigned sync, goes, and
    is started again as async (a new Ray node): async it is, with its pilot running."""
    epn = f"epn-{uuid.uuid4().hex[:6]}"
    farm.add(epn, "async")
    wait_for(lambda: (row(clean_o2, epn) or {}).get("node_class") == "async", 15, "async")
    wait_for(lambda: pilot_processes(epn), 20, f"the pilot of {epn}")
    assert clean_o2.assign_node(epn, "sync", grace_s=1)["node_class"] == "sync"
    assert not pilot_processes(epn)
    record = json.loads((state_dir / "records" / "nodes" / f"{epn}.json").read_text())
    assert record["mode"] == "sync" and record["label"] == "async"  # what an earlier one leaves
    farm.remove(epn)
    wait_for(lambda: not (row(clean_o2, epn) or {}).get("alive", False), 30, f"{epn} gone")

    farm.add(epn, "async")  # started again, as async
    try:
        wait_for(
            lambda: (
                (row(clean_o2, epn) or {}).get("node_class") == "async" and pilot_processes(epn)
            ),
            30,
            f"{epn} async again, with its pilot",
        )
    finally:
        clean_o2.assign_node(epn, "sync", grace_s=1)
