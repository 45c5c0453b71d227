"""What ``o2ctl up`` finds before it starts anything, and how ``ray start`` failed, in one line.

``up`` must be safe to run again: it is what every other command tells the operator to run
when the controller is gone. So before ``ray start`` it asks two questions. Is *this*
system (the cluster remembered in the state directory, still listening with the same Ray
session) already up? Then there is nothing to start. Is the GCS port taken by something
else (another Ray, or any process)? Then say which, in one line, instead of letting
``ray start`` fail with a traceback. When ``ray start`` fails anyway, its output is reduced
to the error line Ray meant (``ConnectionError: ...``), never the frames around it.
"""

from __future__ import annotations

import contextlib
import re

import psutil

from o2ctl.cli import localray

_ERROR_LINE = re.compile(r"^\s*(?:[\w.]+(?:Error|Exception)|error|ERROR)\b:?\s*(.+)$")
_FRAME = re.compile(r'^\s*(File "|Traceback|\^+\s*$|~+\s*$|During handling|The above exception)')


def this_system(known: dict[str, str] | None) -> str | None:
    """The address of the cluster ``o2ctl up`` started here, when it is still running."""
    if not known or not known.get("address"):
        return None
    session = known.get("session")
    running = localray.session_of(known["address"])
    if running is None or (session and running != session):
        return None  # stopped, or its port now belongs to another Ray: the record is stale
    return known["address"]


def _listener(port: int) -> psutil.Process | bool | None:
    """The process listening on ``port`` (True: someone, not visible to us; None: nobody)."""
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            if not conn.pid:
                return True
            try:
                return psutil.Process(conn.pid)
            except psutil.Error:
                return True
    return None


def port_taken(port: int) -> str | None:
    """One line saying what occupies the GCS ``port`` (another Ray, or which process)."""
    owner = _listener(port)
    if owner is None:
        return None
    hint = "give `o2ctl up` another --port"
    if owner is True or not isinstance(owner, psutil.Process):
        return f"port {port} is already in use by another user's process: {hint}"
    try:
        name, line = owner.name(), " ".join(owner.cmdline())
    except psutil.Error:
        name, line = "?", ""
    session = localray.session_of(f"127.0.0.1:{port}")
    if session or "gcs_server" in name or "gcs_server" in line:
        return (
            f"port {port} is taken by another Ray ({session or 'unknown session'}, "
            f"{name} pid {owner.pid}), not the one `o2ctl up` started with this state "
            f"directory: {hint}, or reach that Ray with --address 127.0.0.1:{port}"
        )
    return f"port {port} is already in use by {name} (pid {owner.pid}): {hint}"


def stop_failed_start(port: int, grace_s: float = 5.0) -> int:
    """End what a failed ``ray start --port PORT`` left running (it can leave its GCS and
    client server behind): the processes of the session now listening on the port, and
    those pointed at any address on that port. The port was free before, so they are ours.
    """
    session = localray.session_of(f"127.0.0.1:{port}")
    pointed = re.compile(rf"--(?:gcs-)?address=\S*:{port}(?:\s|$)")
    procs = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        line = " ".join(proc.info["cmdline"] or [])
        if (session and session in line) or pointed.search(line):
            procs.append(proc)
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs(procs, timeout=grace_s)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(alive, timeout=grace_s)
    return len(procs)


def ray_error(output: str) -> str:
    """The one line of ``ray start``'s output that says what went wrong."""
    lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        found = _ERROR_LINE.match(line)
        if found and not _FRAME.match(line):
            return found.group(0).strip()
    meaningful = [line.strip() for line in lines if not _FRAME.match(line)]
    return meaningful[-1] if meaningful else "no output"
