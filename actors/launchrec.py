"""Launch records: how a restarted task actor finds its process again.

A task actor writes one small JSON file per task on its own node, under the state
directory (``launch/<task id>.json``), as soon as its process exists and again whenever
the task changes hands (attached to an environment, detached into the idle pool). It holds
the launch request (command, control port, flavour, log file), the process's pid and its
start time, and who the task belongs to. When Ray restarts the actor (its worker died),
the new actor reads the record and re-adopts the process: same pid *and* same start time,
so a pid the kernel has since given to another program is never mistaken for ours.

The record lives on the node, beside the process it describes: if the node is lost, both
go together. Plain files and psutil; callers on an event loop go through a thread.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from o2ctl.config.durable import atomic_write

LAUNCH_DIR = "launch"
START_TIME_SLACK_S = 0.05


@dataclass
class LaunchRecord:
    task_id: str
    request: dict[str, Any]  # actors.task.LaunchRequest, as a dict
    pid: int
    started: float  # the process's start time (psutil create_time)
    env_id: str = ""
    role_path: str = ""
    env_actor: str = ""  # the environment actor's name ("" when idle)
    epoch: int = 0  # how many times an actor has re-adopted this process
    extra: dict[str, Any] = field(default_factory=dict)


def record_path(state_dir: str, task_id: str) -> Path:
    if not task_id or "/" in task_id or task_id.startswith("."):
        raise ValueError(f"bad task id {task_id!r}")
    return Path(state_dir) / LAUNCH_DIR / f"{task_id}.json"


def write(state_dir: str, rec: LaunchRecord) -> None:
    atomic_write(record_path(state_dir, rec.task_id), json.dumps(asdict(rec)))


def read(state_dir: str, task_id: str) -> LaunchRecord | None:
    try:
        raw = json.loads(record_path(state_dir, task_id).read_text())
    except (OSError, ValueError):
        return None
    try:
        return LaunchRecord(**raw)
    except TypeError:
        return None


def remove(state_dir: str, task_id: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        record_path(state_dir, task_id).unlink()


def all_records(state_dir: str) -> list[LaunchRecord]:
    out = []
    folder = Path(state_dir) / LAUNCH_DIR
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        rec = read(state_dir, path.stem)
        if rec is not None:
            out.append(rec)
    return out


def start_time(pid: int) -> float | None:
    """The start time of process ``pid`` (None when there is no such live process)."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return float(proc.create_time())
    except psutil.Error:
        return None


def is_same_process(pid: int, started: float) -> bool:
    """Whether ``pid`` is still the process that started at ``started``."""
    now = start_time(pid)
    return now is not None and abs(now - started) <= START_TIME_SLACK_S


def reused(pid: int, started: float) -> bool:
    """Whether ``pid`` now names another program than the one that started at ``started``
    (ours ended and the kernel gave its pid away): such a process is never signalled."""
    now = start_time(pid)
    return now is not None and abs(now - started) > START_TIME_SLACK_S


def process_tree(pid: int) -> set[int]:
    """``pid`` and all its descendants (a shell-wrapped command answers from a child)."""
    try:
        proc = psutil.Process(pid)
        return {pid, *(c.pid for c in proc.children(recursive=True))}
    except psutil.Error:
        return {pid}


def listens_on(pids: set[int], port: int) -> bool:
    """Whether one of ``pids`` holds a listening TCP socket on ``port``."""
    for pid in pids:
        try:
            conns = psutil.Process(pid).net_connections(kind="tcp")
        except psutil.Error:
            continue
        if any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port for c in conns):
            return True
    return False
