"""readout-dataflow's call roles on the real runtime.

The workflow file is AliECS's own ``readout-dataflow.yaml``, copied unchanged. Its tasks
need the O² binaries (o2-readout-exe, StfBuilder, StfSender, O² clean-up tools), which
this machine does not have: the repository the test builds holds stand-ins under the real
task template names (tests/fixtures/readout-standins: o2ctl's direct-mode example process
with the real templates' bind channels, and ``true`` for the two hook tasks). No data
flows; what is real is the workflow's role tree, its call roles (dcs, kafka, ccdb not
installed here; bookkeeping installed) and their points, weights, awaits and criticality.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, wait_for

pytestmark = pytest.mark.ray

INTEGRATIONS = {
    "hosts": '["flp001"]',
    "dcs_enabled": "true",
    "kafka_enabled": "true",
    "ccdb_enabled": "true",
    "bookkeeping_enabled": "true",
    "bookkeeping_consuming_kafka": "false",
}


@pytest.fixture
def readout_repo(tmp_path: Path, shared_workflows: Path) -> Iterator[str]:
    from o2ctl.config import RepositoryManager

    repo = tmp_path / "readoutrepo"
    (repo / "workflows").mkdir(parents=True)
    shutil.copy(shared_workflows / "workflows" / "readout-dataflow.yaml", repo / "workflows")
    shutil.copytree(ROOT / "tests" / "fixtures" / "readout-standins" / "tasks", repo / "tasks")
    manager = RepositoryManager()
    manager.add(str(repo), name="readoutrepo")
    yield "readoutrepo/workflows/readout-dataflow"
    manager.remove("readoutrepo")


def test_readout_dataflow_configures_with_missing_integrations_skipped(
    farm: Any, clean_o2: Any, state_dir: Path, readout_repo: str
) -> None:  # farm first: its node goes away after clean_o2 has ended every task
    from o2ctl.plugins.bkstore import BookkeepingStore
    from o2ctl.sdk import ControlError

    farm.add("flp001")

    def create() -> Any:
        try:
            return clean_o2.create_environment(readout_repo, vars=INTEGRATIONS)
        except ControlError as exc:  # the controller's view of the nodes is a few s old
            if "no sync node" in str(exc):
                return None
            raise

    env = wait_for(create, 30, "the controller to place tasks on node flp001")
    assert env.state == "CONFIGURED"
    assert {t["role_path"].rsplit(".", 1)[-1] for t in env.tasks} == {"readout", "stfb", "stfs"}
    calls = [e for e in env.events(after=0, timeout=1.0) if e["kind"] == "call"]
    warned = {e["path"]: e for e in calls if e["status"] == "DONE_ERROR"}
    assert set(warned) == {
        "readout-dataflow.dcs.pfr",  # before_CONFIGURE, awaited at after_CONFIGURE-1
        "readout-dataflow.kafka.leave_standby",
        "readout-dataflow.kafka.deployed",
        "readout-dataflow.kafka.leave_deployed",
        "readout-dataflow.kafka.configured",
    }
    assert all(e["detail"]["severity"] == "warning" for e in warned.values())
    assert (
        "integration plugin 'dcs' is not installed" in warned["readout-dataflow.dcs.pfr"]["error"]
    )
    booked = {e["path"] for e in calls if e["status"] == "DONE_OK"}
    assert booked == {
        "readout-dataflow.bookkeeping.startenv",
        "readout-dataflow.bookkeeping.deploy",
        "readout-dataflow.bookkeeping.configure",
    }
    bk = BookkeepingStore(state_dir / "bookkeeping.sqlite").environment(env.id)
    assert bk is not None and (bk["workflow"], bk["state"]) == ("readout-dataflow", "CONFIGURED")

    with pytest.raises(ControlError) as refused:  # dcs.StartOfRun is critical
        env.start()
    message = str(refused.value)
    assert "START_ACTIVITY cancelled" in message and "readout-dataflow.dcs.sor" in message
    assert "integration plugin 'dcs' is not installed" in message
    assert env.state == "CONFIGURED"
    assert {t["state"] for t in env.tasks} == {"CONFIGURED"}
    env.destroy()
