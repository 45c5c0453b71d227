"""A real ``redis-server`` for tests: our durable configuration, a free port, its own data.

Started from ``o2ctl.cli.hastore.redis_command`` (the very configuration ``up --ha`` runs),
marked as a process of this test run, so the no-orphan guard sees it. ``kill`` is a
SIGKILL (what a crash is); ``start`` again reuses port and data directory, as the
supervisor does. Tests that need it skip, naming it, when Debian's redis-server is missing.
"""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import pytest

from o2ctl.cli.hastore import redis_binary, redis_command, wait_answers
from occ.processes import owned_env
from tests.conftest import free_port

START_TIMEOUT_S = 20.0  # a shared 2-core machine: Redis itself starts in ~50 ms


class RedisServer:
    def __init__(self, data_dir: Path) -> None:
        binary = redis_binary()
        if binary is None:
            pytest.skip("redis-server not installed (Debian's redis-server; see .ci/packages)")
        self.binary = binary
        self.port = free_port()
        self.data_dir = data_dir
        self.proc: subprocess.Popen[bytes] | None = None

    def uri(self, prefix: str = "o2ctl") -> str:
        return f"redis://127.0.0.1:{self.port}/{prefix}"

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            redis_command(self.binary, self.port, self.data_dir),
            env=owned_env("test-redis"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        assert wait_answers(self.port, START_TIMEOUT_S), f"redis on {self.port} did not answer"
        return self

    def kill(self) -> None:
        """SIGKILL and reap: nothing is flushed on the way out."""
        if self.proc is not None:
            with contextlib.suppress(OSError):
                self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()
