"""The environment's MODIFY operation around the plan and its application
(``actors/transitions/modify.py``): the checks that refuse a modify with the environment
unchanged, the one-operation-at-a-time lock, the events (``MODIFY`` STARTED / DONE_OK /
DONE_ERROR), a new run around the change when one is asked for, and the record written
before the answer.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from actors.envstore import save_workflow
from actors.errors import ModifyRefused
from actors.transitions import modify as m
from actors.transitions.activity import begin_run, start_activity, stop_activity
from o2ctl.core.envfsm import EnvEvent, EnvState
from o2ctl.core.events import Event

if TYPE_CHECKING:
    from actors.environment import EnvironmentRuntime


async def run_modify(
    env: EnvironmentRuntime, target: m.Target, kill: bool, dry_run: bool, restart_run: bool
) -> dict[str, Any]:
    state = env.model.check_modify()  # TransitionRefused outside DEPLOYED .. RUNNING
    env.model.refuse_if_busy("MODIFY")  # EnvironmentBusy, naming what runs
    t0 = time.perf_counter()
    result, wanted, blocked = m.plan(env, target)
    if dry_run:
        refusal = await m.admission_of(env, result, wanted)  # what a real one would meet
        out = {**m.summary(result, time.perf_counter() - t0, blocked), "dry_run": True}
        return {**out, "refused": refusal} if refusal else out
    new_run = restart_run and state == EnvState.RUNNING
    if blocked and state == EnvState.RUNNING and not restart_run:
        raise ModifyRefused(
            f"environment {env.env_id} is RUNNING (run {env.run_number}) and this change "
            "cannot be made during a run: "
            + "; ".join(blocked)
            + "; give --restart-run to stop the run, change, and start a new one"
        )
    env.model.acquire("MODIFY")
    await env.record_first("MODIFY")  # durable before anything is placed, started or told
    env.publish(
        Event("transition", env.env_id, event="MODIFY", status="STARTED", detail=result.to_dict())
    )
    try:
        if new_run:
            await stop_activity(env)
            env.enter(env.fsm.fire(EnvEvent.STOP_ACTIVITY))
        await m.apply(env, target, result, wanted, kill)
        if new_run:
            await begin_run(env)
            await start_activity(env)
            env.enter(env.fsm.fire(EnvEvent.START_ACTIVITY))
        if env.store is not None:
            await asyncio.to_thread(save_workflow, env.store.records, env.env_id, env.workflow)
    except Exception as exc:
        refused = isinstance(exc, ModifyRefused)  # refused: the environment as it was
        to_error = env.model.failure_needs_go_error("MODIFY", str(exc), refused)
        env.publish(
            Event("transition", env.env_id, event="MODIFY", status="DONE_ERROR", error=str(exc))
        )
        if to_error:
            env.go_error("MODIFY failed")
        raise
    finally:
        env.model.release()
        if env.model.auto_error_due():  # a task failed while this ran: as after a transition
            env.schedule_auto_error()
        await env.record_after("MODIFY")
    done = m.summary(result, time.perf_counter() - t0, blocked)
    if new_run:
        done["run_number"] = env.run_number
    env.publish(
        Event(
            "transition",
            env.env_id,
            event="MODIFY",
            status="DONE_OK",
            state=env.fsm.state.value,
            detail=done,
        )
    )
    return done
