"""Issue 14 through the operator's CLI, on the e2e tests' shared ``o2ctl up`` system.

``o2ctl up`` against another Ray on the port (one line naming it), and with a ``ray start``
that fails (one line, nothing left running); hostile templates and user vars refused by
``template expand`` and ``env create`` (also over the Control API) within seconds; an
iterator that yields no role is a warning in ``env create``'s output. No error carries a
traceback unless ``O2CTL_DEBUG=1``. (``o2ctl up`` twice and with its controller gone is in
``test_cli_crash.py``, on the system of its own that kills a controller.)
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from o2ctl.demo import PIPELINE
from tests.conftest import wait_for
from tests.e2e.conftest import Cli, System, free_port, gcs_processes
from tests.system.test_hostile_templates import alias_bomb, nested_bomb

pytestmark = pytest.mark.ray

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bombs(system: System, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """A repository with the bombs registered on the shared system, for the module."""
    repo = tmp_path_factory.mktemp("bombs")
    (repo / "workflows").mkdir()
    (repo / "tasks").symlink_to(ROOT / "workflows" / "tasks")
    (repo / "workflows" / "bomb.yaml").write_text(alias_bomb())
    (repo / "workflows" / "nested.yaml").write_text(nested_bomb())
    system.cli("repo", "add", str(repo), "--name", "bombs")
    try:
        yield system.cli
    finally:
        system.cli("repo", "remove", "bombs")


@pytest.mark.timeout(600)
def test_up_against_another_ray_and_a_failing_start(system: System, tmp_path: Path) -> None:
    port = system.port
    again = system.cli("up")
    assert f"Control API at {system.endpoint}" in again.stdout, "`up` again: the same system"
    stranger = Cli(tmp_path / "other-state")
    refused = stranger("up", "--port", str(port), expect=4)
    assert refused.stderr.startswith(f"error: port {port} is taken by another Ray (session_")
    assert "not the one `o2ctl up` started with this state directory" in refused.stderr
    debug = stranger("up", "--port", str(port), expect=4, debug=True)
    assert "Traceback" in debug.stderr, "O2CTL_DEBUG=1 keeps the traceback"

    other = free_port(port + 1)
    failed = stranger("up", "--port", str(other), "--num-cpus", "-5", expect=4)
    assert failed.stderr.startswith("error: ray start failed: ValueError: Resource quantities")
    wait_for(lambda: not gcs_processes(other), 15, "a failed ray start to leave nothing running")
    assert not (tmp_path / "other-state" / "cluster.json").exists()


@pytest.mark.timeout(600)
@pytest.mark.parametrize("workflow", ["bomb", "nested"])
def test_alias_bombs_are_refused_by_the_cli_within_seconds(
    system: System, bombs: Cli, workflow: str
) -> None:
    cli, endpoint = bombs, system.endpoint
    before = {e["env_id"] for e in cli.json("env", "list")}
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
    assert {e["env_id"] for e in cli.json("env", "list")} == before
    assert cli("status").returncode == 0


@pytest.mark.timeout(600)
def test_the_hooks_variables_are_refused_from_the_cli(system: System, tmp_path: Path) -> None:
    cli, endpoint = system.cli, system.endpoint
    before = {e["env_id"] for e in cli.json("env", "list")}
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
    assert victim.is_dir() and {e["env_id"] for e in cli.json("env", "list")} == before


@pytest.mark.timeout(600)
def test_an_iterator_without_roles_warns_in_the_output(system: System) -> None:
    cli, endpoint = system.cli, system.endpoint
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
