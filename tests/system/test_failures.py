"""What goes wrong below the control plane: hung devices, lost nodes, orphans.

A device that never answers START is named (task, host, event, timeout) within its timeout
plus a second, the environment is in ERROR and not busy, and RECOVER ends the hung process.
A node that disappears (a ``ray.cluster_utils`` worker node removed, and the devices of
that "machine" killed with it) takes its tasks: the environment goes to ERROR naming the
node and the tasks, and RECOVER places them on another fitting node, or fails naming what
cannot be placed. ``doctor`` finds processes, actors and records that belong to nothing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import ray

from actors import naming
from o2ctl.demo import PIPELINE
from occ.processes import OWNER_ENV, SYSTEM_ENV
from tests.conftest import ROOT, Farm, wait_for

pytestmark = pytest.mark.ray


def count(path: Path) -> int:
    try:
        return int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


@pytest.fixture
def faulty_repo(tmp_path: Path) -> Iterator[str]:
    """Our pipeline, its processors able to hang on a FairMQ transition (``hang_on``) and
    to be held to a kind of machine (``proc_machine_type``)."""
    from o2ctl.config import RepositoryManager

    repo = tmp_path / "faulty"
    shutil.copytree(ROOT / "workflows" / "tasks", repo / "tasks")
    shutil.copytree(ROOT / "workflows" / "workflows", repo / "workflows")
    task = repo / "tasks" / "fairmq-ex-1-n-1-processor.yaml"
    text = task.read_text()
    text = text.replace("  log_task_output: none\n", '  log_task_output: none\n  hang_on: ""\n', 1)
    text = text.replace(
        '  severity: "{{ severity }}"', '  severity: "{{ severity }}"\n  hang-on: "{{ hang_on }}"'
    )
    task.write_text(text)
    text = (repo / "workflows" / f"{PIPELINE}.yaml").read_text()
    text = text.replace(
        "    task:\n      load: fairmq-ex-1-n-1-processor",
        "    constraints:\n      - attribute: machine_type\n"
        '        value: "{{ proc_machine_type }}"\n'
        "    task:\n      load: fairmq-ex-1-n-1-processor",
    ).replace(f"name: !public {PIPELINE}", "name: pinned")
    assert "machine_type" in text and "name: pinned" in text
    (repo / "workflows" / "pinned.yaml").write_text(text)
    manager = RepositoryManager()
    manager.add(str(repo), name="faulty")
    yield "faulty/workflows/"
    manager.remove("faulty")


def test_a_hung_device_is_named_and_the_environment_ends_in_error(
    clean_o2: Any, faulty_repo: str
) -> None:
    from o2ctl.sdk import ControlError

    env = clean_o2.create_environment(
        faulty_repo + PIPELINE,
        vars={"nProcessors": "2", f"{PIPELINE}.processor2:hang_on": "RUN"},
    )
    hung = next(t for t in env.tasks if t["role_path"].endswith("processor2"))
    timeout = 10.0  # the controller's transition timeout (EnvSettings)
    t0 = time.monotonic()
    with pytest.raises(ControlError) as caught:
        env.start()
    took = time.monotonic() - t0
    message = str(caught.value)
    assert took < timeout + 1.0, f"START failed after {took:.1f}s"
    assert "processor2" in message and hung["host"] in message and "START" in message
    assert "timed out after 10.0s" in message, message
    summary = env.summary()
    assert summary["state"] == "ERROR" and summary["busy"] is None
    # RECOVER (sent at once) ends the hung process and starts a new one
    assert env.recover() == "DEPLOYED"
    wait_for(lambda: not psutil.pid_exists(hung["pid"]), 10, "the hung process to be ended")
    assert next(t for t in env.tasks if t["task_id"] == hung["task_id"])["pid"] != hung["pid"]
    env.destroy()


def test_a_lost_node_takes_its_tasks_and_recover_places_them_again(
    clean_o2: Any, farm: Farm, faulty_repo: str, tmp_path: Path
) -> None:
    farm.add("flp1", machine_type="proc")
    farm.add("flp2", machine_type="proc")
    counter = tmp_path / "count"
    env = clean_o2.create_environment(
        faulty_repo + "pinned",
        vars={"nProcessors": "2", "proc_machine_type": "proc", "sink_count_file": str(counter)},
    )
    hosts = {t["role_path"].rsplit(".", 1)[1]: t["host"] for t in env.tasks}
    assert {hosts["processor1"], hosts["processor2"]} == {"flp1", "flp2"}, hosts
    # Ray's own record of where each task actor runs (its runtime context) agrees
    labels = {n["NodeID"]: (n.get("Labels") or {}) for n in ray.nodes()}
    for t in env.tasks:
        handle = ray.get_actor(t["actor_name"], namespace=naming.NAMESPACE)
        where = ray.get(handle.snapshot.remote())["ray_node_id"]
        if t["host"] in ("flp1", "flp2"):
            assert labels[where].get("machine_id") == t["host"], (t, labels[where])
    env.start()
    run = env.run_number
    on_flp1 = [t for t in env.tasks if t["host"] == "flp1"]
    others = {t["role_path"]: t["pid"] for t in env.tasks if t["host"] != "flp1"}

    t0 = time.monotonic()
    farm.remove("flp1")
    for t in on_flp1:  # the machine is gone: its processes with it
        os.kill(t["pid"], signal.SIGKILL)
    wait_for(lambda: "node flp1 lost" in env.summary()["last_error"], 20, "the node loss")
    took = time.monotonic() - t0
    assert env.state == "ERROR"
    error = env.summary()["last_error"]
    assert "flp1" in error and all(t["role_path"] in error for t in on_flp1), error
    assert took < 15, f"node loss noticed after {took:.1f}s"

    assert env.recover() == "DEPLOYED"
    after = env.summary()  # the run ended with GO_ERROR: none is current, it is the last
    assert (after["run_number"], after["last_run_number"]) == (None, run)
    moved = {t["role_path"]: t for t in env.tasks}
    for t in on_flp1:
        assert moved[t["role_path"]]["host"] == "flp2"
        assert moved[t["role_path"]]["task_id"] != t["task_id"]
    assert {p: moved[p]["pid"] for p in others} == others, "untouched processes keep their PIDs"
    env.configure()
    env.start()
    wait_for(lambda: count(counter) > 5, 20, "data to reach the sink again")
    env.stop()
    env.destroy()
    assert clean_o2.doctor()["count"] == 0


def test_recover_says_what_cannot_be_placed(clean_o2: Any, farm: Farm, faulty_repo: str) -> None:
    from o2ctl.sdk import ControlError

    farm.add("flp3", machine_type="solo")
    env = clean_o2.create_environment(
        faulty_repo + "pinned", vars={"nProcessors": "1", "proc_machine_type": "solo"}
    )
    victim = next(t for t in env.tasks if t["host"] == "flp3")
    farm.remove("flp3")
    os.kill(victim["pid"], signal.SIGKILL)
    wait_for(lambda: "node flp3 lost" in env.summary()["last_error"], 20, "the node loss")
    with pytest.raises(ControlError) as caught:
        env.recover()
    assert "processor1" in str(caught.value) and "machine_type=solo" in str(caught.value)
    assert env.state == "ERROR"
    env.destroy(force=True)


def test_doctor_finds_and_ends_orphans(clean_o2: Any) -> None:
    info = clean_o2.info()
    assert clean_o2.doctor()["count"] == 0
    # a process marked as ours that belongs to no task, and one of another system
    env = dict(os.environ, **{OWNER_ENV: "o2ctl-task/nosuchtask", SYSTEM_ENV: info["system_id"]})
    orphan = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], env=env, start_new_session=True
    )
    other_env = dict(env, **{SYSTEM_ENV: "another-system"})
    other = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], env=other_env, start_new_session=True
    )
    try:
        report = wait_for(
            lambda: (r := clean_o2.doctor())["count"] and r, 10, "doctor to see the orphan"
        )
        assert [p["pid"] for p in report["processes"]] == [orphan.pid]
        cleaned = clean_o2.doctor(clean=True)
        assert cleaned["count"] == 1 and cleaned["cleaned"]
        assert orphan.wait(10) is not None
        assert other.poll() is None, "another system's process is never touched"
        assert clean_o2.doctor()["count"] == 0
    finally:
        for p in (orphan, other):
            p.kill()
            p.wait()


def test_a_stray_task_actor_is_an_orphan(clean_o2: Any) -> None:
    from actors.task import TaskActor

    stray = TaskActor.options(
        name="nosuchenv:root.x#straytask", namespace=naming.NAMESPACE, lifetime="detached"
    ).remote("straytask", "vm", "")
    ray.get(stray.ping.remote())
    report = clean_o2.doctor()
    assert report["actors"] == ["nosuchenv:root.x#straytask"]
    clean_o2.doctor(clean=True)
    wait_for(lambda: "nosuchenv:root.x#straytask" not in naming.named_actors(), 10, "the stray")
