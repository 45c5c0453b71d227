"""``o2ctl up --ha``: a head that comes back, and ``down`` ending all of it.

Without ``--ha`` nothing here runs. With it, ``up``:

1. starts the system's Redis (``hastore``: durable, data in ``<state>/redis``), or uses an
   existing one (``--redis HOST:PORT``, a real farm's);
2. runs ``ray start --head`` with Ray's GCS fault tolerance on that Redis
   (``RAY_REDIS_ADDRESS``, ``RAY_external_storage_namespace`` = this system's id) and
   ``O2CTL_RUNTIME_STORE=redis://…/o2ctl``, so that the controller keeps its durable
   records and run numbers there, where a controller restarted on any node finds them;
3. starts the supervisor (``supervise``) over the head's processes: Redis (when ours),
   ``gcs_server`` (started again with the very argv and environment ``ray start`` gave
   it: the GCS reloads its tables from Redis and every raylet reconnects within
   ``gcs_rpc_server_reconnect_timeout_s``) and the head's raylet (a new raylet joins the
   GCS: the old one's node id is dead to the GCS, and the actors that were on it are
   restarted by Ray where it puts them).

``down`` calls ``stop`` first: the supervisor ends before Ray is stopped (else it would
start what ``down`` stops), and Redis after Ray (nothing writes to it any more).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psutil

from o2ctl.cli import hastore
from o2ctl.cli.supervise import read_status
from o2ctl.core.errors import ControlError
from o2ctl.core.placement import HEAD_LABEL

HA_DIR = "ha"
SPEC_FILE = "spec.json"
PID_FILE = "supervisor.pid"
START_TIMEOUT_S = 30.0
RECORDS_PREFIX = "o2ctl"


def ha_dir(state: Path) -> Path:
    return state / HA_DIR


def unmarked(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without our process marks: the supervisor and what it starts (Redis, the
    GCS, a raylet) are the system's infrastructure, not processes the control plane owns;
    marked, ``shutdown`` and ``doctor --clean`` would end the GCS under their own feet."""
    from occ.processes import OWNER_ENV, SYSTEM_ENV

    return {k: v for k, v in env.items() if k not in (OWNER_ENV, SYSTEM_ENV)}


def start_store(state: Path, port: int, system: str) -> int:
    """Start this system's Redis on 127.0.0.1:``port``; its pid. Refuses without Redis."""
    binary = hastore.redis_binary()
    if binary is None:
        raise ControlError(
            "up --ha needs Debian's redis-server (apt-get install redis-server), "
            "or an existing Redis given with --redis HOST:PORT"
        )
    if hastore.answers(port):
        raise ControlError(f"a Redis already answers on 127.0.0.1:{port}: give --redis-port")
    proc = subprocess.Popen(
        hastore.redis_command(binary, port, state / "redis"),
        env=unmarked(os.environ),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    if not hastore.wait_answers(port, START_TIMEOUT_S):
        proc.kill()
        raise ControlError(f"redis-server did not answer on 127.0.0.1:{port} (see {state}/redis)")
    return proc.pid


def ray_env(redis_address: str, system: str) -> dict[str, str]:
    """The environment of ``ray start --head`` (and so of every process under the head)."""
    return {
        "RAY_REDIS_ADDRESS": redis_address,
        "RAY_external_storage_namespace": f"o2ctl-{system}",
        "O2CTL_RUNTIME_STORE": f"redis://{redis_address}/{RECORDS_PREFIX}",
    }


def _head_processes(session: str) -> tuple[psutil.Process, psutil.Process]:
    gcs = raylet = None
    for proc in psutil.process_iter(["name", "cmdline"]):
        line = " ".join(proc.info["cmdline"] or [])
        if session not in line:
            continue
        if proc.info["name"] == "gcs_server":
            gcs = proc
        elif proc.info["name"] == "raylet" and "--head" in proc.info["cmdline"]:
            raylet = proc
    if gcs is None or raylet is None:
        raise ControlError(f"ray start --head left no gcs_server or raylet in {session}")
    return gcs, raylet


def supervise(
    state: Path, address: str, session: str, ray_cli: str, store: dict[str, Any] | None
) -> int:
    """Start the supervisor over the head's processes; its pid."""
    gcs, raylet = _head_processes(session)
    rejoin = [ray_cli, "start", "--address", address, "--disable-usage-stats"]
    rejoin += ["--dashboard-agent-listen-port", "0", "--min-worker-port", "0"]
    rejoin += ["--max-worker-port", "0", "--labels", f"{HEAD_LABEL}=1"]
    children: list[dict[str, Any]] = []
    if store:
        children.append(store)
    children.append({"name": "gcs_server", "pid": gcs.pid, "argv": gcs.cmdline(),
                     "env": unmarked(gcs.environ())})  # fmt: skip
    children.append({"name": "raylet", "pid": raylet.pid, "argv": rejoin, "oneshot": True,
                     "match": f"{session}/sockets/raylet", "match_name": "raylet",
                     "env": unmarked(raylet.environ())})  # fmt: skip
    directory = ha_dir(state)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / SPEC_FILE).write_text(json.dumps(children))
    proc = subprocess.Popen(
        [sys.executable, "-m", "o2ctl.cli.supervise", str(directory / SPEC_FILE)],
        env=unmarked(os.environ),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    (directory / PID_FILE).write_text(f"{proc.pid}\n")
    return proc.pid


def stop_supervisor(state: Path, grace_s: float = 10.0) -> bool:
    """End the supervisor (before Ray is stopped); whether one was running."""
    try:
        pid = int((ha_dir(state) / PID_FILE).read_text())
        proc = psutil.Process(pid)
    except (OSError, ValueError, psutil.Error):
        return False
    with contextlib.suppress(psutil.Error):
        proc.send_signal(signal.SIGTERM)
        proc.wait(grace_s)
    with contextlib.suppress(psutil.Error):
        proc.kill()
    (ha_dir(state) / PID_FILE).unlink(missing_ok=True)
    return True


def stop_store(state: Path) -> list[int]:
    """End what the supervisor last ran and Ray's stop did not (our Redis): their pids."""
    ended = []
    data = str((state / "redis").resolve())  # our Redis runs in its data directory (--dir); Redis
    for proc in psutil.process_iter(["name"]):  # rewrites its environ: no mark to go by
        with contextlib.suppress(psutil.Error):
            if proc.info["name"] != hastore.REDIS_SERVER or proc.cwd() != data:
                continue
            proc.terminate()
            try:
                proc.wait(10)
            except psutil.TimeoutExpired:
                proc.kill()
            ended.append(proc.pid)
    (ha_dir(state) / "status.json").unlink(missing_ok=True)
    (ha_dir(state) / "store.json").unlink(missing_ok=True)
    return ended


def describe(state: Path) -> list[str]:
    """``status`` lines: each supervised process, and what is restarting now."""
    lines = []
    for name, child in sorted(read_status(ha_dir(state)).items()):
        restarts = child.get("restarts", 0)
        lines.append(f"head {name}: {child.get('state')} (pid {child.get('pid')}, "
                     f"{restarts} restart{'s' if restarts != 1 else ''})")  # fmt: skip
    return lines


def prepare(state: Path, redis: str | None) -> tuple[dict[str, str], dict[str, Any] | None]:
    """Before ``ray start --head``: the Redis (ours started, or ``redis`` checked), the
    environment Ray must run with, and the supervisor's entry for our Redis (None: theirs)."""
    from actors.books import system_id

    system = system_id(str(state))
    if redis:
        host, _, given = redis.rpartition(":")
        if not host or not given.isdigit() or not hastore.answers(int(given), host=host):
            raise ControlError(f"--redis {redis[:100]!r}: no Redis answers there (HOST:PORT)")
        return ray_env(redis, system), None
    port = hastore.free_port()
    pid = start_store(state, port, system)
    binary = hastore.redis_binary() or hastore.REDIS_SERVER
    child = {"name": "redis", "pid": pid,
             "argv": hastore.redis_command(binary, port, state / "redis")}  # fmt: skip
    address = f"127.0.0.1:{port}"
    (ha_dir(state)).mkdir(parents=True, exist_ok=True)
    (ha_dir(state) / "store.json").write_text(json.dumps({"redis": address, "pid": pid}))
    return ray_env(address, system), child


def runtime_env_of(state: Path) -> dict[str, str]:
    """The store environment a farm node's processes need (empty without ``--ha``)."""
    try:
        address = json.loads((ha_dir(state) / "store.json").read_text())["redis"]
    except (OSError, ValueError, KeyError):
        return {}
    return {"O2CTL_RUNTIME_STORE": f"redis://{address}/{RECORDS_PREFIX}"}
