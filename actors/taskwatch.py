"""What a task's process does by itself, as its task actor learns it: its exit, and what its
OCC watch stream says (a state it reached on its own, an internal error, END_OF_STREAM).

What flows through: the exit of the process (its return code, or its pid gone when it was
re-adopted) becomes DONE (a basic task that ended well, or one being stopped) or ERROR
with the exit and the end of its log; the watch stream's states are reported once a fresh
GetState agrees (a poll answered just after a transition may carry the state from before
it); END_OF_STREAM goes to the environment (a run's end, ``actors/envauto.py``). The task
actor (``actors/task.py``) starts these as background tasks at launch and at re-adoption.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from actors import launchrec
from actors.taskproc import describe_exit, tail
from o2ctl.core.states import TaskState, task_state
from occ import processes

if TYPE_CHECKING:
    from actors.task import TaskRuntime


async def watch_exit(self: TaskRuntime) -> None:
    if self._proc is not None:
        on_exit(self, await self._proc.wait())
    else:
        await processes.wait_gone(self.pid)
        on_exit(self, None)


def on_exit(self: TaskRuntime, rc: int | None) -> None:
    if self.exited:
        return
    self.exited, self.exit_code = True, rc
    with contextlib.suppress(Exception):
        launchrec.remove(self.state_dir, self.task_id)
    if self._exiting or (self.req is not None and not self.req.controlled and rc == 0):
        self._set(TaskState.DONE, report=not self._exiting)
        return
    last = tail(self.req.log_path) if self.req else ""
    msg = f"{self._who()}: process {describe_exit(rc)}" + (f"; log: {last}" if last else "")
    self._set(TaskState.ERROR, msg, report=True)


async def watch_process(self: TaskRuntime) -> None:
    with contextlib.suppress(Exception):
        async for upd in self._ctl.watch(poll_interval=1.0):
            new = task_state(upd.state)
            if self._exiting or upd.intermediate or new == TaskState.UNKNOWN:
                continue
            if getattr(upd, "event", None) == 3:  # TASK_INTERNAL_ERROR
                self._set(TaskState.ERROR, f"{self._who()}: internal error", report=True)
            elif new != self.state and not self._commanded:
                await confirm(self)
            if getattr(upd, "event", None) == 1 and self.env is not None:  # END_OF_STREAM
                self.env.device_event.remote(self.role_path, "END_OF_STREAM")


async def confirm(self: TaskRuntime) -> None:
    """Report a change the watch saw, once a fresh GetState agrees (a poll answered just
    after a transition may carry the state from before it)."""
    async with self._command:
        try:
            now = task_state(await self._ctl.get_state(2.0))
        except Exception:
            return  # a process that stopped answering: its exit is reported by the exit watcher
        if now not in (self.state, TaskState.UNKNOWN):
            self._set(now, report=True)
