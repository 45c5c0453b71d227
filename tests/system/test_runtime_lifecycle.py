"""The actor runtime end to end: the example pipeline on a real local Ray, real devices.

Each test creates its own environment from the project's ``workflows/`` repository and
checks what an operator would: states, run numbers, data counted at the sink, PIDs and
ports on reuse, and that nothing is left alive.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from o2ctl.demo import PIPELINE
from occ.processes import find_owned
from tests.conftest import wait_for

pytestmark = pytest.mark.ray


def count(path: Path) -> int:
    try:
        return int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def pids_of(env: Any) -> dict[str, int]:
    return {t["role_path"]: t["pid"] for t in env.tasks}


def test_pipeline_lifecycle(clean_o2: Any, tmp_path: Path) -> None:
    counter = tmp_path / "sink.count"
    env = clean_o2.create_environment(
        PIPELINE, vars={"nProcessors": "4", "sink_count_file": str(counter)}
    )
    assert env.state == "CONFIGURED"
    tasks = env.tasks
    assert sorted(t["role_path"].split(".")[-1] for t in tasks) == [
        "processor1",
        "processor2",
        "processor3",
        "processor4",
        "sampler",
        "sink",
    ]
    assert all(t["state"] == "CONFIGURED" and psutil.pid_exists(t["pid"]) for t in tasks)

    runs = []
    for _ in range(2):
        assert env.start() == "RUNNING"
        runs.append(env.run_number)
        assert all(t["state"] == "RUNNING" for t in env.tasks)
        counter.unlink(missing_ok=True)
        # data flows while RUNNING: the sink writes this run's count at STOP
        time.sleep(0.5)
        assert env.stop() == "CONFIGURED"
        assert count(counter) > 0, "the sink received nothing in this run"
    assert runs[1] > runs[0]

    pids = [t["pid"] for t in env.tasks]
    result = env.destroy()
    assert result["problems"] == []
    wait_for(lambda: not any(psutil.pid_exists(p) for p in pids), 10, "task processes to end")
    assert clean_o2.environments() == []


def test_keep_tasks_reuses_processes_with_new_ports(clean_o2: Any, tmp_path: Path) -> None:
    env = clean_o2.create_environment(PIPELINE, vars={"nProcessors": "2"})
    first = {t["role_path"].split(".")[-1]: t for t in env.tasks}
    first_ports = env.summary()
    env.destroy(keep_tasks=True)
    idle = [t for t in clean_o2.tasks() if t["idle"]]
    assert {t["pid"] for t in idle} == {t["pid"] for t in first.values()}

    counter = tmp_path / "count"
    env2 = clean_o2.create_environment(
        PIPELINE, vars={"nProcessors": "2", "sink_count_file": str(counter)}
    )
    second = {t["role_path"].split(".")[-1]: t for t in env2.tasks}
    assert {k: v["pid"] for k, v in second.items()} == {k: v["pid"] for k, v in first.items()}
    assert all(t["reused"] for t in second.values())
    assert first_ports["env_id"] != env2.id
    env2.start()
    time.sleep(0.3)
    env2.stop()
    assert count(counter) > 0, "reused devices, reconfigured, moved data"
    env2.destroy()
    assert not [t for t in clean_o2.tasks()], "no task left registered"


def test_refusals_leave_state_unchanged(clean_o2: Any) -> None:
    from o2ctl.sdk import ControlError, TransitionRefused

    env = clean_o2.create_environment(PIPELINE, vars={"nProcessors": "1", "detectors": "TPC"})
    with pytest.raises(TransitionRefused, match="STOP_ACTIVITY is not allowed in state CONFIGURED"):
        env.stop()
    assert env.state == "CONFIGURED"
    with pytest.raises(
        ControlError, match="detector TPC is already in use by environment " + env.id
    ):
        clean_o2.create_environment(PIPELINE, vars={"nProcessors": "1", "detectors": "TPC"})
    assert [e["env_id"] for e in clean_o2.environments()] == [env.id]

    import ray

    refs = [env.actor.transition.remote("START_ACTIVITY"), env.actor.transition.remote("RESET")]
    done = []
    errors = []
    for ref in refs:
        try:
            done.append(ray.get(ref, timeout=60))
        except Exception as exc:  # one of the two is refused while the other runs
            errors.append(str(exc))
    # Ray does not order calls to an async actor: either may win; the other is refused
    assert len(done) == 1 and len(errors) == 1, (done, errors)
    winner = "START_ACTIVITY" if done == ["RUNNING"] else "RESET"
    assert done[0] == ("RUNNING" if winner == "START_ACTIVITY" else "DEPLOYED")
    assert f"is busy with {winner}" in errors[0] and "state unchanged" in errors[0]
    assert env.state == done[0]
    env.destroy(allow_in_running=True)


def test_sigkill_of_a_device_reaches_the_environment(clean_o2: Any) -> None:
    env = clean_o2.create_environment(PIPELINE, vars={"nProcessors": "2"})
    env.start()
    victim = next(t for t in env.tasks if t["role_path"].endswith("processor1"))
    seen: list[dict[str, Any]] = []
    after = env.actor.wait_events.remote(0, 0.0)
    import ray

    cursor = ray.get(after)["last_seq"]
    t0 = time.monotonic()
    os.kill(victim["pid"], 9)
    for ev in env.events(after=cursor, timeout=5.0):
        seen.append(ev)
        if ev["kind"] == "environment" and ev["state"] == "ERROR":
            break
    elapsed = time.monotonic() - t0
    assert env.state == "ERROR"
    assert elapsed < 1.0, f"ERROR reached the environment after {elapsed:.2f}s"
    kinds = [(e["kind"], e["state"]) for e in seen]
    assert ("task", "ERROR") in kinds and ("role", "ERROR") in kinds
    task_err = next(e for e in seen if e["kind"] == "task" and e["state"] == "ERROR")
    assert "processor1" in task_err["error"] and "SIGKILL" in task_err["error"]
    env.destroy(force=True)
    assert not find_owned("o2ctl-task/" + victim["task_id"])
