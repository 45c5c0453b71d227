"""Every workflow of a ControlWorkflows checkout expands with the stand-in DPL programs.

ALICE's repository is not part of o2ctl, so this runs against a checkout named by
``O2CTL_CONTROLWORKFLOWS_HEAD`` (e.g. ``git archive`` of its HEAD into /tmp/cw) and skips
without one. The TPC workflows are expanded as ``readout-dataflow`` includes them, inside
its FLP iterator (``tpc_dpl_workflow``), for FLPs that the inventory gives to TPC; a MID
FLP in the same environment gets ``mid_dpl_workflow`` generated just in time. The CLI is
checked on the same tree (``o2ctl template expand -o json``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jit_support import STANDINS

from o2ctl.config import FileRepository, FileRuntimeStore, RepositoryManager
from o2ctl.expansion import expand_for_environment
from o2ctl.templates import ExpandedWorkflow, RoleNode
from o2ctl.templates.budget import Budget

HEAD_ENV = "O2CTL_CONTROLWORKFLOWS_HEAD"
TPC_HOSTS = ["alio2-cr1-flp001", "alio2-cr1-flp073", "alio2-cr1-flp145"]
MID_HOST = "alio2-cr1-flp159"
LOADED = Budget(seconds=900.0)  # a shared 2-core machine: the JIT runs count in the budget
O2CTL = Path(sys.executable).with_name("o2ctl")


@pytest.fixture
def checkout() -> Path:
    where = os.environ.get(HEAD_ENV)
    if not where:
        pytest.skip(f"{HEAD_ENV} names no ControlWorkflows checkout")
    return Path(where)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    state = tmp_path / "state"
    for host, detector in [*((h, "TPC") for h in TPC_HOSTS), (MID_HOST, "MID")]:
        (state / "config/o2/hardware/detectors" / detector / "flps" / host).mkdir(parents=True)
        cards = {
            f"cru{i}": {"serial": f"{i // 2 + 1000}", "endpoint": str(i % 2)} for i in range(4)
        }
        (state / "config/o2/hardware/flps" / host).mkdir(parents=True)
        (state / "config/o2/hardware/flps" / host / "cards").write_text(json.dumps(cards))
    monkeypatch.setenv("O2CTL_STATE_DIR", str(state))
    monkeypatch.setenv("PATH", f"{STANDINS}:{os.environ['PATH']}")
    monkeypatch.setenv("CONSUL_STANDIN_DEFAULT", "0,1,2")
    monkeypatch.setenv("O2CTL_DPL_VERSIONS_CMD", "echo o2-O2-standin o2-QualityControl-standin")
    monkeypatch.setenv("DPL_STANDIN_LOG", str(tmp_path / "dpl.log"))
    monkeypatch.setenv("O2CTL_JIT_TIMEOUT_S", "600")
    for name in ("O2CTL_CONFIG_STORE", "O2CTL_DPL_ENV_SCRIPT", "O2CTL_REPO", "O2CTL_RUNTIME"):
        monkeypatch.delenv(name, raising=False)
    return state


def expand(state: Path, repo: Path, workflow: str, **user_vars: str) -> ExpandedWorkflow:
    return expand_for_environment(
        RepositoryManager(),
        FileRuntimeStore(state),
        workflow,
        user_vars,
        repo=FileRepository(repo),
        budget=LOADED,
    )


def tasks(node: RoleNode) -> list[RoleNode]:
    found = [node] if node.task is not None else []
    for child in node.children:
        found.extend(tasks(child))
    return found


def test_every_workflow_of_the_checkout_expands(checkout: Path, site: Path, tmp_path: Path) -> None:
    repo = tmp_path / "cw"
    shutil.copytree(checkout, repo)
    hosts = json.dumps([*TPC_HOSTS, MID_HOST])
    names = sorted(p.stem for p in (repo / "workflows").glob("*.yaml"))
    tpc = [n for n in names if n.startswith("tpc-")]
    counts: dict[str, int] = {}
    started = time.monotonic()
    for name in names:
        extra = {"mid_dpl_workflow": "mid-raw-decoder"}
        if name in tpc:
            extra["tpc_dpl_workflow"] = name
        wf = expand(site, repo, "readout-dataflow" if name in tpc else name, hosts=hosts, **extra)
        counts[name] = len(tasks(wf.root))
        if name in tpc:
            generated = [
                t for t in tasks(wf.root) if t.task and t.task.task_class.startswith("jit-")
            ]
            assert {t.path.split(".")[1] for t in generated} == {f"host-{h}" for h in TPC_HOSTS} | {
                f"host-{MID_HOST}"
            }
    first = time.monotonic() - started
    runs = len((tmp_path / "dpl.log").read_text().splitlines())
    started = time.monotonic()
    for name in tpc:
        expand(site, repo, "readout-dataflow", hosts=hosts, tpc_dpl_workflow=name)
    cached = time.monotonic() - started
    assert len((tmp_path / "dpl.log").read_text().splitlines()) == runs, "all from the cache"
    print(
        f"\n{len(names)} workflows expanded ({len(tpc)} TPC ones inside readout-dataflow), "
        f"{sum(counts.values())} tasks in all, {runs} stand-in program runs, "
        f"{first:.1f} s; the TPC ones again from the cache: {cached:.1f} s\n"
        + "\n".join(f"  {n}: {c} tasks" for n, c in counts.items())
    )
    assert (repo / "workflows").is_dir() and not list((repo / "workflows").glob("jit-*"))


def test_the_cli_shows_a_detector_dpl_devices_wired_to_readout(
    checkout: Path, site: Path, tmp_path: Path
) -> None:
    env = dict(os.environ)
    done = subprocess.run(
        [str(O2CTL), "template", "expand", "--repo", str(checkout), "readout-dataflow",
         "-e", f"hosts={json.dumps([MID_HOST])}", "-e", "mid_dpl_workflow=mid-raw-decoder",
         "-o", "json"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    root = json.loads(done.stdout)["root"]
    base = f"readout-dataflow.host-{MID_HOST}.data-distribution-dpl"

    def find(node: dict[str, object], path: str) -> dict[str, object]:
        if node["path"] == path:
            return node
        for child in node.get("children") or []:  # type: ignore[attr-defined]
            if path.startswith(child["path"]):
                return find(child, path)
        raise KeyError(path)

    proxy = find(root, f"{base}.dpl.readout-proxy")["task"]
    assert str(proxy["task_class"]).startswith("jit-")  # type: ignore[index]
    targets = [c["target"] for c in proxy["connects"]]  # type: ignore[index]
    assert targets == [f"{base}.stfb:dpl-chan"]
    stfs = find(root, f"{base}.stfs")["task"]
    assert [c["target"] for c in stfs["connects"]] == [f"{base}.dpl.dpl-output-proxy:downstream"]  # type: ignore[index]


class SiteVars:
    """Values for the tags of ALICE's jit/ commands (any other name reads as 1)."""

    VALUES = {"it": TPC_HOSTS[0], "apricot_endpoint": "apricot.internal:32188",
              "consul_endpoint": "consul.internal:8500", "run_type": "PHYSICS",
              "pdp_beam_type": "pp", "pdp_n_hbf_per_tf": "128", "detector": "TPC",
              "merger_node": "epn001", "qc_json_file": "/etc/qc.json",
              "cru_config_uri": "consul-ini://consul.internal:8500/o2/components/x"}  # fmt: skip

    def lookup(self, name: str) -> object:
        return self.VALUES.get(name, "1")


@pytest.mark.timeout(1200)  # some 500 stand-in processes; minutes on a loaded 2-core machine
def test_every_jit_command_of_the_checkout_generates(checkout: Path, site: Path) -> None:
    from o2ctl.config.jit import JitGenerator, JitSettings
    from o2ctl.templates.expand import _parse_task, _parse_workflow
    from o2ctl.templates.shellcmd import render_command

    repo = FileRepository(checkout)
    generator = JitGenerator(repo, None, JitSettings.from_env(site), store=None)
    names = sorted(p.name for p in (checkout / "jit").iterdir() if p.is_file())
    started = time.monotonic()
    devices, generated = 0, set()
    for name in names:
        command = repo.get_jit_command(name)
        assert command is not None
        workflow = generator.generate(render_command(command.text, SiteVars()), "")
        generated.add(workflow)
        cache = site / "jit"
        root, _ = _parse_workflow(*_read(cache / "workflows" / f"{workflow}.yaml"))
        for task in cache.glob(f"tasks/{workflow}-*.yaml"):
            _parse_task(*_read(task))
        devices += len(root.children)
    print(
        f"\n{len(names)} jit/ commands generated and parsed: {devices} devices, "
        f"{generator.runs} commands run (files with the same command share one), "
        f"{time.monotonic() - started:.1f} s"
    )
    assert generator.runs == len(generated) and devices >= 2 * len(names)


def _read(path: Path) -> tuple[str, str]:
    return path.read_text(), str(path)
