"""A crash of the control plane must not cost the run.

Each test SIGKILLs one piece during RUNNING — a device, a task actor's worker, the
environment actor's worker, the controller's worker — and checks what an operator would:
the states reported and how long it took to notice, that untouched processes keep their
PIDs, that data keeps reaching the sink (its count file follows the run), that the next
transition reaches every device, and that ``doctor`` finds nothing left over at the end.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
import ray

from actors import naming
from o2ctl.demo import PIPELINE
from tests.conftest import wait_for

pytestmark = pytest.mark.ray


def count(path: Path) -> int:
    try:
        return int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def pids_of(env: Any) -> dict[str, int]:
    return {t["role_path"]: t["pid"] for t in env.tasks}


def flowing(path: Path, timeout: float = 20.0) -> None:
    """The sink's count grows: data goes through the whole chain right now."""
    start = count(path)
    wait_for(lambda: count(path) > start + 5, timeout, f"the sink's count to grow past {start}")


def running_pipeline(o2: Any, tmp_path: Path, n: int = 2) -> tuple[Any, Path]:
    counter = tmp_path / "sink.count"
    env = o2.create_environment(
        PIPELINE,
        vars={"nProcessors": str(n), "sink_count_file": str(counter), "sampler_rate": "200"},
    )
    env.start()
    flowing(counter)
    return env, counter


def snapshot(actor: Any) -> dict[str, Any] | None:
    """The task actor's snapshot, or None while it is restarting."""
    try:
        return dict(ray.get(actor.snapshot.remote(), timeout=30))
    except ray.exceptions.RayActorError:
        return None


def nothing_left(o2: Any) -> None:
    report = o2.doctor()
    assert report["count"] == 0, report


def test_a_task_actor_crash_readopts_its_process(clean_o2: Any, tmp_path: Path) -> None:
    env, counter = running_pipeline(clean_o2, tmp_path)
    before = pids_of(env)
    victim = next(t for t in env.tasks if t["role_path"].endswith("processor1"))
    actor = ray.get_actor(victim["actor_name"], namespace=naming.NAMESPACE)
    worker = ray.get(actor.snapshot.remote())["worker_pid"]

    t0 = time.monotonic()
    os.kill(worker, signal.SIGKILL)
    snap: Any = wait_for(
        lambda: (s := snapshot(actor)) and s["worker_pid"] != worker and s,
        30,
        "the task actor to come back",
    )
    took = time.monotonic() - t0
    assert snap["pid"] == victim["pid"] and snap["state"] == "RUNNING" and snap["epoch"] == 1
    assert took < 20, f"re-adoption took {took:.1f}s"
    assert env.state == "RUNNING" and pids_of(env) == before
    flowing(counter)

    assert env.stop() == "CONFIGURED"
    assert all(t["state"] == "CONFIGURED" for t in env.tasks), env.tasks
    # the re-adopted process is watched: its death is still noticed
    os.kill(victim["pid"], signal.SIGKILL)
    wait_for(lambda: env.state == "ERROR", 10, "the environment to see the re-adopted device die")
    env.destroy(force=True)
    nothing_left(clean_o2)


def test_a_task_actor_finds_its_process_gone_after_a_restart(clean_o2: Any) -> None:
    env = clean_o2.create_environment(PIPELINE, vars={"nProcessors": "1"})
    env.start()
    victim = next(t for t in env.tasks if t["role_path"].endswith("processor1"))
    actor = ray.get_actor(victim["actor_name"], namespace=naming.NAMESPACE)
    worker = ray.get(actor.snapshot.remote())["worker_pid"]
    # both die at once, as when a node's processes are killed together
    os.kill(worker, signal.SIGKILL)
    os.kill(victim["pid"], signal.SIGKILL)
    wait_for(lambda: env.state == "ERROR", 30, "the environment to go to ERROR")
    task = next(t for t in env.tasks if t["role_path"] == victim["role_path"])
    assert task["state"] == "ERROR" and "gone" in task["error"] + env.summary()["last_error"]
    assert env.recover() == "DEPLOYED"
    env.destroy()
    nothing_left(clean_o2)


def test_an_environment_actor_crash_keeps_the_run(clean_o2: Any, tmp_path: Path) -> None:
    env, counter = running_pipeline(clean_o2, tmp_path)
    before, run = pids_of(env), env.run_number
    worker = env.summary()["actor_pid"]

    t0 = time.monotonic()
    os.kill(worker, signal.SIGKILL)
    summary = wait_for(
        lambda: (s := env.summary())["actor_pid"] != worker and s, 30, "the environment back"
    )
    took = time.monotonic() - t0
    assert summary["state"] == "RUNNING" and summary["run_number"] == run
    assert summary["busy"] is None and took < 20, (summary, took)
    assert pids_of(env) == before
    assert all(t["state"] == "RUNNING" for t in env.tasks)
    flowing(counter)
    assert env.stop() == "CONFIGURED"
    assert all(t["state"] == "CONFIGURED" for t in env.tasks)
    # the role tree is wired to the new actor: a device failure still reaches it
    victim = next(t for t in env.tasks if t["role_path"].endswith("processor2"))
    os.kill(victim["pid"], signal.SIGKILL)
    wait_for(lambda: env.state == "ERROR", 10, "a device failure to reach the restarted actor")
    env.destroy(force=True)
    nothing_left(clean_o2)


def test_a_controller_crash_loses_nothing(clean_o2: Any, tmp_path: Path) -> None:
    from o2ctl.sdk import ControlError

    env, counter = running_pipeline(clean_o2, tmp_path)
    idle = clean_o2.create_environment(PIPELINE, vars={"nProcessors": "1", "detectors": "TPC"})
    before = pids_of(env)
    info = clean_o2.info()

    os.kill(info["pid"], signal.SIGKILL)
    # a call in flight may fail once, clearly; then the restarted controller answers
    deadline = time.monotonic() + 30
    while True:
        try:
            now = clean_o2.info()
            if now["pid"] != info["pid"]:
                break
        except ControlError as exc:
            assert "restarting" in str(exc)
        assert time.monotonic() < deadline, "the controller did not come back"
        time.sleep(0.1)
    assert now["environments"] == 2 and now["detectors"] == {"TPC": idle.id}
    assert {e["env_id"] for e in clean_o2.environments()} == {env.id, idle.id}
    assert env.state == "RUNNING" and pids_of(env) == before
    flowing(counter)
    with pytest.raises(ControlError, match="detector TPC is already in use"):
        clean_o2.create_environment(PIPELINE, vars={"nProcessors": "1", "detectors": "TPC"})
    # the task list is the environments' own view
    states = {t["task_id"]: t["state"] for t in clean_o2.tasks()}
    assert {states[t["task_id"]] for t in env.tasks} == {"RUNNING"}
    assert {states[t["task_id"]] for t in idle.tasks} == {"CONFIGURED"}
    assert env.stop() == "CONFIGURED"
    env.destroy()
    idle.destroy(keep_tasks=True)
    assert len([t for t in clean_o2.tasks() if t["idle"]]) == 3
    nothing_left(clean_o2)


def test_error_is_actionable_at_once(clean_o2: Any) -> None:
    env = clean_o2.create_environment(PIPELINE, vars={"nProcessors": "3"})
    env.start()
    victim = next(t for t in env.tasks if t["role_path"].endswith("processor1"))
    os.kill(victim["pid"], signal.SIGKILL)
    wait_for(lambda: env.state == "ERROR", 10, "ERROR")
    # sent at once, while GO_ERROR still stops the others: it waits, then runs
    assert env.recover() == "DEPLOYED"
    assert all(t["state"] == "STANDBY" for t in env.tasks)
    assert psutil.pid_exists(
        next(t["pid"] for t in env.tasks if t["role_path"] == victim["role_path"])
    )
    env.destroy()


def test_a_device_crash_then_recover_runs_again(clean_o2: Any, tmp_path: Path) -> None:
    env, counter = running_pipeline(clean_o2, tmp_path, n=2)
    before = pids_of(env)
    victim = next(t for t in env.tasks if t["role_path"].endswith("processor1"))
    t0 = time.monotonic()
    os.kill(victim["pid"], signal.SIGKILL)
    wait_for(lambda: env.state == "ERROR", 10, "ERROR after the device crash")
    took = time.monotonic() - t0
    assert took < 2.0, f"the crash reached the environment after {took:.2f}s"
    assert "processor1" in env.summary()["last_error"]
    assert env.recover() == "DEPLOYED"
    after = pids_of(env)
    assert after[victim["role_path"]] != victim["pid"], "the crashed device was replaced"
    assert {p: q for p, q in after.items() if p != victim["role_path"]} == {
        p: q for p, q in before.items() if p != victim["role_path"]
    }, "untouched processes keep their PIDs"
    env.configure()
    env.start()
    flowing(counter)
    env.stop()
    env.destroy()
    nothing_left(clean_o2)
