"""Issue 19, case 4: a change whose record cannot be written is refused before it is applied.

The environment's record file is made unreplaceable (a non-empty directory where the file
goes: the tests run as root, which no permission stops). START_ACTIVITY and a modify are
then refused in one line naming the store and the reason, with the environment as it was:
same state and run, the same processes, none told anything (their own logs show no new
state change), none added. Once the store is writable again the same START works.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from o2ctl.demo import PIPELINE
from o2ctl.sdk import ControlError
from tests.conftest import ours

pytestmark = pytest.mark.ray


def device_pids() -> set[int]:
    return {p.pid for p in ours() if p.owner.startswith("o2ctl-task/")}


def told(tasks: list[dict[str, Any]]) -> dict[str, int]:
    """State changes each device logged (``A ---> B``): any transition shows there."""
    return {t["role_path"]: Path(t["log_path"]).read_text().count("--->") for t in tasks}


def test_a_change_whose_record_cannot_be_written_is_refused_first(
    clean_o2: Any, state_dir: Path
) -> None:
    env = clean_o2.create_environment(PIPELINE, vars={"nProcessors": "1"})
    record = state_dir / "records" / "environments" / f"{env.id}.json"
    assert record.is_file()
    before, pids, logged = env.summary(), device_pids(), told(env.tasks)
    saved = record.read_text()
    record.unlink()
    record.mkdir()
    (record / "blocker").write_text("")
    try:
        with pytest.raises(ControlError) as refused:
            env.start()
        message = str(refused.value)
        assert "START_ACTIVITY refused, state unchanged" in message
        assert "FileRecordStore" in message and "Traceback" not in message
        with pytest.raises(ControlError, match="MODIFY refused, state unchanged"):
            env.modify(vars={"nProcessors": "3"})
        after = env.summary()
        assert after["state"] == "CONFIGURED" and after["run_number"] == before["run_number"]
        assert not after["busy"] and after["user_vars"].get("nProcessors") == "1"
        assert device_pids() == pids
        assert told(env.tasks) == logged
    finally:
        shutil.rmtree(record)
        record.write_text(saved)
    env.start()
    assert env.state == "RUNNING" and env.run_number is not None
    env.stop()
    env.destroy()
