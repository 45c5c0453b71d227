"""Issue 14 through the operator's CLI, on one ``o2ctl up`` system of the test's own.

``o2ctl up`` twice (the second says the system is up and exits 0), with its controller
gone (started again), against another Ray on the port (one line naming it), and with a
``ray start`` that fails (one line, nothing left running); hostile templates and user vars
refused by ``template expand`` and ``env create`` (also over the Control API) within
seconds; an iterator that yields no role is a warning in ``env create``'s output. No error
carries a traceback unless ``O2CTL_DEBUG=1``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from o2ctl.demo import PIPELINE
from tests.e2e.test_cli_env import free_port
from tests.system.test_hostile_templates import alias_bomb, nested_bomb

pytestmark = pytest.mark.ray

O2CTL = os.path.join(os.path.dirname(sys.executable), "o2ctl")
ROOT = Path(__file__).resolve().parents[2]


class Cli:
    def __init__(self, state: Path) -> None:
        self.env = dict(os.environ, O2CTL_STATE_DIR=str(state))
        for name in ("RAY_ADDRESS", "O2CTL_RAY_ADDRESS", "O2CTL_DEBUG"):
            self.env.pop(name, None)

    def __call__(
        self, *args: str, expect: int = 0, debug: bool = False, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        env = dict(self.env, O2CTL_DEBUG="1") if debug else self.env
        proc = subprocess.run(
            [O2CTL, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        assert proc.returncode == expect, f"o2ctl {' '.join(args)}: {proc.stdout}{proc.stderr}"
        if not debug:
            assert "Traceback" not in proc.stderr and 'File "' not in proc.stderr
            if expect:
                assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        return proc


def api_endpoint(cli: Cli) -> str:
    """The Control API's address, as `o2ctl up` (run again: it is idempotent) tells it."""
    found = re.search(r"Control API at (\S+)", cli("up").stdout)
    assert found
    return found.group(1)


def gcs_processes(port: int) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        line = " ".join(p.info["cmdline"] or [])
        if f"--gcs_server_port={port}" in line or re.search(rf"--address=\S*:{port}\b", line):
            found.append(p)
    return found


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cli, int]]:
    """One `o2ctl up` for the module (a repository with the bombs registered), then down."""
    state = tmp_path_factory.mktemp("hardening-state")
    cli = Cli(state)
    port = free_port(6500)
    up = cli("up", "--port", str(port), "--dashboard-port", str(free_port(8500)), "--num-cpus", "2")
    assert "o2ctl is up" in up.stdout
    repo = tmp_path_factory.mktemp("bombs")
    (repo / "workflows").mkdir()
    (repo / "tasks").symlink_to(ROOT / "workflows" / "tasks")
    (repo / "workflows" / "bomb.yaml").write_text(alias_bomb())
    (repo / "workflows" / "nested.yaml").write_text(nested_bomb())
    cli("repo", "add", str(repo), "--name", "bombs")
    try:
        yield cli, port
    finally:
        cli("down")
        assert not gcs_processes(port)


@pytest.mark.timeout(600)
def test_up_twice_and_after_the_controller_died(system: tuple[Cli, int]) -> None:
    cli, port = system
    again = cli("up", "--port", str(port))
    assert re.search(rf"o2ctl is already up at \S+:{port}: controller ready", again.stdout)
    code = (
        "import ray; from o2ctl.sdk import connect; import json, os; "
        "c = connect(json.load(open(os.environ['O2CTL_STATE_DIR'] + '/cluster.json'))"
        "['address'], start=False); ray.kill(c.controller)"
    )
    subprocess.run([sys.executable, "-c", code], env=cli.env, timeout=120, check=True)
    assert "no o2ctl controller is running" in cli("status", expect=4).stderr
    revived = cli("up")
    assert "already up" in revived.stdout and "controller started again" in revived.stdout
    assert json.loads(cli("env", "list", "-o", "json").stdout) == []
    endpoint = re.search(r"Control API at (\S+)", revived.stdout)
    assert endpoint, revived.stdout
    assert cli("--endpoint", endpoint.group(1), "env", "list").returncode == 0


@pytest.mark.timeout(600)
def test_up_against_another_ray_and_a_failing_start(
    system: tuple[Cli, int], tmp_path: Path
) -> None:
    _, port = system
    stranger = Cli(tmp_path / "other-state")
    refused = stranger("up", "--port", str(port), expect=4)
    assert refused.stderr.startswith(f"error: port {port} is taken by another Ray (session_")
    assert "not the one `o2ctl up` started with this state directory" in refused.stderr
    debug = stranger("up", "--port", str(port), expect=4, debug=True)
    assert "Traceback" in debug.stderr, "O2CTL_DEBUG=1 keeps the traceback"

    other = free_port(port + 1)
    failed = stranger("up", "--port", str(other), "--num-cpus", "-5", expect=4)
    assert failed.stderr.startswith("error: ray start failed: ValueError: Resource quantities")
    deadline = time.monotonic() + 15
    while gcs_processes(other) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not gcs_processes(other), "a failed ray start leaves nothing running"
    assert not (tmp_path / "other-state" / "cluster.json").exists()


@pytest.mark.timeout(600)
@pytest.mark.parametrize("workflow", ["bomb", "nested"])
def test_alias_bombs_are_refused_by_the_cli_within_seconds(
    system: tuple[Cli, int], workflow: str
) -> None:
    cli, _ = system
    endpoint = api_endpoint(cli)
    for command in (
        ("template", "expand", workflow, "--repo", "bombs"),
        ("env", "create", "-w", f"bombs/workflows/{workflow}"),
    ):
        started = time.monotonic()
        refused = cli(*command, expect=3)
        assert time.monotonic() - started < 5, command
        assert f"{workflow}.yaml:" in refused.stderr and "YAML aliases" in refused.stderr
    remote = cli(
        "--endpoint", endpoint, "env", "create", "-w", f"bombs/workflows/{workflow}", expect=4
    )
    assert "YAML aliases" in remote.stderr
    assert json.loads(cli("env", "list", "-o", "json").stdout) == []
    assert cli("status").returncode == 0


@pytest.mark.timeout(600)
def test_the_hooks_variables_are_refused_from_the_cli(
    system: tuple[Cli, int], tmp_path: Path
) -> None:
    cli, _ = system
    endpoint = api_endpoint(cli)
    victim = tmp_path / "victim"
    victim.mkdir()
    for var in (
        f"cleanup_path={victim}",
        f"direct-example.cleanup:cleanup_path={victim}",
        "scratch_dir=/",
        f"environment_id=../..{victim}",
    ):
        name = var.partition("=")[0]
        local = cli("env", "create", "-w", "direct-example", "-e", var, expect=3)
        assert f"user var {name!r}" in local.stderr
        remote = cli(
            "--endpoint", endpoint, "env", "create", "-w", "direct-example", "-e", var, expect=4
        )
        assert f"user var {name!r}" in remote.stderr
    assert victim.is_dir() and json.loads(cli("env", "list", "-o", "json").stdout) == []


@pytest.mark.timeout(600)
def test_an_iterator_without_roles_warns_in_the_output(system: tuple[Cli, int]) -> None:
    cli, _ = system
    endpoint = api_endpoint(cli)
    expanded = cli("template", "expand", PIPELINE, "-e", "nProcessors=0", "--no-variables")
    assert "warning: " in expanded.stdout and "yields no role (begin 1, end 0)" in expanded.stdout
    negative = cli("env", "create", "-w", PIPELINE, "-e", "nProcessors=-1", expect=3)
    assert "iterator 1..-1 has a negative count (-1)" in negative.stderr
    envs: list[str] = []
    try:
        created = cli("env", "create", "-w", PIPELINE, "-e", "nProcessors=0", "--no-configure")
        assert "warning: " in created.stdout and "yields no role" in created.stdout
        envs.append(re.search(r"environment (\S+)", created.stdout).group(1))  # type: ignore[union-attr]
        remote: Any = json.loads(
            cli(
                "--endpoint",
                endpoint,
                "env",
                "create",
                "-w",
                PIPELINE,
                "-e",
                "nProcessors=0",
                "--no-configure",
                "-o",
                "json",
            ).stdout
        )
        envs.append(remote["env_id"])
        assert any("yields no role" in w for w in remote["warnings"]), remote
    finally:
        for env_id in envs:
            cli("env", "destroy", env_id)
