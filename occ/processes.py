"""Processes o2ctl starts, and how it stops them.

Every process the control system launches (devices under test, task processes of task
actors) carries the environment variable ``O2CTL_OWNER`` naming who started it. That mark
is how a test, an operator (``o2ctl task clean``) or a restarted control plane finds every
process of ours, even one re-parented to init after its actor died: nothing is left alive
silently. Stopping follows the AliECS escalation: SIGTERM, then SIGINT, then SIGKILL, each
after a grace period.

This module is plain asyncio + psutil (no Ray, no gRPC) so that the task actor, the tests
and the CLI share one implementation.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import psutil

OWNER_ENV = "O2CTL_OWNER"
"""Environment variable marking a process as started by o2ctl; its value names the owner."""

SYSTEM_ENV = "O2CTL_SYSTEM"
"""Environment variable naming the o2ctl system (one per state directory) a process is of:
two systems on one host never mistake each other's processes for their own."""

DEFAULT_GRACE_S = 3.0


@dataclass(frozen=True)
class OwnedProcess:
    """A live process carrying the o2ctl mark."""

    pid: int
    owner: str
    cmdline: str


def owned_env(owner: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a process started on behalf of ``owner``."""
    env = dict(os.environ)
    if extra:
        env.update(extra)
    env[OWNER_ENV] = owner
    return env


def find_owned(
    owner_prefix: str = "", *, env_match: tuple[str, str] | None = None
) -> list[OwnedProcess]:
    """Every live process marked as ours whose owner starts with ``owner_prefix``
    (and, with ``env_match=(NAME, VALUE)``, whose environment has NAME=VALUE)."""
    found: list[OwnedProcess] = []
    for proc in psutil.process_iter(["pid", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            environ = proc.environ()
            owner = environ.get(OWNER_ENV)
            if owner is None or not owner.startswith(owner_prefix):
                continue
            if env_match is not None and environ.get(env_match[0]) != env_match[1]:
                continue
            found.append(OwnedProcess(proc.pid, owner, " ".join(proc.cmdline())))
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


async def spawn(
    argv: Sequence[str] | str,
    *,
    owner: str,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    shell: bool = False,
    stdout_path: str | None = None,
    stderr_path: str | None = None,
) -> asyncio.subprocess.Process:
    """Start a marked process in its own session (so that a kill reaches its children)."""
    # Opening a log file for append is a local, non-blocking metadata operation.
    out = open(stdout_path, "ab") if stdout_path else asyncio.subprocess.DEVNULL  # noqa: SIM115, ASYNC230
    err = open(stderr_path, "ab") if stderr_path else asyncio.subprocess.DEVNULL  # noqa: SIM115, ASYNC230
    try:
        kwargs = dict(
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=owned_env(owner, env),
            cwd=cwd,
            start_new_session=True,
        )
        if shell:
            cmd = argv if isinstance(argv, str) else " ".join(argv)
            return await asyncio.create_subprocess_shell(cmd, **kwargs)  # type: ignore[arg-type]
        args = [argv] if isinstance(argv, str) else list(argv)
        return await asyncio.create_subprocess_exec(*args, **kwargs)  # type: ignore[arg-type]
    finally:
        for f in (out, err):
            if not isinstance(f, int):
                f.close()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


async def _gone(pid: int, timeout: float) -> bool:
    """Wait until ``pid`` has exited (reaped or zombie), at most ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            proc = psutil.Process(pid)
            if proc.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.02)


async def wait_gone(pid: int) -> None:
    """Wait until ``pid`` (not necessarily our child: an adopted process) has exited.

    A pidfd (Linux ≥ 5.3) wakes us the moment the process ends, with no polling; where
    there is none, psutil is asked every 20 ms.
    """
    loop = asyncio.get_running_loop()
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        await _gone(pid, float("inf"))
        return
    ended: asyncio.Future[None] = loop.create_future()

    def _readable() -> None:
        if not ended.done():
            ended.set_result(None)

    loop.add_reader(fd, _readable)
    try:
        await ended
    finally:
        loop.remove_reader(fd)
        os.close(fd)


async def terminate(
    pid: int,
    grace_s: float = DEFAULT_GRACE_S,
    process: asyncio.subprocess.Process | None = None,
) -> str:
    """Stop the process group led by ``pid``: SIGTERM, SIGINT, then SIGKILL.

    Returns the name of the signal that ended it (or ``"gone"`` if it had already exited).
    When ``process`` (our own child) is given it is reaped, leaving no zombie.
    """
    if await _gone(pid, 0):
        result = "gone"
    else:
        result = "SIGKILL"
        for sig in (signal.SIGTERM, signal.SIGINT):
            _signal_group(pid, sig)
            if await _gone(pid, grace_s):
                result = sig.name
                break
        else:
            _signal_group(pid, signal.SIGKILL)
            await _gone(pid, 5.0)
    # Leftovers of the group (children of a shell) go too.
    _signal_group(pid, signal.SIGKILL)
    if process is not None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), 5.0)
    return result


def kill_owned_sync(owner_prefix: str, sig: signal.Signals = signal.SIGKILL) -> list[int]:
    """Kill every process of ours under ``owner_prefix`` now (used by clean-up paths)."""
    pids = []
    for p in find_owned(owner_prefix):
        _signal_group(p.pid, sig)
        pids.append(p.pid)
    return pids
