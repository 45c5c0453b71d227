"""Issue 19, case 1: one corrupt record is named and isolated, never fatal.

An environment RUNNING has its record truncated and the controller's worker is killed (the
issue's reproduction). The restarted controller must come back: the broken environment is
listed as BROKEN with its record named and why, refuses transitions saying so, and can be
destroyed, which ends its processes; another environment keeps working throughout, a new
one can be created, and nothing is left behind.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from o2ctl.demo import PIPELINE
from o2ctl.sdk import ControlError
from tests.conftest import ours, wait_for

pytestmark = pytest.mark.ray


def device_pids() -> set[int]:
    return {p.pid for p in ours() if p.owner.startswith("o2ctl-task/")}


def controller_back(o2: Any, old_pid: int) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        try:
            now: dict[str, Any] = o2.info()
            if now["pid"] != old_pid:
                return now
        except ControlError as exc:
            assert "restarting" in str(exc)
        assert time.monotonic() < deadline, "the controller did not come back"
        time.sleep(0.1)


def test_a_corrupt_record_breaks_its_environment_only(clean_o2: Any, state_dir: Path) -> None:
    bad = clean_o2.create_environment(PIPELINE, vars={"nProcessors": "1"})
    bad.start()
    good = clean_o2.create_environment(PIPELINE, vars={"nProcessors": "1"})
    bad_pids = {t["pid"] for t in bad.tasks}
    good_pids = {t["pid"] for t in good.tasks}
    record = state_dir / "records" / "environments" / f"{bad.id}.json"
    record.write_text(f'{{"env_id": "{bad.id}", "state": ')  # truncated mid-write

    os.kill(clean_o2.info()["pid"], signal.SIGKILL)
    controller_back(clean_o2, -1)
    listed = wait_for(
        lambda: {e["env_id"]: e for e in clean_o2.environments()}.get(bad.id), 30, "the list"
    )
    assert listed["state"] == "BROKEN"  # type: ignore[index]
    assert str(record) in listed["last_error"] and "corrupt" in listed["last_error"]  # type: ignore[index]
    with pytest.raises(ControlError, match=f"environment {bad.id} is broken"):
        clean_o2.environment(bad.id).start()

    # the rest works: the other environment, a new one
    assert good.start() == "RUNNING" and good.stop() == "CONFIGURED"
    assert {t["pid"] for t in good.tasks} == good_pids
    third = clean_o2.create_environment(PIPELINE, vars={"nProcessors": "1"})
    assert third.state == "CONFIGURED"

    # doctor names the record and finds its processes, now outside every task table
    report = clean_o2.doctor()
    assert [r["key"] for r in report["records"] if r.get("broken")] == [bad.id]
    assert bad_pids <= {p["pid"] for p in report["processes"]}
    assert not good_pids & {p["pid"] for p in report["processes"]}

    # destroying the broken one ends its processes and its records
    assert bad_pids <= device_pids()
    clean_o2.environment(bad.id).destroy()
    wait_for(lambda: not (bad_pids & device_pids()), 15, "the broken environment's processes gone")
    assert not record.exists()
    assert bad.id not in {e["env_id"] for e in clean_o2.environments()}
    assert good_pids <= device_pids()
    good.destroy()
    third.destroy()
    assert clean_o2.doctor()["count"] == 0


def test_an_unknown_id_is_not_echoed_whole(clean_o2: Any) -> None:
    from actors.errors import NotFound

    with pytest.raises(NotFound) as unknown:
        clean_o2.environment("x" * 5000)
    assert len(str(unknown.value)) < 200
