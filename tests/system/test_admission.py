"""Admission before anything starts, and a deploy that can be cancelled (issue 14 point 1).

On the session's real Ray and controller: an environment that cannot fit is refused within
seconds naming the resource, with no actor (Ray's named actors in namespace ``o2ctl``) and
no process (the owner marks) started; one that fits deploys and ``node list`` counts it;
``env destroy`` of an environment still deploying stops it and leaves nothing. The site
limits are controller settings, and the session's controller is shared: they are tried
through a ``ControllerRuntime`` of the test's own (the controller's code, without its
actor) on the same cluster, whose admission refuses before it would create anything.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import ray

from actors import naming
from o2ctl.demo import PIPELINE
from o2ctl.sdk import ControlError
from tests.conftest import ours, wait_for

pytestmark = pytest.mark.ray
O2CTL = os.path.join(os.path.dirname(sys.executable), "o2ctl")
OVERHEAD_MB = 55.0  # EnvSettings.task_overhead_mb: the session's controller keeps the default


def actors_now() -> set[str]:
    return set(naming.named_actors())


def pids_now() -> set[int]:
    return {p.pid for p in ours()}


def env_records(state_dir: Path) -> set[str]:
    folder = state_dir / "records" / "environments"
    return set(os.listdir(folder)) if folder.is_dir() else set()


def head_row(client: Any) -> dict[str, Any]:
    head = ray.get(client.controller.info.remote(), timeout=30)["node_id"]
    return next(r for r in client.nodes() if r["node_id"] == head)


def test_an_environment_that_cannot_fit_is_refused_at_once(clean_o2: Any, state_dir: Path) -> None:
    actors, pids = actors_now(), pids_now()
    records = env_records(state_dir)
    head = head_row(clean_o2)
    t0 = time.monotonic()
    with pytest.raises(ControlError) as err:
        clean_o2.create_environment(PIPELINE, vars={"nProcessors": "1000", "detectors": '["TPC"]'})
    took = time.monotonic() - t0
    text = str(err.value)
    assert took < 5, f"refused after {took:.1f}s"
    wants = f"which wants cpu 0.005, memory {24 + OVERHEAD_MB:g} MB: "  # its own + its actor's
    assert text.startswith(f"no node for role {PIPELINE}.processor") and wants in text, text
    assert f"{head['machine_id']}: not enough memory: " in text, text
    free, wanted = text.rsplit("not enough memory: ", 1)[1].split(" MB free, ")
    assert float(free) < 24 + OVERHEAD_MB and wanted.startswith(f"{24 + OVERHEAD_MB:g} MB wanted")
    assert actors_now() == actors, "no actor was created"
    assert pids_now() == pids, "no process was started"
    assert env_records(state_dir) == records, "no environment record was written"
    info = clean_o2.info()
    assert "TPC" not in info["detectors"], "the detector lock is released"
    assert head_row(clean_o2)["tasks"] == head["tasks"]


def test_one_that_fits_deploys_and_node_list_counts_it(clean_o2: Any) -> None:
    before = head_row(clean_o2)
    env = clean_o2.create_environment(PIPELINE, vars={"nProcessors": "2"})
    assert env.state == "CONFIGURED" and len(env.tasks) == 4
    after = head_row(clean_o2)
    wants = [t["wants"] for t in env.tasks]
    assert after["tasks"] == before["tasks"] + 4
    memory = sum(float(w.get("memory", 0)) + OVERHEAD_MB for w in wants)
    cpu = sum(float(w.get("cpu", 0)) for w in wants)
    assert after["memory"] == pytest.approx(before["memory"] - memory, abs=0.2)
    assert after["cpu"] == pytest.approx(before["cpu"] - cpu, abs=0.002)
    env.destroy()
    again = head_row(clean_o2)
    assert (again["tasks"], again["memory"]) == (before["tasks"], before["memory"])


def environment_of(client: Any, request_id: str, after: int, timeout: float) -> str:
    """The id of the environment created under ``request_id`` (its first event says)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = ray.get(client.controller.wait_events.remote(after, 0.5), timeout=30)
        after = batch["last_seq"]
        for ev in batch["events"]:
            if ev["kind"] == "environment" and ev["detail"].get("request_id") == request_id:
                return str(ev["env_id"])
    raise AssertionError(f"no environment event for request {request_id} in {timeout}s")


def test_destroying_a_deploying_environment_stops_it_and_leaves_nothing(
    clean_o2: Any,
) -> None:
    actors, pids, head = actors_now(), pids_now(), head_row(clean_o2)
    request_id = uuid.uuid4().hex
    cursor = ray.get(clean_o2.controller.last_event_seq.remote(), timeout=30)
    create = clean_o2.controller.create_environment.remote(
        PIPELINE, {"nProcessors": "16"}, True, request_id, False
    )
    env_id = environment_of(clean_o2, request_id, cursor, 10)
    prefix = naming.env_prefix(env_id)
    wait_for(
        lambda: sum("#" in n for n in naming.named_actors(prefix)) >= 2,
        30,
        "a few task actors of the deploy",
    )
    assert not ray.wait([create], timeout=0)[0], "still deploying when destroyed"
    t0 = time.monotonic()
    done = clean_o2.environment(env_id).destroy()
    assert time.monotonic() - t0 < 30 and done["env_id"] == env_id
    with pytest.raises(ray.exceptions.RayTaskError) as err:
        ray.get(create, timeout=30)
    assert f"creation of environment {env_id} cancelled by destroy" in str(err.value)
    assert not naming.named_actors(prefix), "no role or task actor is left"
    assert actors_now() == actors
    left = [f"{p.owner}: {p.cmdline}" for p in ours() if p.pid not in pids]
    assert not left, "the deploy's processes are ended by the destroy: " + "; ".join(left)
    assert env_id not in clean_o2.info() and env_id not in ray.get(
        clean_o2.controller.environment_ids.remote(), timeout=30
    )
    assert not [t for t in clean_o2.tasks() if t.get("env_id") == env_id]
    assert head_row(clean_o2)["tasks"] == head["tasks"], "nothing of it is counted on the node"
    events = [e for e in clean_o2.events(after=cursor, timeout=1) if e["env_id"] == env_id]
    assert ("DESTROY", "DONE_OK") in [(e["event"], e["status"]) for e in events]


@pytest.mark.parametrize("round_", range(3))  # the actor runs DEPLOY and destroy unordered
def test_a_destroy_sent_as_soon_as_the_id_is_known_cancels_the_creation(
    clean_o2: Any, round_: int
) -> None:
    actors, pids, head = actors_now(), pids_now(), head_row(clean_o2)
    request_id = uuid.uuid4().hex
    cursor = ray.get(clean_o2.controller.last_event_seq.remote(), timeout=30)
    create = clean_o2.controller.create_environment.remote(
        PIPELINE, {"nProcessors": "2"}, True, request_id, False
    )
    env_id = environment_of(clean_o2, request_id, cursor, 10)
    clean_o2.environment(env_id).destroy()
    with pytest.raises(ray.exceptions.RayTaskError) as err:
        ray.get(create, timeout=30)
    assert f"creation of environment {env_id} cancelled by destroy" in str(err.value)
    assert actors_now() == actors and pids_now() == pids, "nothing is left"
    assert env_id not in ray.get(clean_o2.controller.environment_ids.remote(), timeout=30)
    assert head_row(clean_o2)["tasks"] == head["tasks"]


# -- the site limits, through a controller of the test's own ---------------------------


def runtime(tmp_path: Path, monkeypatch: Any, settings: dict[str, Any]) -> Any:
    """A ``ControllerRuntime`` with ``settings`` and a state directory of its own."""
    from actors.controller import ControllerRuntime

    monkeypatch.setenv("O2CTL_STATE_DIR", str(tmp_path))  # the runtime sets it: undone after
    return ControllerRuntime(str(tmp_path), None, {"log_dir": str(tmp_path / "logs"), **settings})


def refusal_of(tmp_path: Path, monkeypatch: Any, settings: dict[str, Any], n: int) -> str:
    """What ``create_environment`` of the pipeline with ``n`` processors says."""
    rt = runtime(tmp_path, monkeypatch, settings)
    with pytest.raises(ControlError) as err:
        asyncio.run(rt.create_environment(PIPELINE, {"nProcessors": str(n)}))
    assert not rt.envs and not rt.registry.pending and not rt.registry.ports.snapshot()
    return str(err.value)


def test_the_site_limits_refuse_naming_them(o2: Any, tmp_path: Path, monkeypatch: Any) -> None:
    actors, pids = actors_now(), pids_now()
    per_env = refusal_of(tmp_path / "env", monkeypatch, {"max_tasks_per_environment": 3}, 2)
    assert re.fullmatch(
        r"environment \S+ would have 4 tasks: over the site limit of 3 tasks per environment "
        r"\(setting max_tasks_per_environment\)",
        per_env,
    ), per_env
    per_node = refusal_of(tmp_path / "node", monkeypatch, {"max_tasks_per_node": 3}, 2)
    assert per_node.startswith("no node for role ") and per_node.endswith(
        ": at the site limit of 3 tasks per node"
    ), per_node
    assert actors_now() == actors and pids_now() == pids


def test_tasks_placed_again_at_recover_take_their_predecessors_places(
    o2: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """RECOVER places the tasks lost with a node again while the lost ones are still on the
    books: at the limit of tasks per environment, a replacement is not one task more."""
    from actors.errors import AdmissionRefused

    rt = runtime(tmp_path, monkeypatch, {"max_tasks_per_environment": 3})
    on_books = [
        {"task_id": f"t{i}", "task_class": "proc", "node_id": "lost", "role_path": f"e.r{i}"}
        for i in range(3)
    ]
    rt.registry.register("e1", on_books)
    again = {  # as actors/transitions/recover.py asks for a task lost with its node
        "role_path": "e.r0",
        "task_class": "proc",
        "constraints": [],
        "controlled": True,
        "wants": {},
        "avoid": ["lost"],
        "replaces": "t0",
    }
    rt._check_env_limit("e1", [again])
    with pytest.raises(AdmissionRefused, match="would have 4 tasks: over the site limit of 3"):
        rt._check_env_limit("e1", [{**again, "replaces": ""}])


def test_the_cli_shows_the_environment_id_in_the_first_second(clean_o2: Any, cluster: Any) -> None:
    cursor = ray.get(clean_o2.controller.last_event_seq.remote(), timeout=30)
    argv = [O2CTL, "env", "create", "-w", PIPELINE, "-e", "nProcessors=1"]
    proc = subprocess.Popen(
        [*argv, "--address", cluster.address],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "O2CTL_DEBUG"},
    )
    lines: list[tuple[float, str]] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append((time.time(), line.rstrip()))
        assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    first = next((t, s) for t, s in lines if " is deploying " in s)
    env_id = first[1].split()[1]
    assert first[1] == (
        f"environment {env_id} is deploying 3 tasks (cancel with: o2ctl env destroy {env_id})"
    )
    assert lines.index(first) == 0 and "CONFIGURED" in lines[-1][1], lines
    born = next(
        e["time"]
        for e in clean_o2.events(after=cursor, timeout=1)
        if e["env_id"] == env_id and e["kind"] == "environment"
    )
    assert first[0] - born < 1.0, f"the id was shown {first[0] - born:.2f}s after it existed"
    clean_o2.environment(env_id).destroy()
