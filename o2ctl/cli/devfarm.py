"""A development farm on one machine: extra Ray nodes beside the head that ``o2ctl up`` starts.

``o2ctl up --nodes flp1:sync,flp2:sync,epn1:async`` starts, after the head, one more Ray node
per entry on this machine (``ray start --address HEAD --labels machine_id=…,node_class=…``),
so that placement over several nodes, pilot jobs and reclaiming can be tried on a laptop.
Several raylets on one host must not share fixed ports: each worker node takes random ones
for its dashboard agent and its workers. Each must also speak the head's authentication
mode: ``ray start --head`` turns token authentication on when a token exists (``ray
get-auth-token``), and a worker node started without it is refused by the head.

Pilots run in sessions of their own, so stopping Ray leaves them running: ``down`` ends the
pilots of the cluster it stops, found by the cluster address in their environment
(``actors.pilot.CLUSTER_ENV``), after stopping Ray (so no pilot actor restarts one).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from pathlib import Path

import psutil

from o2ctl.core.farm import FarmError, parse_mode

MAX_NODES = 32
_MACHINE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,62}")
CLUSTER_ENV = "O2CTL_PILOT_CLUSTER"  # as set by actors.pilot (the CLI does not import actors)
PILOT_OWNER = "o2ctl-pilot/"


def parse_nodes(text: str) -> list[tuple[str, str]]:
    """``flp1:sync,flp2,epn1:async`` -> ``[(machine_id, mode), ...]`` (mode default sync)."""
    out: list[tuple[str, str]] = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        machine_id, _, mode = entry.partition(":")
        if not _MACHINE.fullmatch(machine_id):
            raise FarmError(
                f"--nodes entry {entry[:70]!r}: expected MACHINE_ID[:sync|async] with a machine "
                "id of letters, digits, '_', '.', '-' (at most 63)"
            )
        if machine_id in {m for m, _ in out}:
            raise FarmError(f"--nodes names {machine_id} twice")
        out.append((machine_id, parse_mode(mode or "sync", f"--nodes mode of {machine_id}").value))
    if len(out) > MAX_NODES:
        raise FarmError(f"--nodes names {len(out)} nodes: at most {MAX_NODES} on one machine")
    return out


def token_auth() -> bool:
    """Whether ``ray start`` runs with token authentication (Ray 2.60's rule: the mode set
    in ``RAY_AUTH_MODE``, else on whenever a token is available)."""
    mode = os.environ.get("RAY_AUTH_MODE")
    if mode is not None:
        return mode.lower() == "token"
    if os.environ.get("RAY_AUTH_TOKEN"):
        return True
    path = os.environ.get("RAY_AUTH_TOKEN_PATH") or str(Path.home() / ".ray" / "auth_token")
    return Path(path).expanduser().is_file()


def start_node(
    ray_cli: str,
    address: str,
    machine_id: str,
    mode: str,
    num_cpus: int = 1,
    extra_env: dict[str, str] | None = None,
) -> None:
    """One more Ray node on this machine, labelled ``machine_id`` and ``node_class``
    (``extra_env``: what its processes must know, e.g. the durable store of ``up --ha``)."""
    cmd = [ray_cli, "start", "--address", address, "--num-cpus", str(num_cpus)]
    cmd += ["--labels", f"machine_id={machine_id},node_class={mode}"]
    cmd += ["--dashboard-agent-listen-port", "0", "--min-worker-port", "0"]
    cmd += ["--max-worker-port", "0", "--disable-usage-stats"]
    env = dict(os.environ, **(extra_env or {}))
    env["RAY_AUTH_MODE"] = "token" if token_auth() else "disabled"
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, timeout=120)
    if proc.returncode != 0:
        said = (proc.stdout + proc.stderr).strip()[-400:]
        raise RuntimeError(f"ray start of node {machine_id} failed: {said}")


def dashboard_hint(url: str, ray_cli: str) -> str:
    """How to open the dashboard (with token authentication, it asks for the token)."""
    if not token_auth():
        return f"Ray dashboard at {url}"
    return (
        f"Ray dashboard at {url}: it asks for the cluster's token; paste what "
        f"`{ray_cli} get-auth-token` prints (scripts send the header "
        f'"Authorization: Bearer <token>")'
    )


def stop_pilots(address: str, grace_s: float = 10.0) -> int:
    """End every pilot of the cluster at ``address``: SIGTERM, ``grace_s``, SIGKILL."""
    pilots = []
    for proc in psutil.process_iter(["pid"]):
        with contextlib.suppress(psutil.Error):
            env = proc.environ()
            if env.get("O2CTL_OWNER", "").startswith(PILOT_OWNER) and env.get(CLUSTER_ENV) == (
                address
            ):
                pilots.append(proc)
    found = len(pilots)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in pilots:
            with contextlib.suppress(OSError):
                os.killpg(p.pid, sig)  # a pilot leads its own group: its jobs go with it
        _, pilots = psutil.wait_procs(pilots, timeout=grace_s if sig == signal.SIGTERM else 5)
        if not pilots:
            break
    return found
