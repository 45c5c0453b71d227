"""Driving a transition down the role tree: who sends what to whom, and what came back.

A transition leaves the environment as one call to its root role; each role actor splits
the tasks it was given into those it drives itself (its direct task children on its own
node), those of each sub-role (sent to that role actor, which does the same below it) and
those of its direct children on other nodes (sent to a *shard* of the role on that node,
so each node's share is done on that node). Replies come back up as per-task outcomes,
folded into each role's aggregate on the way and into the environment's task table at
the top: one reply per call, however many tasks are under it.

This module is the pure part: the per-task ``Target`` (what a driver needs to send one OCC
event to one task), the ``Outcome`` (what the record needs back), the routing of targets
among a role's direct tasks, sub-roles and node shards, and the judgement of a reply
against the state the event leads to. The Ray side is ``actors/drive.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from o2ctl.core.occevents import OccEvent
from o2ctl.core.states import TaskState

SHARD_MARK = "@"  # a node shard of role R on node N is named R@N


class Target(NamedTuple):
    """One task to drive: where its actor is, how to name it, its own arguments."""

    path: str
    actor_name: str
    task_id: str
    host: str
    node_id: str
    critical: bool
    args: Mapping[str, str] | None = None  # None: the transition's shared arguments


class Outcome(NamedTuple):
    """What became of one task: its state, its version (the task's own counter) and an
    error sentence naming task, host, event and reason ("" when it went as expected)."""

    path: str
    state: str
    version: int
    error: str


class Routes(NamedTuple):
    mine: list[Target]  # driven by this role itself
    roles: dict[str, list[Target]]  # by sub-role path
    shards: dict[str, list[Target]]  # by node id: direct children on another node


def parent_of(path: str) -> str:
    return path.rsplit(".", 1)[0] if "." in path else ""


def child_role_of(path: str, role_path: str) -> str:
    """The direct child of ``role_path`` on the way down to ``path``."""
    rest = path[len(role_path) + 1 :]
    return f"{role_path}.{rest.split('.', 1)[0]}"


def route(targets: Iterable[Target], role_path: str, node_id: str = "") -> Routes:
    """Split a role's targets: its own direct tasks on ``node_id`` (or every direct task
    when ``node_id`` is empty: a shard, or a role that does not split), each sub-role's,
    and each other node's direct tasks. A target outside the role is a bug: ValueError."""
    out = Routes([], {}, {})
    for t in targets:
        if not t.path.startswith(role_path + "."):
            raise ValueError(f"task {t.path} is not under role {role_path}")
        if parent_of(t.path) != role_path:
            out.roles.setdefault(child_role_of(t.path, role_path), []).append(t)
        elif node_id and t.node_id and t.node_id != node_id:
            out.shards.setdefault(t.node_id, []).append(t)
        else:
            out.mine.append(t)
    return out


def shard_name(role_path: str, node_id: str) -> str:
    return f"{role_path}{SHARD_MARK}{node_id}"


def judge(t: Target, event: OccEvent, reply: tuple[str, int, str] | None, why: str = "") -> Outcome:
    """The outcome of sending ``event`` to ``t``: its reply ``(state, version, error)``
    judged against ``event.leads_to``, or no reply and ``why`` (the call failed: its actor
    died, a timeout)."""
    expect = event.leads_to
    if reply is None:
        return Outcome(
            t.path, TaskState.ERROR.value, -1, f"task {t.path} on {t.host}: {event}: {why}"
        )
    state, version, error = reply
    if not error and state != expect.value:
        error = (
            f"task {t.path} ({t.task_id}) on {t.host}: {event} left it in {state}, "
            f"expected {expect.value}"
        )
    return Outcome(t.path, state, version, error)


def lost(targets: Iterable[Target], event: OccEvent, why: str) -> list[Outcome]:
    """Every target of a call that got no answer (a role or shard that died or hung)."""
    return [judge(t, event, None, why) for t in targets]


def failures(
    outcomes: Sequence[Outcome], critical: Mapping[str, bool], expect: TaskState
) -> list[str]:
    """The sentences of the critical tasks that did not reach ``expect``."""
    return [
        o.error for o in outcomes if o.error and o.state != expect.value and critical.get(o.path)
    ]
