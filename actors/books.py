"""The controller's durable books: its system identity, the idle pool's records, and the
rebuild of everything after a restart.

Every fact the controller needs after a crash is in a record: environments (their task
tables, with channel ports and actor names; written by the environment actors), idle tasks
(kind ``pool``, written here before the release or claim they record is acknowledged) and
node modes. ``restore`` reads them back: environment actors are looked up by name (they are
detached and survived), the registry, ports and detector locks are rebuilt from the task
tables, the pool from its records. A record whose actor is gone is kept and listed by
``o2ctl doctor`` rather than silently dropped.

The system id (a file in the state directory) marks every process this system starts
(``O2CTL_SYSTEM``): ``o2ctl down`` and ``doctor --clean`` end exactly ours, never those of
another o2ctl system on the same host.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ray

from actors import naming
from actors.envstore import ENVIRONMENTS
from o2ctl.config.durable import atomic_write, locked
from o2ctl.core.envrecord import EnvRecord

if TYPE_CHECKING:
    from actors.controller import ControllerRuntime

POOL = "pool"
SYSTEM_ID_FILE = "system-id"


def system_id(state_dir: str) -> str:
    """This system's id, created once per state directory."""
    path = Path(state_dir) / SYSTEM_ID_FILE
    with locked(Path(state_dir) / ".system-id.lock"):
        try:
            text = path.read_text().strip()
        except FileNotFoundError:
            text = ""
        if not text:
            text = uuid.uuid4().hex[:16]
            atomic_write(path, text + "\n")
    return text


async def local_ips(ctrl: ControllerRuntime) -> set[str]:
    nodes = await ctrl.nodes.get(fresh=True)
    mine = nodes.get(ctrl._local_node)
    return {"127.0.0.1", *([mine.ip] if mine is not None else [])}


def pool_record(ctrl: ControllerRuntime, rec: dict[str, Any]) -> None:
    ctrl.records.put(POOL, rec["task_id"], {k: v for k, v in rec.items() if k != "env_id"})


def unpool(ctrl: ControllerRuntime, task_id: str) -> None:
    ctrl.records.delete(POOL, task_id)


def write_pool(ctrl: ControllerRuntime, pooled: list[dict[str, Any]], dropped: list[str]) -> None:
    for rec in pooled:
        pool_record(ctrl, rec)
    for task_id in dropped:
        ctrl.records.delete(POOL, task_id)


def _actor(name: str) -> Any:
    try:
        return ray.get_actor(name, namespace=naming.NAMESPACE)
    except ValueError:
        return None


async def restore(ctrl: ControllerRuntime) -> None:
    """Rebuild the books from the records (a no-op on a fresh state directory)."""
    broken: dict[str, str] = {}  # a record that cannot be read is isolated, never fatal
    envs = await asyncio.to_thread(ctrl.records.all, ENVIRONMENTS, broken)
    pool = await asyncio.to_thread(ctrl.records.all, POOL, ctrl.broken_pool)
    actors = await asyncio.to_thread(lambda: {e: _actor(naming.env_actor(e)) for e in envs})
    for env_id, raw in envs.items():
        try:
            rec = EnvRecord.from_dict(raw)
        except Exception as exc:  # readable JSON, not an environment's record
            broken[env_id] = f"record {env_id} of {ctrl.records!r}: {exc}"
            continue
        if actors[env_id] is None:
            ctrl.orphan_records.append(env_id)
            continue
        ctrl.envs[env_id] = actors[env_id]
        ctrl.detectors.hold(env_id, rec.detectors)
        ctrl.registry.restore_environment(rec)
    for env_id, why in broken.items():
        ctrl.broken[env_id] = why
        await asyncio.to_thread(_end_for_good, naming.env_actor(env_id))  # no restart loop
    for key, raw in pool.items():
        try:
            ctrl.registry.restore_idle(raw)
        except Exception as exc:
            ctrl.broken_pool[key] = f"pool record {key} of {ctrl.records!r}: {exc}"
    if envs or pool:
        from o2ctl.core.events import Event

        ctrl.events.append(
            Event(
                "environment",
                "",
                state="",
                detail={
                    "controller_restored": True,
                    "environments": sorted(ctrl.envs),
                    "idle": len(pool),
                    "orphan_records": list(ctrl.orphan_records),
                    "broken_records": {**ctrl.broken, **ctrl.broken_pool},
                },
            )
        )


def _end_for_good(name: str) -> None:
    """End an environment actor whose record cannot be read (it would restart for ever)."""
    actor = _actor(name)
    if actor is not None:
        with contextlib.suppress(Exception):
            ray.kill(actor, no_restart=True)


def broken_summary(env_id: str, why: str) -> dict[str, Any]:
    """What lists show of an environment whose record cannot be read."""
    return {
        "env_id": env_id,
        "workflow": "?",
        "state": "BROKEN",
        "run_number": None,
        "tasks": 0,
        "task_states": {},
        "detectors": [],
        "busy": None,
        "last_error": f"its record cannot be read ({why}); destroy it to end what it ran",
    }


async def task_list(ctrl: ControllerRuntime) -> list[dict[str, Any]]:
    """One truth for every task: each environment's own table, then the idle pool."""
    ids = sorted(ctrl.envs)
    tables = await asyncio.gather(
        *(ctrl.envs[i].task_table.options(max_task_retries=3).remote() for i in ids),
        return_exceptions=True,
    )
    out: list[dict[str, Any]] = []
    for env_id, table in zip(ids, tables, strict=True):
        if isinstance(table, BaseException):
            continue
        out += [{**t, "env_id": env_id, "idle": False} for t in table]
    for t in ctrl.registry.pool.tasks():
        rec = ctrl.registry.tasks.get(t.task_id, {})
        out.append(
            {
                "task_id": t.task_id,
                "task_class": t.task_class,
                "role_path": "",
                "env_id": None,
                "host": rec.get("host", ""),
                "node_id": t.node_id,
                "pid": rec.get("pid", 0),
                "state": "STANDBY",
                "control_port": t.control_port,
                "actor_name": t.actor_name,
                "log_path": rec.get("log_path", ""),
                "idle": True,
            }
        )
    return sorted(out, key=lambda r: r["task_id"])
