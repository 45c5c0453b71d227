"""Faults around a modify (issue 19, cases 2 and 3), checked on the processes themselves.

- A device killed while a modify runs reaches the environment as it would without one
  (ERROR naming the task), and so does a device killed after it: a modify ends, like a
  transition, by asking whether the root went to ERROR meanwhile.
- A modify that admission refuses leaves the run exactly as it was: same state, same run
  number, the same processes and no new one; ``--dry-run`` of it says it would be refused.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import pytest

from o2ctl.demo import PIPELINE
from o2ctl.sdk import ControlError
from tests.conftest import ours, wait_for

pytestmark = pytest.mark.ray
PROC = f"{PIPELINE}.processor"


def device_pids() -> set[int]:
    return {p.pid for p in ours() if p.owner.startswith("o2ctl-task/")}


def processors(env: Any) -> list[dict[str, Any]]:
    return sorted(
        (t for t in env.tasks if t["role_path"].startswith(PROC)), key=lambda t: t["role_path"]
    )


def in_error_naming(env: Any, path: str, timeout: float = 15.0) -> None:
    wait_for(lambda: env.state == "ERROR", timeout, f"environment {env.id} in ERROR")
    assert path in env.summary()["last_error"], env.summary()["last_error"]


def test_a_device_killed_during_a_modify_and_one_after_reach_the_environment(
    clean_o2: Any,
) -> None:
    env = clean_o2.create_environment(PIPELINE, vars={"nProcessors": "2"})
    env.start()
    victim = processors(env)[0]
    outcome: dict[str, Any] = {}

    def modify() -> None:
        try:
            outcome["result"] = env.modify(vars={"nProcessors": "6"})
        except Exception as exc:  # the modify may fail or not: the environment must know
            outcome["error"] = exc

    worker = threading.Thread(target=modify)
    worker.start()
    wait_for(lambda: env.summary()["busy"] == "MODIFY", 30, "the modify to be running")
    os.kill(victim["pid"], signal.SIGKILL)
    worker.join(120)
    assert not worker.is_alive(), "the modify did not return"
    in_error_naming(env, victim["role_path"])
    assert victim["pid"] not in device_pids()

    # RECOVER, run again, and a second device killed with no modify running
    env.recover()
    env.configure()
    env.start()
    assert env.state == "RUNNING"
    second = processors(env)[-1]
    assert second["pid"] in device_pids()
    os.kill(second["pid"], signal.SIGKILL)
    in_error_naming(env, second["role_path"])
    env.destroy()


def test_a_modify_that_does_not_fit_leaves_the_run_as_it_was(clean_o2: Any) -> None:
    env = clean_o2.create_environment(PIPELINE, vars={"nProcessors": "2"})
    env.start()
    before = env.summary()
    pids, tasks = device_pids(), {t["role_path"]: t["pid"] for t in env.tasks}

    dry = env.modify(vars={"nProcessors": "500"}, dry_run=True)
    assert len(dry["added"]) == 498
    assert "refused" in dry and "nothing changed" in dry["refused"], dry.get("refused")

    with pytest.raises(ControlError, match="refused, nothing changed") as refused:
        env.modify(vars={"nProcessors": "500"})
    assert "Traceback" not in str(refused.value)
    after = env.summary()
    assert after["state"] == "RUNNING" and not after["busy"]
    assert after["run_number"] == before["run_number"]
    assert after["user_vars"].get("nProcessors") == "2"
    assert {t["role_path"]: t["pid"] for t in env.tasks} == tasks
    assert device_pids() == pids  # not one process more, none less
    assert "Traceback" not in after["last_error"]
    env.stop()
    env.destroy()
