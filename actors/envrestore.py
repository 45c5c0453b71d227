"""Bringing an environment actor back from its durable record, touching no process.

The environment's model is built from the record (``EnvironmentModel.from_record``). A new
environment starts from a record the controller wrote (state STANDBY, no tasks) and there
is nothing more to do. A restarted one (its worker died) finds its state machine's state,
run, channels and task table in the record; it looks its role and task actors up by
name (they are detached and survived), asks each task actor for a fresh snapshot (their
processes are the truth: a task whose actor is gone is marked lost), sends every role its
children's states again, and decides what to do about a transition it was in the middle of
(``EnvironmentModel.interrupted``): complete it if every task got there, ERROR
naming the laggards otherwise. Never stuck mid-transition, never a process restarted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import ray

from actors import naming
from actors.transitions.common import TaskEntry, update_roles
from actors.transitions.deploy import has_state, spec_for
from o2ctl.core.envrecord import EnvRecord, TaskRecord
from o2ctl.core.envtasks import task_gone, task_seen, task_silent
from o2ctl.core.events import Event, EventLog

if TYPE_CHECKING:
    from actors.environment import EnvironmentRuntime

SNAPSHOT_TIMEOUT_S = 15.0


def _actor(name: str) -> Any:
    try:
        return ray.get_actor(name, namespace=naming.NAMESPACE)
    except ValueError:
        return None


def entry_of(raw: Mapping[str, Any]) -> TaskEntry:
    """A task table entry from its stored record (its actor and spec are found later)."""
    return TaskEntry(**TaskRecord.from_record(raw))


async def restore(env: EnvironmentRuntime, rec: EnvRecord) -> None:
    """The model came from ``rec`` already (``EnvironmentModel.from_record``); bring back
    what is the actor's: the event log's place, the actors' handles (the run's number, which
    the calls of its end need, is the model's)."""
    env.events = EventLog(start_seq=rec.event_seq)
    if not rec.tasks and not rec.roles:
        return
    await _roles(env, rec)
    await _tasks(env)
    update_roles(env, env.tasks.values())
    for path in env.roles:
        env.role_restarted(path)
    outcome = env.model.interrupted(rec.busy)
    env.publish(
        Event(
            "environment",
            env.env_id,
            state=env.model.state.value,
            detail={"restored": True, "interrupted": rec.busy},
        )
    )
    if outcome.fire is not None:
        env.enter(env.fsm.fire(outcome.fire))
    elif outcome.error:
        env.go_error(outcome.error)
    await env.persist()


async def _roles(env: EnvironmentRuntime, rec: EnvRecord) -> None:
    names = dict(rec.roles)
    found = await asyncio.to_thread(lambda: {p: _actor(n) for p, n in names.items()})
    for node in env.workflow.root.walk():
        if node.task is None and node.children:
            env.role_children[node.path] = {
                c.path: c.critical for c in node.children if has_state(c)
            }
    env.roles = {p: a for p, a in found.items() if a is not None}


async def _tasks(env: EnvironmentRuntime) -> None:
    entries = list(env.tasks.values())
    actors = await asyncio.to_thread(lambda: [_actor(e.actor_name) for e in entries])
    for e, actor in zip(entries, actors, strict=True):
        e.actor = actor
        node = env.workflow.root.find(e.role_path)
        e.spec = spec_for(env, node.task, e.task_id, e.host) if node.task is not None else None
        if actor is None:
            task_gone(e)
    live = [e for e in entries if e.actor is not None]
    snaps = await asyncio.gather(
        *(asyncio.wait_for(e.actor.snapshot.remote(), SNAPSHOT_TIMEOUT_S) for e in live),
        return_exceptions=True,
    )
    for e, snap in zip(live, snaps, strict=True):
        if isinstance(snap, BaseException):
            task_silent(e)
        else:
            task_seen(e, snap)
