"""How one environment transition runs, and GO_ERROR's clean-up after it.

What flows through: the environment actor hands ``run`` an event the state machine
accepted and the one-operation lock taken; ``run`` publishes its steps, runs the hook
points and calls before (``actors/phases.py``), the transition's own module
(``actors/transitions``), fires the state machine between the calls after, and reports
DONE_OK or DONE_ERROR; a START_ACTIVITY that succeeded arms the run's automatic end
(``actors/envauto.py``). Whether a failure takes the environment to ERROR is the model's
rule (``EnvironmentModel.failure_needs_go_error``); the stopping that follows ERROR runs
in the background (``stop_after_error``) so the operator sees ERROR at once.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

from actors import envauto, metrics
from actors.errors import ControlError, TransitionCancelled
from actors.phases import after_step, before_step, go_error_points
from actors.reasons import reason
from actors.transitions import TRANSITIONS
from actors.transitions.simple import stop_running
from o2ctl.core.envfsm import EnvEvent
from o2ctl.core.events import Event

if TYPE_CHECKING:
    from actors.environment import EnvironmentRuntime


async def run(env: EnvironmentRuntime, ev: EnvEvent, **kwargs: Any) -> str:
    """One transition's steps: STARTED, the hooks and calls before, the transition's own
    work, the state machine fired between the calls after, DONE_OK or DONE_ERROR (and
    GO_ERROR when the model says the failure needs it)."""
    run = {"run_number": env.run_number}  # the run it belongs to, as AliECS's events say
    env.publish(Event("transition", env.env_id, event=ev.value, status="STARTED", detail=run))
    t0 = time.perf_counter()
    before = env.fsm.state.value
    try:
        await before_step(env, ev, before)  # hooks and calls: actors/phases.py
        await TRANSITIONS[ev](env, **kwargs)
        await after_step(env, ev, lambda: env.enter(env.fsm.fire(ev)))
    except Exception as exc:
        cancelled = isinstance(exc, TransitionCancelled)  # cancelled: state as it was
        to_error = env.model.failure_needs_go_error(ev, str(exc), cancelled)
        env.later(metrics.transition, ev.value, time.perf_counter() - t0, False)
        env.publish(
            Event("transition", env.env_id, event=ev.value, status="DONE_ERROR", error=str(exc))
        )
        if to_error:
            env.go_error(f"{ev.value} failed")
        raise
    took = time.perf_counter() - t0
    env.model.transition_done(ev, took)
    env.later(metrics.transition, ev.value, took, True)
    env.publish(
        Event(
            "transition",
            env.env_id,
            event=ev.value,
            status="DONE_OK",
            state=env.fsm.state.value,
            detail={"duration_s": took, "run_number": env.run_number},
        )
    )
    if env.model.auto_error_due(while_busy=True):  # the root failed during this one
        env.schedule_auto_error()
    if ev == EnvEvent.START_ACTIVITY:
        envauto.run_started(env)  # END_OF_STREAM counted afresh, auto_stop_timeout armed
    elif env.fsm.state.value != "RUNNING":
        envauto.run_left(env)
    return env.fsm.state.value


async def stop_after_error(env: EnvironmentRuntime, left: str) -> None:
    """GO_ERROR's clean-up, after ERROR is entered: what still runs is stopped (failures
    ignored), with the hook points of the state it left."""
    envauto.run_left(env)
    await go_error_points(env, left, "before")
    with contextlib.suppress(Exception):
        await stop_running(env)
    await go_error_points(env, left, "after")
    env.publish(
        Event(
            "transition",
            env.env_id,
            event="GO_ERROR",
            status="DONE_OK",
            state=env.fsm.state.value,
        )
    )
    env.persist_soon()


async def record_first(env: EnvironmentRuntime, what: str) -> None:
    """The crash marker (``what`` under way), written before the work; if it cannot
    be, ``what`` is refused with the environment as it was, naming the store."""
    try:
        await env.persist()
    except Exception as exc:
        env.model.release()
        raise ControlError(
            f"environment {env.env_id}: {what} refused, state unchanged: its record "
            f"cannot be written to {env.store.records!r}: {reason(exc)}"  # type: ignore[union-attr]
        ) from None


async def record_after(env: EnvironmentRuntime, what: str) -> None:
    """The outcome, written before the reply; a store that failed meanwhile is named."""
    try:
        await env.persist()
    except Exception as exc:
        raise ControlError(
            f"environment {env.env_id}: {what} was carried out but its record could not "
            f"be written to {env.store.records!r}: {reason(exc)} (it is written again "  # type: ignore[union-attr]
            "at the next change)"
        ) from None
