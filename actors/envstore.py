"""An environment's durable record, written and read for the environment actor.

``EnvStore`` wraps the system's ``RecordStore`` (``o2ctl.config.records``) for one
environment: ``write`` puts the record now (a transition's reply waits for it), and
``write_soon`` coalesces the writes that follow what tasks report by themselves into one,
a moment later. Writes are serialised, so the newest state always lands last. The expanded
workflow is kept in a record of its own (kind ``workflows``, pickled: it is our own data,
written by the controller), since it changes only on create and modify.

The record is the environment model's snapshot (``record_of``); it holds no handles, only
names, so it can be read back by a restarted actor (``actors.envrestore``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from ray import cloudpickle

from actors import naming
from o2ctl.config.records import RecordStore, open_record_store
from o2ctl.core.envrecord import EnvRecord

if TYPE_CHECKING:
    from actors.environment import EnvironmentRuntime

log = logging.getLogger("o2ctl.envstore")
ENVIRONMENTS = "environments"
WORKFLOWS = "workflows"
SOON_S = 0.2


def record_of(env: EnvironmentRuntime) -> EnvRecord:
    """The model's snapshot, with the names of the role actors and the event log's place."""
    roles = {p: naming.role_actor(env.env_id, p) for p in env.roles}
    return env.model.snapshot(roles=roles, event_seq=env.events.last_seq)


def save_workflow(records: RecordStore, env_id: str, workflow: Any) -> None:
    blob = base64.b64encode(cloudpickle.dumps(workflow)).decode()  # type: ignore[no-untyped-call]
    records.put(WORKFLOWS, env_id, {"pickle": blob, "workflow": workflow.workflow})


def load_workflow(records: RecordStore, env_id: str) -> Any:
    raw = records.get(WORKFLOWS, env_id)
    if raw is None:
        raise LookupError(f"environment {env_id}: its workflow record is missing")
    return cloudpickle.loads(base64.b64decode(raw["pickle"]))


def forget(records: RecordStore, env_id: str) -> None:
    records.delete(ENVIRONMENTS, env_id)
    records.delete(WORKFLOWS, env_id)


class EnvStore:
    def __init__(self, records: RecordStore, env_id: str) -> None:
        self.records = records
        self.env_id = env_id
        self._lock = asyncio.Lock()
        self._soon: asyncio.TimerHandle | None = None
        self.closed = False  # destroyed: the controller deletes the record; never write again

    def close(self) -> None:
        """The environment is gone: no write may bring its record back (a late report from a
        task being ended would otherwise re-create it after the controller deleted it)."""
        self.closed = True
        if self._soon is not None:
            self._soon.cancel()
            self._soon = None

    @classmethod
    def open(cls, uri: str, env_id: str) -> EnvStore:
        return cls(open_record_store(uri or None), env_id)

    async def load(self) -> tuple[EnvRecord, Any]:
        raw = await asyncio.to_thread(self.records.get, ENVIRONMENTS, self.env_id)
        if raw is None:
            raise LookupError(f"environment {self.env_id}: no durable record")
        workflow = await asyncio.to_thread(load_workflow, self.records, self.env_id)
        return EnvRecord.from_dict(raw), workflow

    async def write(self, env: EnvironmentRuntime) -> None:
        if self.closed:
            return
        if self._soon is not None:
            self._soon.cancel()
            self._soon = None
        async with self._lock:
            if self.closed:
                return
            data = record_of(env).to_dict()  # taken under the lock: the newest lands last
            await asyncio.to_thread(self.records.put, ENVIRONMENTS, self.env_id, data)

    def write_soon(self, env: EnvironmentRuntime) -> None:
        if self._soon is not None or self.closed:
            return
        loop = asyncio.get_running_loop()
        self._soon = loop.call_later(SOON_S, lambda: asyncio.ensure_future(self._quietly(env)))

    async def _quietly(self, env: EnvironmentRuntime) -> None:
        self._soon = None
        with contextlib.suppress(Exception):
            await self.write(env)
