"""A run that ends by itself: END_OF_STREAM from every task, or ``auto_stop_timeout``.

What flows through: a task actor forwards its process's OCC device events
(``Environment.device_event``); here each becomes a task event in the environment's log
(``detail.device_event``), and END_OF_STREAM is counted for the current run (from
START_ACTIVITY on, since a short run may end before START_ACTIVITY does). When every
controlled task has sent it (``o2ctl.core.endofrun.run_ended``) the environment runs
STOP_ACTIVITY by itself, as AliECS does. ``run_started`` / ``run_left`` (called by
``envrun`` when a START_ACTIVITY succeeds or the environment leaves RUNNING) reset the
count and arm or disarm the auto-stop timer, which runs STOP_ACTIVITY when it expires.
Both stops are announced by an environment event saying why, before the transition.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from o2ctl.core.endofrun import BadDuration, auto_stop_after, run_ended
from o2ctl.core.envfsm import EnvState
from o2ctl.core.events import Event

if TYPE_CHECKING:
    from actors.environment import EnvironmentRuntime

log = logging.getLogger("o2ctl.envauto")


@dataclass
class RunEnd:
    """What the environment holds for the current run's end."""

    ended: set[str] = field(default_factory=set)  # role paths that sent END_OF_STREAM
    timer: asyncio.Task[Any] | None = None
    stopping: asyncio.Task[Any] | None = None


def _of(env: EnvironmentRuntime) -> RunEnd:
    found = getattr(env, "_run_end", None)
    if found is None:
        found = RunEnd()
        env._run_end = found  # type: ignore[attr-defined]
    return found


def device_event(env: EnvironmentRuntime, path: str, kind: str) -> None:
    """A device event of the task at ``path``: logged; END_OF_STREAM may end the run."""
    entry = env.tasks.get(path)
    if entry is None:
        return
    detail = {"task_id": entry.task_id, "device_event": kind, "task_class": entry.task_class}
    env.publish(Event("task", env.env_id, path=path, state=entry.state.value, detail=detail))
    starting = env.model.busy == "START_ACTIVITY"  # a short run may end before START does
    if kind != "END_OF_STREAM" or not (starting or env.model.state == EnvState.RUNNING):
        return
    run = _of(env)
    run.ended.add(path)
    _stop_if_ended(env, run)


def _stop_if_ended(env: EnvironmentRuntime, run: RunEnd) -> None:
    controlled = [p for p, e in env.tasks.items() if e.controlled and not e.lost]
    if run_ended(run.ended, controlled):
        _stop(env, run, f"every task sent END_OF_STREAM ({len(controlled)})")


def run_started(env: EnvironmentRuntime) -> None:
    """START_ACTIVITY succeeded: the timer when the workflow asks for one, and the stop
    at once when every task already ended its stream during START_ACTIVITY."""
    run = _of(env)
    _disarm(run)
    try:
        after = auto_stop_after(env.workflow.variables)
    except BadDuration as bad:
        env.publish(_note(env, f"auto_stop_timeout ignored: {bad}"))
        after = None
    if after is not None:
        run.timer = asyncio.ensure_future(_expire(env, run, after))
    _stop_if_ended(env, run)


def run_left(env: EnvironmentRuntime) -> None:
    """The run is over (stopped, or ERROR): the timer goes, the count starts afresh."""
    run = _of(env)
    _disarm(run)
    run.ended.clear()


def _disarm(run: RunEnd) -> None:
    if run.timer is not None and not run.timer.done() and run.timer is not asyncio.current_task():
        run.timer.cancel()
    run.timer = None


async def _expire(env: EnvironmentRuntime, run: RunEnd, after: float) -> None:
    await asyncio.sleep(after)
    run.timer = None
    _stop(env, run, f"auto_stop_timeout of {after:g}s passed")


def _stop(env: EnvironmentRuntime, run: RunEnd, why: str) -> None:
    if env.model.state != EnvState.RUNNING or (run.stopping and not run.stopping.done()):
        return
    env.publish(_note(env, f"stopping the run: {why}"))
    run.stopping = asyncio.ensure_future(_stop_now(env, why))


async def _stop_now(env: EnvironmentRuntime, why: str) -> None:
    for _ in range(600):  # another operation in flight: wait for it (a minute at most)
        if env.model.state != EnvState.RUNNING:
            return
        if env.model.busy is None:
            break
        await asyncio.sleep(0.1)
    with contextlib.suppress(Exception):
        await env.transition("STOP_ACTIVITY")
        return
    log.warning("environment %s: automatic STOP_ACTIVITY (%s) failed", env.env_id, why)


def _note(env: EnvironmentRuntime, message: str) -> Event:
    return Event(
        "environment",
        env.env_id,
        state=env.model.state.value,
        detail={"message": message, "run_number": env.run_number},
    )
