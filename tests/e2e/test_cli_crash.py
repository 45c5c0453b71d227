"""The CLI after a crash of the control plane, as an operator meets it.

``o2ctl up`` is run from ``/tmp`` beside a directory named ``o2ctl`` (which, put in the
workers' import path, would shadow the package). ``o2ctl up`` again says the system is up
(exit 0); with its controller killed for good, ``o2ctl status`` says so and ``o2ctl up``
starts it again (the Control API follows it). Then an environment runs; the controller's
and the environment actor's workers are SIGKILLed, both at once. ``o2ctl env list`` keeps
answering, ``o2ctl doctor`` finds nothing amiss (exit 0), and ``o2ctl down`` leaves no
process of ours — the task processes the crashed control plane could not stop included.
(One system of its own for both: it is the one e2e test that kills a controller.)
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from o2ctl.demo import PIPELINE
from occ.processes import SYSTEM_ENV, find_owned
from tests.conftest import wait_for
from tests.e2e.conftest import O2CTL, free_port

pytestmark = pytest.mark.ray


@pytest.mark.timeout(600)
def test_up_from_tmp_crash_doctor_down(tmp_path: Path) -> None:
    env = dict(os.environ, O2CTL_STATE_DIR=str(tmp_path / "state"))
    env.pop("RAY_ADDRESS", None)
    workdir = Path(tempfile.mkdtemp(dir="/tmp"))
    (workdir / "o2ctl").mkdir()  # a directory that would shadow the package

    def cli(*args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [O2CTL, *args],
            env=env,
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == expect, f"o2ctl {' '.join(args)}: {proc.stdout}{proc.stderr}"
        assert "Traceback" not in proc.stderr and 'File "' not in proc.stderr
        if expect:
            assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        return proc

    port = free_port(6600)
    try:
        up = cli("up", "--port", str(port), "--dashboard-port", str(free_port(8600))).stdout
        assert "o2ctl is up" in up, up
        again = cli("up", "--port", str(port))
        assert re.search(rf"o2ctl is already up at \S+:{port}: controller ready", again.stdout)
        code = (
            "import ray; from o2ctl.sdk import connect; import json, os; "
            "c = connect(json.load(open(os.environ['O2CTL_STATE_DIR'] + '/cluster.json'))"
            "['address'], start=False); ray.kill(c.controller)"
        )
        subprocess.run([sys.executable, "-c", code], env=env, timeout=120, check=True)
        assert "no o2ctl controller is running" in cli("status", expect=4).stderr
        revived = cli("up")
        assert "already up" in revived.stdout and "controller started again" in revived.stdout
        assert "console: http://127.0.0.1:" in revived.stdout, "the console follows the new API"
        assert json.loads(cli("env", "list", "-o", "json").stdout) == []
        endpoint = re.search(r"Control API at (\S+)", revived.stdout)
        assert endpoint, revived.stdout
        assert cli("--endpoint", endpoint.group(1), "env", "list").returncode == 0

        created = json.loads(
            cli("env", "create", "-w", PIPELINE, "-e", "nProcessors=1", "-o", "json").stdout
        )
        cli("env", "control", created["env_id"], "-e", "START_ACTIVITY")
        system = (tmp_path / "state" / "system-id").read_text().strip()
        ours = find_owned(env_match=(SYSTEM_ENV, system))
        assert len(ours) == 3, ours

        info = json.loads(cli("status", "-o", "json").stdout)
        summary = json.loads(cli("env", "show", created["env_id"], "-o", "json").stdout)["summary"]
        os.kill(info["pid"], signal.SIGKILL)
        os.kill(summary["actor_pid"], signal.SIGKILL)

        def listed() -> Any:
            proc = subprocess.run(
                [O2CTL, "env", "list", "-o", "json"],
                env=env,
                cwd=workdir,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            return proc.returncode == 0 and json.loads(proc.stdout)

        envs: Any = wait_for(listed, 60, "env list to answer after the crash")
        assert [(e["env_id"], e["state"]) for e in envs] == [(created["env_id"], "RUNNING")]
        assert {p.pid for p in find_owned(env_match=(SYSTEM_ENV, system))} == {p.pid for p in ours}
        doctor = json.loads(cli("doctor", "-o", "json").stdout)
        assert doctor["count"] == 0, doctor
    finally:
        cli("down")
    assert find_owned(env_match=(SYSTEM_ENV, system)) == []
