"""A pilot job on one node: launch it, watch it, restart it, re-adopt it, stop it.

The logic of the pilot-job actor (``actors.pilot`` wraps it for Ray), in plain asyncio and
psutil so that it is tested with real processes and no cluster. The pilot runs in its own
process group and session (``occ.processes.spawn``) carrying the owner mark
``o2ctl-pilot/<machine_id>``: its jobs inherit both, so the whole pilot is found, signalled
and checked gone by its group and its mark, even after its actor died.

What the actor must know again after a restart lives in a node-local *launch record*
(``<directory>/<machine_id>.json``): the pilot's pid and process start time (a pid alone
may have been reused), when it started, how often it was restarted, and whether it is
wanted running. A restarted actor adopts the pilot the record names when that very process
is still alive, starts a new one when it is gone and wanted, and finishes an interrupted
stop: never a second pilot. A pilot that dies while wanted is restarted (backing off when
it keeps dying at once); each restart is an event in ``status()["events"]``.

Stopping is SIGTERM to the process group, a grace period, then SIGKILL; it is done once
no process of the group and none with the mark is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import psutil

from o2ctl.config.durable import atomic_write
from o2ctl.config.records import check_name
from occ import processes

STATUS_ENV = "O2CTL_PILOT_STATUS"  # the demo pilot writes its jobs done there
POLL_S = 0.05
QUICK_DEATH_S = 30.0  # a pilot dying sooner than this counts towards the back-off
MAX_DELAY_S = 30.0
RESUMED_STOP_GRACE_S = 3.0


def pilot_owner(machine_id: str) -> str:
    """The ``O2CTL_OWNER`` mark of a node's pilot and its jobs."""
    return f"o2ctl-pilot/{machine_id}"


def same_process(pid: int, create_time: float) -> bool:
    """Whether ``pid`` is alive and is the process that started at ``create_time``."""
    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and abs(proc.create_time() - create_time) < 0.5
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False


def group_left(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group ``pgid``."""
    left = []
    for pid in psutil.pids():
        try:
            if os.getpgid(pid) == pgid and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                left.append(pid)
        except (OSError, psutil.Error):
            continue
    return left


def marked_left(owner: str) -> list[int]:
    return [p.pid for p in processes.find_owned(owner) if p.owner == owner]


def _signal(pids: Sequence[int], pgid: int, sig: signal.Signals) -> None:
    if pgid:
        with contextlib.suppress(OSError):
            os.killpg(pgid, sig)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, sig)


class PilotProcess:
    def __init__(
        self,
        machine_id: str,
        command: Sequence[str],
        directory: str,
        env: Mapping[str, str] | None = None,
    ) -> None:
        check_name("machine id", machine_id)
        if not command:
            raise ValueError("the pilot command is empty")
        self.machine_id = machine_id
        self.command = list(command)
        self.env = dict(env or {})
        self.owner = pilot_owner(machine_id)
        folder = Path(directory)
        self.record_path = folder / f"{machine_id}.json"
        self.status_path = folder / f"{machine_id}.status.json"
        self.log_path = folder / f"{machine_id}.log"
        self.incarnation = uuid.uuid4().hex[:12]
        self.state = "idle"  # idle | running | restarting | stopping | stopped | failed
        self.wanted = "stopped"
        self.pid = 0
        self.create_time = 0.0
        self.restarts = 0
        self.error = ""
        self.events: deque[dict[str, Any]] = deque(maxlen=100)
        self._seq = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._watch: asyncio.Task[None] | None = None

    # -- the launch record --------------------------------------------------------------
    def _read_record(self) -> dict[str, Any] | None:
        try:
            value = json.loads(self.record_path.read_text())
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    async def _write_record(self) -> None:
        record = {
            "machine_id": self.machine_id,
            "pid": self.pid,
            "create_time": self.create_time,
            "command": self.command,
            "restarts": self.restarts,
            "wanted": self.wanted,
        }
        await asyncio.to_thread(atomic_write, self.record_path, json.dumps(record))

    def _event(self, what: str, **detail: Any) -> None:
        self._seq += 1
        self.events.append({"seq": self._seq, "time": time.time(), "what": what, **detail})

    # -- lifecycle ----------------------------------------------------------------------
    async def resume(self) -> None:
        """After the actor (re)started: adopt, restart or finish stopping what the record names."""
        record = await asyncio.to_thread(self._read_record)
        if record is None:
            return
        self.restarts = int(record.get("restarts", 0))
        self.pid, self.create_time = int(record.get("pid", 0)), float(record.get("create_time", 0))
        if record.get("wanted") != "running":
            await self.stop(grace_s=RESUMED_STOP_GRACE_S)  # a stop its actor did not finish
            return
        self.wanted = "running"
        if self.pid and same_process(self.pid, self.create_time):
            self.state = "running"
            self._event("adopted", pid=self.pid)
        else:
            self._event("gone", pid=self.pid, why="the pilot ended while its actor was down")
            self.restarts += 1
            await self._launch("restarted", old_pid=self.pid)
        self._watch = asyncio.create_task(self._watch_loop())

    async def start(self) -> dict[str, Any]:
        """Run the pilot (a no-op when it runs); answers the status."""
        if self.wanted == "running" and self.pid:
            return self.status()
        self.wanted = "running"
        await self._launch()
        if self._watch is None or self._watch.done():
            self._watch = asyncio.create_task(self._watch_loop())
        return self.status()

    async def _launch(self, what: str = "started", **detail: Any) -> None:
        async with self._lock:
            if self.wanted != "running":
                return
            self.status_path.parent.mkdir(parents=True, exist_ok=True)
            self.status_path.unlink(missing_ok=True)
            try:
                self._proc = await processes.spawn(
                    self.command,
                    owner=self.owner,
                    env={**self.env, STATUS_ENV: str(self.status_path)},
                    stdout_path=str(self.log_path),
                    stderr_path=str(self.log_path),
                )
            except OSError as exc:
                self.state, self.error, self.pid = (
                    "failed",
                    f"cannot start {self.command[0]}: {exc}",
                    0,
                )
                self._event("failed", error=self.error)
                await self._write_record()
                return
            self.pid = self._proc.pid
            try:
                self.create_time = psutil.Process(self.pid).create_time()
            except psutil.NoSuchProcess:  # gone at once: the watch sees it end and restarts
                self.create_time = 0.0
            self.state, self.error = "running", ""
            self._event(what, pid=self.pid, restarts=self.restarts, **detail)  # with the pid
            await self._write_record()

    async def _wait_exit(self) -> str:
        """Until the pilot process ends; how it ended."""
        proc = self._proc
        if proc is not None and proc.pid == self.pid:
            rc = await proc.wait()
            return processes_exit(rc)
        while True:  # not our child (adopted): watch it by its pid and start time
            if not same_process(self.pid, self.create_time):
                return "ended"
            await asyncio.sleep(POLL_S * 4)

    async def _watch_loop(self) -> None:
        delay = 0.5
        while self.wanted == "running":
            if self.state == "failed":
                how, lived = self.error, 0.0
                self._event("retry", error=self.error)
            else:
                t0 = time.monotonic()
                how = await self._wait_exit()
                lived = time.monotonic() - t0
            if self.wanted != "running":
                return
            delay = 0.5 if lived > QUICK_DEATH_S else min(MAX_DELAY_S, delay * 2)
            old = self.pid
            self.state, self.restarts = "restarting", self.restarts + 1
            if old:
                self._event("died", pid=old, how=how, restart_in=delay)
            await asyncio.sleep(delay)
            await self._launch("restarted", old_pid=old, how=how)

    async def stop(self, grace_s: float = 10.0) -> dict[str, Any]:
        """SIGTERM to the group, ``grace_s``, then SIGKILL; returns once nothing is left."""
        self.wanted = "stopped"
        async with self._lock:
            await self._write_record()
            if self._watch is not None:
                self._watch.cancel()
            marked = await asyncio.to_thread(marked_left, self.owner)
            if self.pid or marked:
                self.state = "stopping"
                ended = await self._end(grace_s)
                if self._proc is not None:
                    with contextlib.suppress(TimeoutError, ProcessLookupError):
                        await asyncio.wait_for(self._proc.wait(), 5.0)
                self._event("stopped", pid=self.pid, how=ended)
            self.pid, self.create_time, self._proc, self.state = 0, 0.0, None, "stopped"
            await self._write_record()
        return self.status()

    async def _end(self, grace_s: float) -> str:
        """End every process of the pilot: its group (when its leader is verified ours) and
        every process with its mark. Returns the signal that did it."""
        pgid = self.pid if self.pid and same_process(self.pid, self.create_time) else 0

        def left() -> list[int]:
            marked = marked_left(self.owner)
            return sorted(set(marked) | set(group_left(pgid) if pgid else ()))

        for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
            _signal(await asyncio.to_thread(left), pgid, sig)
            deadline = time.monotonic() + wait
            while still := await asyncio.to_thread(left):
                if time.monotonic() >= deadline:
                    break
                await asyncio.sleep(POLL_S)
            if not still:
                return sig.name
        raise RuntimeError(f"pilot of {self.machine_id}: processes {still} survived SIGKILL")

    # -- reading ------------------------------------------------------------------------
    def jobs(self) -> int | None:
        try:
            record = json.loads(self.status_path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("pid") != self.pid:
            return None
        jobs = record.get("jobs")
        return jobs if isinstance(jobs, int) else None

    def status(self) -> dict[str, Any]:
        return {
            "machine_id": self.machine_id,
            "state": self.state,
            "pid": self.pid or None,
            "since": self.create_time or None,
            "jobs": self.jobs() if self.pid else None,
            "restarts": self.restarts,
            "error": self.error,
            "log": str(self.log_path),
            "incarnation": self.incarnation,
            "events": list(self.events),
        }


def processes_exit(rc: int) -> str:
    if rc < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-rc).name}"
        return f"killed by signal {-rc}"
    return f"exited with code {rc}"
