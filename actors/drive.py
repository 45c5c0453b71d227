"""The Ray side of driving a transition down the tree (the pure part: ``o2ctl.core.drive``).

A ``TreeDriver`` belongs to one role actor (or a node shard of one, or the environment
when its root role actor is missing). Given the targets under its role, it sends the OCC
event to its own direct tasks' actors, one ``drive`` to each sub-role actor and one to the
shard of each other node holding direct tasks, all at once, and returns every task's
outcome plus each sub-role's merged state. Handles are looked up by name once (in a
thread: Ray's lookup blocks) and kept; a shard is created on its node the first time it is
needed. Every wait is bounded: a task actor that restarted under the call is waited for
and asked again only if its task is not already where the event leads (``resend``); a
role or shard that died is asked once more in that careful mode; one that does not
answer in time fails its tasks by name.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ray
from ray.exceptions import RayActorError

from actors import naming
from actors.reasons import reason
from o2ctl.core.drive import Outcome, Target, judge, lost, route, shard_name
from o2ctl.core.occevents import OccEvent

LEVEL_SLACK_S = 10.0  # beyond the per-task timeout, what a role or shard may take to answer

Reply = tuple[str, int, list[Outcome]]  # a role's merged state, its version, the outcomes


class TreeDriver:
    def __init__(
        self,
        env_id: str,
        role_path: str,
        node_id: str = "",
        make_shard: Callable[[str, str], Any] | None = None,
    ) -> None:
        """``node_id``: this driver's node (its direct tasks elsewhere go to shards); ""
        drives every direct task itself. ``make_shard(name, node_id)`` creates a shard."""
        self.env_id = env_id
        self.role_path = role_path
        self.node_id = node_id if make_shard is not None else ""
        self.make_shard = make_shard
        self.handles: dict[str, Any] = {}

    async def _handles(self, names: Sequence[str]) -> None:
        missing = [n for n in dict.fromkeys(names) if n not in self.handles]
        found = await asyncio.gather(
            *(asyncio.to_thread(ray.get_actor, n, naming.NAMESPACE) for n in missing),
            return_exceptions=True,
        )
        for n, h in zip(missing, found, strict=True):
            if not isinstance(h, BaseException):
                self.handles[n] = h

    async def _shard(self, node_id: str) -> Any:
        name = naming.role_actor(self.env_id, shard_name(self.role_path, node_id))
        if name not in self.handles and self.make_shard is not None:
            self.handles[name] = await asyncio.to_thread(self.make_shard, name, node_id)
        return self.handles.get(name)

    async def drive(
        self,
        event: OccEvent,
        args: Mapping[str, str] | None,
        targets: Sequence[Target],
        timeout: float,
        version: int,
        careful: bool = False,
    ) -> tuple[list[Outcome], list[tuple[str, str, int]]]:
        """Outcomes of every target, and ``(sub-role path, state, version)`` of each
        sub-role driven (for the caller's aggregate)."""
        r = route(targets, self.role_path, self.node_id)
        role_names = {p: naming.role_actor(self.env_id, p) for p in r.roles}
        await self._handles([t.actor_name for t in r.mine] + list(role_names.values()))
        mine = self._tasks(event, args, r.mine, timeout, careful)
        below = [(p, self.handles.get(role_names[p]), ts) for p, ts in r.roles.items()]
        below += [(n, await self._shard(n), ts) for n, ts in r.shards.items()]
        subs = [self._below(k, h, event, args, ts, timeout, version, careful) for k, h, ts in below]
        outcomes, replies = await asyncio.gather(mine, asyncio.gather(*subs))
        states = []
        for (key, _, _), (state, ver, outs) in zip(below, replies, strict=True):
            outcomes += outs
            if key in r.roles and state:
                states.append((key, state, ver))
        return outcomes, states

    async def _below(
        self,
        key: str,
        handle: Any,
        event: OccEvent,
        args: Mapping[str, str] | None,
        targets: list[Target],
        timeout: float,
        version: int,
        careful: bool,
    ) -> Reply:
        """A sub-role's (``key``: its path) or a node shard's (``key``: the node) share. If
        its actor is gone (lost with its node, not yet made again), this driver drives the
        share itself, carefully: the role's aggregate misses it, no task misses its event."""
        reply = await ask(handle, event, args, targets, timeout, version, careful)
        if reply is not None:
            return reply
        self.handles = {n: h for n, h in self.handles.items() if h is not handle}
        path = key if key.startswith(self.role_path + ".") else self.role_path
        stand_in = TreeDriver(self.env_id, path)
        outs, _ = await stand_in.drive(event, args, targets, timeout, version, careful=True)
        return "", 0, outs

    async def _tasks(
        self,
        event: OccEvent,
        args: Mapping[str, str] | None,
        targets: Sequence[Target],
        timeout: float,
        careful: bool,
    ) -> list[Outcome]:
        if not targets:
            return []
        t0 = time.monotonic()
        actors = [self.handles.get(t.actor_name) for t in targets]
        sent = [
            resend(a, event, t.args if t.args is not None else args, timeout)
            if careful or a is None
            else a.transition.remote(event, t.args if t.args is not None else args, timeout)
            for t, a in zip(targets, actors, strict=True)
        ]
        replies = list(await asyncio.gather(*sent, return_exceptions=True))
        died = [i for i, rep in enumerate(replies) if isinstance(rep, RayActorError)]
        if died:  # actors that restarted under the call: the slow path, only for them
            left = max(timeout - (time.monotonic() - t0), 0.1)
            again = await asyncio.gather(
                *(resend(actors[i], event, targets[i].args or args, left) for i in died),
                return_exceptions=True,
            )
            for i, rep in zip(died, again, strict=True):
                replies[i] = rep
        return [
            judge(t, event, None, reason(rep))
            if isinstance(rep, BaseException)
            else judge(t, event, tuple(rep))
            for t, rep in zip(targets, replies, strict=True)
        ]


async def ask(
    handle: Any,
    event: OccEvent,
    args: Mapping[str, str] | None,
    targets: list[Target],
    timeout: float,
    version: int,
    careful: bool = False,
) -> Reply | None:
    """One role's or shard's share of a transition; asked once more (carefully: no task
    is sent an event it already went through) if its actor died under the call. None: the
    actor is gone (not found, or died again)."""
    if handle is None:
        return None
    for attempt in (careful, True):
        try:
            ref = handle.drive.remote(event, args, targets, timeout, version, attempt)
            state, ver, outs = await asyncio.wait_for(ref, timeout + LEVEL_SLACK_S)
            return state, ver, list(outs)
        except RayActorError:
            if attempt:
                return None
        except TimeoutError:
            why = f"its role actor did not answer within {timeout + LEVEL_SLACK_S:.0f}s"
            return "", 0, lost(targets, event, why)
    raise AssertionError("unreachable")


async def resend(actor: Any, event: OccEvent, args: Any, timeout: float) -> tuple[str, int, str]:
    """A task actor restarted (its worker died) during ``event``: wait for it within the
    deadline — the new actor re-adopts the process — and send the event again only if the
    task is not already where the event would have taken it."""
    if actor is None:
        raise LookupError("its task actor was not found")
    expect = event.leads_to
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"its actor did not come back within {timeout:.1f}s")
        try:
            snap = await asyncio.wait_for(actor.snapshot.remote(), min(left, 2.0))
            break
        except (RayActorError, TimeoutError):
            await asyncio.sleep(min(0.1, max(left, 0)))
    if snap["state"] == expect.value or not snap.get("alive", True):
        return (
            snap["state"],
            snap["version"],
            snap["error"] if snap["state"] != expect.value else "",
        )
    left = max(deadline - time.monotonic(), 0.1)
    return tuple(await actor.transition.remote(event, args, left))
