"""TaskActor: one per task; it owns one process and drives it over OCC.

What flows through: a ``LaunchRequest`` (the exact argv/env from ``o2ctl.core.launch``, the
control port, log file, timeouts) starts the process; OCC events from the environment come
in through ``transition`` and go out over gRPC through one reused ``ProcessController``
(``occ.client``); what the process does by itself (a crash, the end of its run, an internal
error) comes back through the controller's watch and the process's exit, and is reported
upward, to the parent role (aggregation) and to the environment (events), without polling.

The hot path is ``transition``: one await on the gRPC call, a tuple back. Reports during a
commanded transition are not sent separately: the environment learns the outcome from the
reply. Nothing here blocks the event loop; every wait has a deadline.

A task may outlive its environment (the idle pool): ``attach`` hands it to a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from typing import Any

import ray

from actors.naming import process_owner
from o2ctl.core.states import TaskState, task_state
from occ import processes
from occ.client import OccError, make_controller

LOG_TAIL_BYTES = 600


@dataclass(frozen=True)
class LaunchRequest:
    task_id: str
    task_class: str
    role_path: str
    env_id: str
    control_mode: str
    argv: tuple[str, ...]
    env: dict[str, str]
    flavour: str
    controlled: bool
    control_port: int | None
    log_path: str
    host: str
    start_timeout_s: float = 30.0
    critical: bool = True


def _tail(path: str) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - LOG_TAIL_BYTES))
            text = f.read().decode(errors="replace").strip()
    except OSError:
        return ""
    return text.splitlines()[-1] if text else ""


def _tool_path(path: str) -> str:
    """PATH with the control system's own bin directory first (its devices live there)."""
    own = os.path.dirname(sys.executable)
    return path if path.split(os.pathsep)[0] == own else os.pathsep.join([own, path])


def describe_exit(rc: int) -> str:
    if rc < 0:
        try:
            return f"killed by {signal.Signals(-rc).name}"
        except ValueError:
            return f"killed by signal {-rc}"
    return f"exited with code {rc}"


class TaskRuntime:
    """The logic of a task actor (Ray wraps it as ``TaskActor``)."""

    def __init__(self, task_id: str, host: str) -> None:
        self.task_id = task_id
        self.host = host or socket.gethostname()
        self.req: LaunchRequest | None = None
        self.env_id = ""
        self.role_path = ""
        self.parent: Any = None
        self.env: Any = None
        self.state = TaskState.UNKNOWN
        self.version = 0
        self.error = ""
        self.pid = 0
        self.exit_code: int | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._ctl: Any = None
        self._commanded = False
        self._command = asyncio.Lock()  # one OCC exchange at a time with the process
        self._exiting = False
        self._bg: list[asyncio.Task[None]] = []

    def __repr__(self) -> str:
        return f"Task({self.role_path or 'idle'}#{self.task_id})"

    # -- naming and reporting -------------------------------------------------------
    def _who(self) -> str:
        return f"task {self.role_path or '?'} ({self.task_id}) on {self.host}"

    def _set(self, state: TaskState, error: str = "", report: bool = False) -> None:
        if state == self.state and not error:
            return
        self.state, self.version = state, self.version + 1
        if error:
            self.error = error
        if report:
            self._report()

    def _report(self) -> None:
        detail = {"pid": self.pid, "error": self.error, "task_id": self.task_id}
        if self.parent is not None:
            self.parent.child_changed.remote(self.role_path, self.state.value, self.version)
        if self.env is not None:
            self.env.task_changed.remote(self.role_path, self.state.value, self.version, detail)

    def attach(self, env_id: str, role_path: str, parent: Any, env: Any) -> dict[str, Any]:
        self.env_id, self.role_path, self.parent, self.env = env_id, role_path, parent, env
        return self.snapshot()

    def detach(self) -> dict[str, Any]:
        self.env_id, self.role_path, self.parent, self.env = "", "", None, None
        return self.snapshot()

    def snapshot(self) -> dict[str, Any]:
        req = self.req
        return {
            "task_id": self.task_id,
            "task_class": req.task_class if req else "",
            "role_path": self.role_path,
            "env_id": self.env_id,
            "host": self.host,
            "pid": self.pid,
            "state": self.state.value,
            "version": self.version,
            "error": self.error,
            "control_port": req.control_port if req else None,
            "control_mode": req.control_mode if req else "",
            "log_path": req.log_path if req else "",
            "command": " ".join(req.argv) if req else "",
            "exit_code": self.exit_code,
        }

    # -- launch ---------------------------------------------------------------------
    async def launch(self, req: LaunchRequest) -> dict[str, Any]:
        """Start the process and wait until it answers (controlled) or runs (basic)."""
        self.req, self.env_id, self.role_path = req, req.env_id, req.role_path
        os.makedirs(os.path.dirname(req.log_path), exist_ok=True)
        env = {**req.env, "PATH": _tool_path(req.env.get("PATH", os.environ.get("PATH", "")))}
        self._proc = await processes.spawn(
            list(req.argv),
            owner=process_owner(self.task_id),
            env=env,
            stdout_path=req.log_path,
            stderr_path=req.log_path,
        )
        self.pid = self._proc.pid
        self._bg.append(asyncio.create_task(self._watch_exit()))
        if not req.controlled:
            self._set(TaskState.RUNNING)
            return self.snapshot()
        self._ctl = make_controller(
            "fairmq" if req.control_mode == "fairmq" else "direct",
            f"127.0.0.1:{req.control_port}",
            name=f"{req.role_path} ({self.task_id})",
            flavour=req.flavour,  # type: ignore[arg-type]
        )
        try:
            state = await self._until_ready(req.start_timeout_s)
        except Exception as exc:
            await self.terminate(grace_s=1.0)
            raise RuntimeError(f"{self._who()}: did not start: {exc}") from None
        self._set(task_state(state))
        self._bg.append(asyncio.create_task(self._watch_process()))
        return self.snapshot()

    async def _until_ready(self, timeout: float) -> str:
        assert self._proc is not None and self._ctl is not None
        ready = asyncio.ensure_future(self._ctl.wait_ready(timeout))
        died = asyncio.ensure_future(self._proc.wait())
        done, _ = await asyncio.wait({ready, died}, return_when=asyncio.FIRST_COMPLETED)
        if ready in done:
            died.cancel()
            return str(ready.result())
        ready.cancel()
        tail = _tail(self.req.log_path) if self.req else ""
        raise RuntimeError(
            f"process {describe_exit(died.result())} before answering"
            + (f"; its log ends: {tail}" if tail else "")
        )

    # -- watching -------------------------------------------------------------------
    async def _watch_exit(self) -> None:
        assert self._proc is not None
        self._on_exit(await self._proc.wait())

    def _on_exit(self, rc: int) -> None:
        if self.exit_code is not None:
            return
        self.exit_code = rc
        if self._exiting or (self.req is not None and not self.req.controlled and rc == 0):
            self._set(TaskState.DONE, report=not self._exiting)
            return
        tail = _tail(self.req.log_path) if self.req else ""
        msg = f"{self._who()}: process {describe_exit(rc)}" + (f"; log: {tail}" if tail else "")
        self._set(TaskState.ERROR, msg, report=True)

    async def _watch_process(self) -> None:
        with contextlib.suppress(Exception):
            async for upd in self._ctl.watch(poll_interval=1.0):
                new = task_state(upd.state)
                if self._exiting or upd.intermediate or new == TaskState.UNKNOWN:
                    continue
                if getattr(upd, "event", None) == 3:  # TASK_INTERNAL_ERROR
                    self._set(TaskState.ERROR, f"{self._who()}: internal error", report=True)
                elif new != self.state and not self._commanded:
                    await self._confirm()

    async def _confirm(self) -> None:
        """Report a change the watch saw, once a fresh GetState agrees (a poll answered just
        after a transition may carry the state from before it)."""
        async with self._command:
            try:
                now = task_state(await self._ctl.get_state(2.0))
            except Exception:
                return  # a process that stopped answering: its exit is reported by the exit watcher
            if now not in (self.state, TaskState.UNKNOWN):
                self._set(now, report=True)

    # -- commands -------------------------------------------------------------------
    async def transition(
        self, event: str, args: dict[str, str] | None, timeout: float
    ) -> tuple[str, int, str]:
        """Send one OCC event; returns (state, version, error or "")."""
        if self._ctl is None or self.exit_code is not None:
            err = f"{self._who()}: cannot {event}: " + (
                "process is not running" if self.exit_code is not None else "no control channel"
            )
            return self.state.value, self.version, err
        self._commanded = True
        try:
            async with self._command:
                state = await self._ctl.transition(event, args or {}, timeout=timeout)
            self._set(task_state(state))
            return self.state.value, self.version, ""
        except (OccError, Exception) as exc:
            msg = f"{self._who()}: {event} failed: {exc}"
            self._set(TaskState.ERROR, msg)
            return self.state.value, self.version, msg
        finally:
            self._commanded = False

    async def terminate(self, grace_s: float = 3.0) -> str:
        """EXIT over OCC if possible, then SIGTERM, SIGINT, SIGKILL; returns how it ended."""
        self._exiting = True
        if self._ctl is not None and self.exit_code is None and self.state != TaskState.ERROR:
            with contextlib.suppress(Exception):
                await self._ctl.transition("EXIT", {}, timeout=min(grace_s, 5.0))
                if self._proc is not None:
                    await asyncio.wait_for(self._proc.wait(), grace_s)
        how = "gone"
        if self._proc is not None:
            how = await processes.terminate(self._proc.pid, grace_s, process=self._proc)
            how = "EXIT" if how == "gone" and self.exit_code == 0 else how
        if self._ctl is not None:
            with contextlib.suppress(Exception):
                await self._ctl.close()
            self._ctl = None
        for t in self._bg:
            t.cancel()
        if self.state != TaskState.ERROR:
            self._set(TaskState.DONE)
        return how

    async def wait_exit(self, timeout: float) -> dict[str, Any]:
        """Wait for the process to end by itself (hooks, basic tasks); stop it on timeout."""
        if self._proc is not None and self.exit_code is None:
            try:
                await asyncio.wait_for(asyncio.shield(self._proc.wait()), timeout)
            except TimeoutError:
                self.error = f"{self._who()}: still running after {timeout:.0f}s; stopped"
                await self.terminate(1.0)
                self._set(TaskState.ERROR, self.error)
        if self._proc is not None and self._proc.returncode is not None:
            self._on_exit(self._proc.returncode)
        return self.snapshot()

    async def restart(self, grace_s: float = 3.0) -> dict[str, Any]:
        """Replace the process (RECOVER): stop what is left, launch again, same request."""
        if self.req is None:
            raise RuntimeError(f"{self._who()}: never launched")
        await self.terminate(grace_s)
        self._exiting, self.exit_code, self.error, self._bg = False, None, "", []
        return await self.launch(self.req)

    def ping(self) -> float:
        return time.time()


TaskActor = ray.remote(num_cpus=0, max_restarts=0)(TaskRuntime)
