"""The head node lost and back: ``o2ctl up --ha --nodes …`` with a run going (issue 21).

HEAVY: one system of its own (a Redis, a supervisor, a Ray head and two farm nodes, free
ports, a private state directory) for every scenario, one after the other:

1. SIGKILL of the head's ``gcs_server`` alone;
2. SIGKILL of ``gcs_server`` and the head's raylet together;
3. SIGKILL of the Redis (Ray's GCS ends with it: both are started again): the environment
   answers with the same run number, and a new environment can be made (the store down
   and refusing changes meanwhile is ``tests/unit/test_config_redis.py``'s: here the GCS is
   down just as long, so no command reaches the store before it is back).

Before: the environment actor and its role actors are on the farm nodes, not on the head.
Right after 2, one ``env list`` says the control plane is restarting (head lost) and then
answers. After 1 and 2: the Control API answers at the address ``up`` printed, the
environment answers in RUNNING, STOP_ACTIVITY reaches every device,
START_ACTIVITY starts a new run, and no device process was restarted (same pids); the time
from the kill to "usable" (``env list`` answers with the environment RUNNING) is printed
with the load average, against the 60 s window the raylets give the GCS. ``doctor`` is
clean at the end, and ``down`` leaves no process of the system (Redis and supervisor too).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from o2ctl.cli.hastore import redis_binary
from o2ctl.cli.supervise import read_status
from occ.processes import SYSTEM_ENV, find_owned
from tests.conftest import wait_for
from tests.e2e.conftest import Cli, free_port

NO_REDIS = "redis-server not installed (Debian's redis-server; see .ci/packages)"
pytestmark = [pytest.mark.ray, pytest.mark.skipif(redis_binary() is None, reason=NO_REDIS)]
PIPELINE = "sampler-processors-sink"
GCS_WINDOW_S = 60.0  # gcs_rpc_server_reconnect_timeout_s: the raylets wait that long


def _usable(cli: Cli, env_id: str) -> bool:
    try:
        envs = json.loads(cli("env", "list", "-o", "json", timeout=60).stdout)
    except (AssertionError, ValueError, OSError, subprocess.SubprocessError):
        return False
    return [(e["env_id"], e["state"]) for e in envs] == [(env_id, "RUNNING")]


def _api_lists(cli: Cli, endpoint: str, env_id: str) -> bool:
    """The Control API answers at ``endpoint`` (restarted by Ray when the head was lost)."""
    try:
        listed = cli("--endpoint", endpoint, "env", "list", "-o", "json", timeout=60).stdout
    except (AssertionError, OSError, subprocess.SubprocessError):
        return False
    return [e["env_id"] for e in json.loads(listed)] == [env_id]


def _run(cli: Cli, env_id: str) -> Any:
    return json.loads(cli("env", "show", env_id, "-o", "json").stdout)["summary"]["run_number"]


def _cycle(cli: Cli, env_id: str, before: int) -> None:
    """STOP_ACTIVITY reaches every device, START_ACTIVITY starts the next run."""
    cli("env", "control", env_id, "-e", "STOP_ACTIVITY")
    cli("env", "control", env_id, "-e", "START_ACTIVITY")
    assert _run(cli, env_id) > before


STATE_QUERY = """
import json, sys
from ray.util.state import list_actors, list_nodes
gcs = sys.argv[1]
heads = [n["node_id"] for n in list_nodes(address=gcs, detail=True) if n["is_head_node"]]
alive = [("state", "=", "ALIVE")]
rows = list_actors(address=gcs, filters=alive, detail=True, limit=10_000)
print(json.dumps({"heads": heads, "actors": [[a["name"], a["node_id"]] for a in rows]}))
"""


def _off_head(gcs: str, env_id: str) -> None:
    """The environment actor and its role actors (node-local and spanning) are on farm
    nodes, not on the head; the environment's tasks span both nodes, so its root role is
    one that spans nodes (Ray's state API on this system's GCS, other Rays run here; in a
    process of its own, sending this machine's Ray token as the CLI does)."""
    env = dict(os.environ)
    if (Path.home() / ".ray" / "auth_token").exists():
        env["RAY_AUTH_MODE"] = "token"
    out = subprocess.run([sys.executable, "-c", STATE_QUERY, gcs], env=env, capture_output=True,
                         text=True, timeout=120, check=True).stdout  # fmt: skip
    found = json.loads(out)
    heads = set(found["heads"])
    mine = {
        name: node
        for name, node in found["actors"]
        if name == f"env:{env_id}" or name.startswith(f"{env_id}:")
    }
    tasks = {node for name, node in mine.items() if "#" in name}
    control = {name: node for name, node in mine.items() if "#" not in name}
    assert len(tasks) >= 2 and f"env:{env_id}" in control and len(control) >= 2, mine
    assert heads and not set(control.values()) & heads, f"on the head {heads}: {control}"


def _lose_head(cli: Cli, state: Path, env_id: str, names: tuple[str, ...]) -> float:
    head = read_status(state / "ha")
    start = time.monotonic()
    for name in names:
        os.kill(head[name]["pid"], signal.SIGKILL)
    if "raylet" in names:  # a command right away: says the control plane is restarting
        now = cli("env", "list", "-o", "json", timeout=GCS_WINDOW_S * 2)
        assert "restarting after a crash (head lost): waiting up to" in now.stderr, now.stderr
        assert [e["state"] for e in json.loads(now.stdout)] == ["RUNNING"]
        print(f"a command right after the kill: {now.stderr.strip()}, answered after "
              f"{time.monotonic() - start:.1f} s")  # fmt: skip
    wait_for(lambda: _usable(cli, env_id), GCS_WINDOW_S * 2, "the environment to answer")
    took = time.monotonic() - start
    print(f"kill {'+'.join(names)} -> usable in {took:.1f} s (load {os.getloadavg()[0]:.1f})")
    return took


@pytest.mark.timeout(1200)
def test_head_lost_run_goes_on(tmp_path: Path) -> None:
    state = tmp_path / "state"
    cli = Cli(state, one_line=False)
    tag = f"{int(time.time() * 1000) % 100000}"
    nodes = f"hflp{tag}a:sync,hflp{tag}b:sync"
    port = free_port(6900)
    system, supervisor = "", 0
    try:
        up = cli("up", "--ha", "--port", str(port), "--dashboard-port", str(free_port(8900)),
                 "--num-cpus", "1", "--console-port", "-1", "--nodes", nodes).stdout  # fmt: skip
        assert "o2ctl is up" in up, up
        api = up.split("Control API at ", 1)[1].split()[0]
        system = (state / "system-id").read_text().strip()
        supervisor = int((state / "ha" / "supervisor.pid").read_text())
        assert "head gcs_server: running" in cli("status").stdout
        created = json.loads(
            cli("env", "create", "-w", PIPELINE, "-e", "nProcessors=1", "-o", "json").stdout
        )
        env_id = created["env_id"]
        cli("env", "control", env_id, "-e", "START_ACTIVITY")
        devices = {p.pid for p in find_owned(env_match=(SYSTEM_ENV, system))}
        devices -= {c["pid"] for c in read_status(state / "ha").values()}
        assert devices
        _off_head(f"127.0.0.1:{port}", env_id)

        for names in (("gcs_server",), ("gcs_server", "raylet")):
            took = _lose_head(cli, state, env_id, names)
            assert took < GCS_WINDOW_S
            _cycle(cli, env_id, _run(cli, env_id))
            wait_for(lambda: _api_lists(cli, api, env_id), GCS_WINDOW_S, "the API where it was")
            alive = {p.pid for p in find_owned(env_match=(SYSTEM_ENV, system))}
            assert devices <= alive, f"device processes restarted: {devices - alive}"

        # Redis killed: Ray's GCS ends with it (measured), the supervisor starts both again;
        # the environment answers with the same run, no record lost, no device restarted.
        # (A change refused while the store is down is the unit test's: here the GCS is down
        # for exactly as long, so no command gets as far as the store.)
        run = _run(cli, env_id)
        redis_pid = read_status(state / "ha")["redis"]["pid"]
        took = _lose_head(cli, state, env_id, ("redis",))
        assert took < GCS_WINDOW_S and read_status(state / "ha")["redis"]["pid"] != redis_pid
        assert _run(cli, env_id) == run
        assert devices <= {p.pid for p in find_owned(env_match=(SYSTEM_ENV, system))}
        second = json.loads(
            cli("env", "create", "-w", PIPELINE, "-e", "nProcessors=1", "-o", "json").stdout
        )
        cli("env", "destroy", second["env_id"])
        assert json.loads(cli("doctor", "-o", "json").stdout)["count"] == 0
    finally:
        if (state / "cluster.json").exists():
            cli("down")
    assert not (state / "ha" / "status.json").exists()
    if system:
        wait_for(lambda: not find_owned(env_match=(SYSTEM_ENV, system)), 30, "nothing left")
    redis_dir = str((state / "redis").resolve())
    assert not [p for p in psutil.process_iter(["name"]) if p.info["name"] == "redis-server"
                and _cwd(p) == redis_dir], "our Redis left running"  # fmt: skip
    assert not supervisor or not psutil.pid_exists(supervisor), "the supervisor left running"


def _cwd(proc: psutil.Process) -> str:
    try:
        return str(proc.cwd())
    except psutil.Error:
        return ""
