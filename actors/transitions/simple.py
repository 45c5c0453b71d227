"""RESET, EXIT, GO_ERROR and DEPLOY-side-free transitions: one OCC event each.

RESET brings configured tasks back to STANDBY (their channel ports stay reserved until the
next CONFIGURE re-assigns them). EXIT ends every task's process. GO_ERROR stops whatever
is still running, ignoring failures: the environment is going to ERROR anyway.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors.transitions.common import fan_out, raise_if_failed
from o2ctl.core.occevents import OccEvent
from o2ctl.core.states import TaskState

if TYPE_CHECKING:
    from actors.environment import EnvironmentRuntime


async def reset(env: EnvironmentRuntime) -> None:
    todo = [e for e in env.tasks.values() if e.state != TaskState.STANDBY]
    failures = await fan_out(env, OccEvent.RESET, only=todo)
    raise_if_failed(env, "RESET", failures)


async def exit_(env: EnvironmentRuntime) -> None:
    failures = await fan_out(env, OccEvent.EXIT)
    raise_if_failed(env, "EXIT", failures)


async def stop_running(env: EnvironmentRuntime) -> None:
    """Stop whatever still runs, ignoring failures: the environment is in ERROR anyway."""
    running = [e for e in env.tasks.values() if e.state == TaskState.RUNNING]
    if running:
        await fan_out(env, OccEvent.STOP, only=running)


async def go_error(env: EnvironmentRuntime) -> None:
    """GO_ERROR asked for by an operator: the stops happen before the reply."""
    await stop_running(env)
