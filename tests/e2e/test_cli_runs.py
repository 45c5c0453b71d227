"""Bookkeeping through the CLI: two runs of the calls-example workflow, read back with
``o2ctl runs list|show`` (on the e2e tests' shared ``o2ctl up`` system, every command a
process; the runs booked before the test are left out of what it reads back)."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import System

pytestmark = pytest.mark.ray


@pytest.mark.timeout(600)
def test_two_runs_are_booked_and_read_back(system: System) -> None:
    cli = system.cli
    before = {r["run_number"] for r in cli.json("runs", "list")}
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

    runs = [r for r in cli.json("runs", "list") if r["run_number"] not in before]
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
