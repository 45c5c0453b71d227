"""Where a transition's hook points fall, and what a critical failure at each one does.

One transition EVENT from STATE runs, in this order (as AliECS does):

    before_EVENT (weights < 0)  →  [START_ACTIVITY: a new run number]  →  before_EVENT (≥ 0)
    →  leave_STATE  →  EVENT (< 0)  →  the tasks' step (actors/transitions)  →  EVENT (≥ 0)
    →  the state machine fires  →  enter_NEWSTATE  →  after_EVENT

``run_hooks`` (actors/hooks.py) runs each point; this module strings them together.

- A critical failure **before the tasks' step** cancels the transition: nothing after it
  runs, the environment keeps its state (and its run number: one taken for a cancelled
  START_ACTIVITY is never reused, as run numbers never are), calls started for later
  points are abandoned, and ``TransitionCancelled`` names each call or task and its reason.
  The environment does not go to ERROR: nothing was done to its tasks.
- A critical failure **after the tasks' step** cannot undo it. As in AliECS (where such a
  failure fails the transition and the control server then sends the environment to
  ERROR), the transition fails with ``TransitionFailed`` naming the call, and the
  environment goes to ERROR; a failure at EVENT (≥ 0) comes before the state machine
  fires, one at enter_/after_ after it (both of these points still run, as AliECS runs
  both).
- GO_ERROR is never cancelled and never fails because of a hook: its failures are
  reported (an event, ``last_error``). ``go_error_points`` runs its points around the
  forced GO_ERROR of the environment actor (after a failure, or a task in ERROR).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from actors.calls import CallBook
from actors.errors import TransitionCancelled, TransitionFailed
from actors.hooks import Weights, run_hooks
from actors.reasons import reason
from actors.transitions.activity import begin_run
from o2ctl.core.envfsm import EnvEvent
from o2ctl.core.events import Event

if TYPE_CHECKING:
    from actors.environment import EnvironmentRuntime


async def before_step(env: EnvironmentRuntime, ev: EnvEvent, state: str) -> None:
    """The points before the tasks' step; raises TransitionCancelled on a critical failure."""
    book: CallBook = env.calls
    book.abandon(env, f"its await point was not reached before {ev.value} began")
    failed = await run_hooks(env, f"before_{ev.value}", "negative")
    kept = (env.run_number, env.run_start_ms)
    if not failed and ev is EnvEvent.START_ACTIVITY:
        await begin_run(env)
    steps: list[tuple[str, Weights]] = [
        (f"before_{ev.value}", "nonnegative"),
        (f"leave_{state}", "all"),
        (ev.value, "negative"),
    ]
    for point, weights in steps:
        if failed:
            break
        failed += await run_hooks(env, point, weights)
    if not failed:
        return
    if ev is EnvEvent.GO_ERROR:
        report(env, ev, failed)
        return
    env.run_number, env.run_start_ms = kept
    book.abandon(env, f"{ev.value} was cancelled")
    raise TransitionCancelled(
        f"{ev.value} cancelled in environment {env.env_id}, which stays {state}: "
        + "; ".join(failed),
        failed,
    )


async def after_step(env: EnvironmentRuntime, ev: EnvEvent, fire: Callable[[], None]) -> None:
    """The points after the tasks' step, ``fire`` (the state machine) among them; raises
    TransitionFailed on a critical failure (the environment then goes to ERROR)."""
    failed = await run_hooks(env, ev.value, "nonnegative")
    if failed and ev is not EnvEvent.GO_ERROR:
        raise _late(env, ev, failed)
    fire()
    failed += await run_hooks(env, f"enter_{env.fsm.state.value}")
    failed += await run_hooks(env, f"after_{ev.value}")
    if ev in (EnvEvent.STOP_ACTIVITY, EnvEvent.GO_ERROR):
        env.model.run_ended()
    if not failed:
        return
    if ev is EnvEvent.GO_ERROR:
        report(env, ev, failed)
        return
    raise _late(env, ev, failed)


async def go_error_points(env: EnvironmentRuntime, before: str, phase: str) -> None:
    """GO_ERROR's points when the environment forces it: ``before`` its step (before_,
    leave_<state it left>, GO_ERROR < 0) or ``after`` it (GO_ERROR ≥ 0, enter_ERROR,
    after_GO_ERROR). Failures are reported, never raised."""
    book: CallBook = env.calls
    steps: list[tuple[str, Weights]]
    if phase == "before":
        book.abandon(env, "its await point was not reached before GO_ERROR began")
        steps = [("before_GO_ERROR", "all"), (f"leave_{before}", "all"), ("GO_ERROR", "negative")]
    else:
        steps = [("GO_ERROR", "nonnegative"), ("enter_ERROR", "all"), ("after_GO_ERROR", "all")]
    failed: list[str] = []
    for point, weights in steps:
        try:
            failed += await run_hooks(env, point, weights)
        except Exception as exc:  # GO_ERROR goes on whatever a hook does
            failed.append(f"{point}: {reason(exc)}")
    if phase != "before":
        env.model.run_ended()
    if failed:
        report(env, EnvEvent.GO_ERROR, failed)


def _late(env: EnvironmentRuntime, ev: EnvEvent, failed: list[str]) -> TransitionFailed:
    return TransitionFailed(
        f"{ev.value} failed in environment {env.env_id} after its tasks' step: "
        + "; ".join(failed),
        failed,
    )


def report(env: EnvironmentRuntime, ev: EnvEvent, failed: list[str]) -> None:
    """Critical failures that do not change the transition's outcome: said, not raised."""
    env.last_error = "; ".join(failed)
    env.publish(
        Event("transition", env.env_id, event=ev.value, status="ONGOING", error=env.last_error)
    )
