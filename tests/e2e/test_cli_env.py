"""The operator's path through the CLI, as a new user would take it from the README.

On the e2e tests' shared ``o2ctl up`` system (``tests/e2e/conftest.py``: a Ray of its own
on free ports, beside the test session's; its ``up`` and ``down`` are checked there): every
command is a separate process that reaches it. The test judges only what it made: the
environments and tasks that were there before it are left out of every count.
"""

from __future__ import annotations

import json

import psutil
import pytest

from o2ctl.demo import PIPELINE
from tests.e2e.conftest import System

pytestmark = pytest.mark.ray


@pytest.mark.timeout(600)
def test_create_show_control_modify_destroy(system: System) -> None:
    cli = system.cli
    before = {e["env_id"] for e in cli.json("env", "list")}
    tasks_before = {t["task_id"] for t in cli.json("task", "list")}
    created = json.loads(
        cli("env", "create", "-w", PIPELINE, "-e", "nProcessors=1", "-o", "json").stdout
    )
    env_id = created["env_id"]
    assert created["state"] == "CONFIGURED"
    listed = json.loads(cli("env", "list", "-o", "json").stdout)
    assert [e["env_id"] for e in listed if e["env_id"] not in before] == [env_id]

    tree = cli("env", "show", env_id, "-w").stdout
    assert "[CONFIGURED]" in tree and "sampler →" in tree and "processor1 →" in tree
    shown = json.loads(cli("env", "show", env_id, "-w", "-t", "-o", "json").stdout)
    assert len(shown["tasks"]) == 3 and shown["tree"]["state"] == "CONFIGURED"

    started = json.loads(cli("env", "control", env_id, "-e", "START_ACTIVITY", "-o", "json").stdout)
    assert started["state"] == "RUNNING" and started["run_number"] >= 1
    refused = cli("env", "control", env_id, "-e", "RESET", expect=4)
    assert "RESET is not allowed in state RUNNING" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert cli("env", "show", "nope", expect=4).stderr.startswith("error: no environment 'nope'")

    remote = cli.json("--endpoint", system.endpoint, "env", "list")
    assert [e["state"] for e in remote if e["env_id"] not in before] == ["RUNNING"], (
        "the same system, over the Control API"
    )
    dry = cli("env", "modify", env_id, "-e", "nProcessors=2", "--dry-run").stdout
    assert "would change (dry run)" in dry and f"+ {PIPELINE}.processor2" in dry, dry
    over_api = json.loads(
        cli(
            "--endpoint",
            system.endpoint,
            "env",
            "modify",
            env_id,
            "-e",
            "nProcessors=2",
            "-o",
            "json",
        ).stdout
    )
    assert over_api["added"] == [f"{PIPELINE}.processor2"] and over_api["untouched"] == 3
    every = cli.json("task", "list")
    tasks = [t for t in every if t["env_id"] == env_id]
    assert len(tasks) == 4 and {t["task_id"] for t in every if t not in tasks} <= tasks_before
    assert {t["state"] for t in tasks} == {"RUNNING"}
    pids = [t["pid"] for t in tasks]
    cli("env", "destroy", env_id, "-a")
    assert {e["env_id"] for e in cli.json("env", "list")} == before
    assert not any(psutil.pid_exists(p) for p in pids)
