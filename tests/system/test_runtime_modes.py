"""Direct-mode processes, hooks, non-critical tasks and several environments at once.

Direct-mode tasks run ``o2ctl-direct-example``, which logs every handler call with its
arguments as one JSON line: the test reads the task's log file (where an operator would) to
check what START carried.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from o2ctl.demo import PIPELINE
from tests.conftest import ROOT, wait_for

pytestmark = pytest.mark.ray


def handler_calls(log_path: str) -> list[dict[str, Any]]:
    calls = []
    for line in Path(log_path).read_text().splitlines():
        if line.startswith("{"):
            calls.append(json.loads(line))
    return calls


def test_direct_tasks_get_run_numbers_and_the_destroy_hook_runs(clean_o2: Any) -> None:
    env = clean_o2.create_environment("direct-example", vars={"nWorkers": "2"})
    scratch = Path("/tmp/o2ctl-direct-example") / env.id  # the workflow's (locked) scratch_dir
    scratch.mkdir(parents=True)
    (scratch / "data").write_text("run data")
    tree = env.tree
    hook = next(c for c in tree["children"] if c["name"] == "cleanup")
    assert hook["kind"] == "hook" and hook["trigger"] == "DESTROY"
    env.start()
    run = env.run_number
    env.stop()
    log = env.tasks[0]["log_path"]
    start = next(c for c in handler_calls(log) if c["handler"] == "start")["arguments"]
    assert start["run_number"] == start["runNumber"] == str(run)
    assert start["run_type"] == "PHYSICS"
    assert abs(int(start["run_start_time_ms"]) / 1000 - time.time()) < 120
    configure = next(c for c in handler_calls(log) if c["handler"] == "configure")
    assert configure["arguments"]["environment_id"] == env.id
    env.destroy()
    assert not scratch.exists(), "the DESTROY hook (a basic task) removed the scratch dir"


def test_run_numbers_strictly_increase_across_environments(clean_o2: Any) -> None:
    seen = []
    for _ in range(2):
        env = clean_o2.create_environment("direct-example", vars={"cleanup_enabled": "false"})
        env.start()
        seen.append(env.run_number)
        env.stop()
        stopped = env.summary()  # as AliECS: no current run once stopped, the last one kept
        assert (stopped["run_number"], stopped["last_run_number"]) == (None, seen[-1])
        env.start()
        seen.append(env.run_number)
        env.destroy(allow_in_running=True)
    assert seen == sorted(seen) and len(set(seen)) == len(seen)


@pytest.fixture
def test_repo(tmp_path: Path) -> Any:
    """A repository of our own tasks plus a workflow whose sink is not critical."""
    from o2ctl.config import RepositoryManager

    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "workflows" / "tasks", repo / "tasks")
    (repo / "workflows").mkdir()
    text = (ROOT / "workflows" / "workflows" / f"{PIPELINE}.yaml").read_text()
    text = text.replace("name: !public " + PIPELINE, "name: noncritical-sink").replace(
        "      load: fairmq-ex-1-n-1-sink",
        "      load: fairmq-ex-1-n-1-sink\n      critical: false",
    )
    assert "critical: false" in text
    (repo / "workflows" / "noncritical-sink.yaml").write_text(text)
    manager = RepositoryManager()
    manager.add(str(repo), name="testrepo")
    yield "testrepo/workflows/noncritical-sink"
    manager.remove("testrepo")


def test_a_non_critical_task_failing_does_not_fail_the_environment(
    clean_o2: Any, test_repo: str
) -> None:
    env = clean_o2.create_environment(test_repo, vars={"nProcessors": "1"})
    env.start()
    sink = next(t for t in env.tasks if t["role_path"].endswith(".sink"))
    os.kill(sink["pid"], 9)
    wait_for(lambda: any(t["state"] == "ERROR" for t in env.tasks), 10, "the sink's ERROR")
    time.sleep(0.5)  # give a (wrong) GO_ERROR the chance to happen; the state must hold
    assert env.state == "RUNNING"
    assert env.summary()["root_state"] == "RUNNING"
    env.destroy(allow_in_running=True)


def test_two_environments_at_once(clean_o2: Any) -> None:
    a = clean_o2.create_environment(PIPELINE, vars={"nProcessors": "1", "detectors": '["ITS"]'})
    b = clean_o2.create_environment(PIPELINE, vars={"nProcessors": "1", "detectors": '["TPC"]'})
    a.start()
    assert (a.state, b.state) == ("RUNNING", "CONFIGURED")
    b.start()
    a.stop()
    assert (a.state, b.state) == ("CONFIGURED", "RUNNING")
    ports = {t["control_port"] for t in a.tasks} | {t["control_port"] for t in b.tasks}
    assert len(ports) == len(a.tasks) + len(b.tasks), "control ports never clash on a host"
    b.destroy(allow_in_running=True)
    a.destroy()


def test_create_reports_progress(clean_o2: Any) -> None:
    steps: list[Any] = []
    env = clean_o2.create_environment(PIPELINE, vars={"nProcessors": "2"}, progress=steps.append)
    assert steps and all(s.env_id == env.id for s in steps)
    deploy = [s for s in steps if s.phase == "DEPLOY"]
    assert deploy[0].done == 0 and deploy[-1].done == deploy[-1].total == 4
    assert [s.phase for s in steps][-1] == "CONFIGURE" and steps[-1].finished
    env.destroy()


def test_events_carry_every_task_change_and_transition_step(clean_o2: Any) -> None:
    env = clean_o2.create_environment(PIPELINE, vars={"nProcessors": "1"})
    import ray

    cursor = ray.get(env.actor.wait_events.remote(0, 0.0))["last_seq"]
    env.start()
    seen = list(env.events(after=cursor, timeout=1.0))
    steps = [e["status"] for e in seen if e["kind"] == "transition"]
    assert steps[0] == "STARTED" and "DONE_OK" in steps
    running = {e["path"] for e in seen if e["kind"] == "task" and e["state"] == "RUNNING"}
    assert running == {t["role_path"] for t in env.tasks}
    assert any(e["kind"] == "environment" and e["state"] == "RUNNING" for e in seen)
    env.destroy(allow_in_running=True)


@pytest.fixture
def failing_repo(tmp_path: Path) -> Any:
    """Our direct-example workflow, its worker told to fail in its START handler."""
    from o2ctl.config import RepositoryManager

    repo = tmp_path / "failrepo"
    shutil.copytree(ROOT / "workflows" / "tasks", repo / "tasks")
    shutil.copytree(ROOT / "workflows" / "workflows", repo / "workflows")
    task = repo / "tasks" / "o2ctl-direct-example.yaml"
    text = task.read_text().replace(
        '    - "--iterations"', '    - "--fail-in"\n    - start\n    - "--iterations"'
    )
    assert "--fail-in" in text
    task.write_text(text)
    manager = RepositoryManager()
    manager.add(str(repo), name="failrepo")
    yield "failrepo/workflows/direct-example"
    manager.remove("failrepo")


def test_a_failing_start_names_task_host_event_and_reason(clean_o2: Any, failing_repo: str) -> None:
    from o2ctl.sdk import ControlError

    env = clean_o2.create_environment(failing_repo, vars={"cleanup_enabled": "false"})
    worker = env.tasks[0]
    with pytest.raises(ControlError) as failed:
        env.start()
    message = str(failed.value)
    assert "START_ACTIVITY failed" in message
    assert worker["role_path"] in message and worker["host"] in message
    assert "START" in message and "start" in message  # the event and the handler's own words
    assert env.state == "ERROR"
    assert env.summary()["last_error"]
    env.destroy(force=True)
