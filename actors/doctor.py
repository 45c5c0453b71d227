"""``o2ctl doctor``: everything of ours that belongs to nothing, found and (``--clean``) ended.

Orphans never exist silently (aliecs.md §7). Four kinds are looked for:

- **processes** carrying this system's mark (``O2CTL_SYSTEM``) whose owner (a task id, or
  a pilot's machine) is in no environment, the idle pool, a deploy under way, or the farm's
  pilots — found by one small Ray task per physical host, pinned to a node on it;
- **actors** of our namespace that nothing refers to: task actors of unknown tasks, role and
  environment actors of environments the controller does not hold;
- **idle tasks without a process**: pool entries whose process has died;
- **records without an actor**: environment records whose actor is gone, pool records
  whose task actor is gone.

With ``clean`` each is ended: processes by SIGTERM then SIGKILL to their group, actors
killed, records removed. The answer lists what was found and counts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from typing import TYPE_CHECKING, Any

import ray

from actors import books, naming
from actors.cluster import pinned
from actors.envlife import destroy_broken
from actors.envstore import forget
from occ.processes import SYSTEM_ENV, find_owned

if TYPE_CHECKING:
    from actors.controller import ControllerRuntime

TASK_OWNER, PILOT_OWNER = "o2ctl-task/", "o2ctl-pilot/"


@ray.remote(num_cpus=0)
def scan_host(
    system: str, known_tasks: list[str], known_pilots: list[str], clean: bool
) -> list[dict[str, Any]]:
    """This host's processes of ``system`` that nothing owns (ended when ``clean``)."""
    import socket

    tasks, pilots, host = set(known_tasks), set(known_pilots), socket.gethostname()
    found: list[dict[str, Any]] = []
    for p in find_owned(env_match=(SYSTEM_ENV, system)):
        owner = p.owner
        if owner.startswith(TASK_OWNER) and owner[len(TASK_OWNER) :] in tasks:
            continue
        if owner.startswith(PILOT_OWNER) and owner[len(PILOT_OWNER) :] in pilots:
            continue
        found.append({"pid": p.pid, "owner": owner, "cmdline": p.cmdline[:200], "host": host})
    if clean and found:
        _end([int(f["pid"]) for f in found])
    return found


def _end(pids: list[int], grace_s: float = 3.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(OSError):
                os.killpg(pid, sig)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


async def examine(ctrl: ControllerRuntime, clean: bool) -> dict[str, Any]:
    tasks = await books.task_list(ctrl)
    known = {t["task_id"] for t in tasks} | set(ctrl.registry.tasks) | set(ctrl.registry.pending)
    pilots = sorted(getattr(getattr(ctrl, "farm", None), "pilot_owners", lambda: [])())
    procs = await _processes(ctrl, sorted(known), pilots, clean)
    actors = await asyncio.to_thread(_stray_actors, ctrl, known)
    idle_dead = [t for t in tasks if t.get("idle") and not await _has_process(t)]
    records = [{"kind": "environments", "key": e} for e in ctrl.orphan_records]
    records += [  # records that cannot be read: their environment is BROKEN
        {"kind": "environments", "key": e, "broken": why} for e, why in ctrl.broken.items()
    ]
    records += await asyncio.to_thread(_pool_records_without_actor, ctrl)
    if clean:
        await _clean(ctrl, actors, idle_dead, records)
    found: dict[str, Any] = {
        "processes": procs,
        "actors": actors,
        "idle_without_process": [t["task_id"] for t in idle_dead],
        "records": records,
    }
    count = sum(len(v) for v in found.values())
    return {**found, "count": count, "cleaned": clean}


async def _processes(
    ctrl: ControllerRuntime, known: list[str], pilots: list[str], clean: bool
) -> list[dict[str, Any]]:
    nodes = await ctrl.nodes.get(fresh=True)
    one_per_host = {n.ip: n.node_id for n in nodes.values() if n.alive}
    refs = [
        scan_host.options(scheduling_strategy=pinned(node_id)).remote(
            ctrl.system_id, known, pilots, clean
        )
        for node_id in one_per_host.values()
    ]
    out: list[dict[str, Any]] = []
    for got in await asyncio.gather(*refs, return_exceptions=True):
        if not isinstance(got, BaseException):
            out += got
    return out


def _stray_actors(ctrl: ControllerRuntime, known: set[str]) -> list[str]:
    strays = []
    for name in naming.named_actors():
        if name == naming.CONTROLLER or name.startswith(("pilot:", "o2ctl-")):
            continue
        if name.startswith("env:"):
            if name[len("env:") :] not in ctrl.envs:
                strays.append(name)
        elif "#" in name:
            if name.rsplit("#", 1)[1] not in known:
                strays.append(name)
        elif ":" in name and name.split(":", 1)[0] not in ctrl.envs:
            strays.append(name)  # a role actor of an environment that is gone
    return strays


async def _has_process(task: dict[str, Any]) -> bool:
    try:
        actor = ray.get_actor(task["actor_name"], namespace=naming.NAMESPACE)
        snap: dict[str, Any] = await asyncio.wait_for(actor.snapshot.remote(), 10)
    except Exception:
        return False
    return bool(snap.get("alive"))


def _pool_records_without_actor(ctrl: ControllerRuntime) -> list[dict[str, str]]:
    out = []
    live = set(naming.named_actors())
    for key, rec in ctrl.records.all(books.POOL).items():
        if rec.get("actor_name") not in live:
            out.append({"kind": books.POOL, "key": key})
    return out


async def _clean(
    ctrl: ControllerRuntime,
    actors: list[str],
    idle_dead: list[dict[str, Any]],
    records: list[dict[str, str]],
) -> None:
    for name in actors + [t["actor_name"] for t in idle_dead]:
        with contextlib.suppress(Exception):
            actor = ray.get_actor(name, namespace=naming.NAMESPACE)
            if "#" in name:
                await asyncio.wait_for(actor.terminate.remote(ctrl.settings.kill_grace_s), 15)
            ray.kill(actor)
    dropped = [t["task_id"] for t in idle_dead] + [
        r["key"] for r in records if r["kind"] == books.POOL
    ]
    ctrl.registry.release([], dropped)
    await asyncio.to_thread(books.write_pool, ctrl, [], dropped)
    for r in records:
        if r.get("broken"):
            await destroy_broken(ctrl, r["key"])
        elif r["kind"] == "environments":
            await asyncio.to_thread(forget, ctrl.records, r["key"])
    ctrl.orphan_records.clear()
