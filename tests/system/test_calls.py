"""Call roles and hook tasks on the real runtime: order, await, critical and not.

The workflow (tests/fixtures/calls) has a direct-mode worker, two hook tasks and call
roles of ``testplugin`` at many points and weights; each appends one line to the same
file under the plugin's root (the state directory's ``testplugin``), so the file is the
order they really ran in. Calls run in the plugin runner actor, hook tasks as processes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, wait_for

pytestmark = pytest.mark.ray

FIXTURES = ROOT / "tests" / "fixtures" / "calls"


@pytest.fixture
def calls_repo(tmp_path: Path) -> Iterator[str]:
    """Our tasks plus the fixture's append-line task and calls-order workflow."""
    from o2ctl.config import RepositoryManager

    repo = tmp_path / "callsrepo"
    shutil.copytree(ROOT / "workflows" / "tasks", repo / "tasks")
    shutil.copytree(FIXTURES / "tasks", repo / "tasks", dirs_exist_ok=True)
    shutil.copytree(FIXTURES / "workflows", repo / "workflows")
    manager = RepositoryManager()
    manager.add(str(repo), name="callsrepo")
    yield "callsrepo/workflows/calls-order"
    manager.remove("callsrepo")


class Order:
    """The order file of one test: its template variables and its lines."""

    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir / "testplugin"
        self.root.mkdir(parents=True, exist_ok=True)
        self.name = f"order-{uuid.uuid4().hex[:8]}.txt"

    def vars(self, **more: str) -> dict[str, str]:
        return {"order_file": self.name, "order_root": str(self.root), **more}

    def lines(self) -> list[str]:
        path = self.root / self.name
        return path.read_text().splitlines() if path.exists() else []


def call_events(env: Any) -> list[dict[str, Any]]:
    return [e for e in env.events(after=0, timeout=1.0) if e["kind"] == "call"]


def handlers(task: dict[str, Any]) -> list[str]:
    lines = Path(task["log_path"]).read_text().splitlines()
    return [json.loads(line)["handler"] for line in lines if line.startswith("{")]


def test_hook_tasks_and_calls_run_in_weight_order_and_await_spans_points(
    clean_o2: Any, state_dir: Path, calls_repo: str
) -> None:
    order = Order(state_dir)
    env = clean_o2.create_environment(calls_repo, vars=order.vars())
    lines = order.lines()
    slow = "call slow, awaited at after_CONFIGURE"
    assert [line for line in lines if line != slow] == [
        "call before_DEPLOY",
        "call after_DEPLOY",
        "call before_CONFIGURE-10",
        "task before_CONFIGURE-5",
        "call before_CONFIGURE+1",
        "call leave_DEPLOYED",
        "call CONFIGURE-1",
        "call CONFIGURE+1",
        "call enter_CONFIGURED",
        "call after_CONFIGURE-1",
        "task after_CONFIGURE+5",
        "call after_CONFIGURE+10",
    ]
    # started at before_CONFIGURE (weight 0) and not waited for there: the next weight ran
    # while it slept; awaited at after_CONFIGURE (weight 0), so before after_CONFIGURE+5
    assert lines.index("call before_CONFIGURE+1") < lines.index(slow)
    assert lines.index(slow) < lines.index("task after_CONFIGURE+5")
    env.start()
    assert order.lines()[-1] == f"call before_START_ACTIVITY+1 run {env.run_number}"
    events = call_events(env)
    slow_events = [e for e in events if e["path"] == "calls-order.calls.slow"]
    assert [e["status"] for e in slow_events] == ["STARTED", "DONE_OK"]
    assert slow_events[0]["detail"]["func"].startswith("testplugin.Append(order_file")
    assert slow_events[0]["detail"]["await"] == "after_CONFIGURE"
    assert {e["status"] for e in events} == {"STARTED", "DONE_OK"}
    assert env.summary()["root_state"] == "RUNNING", "call roles do not count in the merge"
    env.destroy(allow_in_running=True)


def test_a_critical_call_before_the_step_cancels_and_leaves_the_state(
    clean_o2: Any, state_dir: Path, calls_repo: str
) -> None:
    from o2ctl.sdk import ControlError

    order = Order(state_dir)
    env = clean_o2.create_environment(
        calls_repo, vars=order.vars(fail_at="before_START_ACTIVITY+5")
    )
    with pytest.raises(ControlError) as refused:
        env.start()
    message = str(refused.value)
    assert "START_ACTIVITY cancelled" in message and "stays CONFIGURED" in message
    assert "call calls-order.calls.fail (testplugin.Fail('no beam from the LHC')" in message
    assert message.rstrip().endswith("no beam from the LHC")
    summary = env.summary()
    assert (summary["state"], summary["run_number"]) == ("CONFIGURED", None)
    assert [t["state"] for t in env.tasks] == ["CONFIGURED"], "the tasks were never started"
    assert "start" not in handlers(env.tasks[0])
    burnt = order.lines()[-1]
    assert burnt.startswith("call before_START_ACTIVITY+1 run "), "weight +1 ran before +5"
    failed = [e for e in call_events(env) if e["status"] == "DONE_ERROR"]
    assert [(e["path"], e["error"], e["detail"]["severity"]) for e in failed] == [
        ("calls-order.calls.fail", "no beam from the LHC", "fatal")
    ]
    transitions = [e for e in env.events(after=0, timeout=1.0) if e["kind"] == "transition"]
    assert not [e for e in transitions if e["event"] == "GO_ERROR"]
    env.destroy()


def test_a_critical_call_that_overruns_its_timeout_cancels(
    clean_o2: Any, state_dir: Path, calls_repo: str
) -> None:
    from o2ctl.sdk import ControlError

    order = Order(state_dir)
    slow = {"fail_at": "leave_CONFIGURED", "fail_func": "testplugin.Sleep(60)"}
    env = clean_o2.create_environment(calls_repo, vars=order.vars(**slow, fail_timeout="1s"))
    t0 = time.monotonic()
    with pytest.raises(
        ControlError, match=r"calls-order\.calls\.fail \(testplugin\.Sleep\(60\)"
    ) as e:
        env.start()
    assert time.monotonic() - t0 < 10.0, "the call's 1 s timeout, not its 60 s sleep"
    assert "timeout" in str(e.value)
    assert env.state == "CONFIGURED"
    env.destroy()


def test_a_non_critical_call_only_warns(clean_o2: Any, state_dir: Path, calls_repo: str) -> None:
    order = Order(state_dir)
    env = clean_o2.create_environment(calls_repo, vars=order.vars(warn_at="after_START_ACTIVITY"))
    assert env.start() == "RUNNING"
    [warned] = [e for e in call_events(env) if e["status"] == "DONE_ERROR"]
    assert (warned["path"], warned["error"], warned["event"]) == (
        "calls-order.calls.warn",
        "magnet current low",
        "after_START_ACTIVITY",
    )
    assert warned["detail"]["severity"] == "warning" and not warned["detail"]["critical"]
    assert env.summary()["last_error"] == ""
    env.destroy(allow_in_running=True)


@pytest.mark.parametrize(
    ("fail_at", "state", "configured"),
    [("CONFIGURE-1", "DEPLOYED", False), ("CONFIGURE+1", "ERROR", True)],
)
def test_the_bare_event_trigger_is_before_or_after_the_tasks_step(
    clean_o2: Any, state_dir: Path, calls_repo: str, fail_at: str, state: str, configured: bool
) -> None:
    from o2ctl.sdk import ControlError

    order = Order(state_dir)
    env = clean_o2.create_environment(
        calls_repo, vars=order.vars(fail_at=fail_at), auto_configure=False
    )
    with pytest.raises(ControlError, match=r"calls-order\.calls\.fail") as failed:
        env.configure()
    assert env.state == state
    worker = env.tasks[0]
    assert ("configure" in handlers(worker)) is configured
    assert worker["state"] == ("CONFIGURED" if configured else "STANDBY")
    assert ("after its tasks' step" in str(failed.value)) is configured
    env.destroy(force=True)


def test_a_critical_call_after_stop_sends_the_environment_to_error(
    clean_o2: Any, state_dir: Path, calls_repo: str
) -> None:
    from o2ctl.sdk import ControlError

    order = Order(state_dir)
    env = clean_o2.create_environment(calls_repo, vars=order.vars(fail_at="after_STOP_ACTIVITY-50"))
    env.start()
    with pytest.raises(ControlError) as failed:
        env.stop()
    assert "STOP_ACTIVITY failed" in str(failed.value) and "no beam from the LHC" in str(
        failed.value
    )
    assert env.state == "ERROR"
    assert "calls-order.calls.fail" in env.summary()["last_error"]
    env.destroy(force=True)


def test_the_run_number_reaches_the_stop_calls_after_an_environment_actor_restart(
    clean_o2: Any, state_dir: Path, calls_repo: str
) -> None:
    """The restarted actor rebuilds its calls' run from the record: the calls of the run's
    end still get its number (they would fail on an unknown ``run_number`` otherwise)."""
    order = Order(state_dir)
    env = clean_o2.create_environment(calls_repo, vars=order.vars())
    env.start()
    run, worker = env.run_number, env.summary()["actor_pid"]
    os.kill(worker, signal.SIGKILL)
    wait_for(lambda: env.summary()["actor_pid"] != worker, 30, "the environment actor back")
    assert env.stop() == "CONFIGURED"
    stops = [line for line in order.lines() if "before_STOP_ACTIVITY" in line]
    assert stops == [f"call before_STOP_ACTIVITY run {run}"]
    assert not [e for e in call_events(env) if e["status"] == "DONE_ERROR"]
    env.destroy()


def test_a_call_return_variable_is_read_by_its_next_call_even_after_an_actor_restart(
    clean_o2: Any, state_dir: Path, calls_repo: str
) -> None:
    """``return: previous``: the call's output (testplugin.Append answers the file it wrote)
    is the call role's ``previous`` at its next call, over the role's own ``previous:
    none``; it is part of the environment's record, so a restarted actor still has it."""
    order = Order(state_dir)
    env = clean_o2.create_environment(calls_repo, vars=order.vars(remember="yes"))
    env.start()
    first = env.run_number
    env.stop()
    worker = env.summary()["actor_pid"]
    os.kill(worker, signal.SIGKILL)
    wait_for(lambda: env.summary()["actor_pid"] != worker, 30, "the environment actor back")
    env.start()
    second = env.run_number
    env.stop()
    remembered = [line for line in order.lines() if line.startswith("call remember")]
    assert remembered == [
        f"call remember run {first} previous none",
        f"call remember run {second} previous {order.name}",
    ]
    env.destroy()
