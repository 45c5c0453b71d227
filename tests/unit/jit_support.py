"""A site for the DPL JIT tests (no tests here): state directory, configuration store with a
hardware inventory and a QC payload, the stand-in DPL executables and ``consul`` on PATH,
and a copy of our own fixture repository (``tests/fixtures/jit-repo``).

The stand-ins (``tests/fixtures/dpl-standins``) are ours: they speak DPL's pipe and dump
convention and nothing else; each run appends a line to ``Site.log`` (its program and
arguments), which is how the tests see what ran.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from o2ctl.config import FileRepository, FileRuntimeStore, RepositoryManager
from o2ctl.expansion import expand_for_environment
from o2ctl.templates import ExpandedWorkflow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
STANDINS = FIXTURES / "dpl-standins"
INVENTORY = {"flp-tst1": "TST", "flp-tst2": "TST", "flp-mid1": "MID"}
PAYLOAD_KEY = "o2/components/qc/ANY/any/tst-raw-qc"


@dataclass
class Site:
    root: Path
    state: Path
    repo: Path
    log: Path
    monkeypatch: pytest.MonkeyPatch

    def expand(self, workflow: str = "flp-chain", **user_vars: str) -> ExpandedWorkflow:
        return expand_for_environment(
            RepositoryManager(),
            FileRuntimeStore(self.state),
            workflow,
            user_vars,
            repo=FileRepository(self.repo),
        )

    def runs(self) -> list[dict[str, object]]:
        """Every stand-in program run so far (program, args), oldest first."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def put_config(self, key: str, value: str) -> None:
        path = self.state / "config" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value)

    def set_versions(self, versions: str) -> None:
        self.monkeypatch.setenv("O2CTL_DPL_VERSIONS_CMD", f"echo {versions}")


def make_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    state = tmp_path / "state"
    site = Site(tmp_path, state, tmp_path / "repo", tmp_path / "dpl.log", monkeypatch)
    shutil.copytree(FIXTURES / "jit-repo", site.repo)
    for host, detector in INVENTORY.items():
        (state / "config" / "o2/hardware/detectors" / detector / "flps" / host).mkdir(parents=True)
    site.put_config(PAYLOAD_KEY, '{"qc": {"tasks": {"raw": {"active": "true"}}}}')
    consul = tmp_path / "consul"
    for host in INVENTORY:
        (consul / "o2/cache/flpToCruId").mkdir(parents=True, exist_ok=True)
        (consul / "o2/cache/flpToCruId" / host).write_text(f"{len(host)},7\n")
    monkeypatch.setenv("O2CTL_STATE_DIR", str(state))
    monkeypatch.setenv("PATH", f"{STANDINS}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    monkeypatch.setenv("CONSUL_STANDIN_DIR", str(consul))
    monkeypatch.setenv("DPL_STANDIN_LOG", str(site.log))
    for name in ("O2CTL_CONFIG_STORE", "O2CTL_DPL_ENV_SCRIPT", "O2CTL_JIT_TIMEOUT_S", "O2CTL_REPO"):
        monkeypatch.delenv(name, raising=False)
    site.set_versions("o2-O2-1.0-1.el9 o2-QualityControl-1.0-1.el9")
    return site
