"""Bookkeeping through the CLI: two runs of the calls-example workflow, read back with
``o2ctl runs list|show`` (a system of its own from ``o2ctl up``, every command a process)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.test_cli_env import cli as cli  # the fixture: o2ctl in its own state dir
from tests.e2e.test_cli_env import free_port

pytestmark = pytest.mark.ray


@pytest.mark.timeout(600)
def test_two_runs_are_booked_and_read_back(cli: Any) -> None:
    port, dashboard = str(free_port(6600)), str(free_port(8600))
    cli("up", "--port", port, "--dashboard-port", dashboard, "--num-cpus", "2")
    created = json.loads(cli("env", "create", "-w", "calls-example", "-o", "json").stdout)
    env_id = created["env_id"]
    assert created["state"] == "CONFIGURED"
    numbers = []
    for _ in range(2):
        started = json.loads(
            cli("env", "control", env_id, "-e", "START_ACTIVITY", "-o", "json").stdout
        )
        numbers.append(started["run_number"])
        cli("env", "control", env_id, "-e", "STOP_ACTIVITY")
    cli("env", "destroy", env_id)

    runs = json.loads(cli("runs", "list", "-o", "json").stdout)
    assert [r["run_number"] for r in runs] == sorted(numbers, reverse=True)
    for r in runs:
        assert (r["env_id"], r["run_type"], r["state"], r["detectors"]) == (
            env_id,
            "PHYSICS",
            "STOPPED",
            [],
        )
        assert r["stop"] >= r["start"] and r["duration_s"] == pytest.approx(r["stop"] - r["start"])
    shown = json.loads(cli("runs", "show", str(numbers[0]), "-o", "json").stdout)
    assert shown["environment"]["state"] == "DESTROYED"
    assert shown["environment"]["workflow"] == "calls-example"
    text = cli("runs", "list").stdout
    assert all(str(n) in text for n in numbers) and "STOPPED" in text
    missing = cli("runs", "show", "999999", expect=4)
    assert missing.stderr.startswith("error: no run 999999 in the bookkeeping database")
    cli("down")
