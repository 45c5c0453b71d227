"""The Redis that ``o2ctl up --ha`` runs: Ray's GCS state and o2ctl's durable records.

One Redis holds both: Ray's GCS tables (under ``RAY_external_storage_namespace``) and
o2ctl's records and run numbers (under the ``o2ctl`` prefix, see ``config.redis_kv``). It
is run the durable way: ``appendonly yes`` and ``appendfsync always`` (a write is on disk
before Redis answers, so a record o2ctl acknowledged survives a SIGKILL of Redis), no RDB
snapshots, data under the state directory (``<state>/redis``), listening on 127.0.0.1
only. The supervisor (``o2ctl.cli.supervise``) starts it again when it dies, on the same
port and data: it answers again with every record it had acknowledged.
"""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path

REDIS_SERVER = "redis-server"


def redis_binary() -> str | None:
    """Debian's ``redis-server``, or None when it is not installed."""
    return shutil.which(REDIS_SERVER)


def redis_command(binary: str, port: int, data_dir: Path) -> list[str]:
    """The command line of a durable Redis on 127.0.0.1:``port`` keeping ``data_dir``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return [
        binary,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--protected-mode", "yes",
        "--dir", str(data_dir),
        "--appendonly", "yes",
        "--appendfsync", "always",
        "--save", "",
        "--daemonize", "no",
        "--logfile", str(data_dir / "redis.log"),
    ]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers(port: int, timeout: float = 0.5, host: str = "127.0.0.1") -> bool:
    """Whether a Redis on ``host``:``port`` replies to PING."""
    try:
        with socket.create_connection((host, port), timeout) as s:
            s.settimeout(timeout)
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def wait_answers(port: int, timeout: float) -> bool:
    """Poll ``answers`` until it does or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answers(port):
            return True
        time.sleep(0.05)
    return answers(port)
