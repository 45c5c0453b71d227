"""The operator's path through the CLI, as a new user would take it from the README.

``o2ctl up`` starts a Ray of its own (on free ports, beside the test session's), every
command is a separate process that reaches it, and ``o2ctl down`` stops exactly that Ray.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest

from o2ctl.demo import PIPELINE

pytestmark = pytest.mark.ray

O2CTL = os.path.join(os.path.dirname(sys.executable), "o2ctl")


def free_port(start: int) -> int:
    """A port free on every interface, below the ephemeral range (where Ray's own
    components bind their random ports: a GCS put there can collide with one of them)."""
    for port in range(start, start + 200):
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {start}-{start + 200}")


@pytest.fixture
def cli(tmp_path: Path) -> Any:
    env = dict(os.environ, O2CTL_STATE_DIR=str(tmp_path / "state"))
    env.pop("RAY_ADDRESS", None)
    env.pop("O2CTL_RAY_ADDRESS", None)

    def run(*args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [O2CTL, *args], env=env, capture_output=True, text=True, timeout=600, check=False
        )
        assert proc.returncode == expect, f"o2ctl {' '.join(args)}: {proc.stdout}{proc.stderr}"
        assert "Traceback" not in proc.stderr
        return proc

    yield run
    if (tmp_path / "state" / "cluster.json").exists():  # the test stopped before `down`
        run("down", expect=0)


@pytest.mark.timeout(600)
def test_up_create_show_control_destroy_down(cli: Any) -> None:
    port = free_port(6400)
    up = cli("up", "--port", str(port), "--dashboard-port", str(free_port(8400)), "--num-cpus", "2")
    assert "o2ctl is up" in up.stdout
    created = json.loads(
        cli("env", "create", "-w", PIPELINE, "-e", "nProcessors=1", "-o", "json").stdout
    )
    env_id = created["env_id"]
    assert created["state"] == "CONFIGURED"
    listed = json.loads(cli("env", "list", "-o", "json").stdout)
    assert [e["env_id"] for e in listed] == [env_id]

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

    endpoint = re.search(r"Control API at (\S+)", up.stdout)
    assert endpoint, up.stdout
    remote = json.loads(cli("--endpoint", endpoint.group(1), "env", "list", "-o", "json").stdout)
    assert [e["state"] for e in remote] == ["RUNNING"], "the same system, over the Control API"
    dry = cli("env", "modify", env_id, "-e", "nProcessors=2", "--dry-run").stdout
    assert "would change (dry run)" in dry and f"+ {PIPELINE}.processor2" in dry, dry
    over_api = json.loads(
        cli(
            "--endpoint",
            endpoint.group(1),
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
    tasks = json.loads(cli("task", "list", "-o", "json").stdout)
    assert {t["env_id"] for t in tasks} == {env_id} and len(tasks) == 4
    assert {t["state"] for t in tasks} == {"RUNNING"}
    pids = [t["pid"] for t in tasks]
    cli("env", "destroy", env_id, "-a")
    assert json.loads(cli("env", "list", "-o", "json").stdout) == []
    assert not any(psutil.pid_exists(p) for p in pids)
    down = cli("down")
    assert "stopped" in down.stdout
    assert not [
        p
        for p in psutil.process_iter(["cmdline"])
        if f"--gcs_server_port={port}" in " ".join(p.info["cmdline"] or [])
    ]
