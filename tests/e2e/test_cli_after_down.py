"""Issue 19, case 5: read commands against a system that is not there answer at once.

After ``o2ctl down`` (or with the head gone) the CLI still remembers the address of the
system it started, and Ray's own ``auto`` record outlives the cluster too; joining a GCS
that is gone makes Ray retry for a minute. Every read command must instead say, within a
few seconds and in one line naming the address, that no system answers there (exit 4).
The remembered system here is a state directory naming a port nothing listens on: what
``o2ctl down`` or a lost head leaves behind, without starting a Ray to stop it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

O2CTL = str(Path(sys.executable).with_name("o2ctl"))
READS = (["env", "list"], ["status"], ["doctor"], ["doctor", "--clean"], ["task", "list"])


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: nothing listens there


@pytest.mark.parametrize("args", READS, ids=" ".join)
def test_a_read_command_after_down_answers_at_once(tmp_path: Path, args: list[str]) -> None:
    state = tmp_path / "state"
    state.mkdir()
    address = f"127.0.0.1:{dead_port()}"
    (state / "cluster.json").write_text(json.dumps({"address": address, "nodes": []}))
    env = dict(os.environ, O2CTL_STATE_DIR=str(state))
    env.pop("RAY_ADDRESS", None)
    env.pop("O2CTL_RAY_ADDRESS", None)
    t0 = time.monotonic()
    proc = subprocess.run(
        [O2CTL, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    took = time.monotonic() - t0
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert f"no o2ctl system answers at {address}" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert took < 15, f"o2ctl {' '.join(args)} took {took:.1f}s"


def test_sigterm_ends_a_command_stuck_joining_ray(tmp_path: Path) -> None:
    """A port that accepts connections and never answers (a hung head): the probe passes,
    Ray's join blocks in its own code, and SIGTERM must still end the command at once."""
    state = tmp_path / "state"
    state.mkdir()
    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen(16)
        address = f"127.0.0.1:{mute.getsockname()[1]}"
        (state / "cluster.json").write_text(json.dumps({"address": address, "nodes": []}))
        env = dict(os.environ, O2CTL_STATE_DIR=str(state))
        env.pop("RAY_ADDRESS", None)
        proc = subprocess.Popen(
            [O2CTL, "env", "list"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            with pytest.raises(subprocess.TimeoutExpired):
                proc.wait(timeout=4)  # stuck in Ray's join, as it would be for a minute
            proc.terminate()
            t0 = time.monotonic()
            proc.wait(timeout=5)
            assert time.monotonic() - t0 < 3
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, 9)
                proc.wait()
