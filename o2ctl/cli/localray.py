"""The local Ray that ``o2ctl up`` starts, and exactly that one stopped by ``o2ctl down``.

``ray stop`` would stop every Ray on the machine (a notebook's, a test run's); ``down``
stops only the processes of the cluster ``up`` started: those of its session (found from
the process that listens on its GCS port) and those pointed at its GCS address, which
include the extra nodes of a development farm (``up --nodes``, see ``devfarm``), and then
the pilots of that cluster. The address and the farm's nodes are remembered in the state
directory, so later commands reach that cluster without ``--address``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
from pathlib import Path
from typing import Any

import psutil

from o2ctl.cli import devfarm
from o2ctl.config import state_dir

CLUSTER_FILE = "cluster.json"
_SESSION = re.compile(r"session_\d{4}-\d\d-\d\d_[0-9_\-]+")


def _file() -> Path:
    return Path(state_dir()) / CLUSTER_FILE


def remember(address: str, nodes: list[tuple[str, str]] | None = None) -> None:
    path = _file()
    path.parent.mkdir(parents=True, exist_ok=True)
    farm = [{"machine_id": m, "mode": mode} for m, mode in nodes or ()]
    path.write_text(json.dumps({"address": address, "session": session_of(address), "nodes": farm}))


def remembered() -> dict[str, Any] | None:
    try:
        data = json.loads(_file().read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and "address" in data else None


GCS_PROBE_S = 2.0


def gcs_of(target: str) -> str | None:
    """The GCS address a Ray address names ("auto": Ray's own record of the cluster
    started last on this machine, which outlives it); None for ``ray://`` and unknowns."""
    if target.startswith("ray://"):
        return None
    if target == "auto":
        try:
            from ray._private.services import canonicalize_bootstrap_address

            return canonicalize_bootstrap_address("auto")
        except Exception:  # none found: Ray says so itself, at once
            return None
    return target if ":" in target else None


def check_answers(target: str, timeout: float = GCS_PROBE_S) -> None:
    """Refuse at once, naming the address, when no Ray answers there (a system stopped by
    ``o2ctl down`` or gone with its head): Ray itself would retry for a minute."""
    from o2ctl.core.errors import ControlError

    gcs = gcs_of(target)
    if gcs is None:
        return
    host, _, port = gcs.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout):
            return
    except (OSError, ValueError):
        raise ControlError(
            f"no o2ctl system answers at {gcs[:200]} (stopped, or its head node is gone); "
            "start one with `o2ctl up`"
        ) from None


def keep_default_sigterm() -> None:
    """SIGTERM ends this CLI process at once, even while it waits in Ray's own code.

    ``ray.init`` installs a Python handler for SIGTERM, which only runs when the main
    thread returns to Python: a join blocked on a GCS that does not answer would ignore
    ``timeout``, systemd and the shift crew alike. The CLI holds nothing to clean up (the
    control plane does the work), so it keeps the default action."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with contextlib.suppress(Exception):
        import ray._private.utils as ray_utils

        ray_utils.set_sigterm_handler = lambda handler: None


def keep_stdout_clean() -> None:
    """Ray's messages to a driver (a node "marked dead" while the head is lost, …) go to
    stderr: stdout is the command's answer (``-o json`` for scripts). Ray prints the
    cluster's error messages to stdout from a thread of its own (``print_to_stdstream``)."""
    with contextlib.suppress(Exception):
        import ray._private.worker as ray_worker

        original = ray_worker.print_to_stdstream
        if getattr(original, "o2ctl_stderr", False):
            return

        def to_stderr(data: dict[str, Any], ignore_prefix: bool) -> None:
            original({**data, "is_err": True}, ignore_prefix)

        to_stderr.o2ctl_stderr = True  # type: ignore[attr-defined]
        ray_worker.print_to_stdstream = to_stderr


def left_behind(known: dict[str, Any] | None) -> str:
    """When the system this state directory started answers no more (its head gone): which
    of its processes are still running, and that ``o2ctl down`` ends them ("" if none)."""
    from occ.processes import SYSTEM_ENV, find_owned

    pids: set[int] = set()
    with contextlib.suppress(OSError):
        system = (Path(state_dir()) / "system-id").read_text().strip()
        pids |= {p.pid for p in find_owned(env_match=(SYSTEM_ENV, system))} if system else set()
    if known and known.get("address"):
        pids |= {p.pid for p in processes(known["address"], known.get("session"))}
    if not pids:
        return ""
    shown = ", ".join(map(str, sorted(pids)[:12])) + (" …" if len(pids) > 12 else "")
    left = f"{len(pids)} process(es) of this system left running (pids {shown})"
    return f"; {left}: `o2ctl down` ends them"


def forget() -> None:
    _file().unlink(missing_ok=True)


def session_of(address: str) -> str | None:
    """The Ray session of the GCS listening on ``address``'s port (None if none)."""
    port = int(address.rsplit(":", 1)[1])
    for conn in psutil.net_connections(kind="tcp"):
        if (
            conn.status == psutil.CONN_LISTEN
            and conn.laddr
            and conn.laddr.port == port
            and conn.pid
        ):
            try:
                found = _SESSION.search(" ".join(psutil.Process(conn.pid).cmdline()))
            except psutil.Error:
                continue
            if found:
                return found.group(0)
    return None


def processes(address: str, session: str | None) -> list[psutil.Process]:
    marks = [m for m in (session, f"--address={address}", f"--gcs-address={address}") if m]
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        line = " ".join(proc.info["cmdline"] or [])
        if proc.pid != os.getpid() and any(m in line for m in marks):
            found.append(proc)
    return found


def stop(address: str, session: str | None, grace_s: float = 10.0) -> int:
    """SIGTERM the cluster's processes, SIGKILL what is left after ``grace_s``; then its
    pilots (stopped last: no pilot actor is left to start one again)."""
    procs = processes(address, session)
    for p in procs:
        with contextlib.suppress(psutil.Error):
            p.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs(procs, timeout=grace_s)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(alive, timeout=5)
    return len(procs) + devfarm.stop_pilots(address, grace_s)
