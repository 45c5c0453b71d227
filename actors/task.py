"""TaskActor: one per task; it owns one process and drives it over OCC.

What flows through: a ``LaunchRequest`` (the exact argv/env from ``o2ctl.core.launch``, the
control port, log file, timeouts) starts the process; OCC events from the environment come
in through ``transition`` and go out over gRPC through one reused ``ProcessController``
(``occ.client``); what the process does by itself (a crash, the end of its run, an internal
error) comes back through the controller's watch and the process's exit, and is reported
to the environment, which folds it into the role tree. No polling of our own.

Crash safety: the process outlives its actor. A launch record (``actors.launchrec``) is
written on the node as soon as the process exists; when Ray restarts the actor after its
worker died, the new actor re-adopts the process from it (same pid, same start time),
reads its state over OCC and carries on: the environment sees nothing, data keeps flowing.
Only if the process is gone too does the task go to ERROR. Before driving a process the
actor checks that the one answering on its control port is its own (the pid in GetState,
or the process tree's listening sockets), so two o2ctl systems on a host never drive each
other's processes: once the port answers for another process, its control channel is
dropped (not even EXIT goes to it). A pid whose process has a start time other than ours
(ended, the pid given to another program) is never signalled.

The hot path is ``transition``: one await on the gRPC call, a tuple back. A task may
outlive its environment (the idle pool): ``attach`` hands it to a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from dataclasses import asdict
from typing import Any

import ray

from actors import launchrec, taskwatch
from actors.cluster import port_is_free
from actors.errors import PortTaken
from actors.naming import process_owner
from actors.taskadopt import readopt
from actors.taskproc import LaunchRequest, describe_exit, tail, tool_path
from o2ctl.core.occevents import OccEvent, UnknownOccEvent, parse_occ_event
from o2ctl.core.states import TaskState, task_state
from occ import processes
from occ.client import OccError, make_controller

log = logging.getLogger("o2ctl.task")


class TaskRuntime:
    """The logic of a task actor (Ray wraps it as ``Task``)."""

    def __init__(self, task_id: str, host: str, state_dir: str = "") -> None:
        from o2ctl.config import state_dir as default_state_dir

        self.task_id = task_id
        self.host = host or socket.gethostname()
        self.state_dir = state_dir or str(default_state_dir())
        self.req: LaunchRequest | None = None
        self.env_id = ""
        self.role_path = ""
        self.env: Any = None
        self.env_actor = ""
        self.state = TaskState.UNKNOWN
        self.version = 0
        self.epoch = 0
        self.error = ""
        self.pid = 0
        self.started = 0.0
        self.exit_code: int | None = None
        self.exited = False
        self._proc: asyncio.subprocess.Process | None = None
        self._ctl: Any = None
        self._commanded = False
        self._command = asyncio.Lock()  # one OCC exchange at a time with the process
        self._exiting = False
        self._ended = False  # terminate() was asked for: this task is over, launch nothing
        self._spawning = False
        self._record_lock = asyncio.Lock()
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
        if self.env is None and self.env_actor:  # not found yet after a restart: keep trying
            self._bg.append(asyncio.ensure_future(self._report_when_found()))
            return
        if self.env is not None:
            detail = {"pid": self.pid, "error": self.error, "task_id": self.task_id}
            self.env.task_changed.remote(self.role_path, self.state.value, self.version, detail)

    async def _find_env(self, attempts: int = 20) -> None:
        """The environment actor by name (a restarted task actor knows only the name)."""
        for _ in range(attempts):
            try:
                self.env = await asyncio.to_thread(ray.get_actor, self.env_actor, "o2ctl")
                return
            except Exception as exc:
                log.warning(
                    "%s: environment %s not found yet: %s", self._who(), self.env_actor, exc
                )
                await asyncio.sleep(0.25)

    async def _report_when_found(self) -> None:
        await self._find_env()
        if self.env is not None:
            self._report()

    async def attach(
        self, env_id: str, role_path: str, env: Any, env_actor: str = ""
    ) -> dict[str, Any]:
        self.env_id, self.role_path, self.env, self.env_actor = env_id, role_path, env, env_actor
        await self._save_record()
        return self.snapshot()

    async def detach(self) -> dict[str, Any]:
        self.env_id, self.role_path, self.env, self.env_actor = "", "", None, ""
        await self._save_record()
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
            "alive": self.pid > 0 and not self.exited,
            "state": self.state.value,
            "version": self.version,
            "error": self.error,
            "control_port": req.control_port if req else None,
            "control_mode": req.control_mode if req else "",
            "log_path": req.log_path if req else "",
            "command": " ".join(req.argv) if req else "",
            "exit_code": self.exit_code,
            "epoch": self.epoch,
            "worker_pid": os.getpid(),
            "ray_node_id": ray.get_runtime_context().get_node_id(),  # Ray's own record
            "reports_to": self.env_actor if self.env is not None else "",
        }

    async def _save_record(self) -> None:
        """Write the launch record; serialised, and built under the lock, so that the last
        write always holds the newest owner (an attach may overtake a launch in flight)."""
        async with self._record_lock:
            if self.req is None or self.pid <= 0 or self.exited:
                return
            rec = launchrec.LaunchRecord(
                self.task_id,
                asdict(self.req),
                self.pid,
                self.started,
                self.env_id,
                self.role_path,
                self.env_actor,
                self.epoch,
            )
            await asyncio.to_thread(launchrec.write, self.state_dir, rec)

    # -- launch ---------------------------------------------------------------------
    async def launch(self, req: LaunchRequest) -> dict[str, Any]:
        """Start the process and wait until it answers (controlled) or runs (basic)."""
        if self._ended:  # an async actor may run a terminate sent later before this call
            raise RuntimeError(f"{self._who()}: ended before its process was started")
        self.req, self.env_id, self.role_path = req, req.env_id, req.role_path
        if req.controlled and req.control_port and not port_is_free(req.control_port):
            raise PortTaken(
                req.control_port,
                f"{self._who()}: control port {req.control_port} is already in use on {self.host}",
            )
        os.makedirs(os.path.dirname(req.log_path), exist_ok=True)
        env = {**req.env, "PATH": tool_path(req.env.get("PATH", os.environ.get("PATH", "")))}
        self._spawning = True  # a terminate arriving now waits for the pid, then ends it
        try:
            self._proc = await processes.spawn(
                list(req.argv),
                owner=process_owner(self.task_id),
                env=env,
                stdout_path=req.log_path,
                stderr_path=req.log_path,
            )
        finally:
            self._spawning = False
        self.pid, self.exited, self.exit_code = self._proc.pid, False, None
        self.started = launchrec.start_time(self.pid) or time.time()
        await self._save_record()
        self._bg.append(asyncio.create_task(taskwatch.watch_exit(self)))
        if not req.controlled:
            self._set(TaskState.RUNNING)
            return self.snapshot()
        self._ctl = self._controller(req)
        try:
            state = await self._until_ready(req.start_timeout_s)
            self._check_owner()
        except PortTaken:
            await self._drop_control()  # nothing, not even EXIT, goes to another's process
            await self._terminate(grace_s=1.0)
            self._reset()  # the caller launches again on another port, in this actor
            raise
        except Exception as exc:
            await self._terminate(grace_s=1.0)
            raise RuntimeError(f"{self._who()}: did not start: {exc}") from None
        self._set(task_state(state))
        self._bg.append(asyncio.create_task(taskwatch.watch_process(self)))
        return self.snapshot()

    def _controller(self, req: LaunchRequest) -> Any:
        return make_controller(
            "fairmq" if req.control_mode == "fairmq" else "direct",
            f"127.0.0.1:{req.control_port}",
            name=f"{req.role_path} ({self.task_id})",
            flavour=req.flavour,  # type: ignore[arg-type]
        )

    def _check_owner(self) -> None:
        """The process answering on our control port must be ours (pid, or its sockets)."""
        assert self.req is not None and self.req.control_port is not None
        answering, mine = self._ctl.last_pid, launchrec.process_tree(self.pid)
        ours = (
            answering in mine
            if answering > 0
            else launchrec.listens_on(mine, self.req.control_port)
        )
        if not ours:
            raise PortTaken(
                self.req.control_port,
                f"{self._who()}: control port {self.req.control_port} answers for another "
                f"process (pid {answering or 'unknown'}), not ours (pid {self.pid})",
            )

    async def _drop_control(self) -> None:
        """Forget the control channel: the process answering on it is not ours."""
        ctl, self._ctl = self._ctl, None
        if ctl is not None:
            with contextlib.suppress(Exception):
                await ctl.close()

    async def _until_ready(self, timeout: float) -> str:
        assert self._proc is not None and self._ctl is not None
        ready = asyncio.ensure_future(self._ctl.wait_ready(timeout))
        died = asyncio.ensure_future(self._proc.wait())
        done, _ = await asyncio.wait({ready, died}, return_when=asyncio.FIRST_COMPLETED)
        if ready in done:
            died.cancel()
            return str(ready.result())
        ready.cancel()
        last = tail(self.req.log_path) if self.req else ""
        raise RuntimeError(
            f"process {describe_exit(died.result())} before answering"
            + (f"; its log ends: {last}" if last else "")
        )

    # -- re-adoption after a restart --------------------------------------------------
    async def adopt(self) -> bool:
        """Find this task's process again from its launch record; False if there is none."""
        return await readopt(self)

    # -- commands -------------------------------------------------------------------
    async def transition(
        self, event: OccEvent | str, args: dict[str, str] | None, timeout: float
    ) -> tuple[str, int, str]:
        """Send one OCC event (an ``OccEvent`` or its name); returns (state, version, error
        or ""). An unknown event is refused, the task left as it is."""
        try:
            event = parse_occ_event(event)
        except UnknownOccEvent as unknown:
            return self.state.value, self.version, f"{self._who()}: {unknown}"
        if self._ctl is None or self.exited:
            err = f"{self._who()}: cannot {event}: " + (
                "process is not running" if self.exited else "no control channel"
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
            if isinstance(exc, OccError) and "did not answer" in exc.reason:
                msg = f"{self._who()}: {event} timed out after {timeout:.1f}s: {exc}"
            self._set(TaskState.ERROR, msg)
            return self.state.value, self.version, msg
        finally:
            self._commanded = False

    async def terminate(self, grace_s: float = 3.0) -> str:
        """End the task: its process goes (``_terminate``), and a launch that this actor
        runs after this call (Ray runs an async actor's calls unordered) starts nothing."""
        self._ended = True
        return await self._terminate(grace_s)

    def _reset(self) -> None:
        """Ready to launch again after our own ``_terminate`` (not after ``terminate``)."""
        self._exiting, self.exit_code, self.error, self._bg = False, None, "", []
        self._ctl, self._proc = None, None

    async def _terminate(self, grace_s: float) -> str:
        """EXIT over OCC if possible, then SIGTERM, SIGINT, SIGKILL; returns how it ended."""
        self._exiting = True
        for _ in range(500):  # a launch in progress: its process must not escape us
            if not self._spawning:
                break
            await asyncio.sleep(0.01)
        if self._ctl is not None and not self.exited and self.state != TaskState.ERROR:
            with contextlib.suppress(Exception):
                await self._ctl.transition(OccEvent.EXIT, {}, timeout=min(grace_s, 5.0))
                await asyncio.wait_for(processes.wait_gone(self.pid), grace_s)
        how = "gone"
        if self.pid > 0 and not launchrec.reused(self.pid, self.started):
            how = await processes.terminate(self.pid, grace_s, process=self._proc)
            how = "EXIT" if how == "gone" and self.exit_code == 0 else how
        self.exited = True
        await asyncio.to_thread(launchrec.remove, self.state_dir, self.task_id)
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
        if self._proc is not None and not self.exited:
            try:
                await asyncio.wait_for(asyncio.shield(self._proc.wait()), timeout)
            except TimeoutError:
                self.error = f"{self._who()}: still running after {timeout:.0f}s; stopped"
                await self._terminate(1.0)
                self._set(TaskState.ERROR, self.error)
        if self._proc is not None and self._proc.returncode is not None:
            taskwatch.on_exit(self, self._proc.returncode)
        return self.snapshot()

    async def restart(
        self, grace_s: float = 3.0, req: LaunchRequest | None = None
    ) -> dict[str, Any]:
        """Replace the process (RECOVER): stop what is left, launch again, same request
        (or the one given: the same task on another control port, planned by the caller,
        since the port is also in the command line and the environment)."""
        if self.req is None:
            raise RuntimeError(f"{self._who()}: never launched")
        await self._terminate(grace_s)
        self._reset()
        return await self.launch(req or self.req)

    async def relaunch(self, req: LaunchRequest, grace_s: float = 3.0) -> dict[str, Any]:
        """Replace the process by one started from another request (a modify that changes
        the task's command line): stop what runs, launch the new one."""
        return await self.restart(grace_s, req)

    def ping(self) -> float:
        return time.time()


class Task(TaskRuntime):
    """The Ray actor: a restarted one re-adopts its process before taking any call."""

    async def __init__(self, task_id: str, host: str, state_dir: str = "") -> None:  # type: ignore[misc]
        TaskRuntime.__init__(self, task_id, host, state_dir)
        await self.adopt()


TaskActor = ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=0)(Task)
