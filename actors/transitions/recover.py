"""RECOVER: from ERROR back to DEPLOYED, every task in STANDBY.

A task whose process failed is replaced (GO_ERROR and RECOVER have no FairMQ equivalent,
aliecs.md §4): its task actor stops what is left of the process and starts a new one with
the same launch request. A task still healthy is brought back to STANDBY with STOP and
RESET as needed. A task actor that is gone cannot be recovered here: the error names it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from actors.transitions.common import TaskEntry, fan_out, raise_if_failed, update_roles
from o2ctl.core.states import TaskState

if TYPE_CHECKING:
    from actors.environment import EnvironmentRuntime


async def _replace(env: EnvironmentRuntime, e: TaskEntry) -> str:
    try:
        snap: dict[str, Any] = await e.actor.restart.remote(env.settings.kill_grace_s)
    except Exception as exc:
        e.state, e.error = TaskState.ERROR, f"task {e.role_path} on {e.host}: restart failed: {exc}"
        return e.error
    e.state, e.version, e.pid, e.error = TaskState(snap["state"]), snap["version"], snap["pid"], ""
    return ""


async def recover(env: EnvironmentRuntime) -> None:
    broken = [
        e
        for e in env.tasks.values()
        if e.state in (TaskState.ERROR, TaskState.UNKNOWN, TaskState.DONE)
    ]
    errors = [m for m in await asyncio.gather(*(_replace(env, e) for e in broken)) if m]
    running = [e for e in env.tasks.values() if e.state == TaskState.RUNNING]
    failures = await fan_out(env, "STOP", TaskState.CONFIGURED, only=running)
    configured = [e for e in env.tasks.values() if e.state == TaskState.CONFIGURED]
    failures += await fan_out(env, "RESET", TaskState.STANDBY, only=configured)
    update_roles(env, broken)
    raise_if_failed(env, "RECOVER", [m for m in errors if m] + failures)
