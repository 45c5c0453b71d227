"""The e2e tests' o2ctl: the console script in a subprocess, and one shared ``o2ctl up``.

Starting a system (``o2ctl up``: a Ray of its own, the controller, the Control API) and
stopping it (``o2ctl down``) costs tens of seconds on CI's two cores, so the e2e tests that
do not need a system of their own share one: ``system`` is ``o2ctl up`` on free ports with a
state directory of its own, started by the first test that asks for it and stopped by
``o2ctl down`` right after the last test that uses it (those tests run first, one after
the other: the system must not idle beside a test that starts a Ray of its own, nor beside
the system tests). ``up`` must say "o2ctl is up"; ``down`` must say "stopped" and
leave no process of that system (its Ray by port and session, its task processes) behind.

A test on the shared system leaves it as it found it (it destroys what it creates) and
judges only what it made: environments, tasks and runs relative to what was there before,
or by their ids. Tests that check ``up``/``down`` themselves, a controller crash,
``up --nodes`` or ``up`` against another Ray keep a system of their own (``cli``: a private
state directory, ``down`` at the end if the test did not get there).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from occ.processes import SYSTEM_ENV, find_owned
from tests.conftest import wait_for

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


class Cli:
    """``o2ctl`` with one state directory: each call a process; the exit code is asserted,
    and no error carries a traceback (unless ``debug``: ``O2CTL_DEBUG=1``); a failing
    command with ``one_line`` says so in exactly one line."""

    def __init__(self, state: Path, one_line: bool = True) -> None:
        self.state = state
        self.one_line = one_line
        self.env = dict(os.environ, O2CTL_STATE_DIR=str(state))
        for name in ("RAY_ADDRESS", "O2CTL_RAY_ADDRESS", "O2CTL_DEBUG"):
            self.env.pop(name, None)

    def __call__(
        self, *args: str, expect: int = 0, debug: bool = False, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        env = dict(self.env, O2CTL_DEBUG="1") if debug else self.env
        proc = subprocess.run(
            [O2CTL, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        assert proc.returncode == expect, f"o2ctl {' '.join(args)}: {proc.stdout}{proc.stderr}"
        if not debug:
            assert "Traceback" not in proc.stderr and 'File "' not in proc.stderr
            if expect and self.one_line:
                assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        return proc

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "-o", "json").stdout)


def gcs_processes(port: int, session: str = "") -> list[psutil.Process]:
    """The Ray processes of the GCS on ``port`` (and, given, of the Ray ``session``)."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        line = " ".join(p.info["cmdline"] or [])
        if (
            f"--gcs_server_port={port}" in line
            or re.search(rf"--address=\S*:{port}\b", line)
            or (session and session in line)
        ):
            found.append(p)
    return found


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    """``o2ctl`` with a private state directory, for a test that runs ``up`` itself; ``down``
    at the end if the test stopped before it."""
    run = Cli(tmp_path / "state", one_line=False)
    yield run
    if (tmp_path / "state" / "cluster.json").exists():  # the test stopped before `down`
        run("down", expect=0)


class System:
    """One ``o2ctl up`` shared by the e2e tests (see the module's docstring)."""

    def __init__(self, state: Path) -> None:
        self.cli = Cli(state)
        self.port = free_port(6700)
        self.closed = False
        try:
            up = self.cli(
                "up",
                "--port",
                str(self.port),
                "--dashboard-port",
                str(free_port(8700)),
                "--num-cpus",
                "2",
            )
            assert "o2ctl is up" in up.stdout, up.stdout
            found = re.search(r"Control API at (\S+)", up.stdout)
            assert found, up.stdout
            self.endpoint = found.group(1)
            self.session = json.loads((state / "cluster.json").read_text())["session"]
            self.system_id = (state / "system-id").read_text().strip()
            assert self.session and self.system_id
        except BaseException:  # a half-started system is stopped all the same
            if (state / "cluster.json").exists():
                subprocess.run(
                    [O2CTL, "down"], env=self.cli.env, capture_output=True, timeout=300, check=False
                )
            raise

    def close(self) -> None:
        if self.closed:
            return
        down = self.cli("down")
        self.closed = True
        assert "stopped" in down.stdout, down.stdout
        wait_for(
            lambda: not gcs_processes(self.port, self.session),
            15,
            f"the shared system's Ray (port {self.port}) to be gone",
        )
        assert find_owned(env_match=(SYSTEM_ENV, self.system_id)) == []


_shared: list[System] = []


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """The shared ``o2ctl up`` (see the module's docstring)."""
    shared = System(tmp_path_factory.mktemp("shared-system"))
    _shared.append(shared)
    try:
        yield shared
    finally:
        _shared.remove(shared)
        shared.close()


E2E = Path(__file__).resolve().parent


def _uses_system(item: pytest.Item) -> bool:
    return "system" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The e2e tests on the shared system run one after the other, first (each file's own
    order kept), so that it is up only while they run: never idle beside a test that
    starts a Ray of its own."""
    where = [i for i, item in enumerate(items) if E2E in Path(str(item.path)).resolve().parents]
    mine = [items[i] for i in where]
    grouped = [t for t in mine if _uses_system(t)] + [t for t in mine if not _uses_system(t)]
    for i, item in zip(where, grouped, strict=True):
        items[i] = item


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    """``o2ctl down`` of the shared system right after the last test that uses it."""
    result = yield
    if _shared:
        items = item.session.items
        later = items[items.index(item) + 1 :] if item in items else []
        if not any(_uses_system(t) for t in later):
            _shared[0].close()
    return result
