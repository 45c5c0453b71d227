"""A restarted task actor takes its process back (crash safety of the task layer).

The process outlives its actor. From the node's launch record the new actor learns the
request, the pid and the process's start time; if that process still runs (same pid, same
start time) it is adopted: its exit is watched again, its control channel reopened, its
state read over OCC and reported, with versions above every earlier actor's (``EPOCH``).
A process that is gone, or a port that now answers for another process, is an ERROR
naming the task; no process is ever started or signalled here.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from actors import launchrec, taskwatch
from actors.errors import PortTaken
from actors.taskproc import LaunchRequest
from o2ctl.core.states import TaskState, task_state

if TYPE_CHECKING:
    from actors.task import TaskRuntime

EPOCH = 1_000_000  # versions of a re-adopted task start above those of its earlier actors


async def readopt(self: TaskRuntime) -> bool:
    """Find this task's process again from its launch record; False if there is none."""
    rec = await asyncio.to_thread(launchrec.read, self.state_dir, self.task_id)
    if rec is None:
        return False
    self.req = LaunchRequest.from_dict(rec.request)
    self.env_id, self.role_path, self.env_actor = rec.env_id, rec.role_path, rec.env_actor
    self.epoch = rec.epoch + 1
    self.version = self.epoch * EPOCH
    self.pid, self.started = rec.pid, rec.started
    if self.env_actor:
        await self._find_env(attempts=4)
    if not launchrec.is_same_process(rec.pid, rec.started):
        self.exited = True
        msg = f"{self._who()}: process (pid {rec.pid}) is gone: it ended while its actor was down"
        await asyncio.to_thread(launchrec.remove, self.state_dir, self.task_id)
        self._set(TaskState.ERROR, msg, report=True)
        return True
    await self._save_record()
    self._bg.append(asyncio.create_task(taskwatch.watch_exit(self)))
    if not self.req.controlled:
        self._set(TaskState.RUNNING, report=True)
        return True
    self._ctl = self._controller(self.req)
    try:
        now = task_state(await self._ctl.get_state(5.0))
        self._check_owner()
    except PortTaken as exc:
        await self._drop_control()
        self._set(TaskState.ERROR, str(exc), report=True)
        return True
    except Exception as exc:
        self._set(
            TaskState.ERROR,
            f"{self._who()}: adopted process does not answer: {exc}",
            report=True,
        )
        return True
    self._set(now, report=True)
    self._bg.append(asyncio.create_task(taskwatch.watch_process(self)))
    return True
