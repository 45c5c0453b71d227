"""START_ACTIVITY and STOP_ACTIVITY: a run begins and ends.

START_ACTIVITY takes the next run number from the controller (persistent, strictly
increasing, never reused; ``begin_run``, run at before_START_ACTIVITY) and sends every
task START with ``run_number``, ``runNumber``, ``run_type`` and ``run_start_time_ms``;
STOP_ACTIVITY sends STOP with the same run number.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from actors.transitions.common import fan_out, raise_if_failed
from o2ctl.core.occevents import OccEvent
from o2ctl.core.states import TaskState

if TYPE_CHECKING:
    from actors.environment import EnvironmentRuntime


def run_args(env: EnvironmentRuntime) -> dict[str, str]:
    run = str(env.run_number)
    return {
        "run_number": run,
        "runNumber": run,
        "run_type": str(env.user_vars.get("run_type", env.settings.run_type)),
        "run_start_time_ms": str(env.run_start_ms),
    }


async def begin_run(env: EnvironmentRuntime) -> None:
    """A new run number; called at before_START_ACTIVITY, between the negative and the
    other weights, so that calls from there on see it (as in AliECS; actors/phases.py)."""
    env.run_number = int(await env.controller.next_run_number.remote())
    env.run_start_ms = int(time.time() * 1000)


async def start_activity(env: EnvironmentRuntime) -> None:
    failures = await fan_out(env, OccEvent.START, run_args(env))
    raise_if_failed(env, "START_ACTIVITY", failures)


async def stop_activity(env: EnvironmentRuntime) -> None:
    running = [e for e in env.tasks.values() if e.state != TaskState.CONFIGURED]
    failures = await fan_out(env, OccEvent.STOP, run_args(env), only=running)
    raise_if_failed(env, "STOP_ACTIVITY", failures)
