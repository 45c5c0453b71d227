"""Durable records of the control plane: what it must know again after any of its actors
restarts.

The control plane's actors (controller, environments, roles, tasks) are caches of these
records: each fact a restart needs — an environment's target (workflow, variables,
exclusions) and what it reached (state, run number, its task table with actor names), an
idle task, a node's mode — is written here *before* the change it records is acknowledged
to anyone, and read back when an actor starts again. A record is a JSON object under a
``kind`` (``environments``, ``pool``, ``nodes``, ...) and a key (an id).

Where they live follows the runtime store (run numbers), so that one place holds every
durable fact of a system: files under the state directory by default (``records/<kind>/
<key>.json``, each write atomic and fsync'd, see ``durable``), keys under the Consul
prefix (``<prefix>/records/<kind>/<key>``) when the runtime store is Consul, or one Redis
hash per kind (``<prefix>:records:<kind>``, field = key) when it is Redis: the store every
node reaches, so a control plane restarted on another node (the head lost) finds them all
(see ``redis_kv`` for its durability and what "down" means). Not Ray's GCS
key-value store: it dies with the Ray cluster, while the processes we start do not; a
record on disk or in Consul still names them after a whole Ray restart.

Calls block (an fsync, an HTTP round trip): async callers use ``asyncio.to_thread``.
Records are bounded in size (``MAX_RECORD_BYTES``) so a runaway writer fails loudly.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from o2ctl.config.durable import atomic_write, state_dir
from o2ctl.config.errors import ConfigError

MAX_RECORD_BYTES = 64 * 1024 * 1024
_NAME = re.compile(r"[A-Za-z0-9_.:\-]{1,200}")


@runtime_checkable
class RecordStore(Protocol):
    """Durable JSON records by kind and key."""

    def put(self, kind: str, key: str, record: Mapping[str, Any]) -> None:
        """Write (replace) one record; durable when this returns."""
        ...

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        """One record, or None."""
        ...

    def delete(self, kind: str, key: str) -> None:
        """Remove one record (no error if absent)."""
        ...

    def all(self, kind: str, broken: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
        """Every record of ``kind`` by key; with ``broken``, one that cannot be read goes
        there (key -> why, naming where it is) instead of failing the whole listing."""
        ...


def check_name(what: str, name: str) -> str:
    """Kinds and keys are ids, never paths: refuse anything else."""
    if not _NAME.fullmatch(name) or name in (".", ".."):
        raise ConfigError(f"bad record {what} {name[:60]!r}: expected letters, digits, _.:-")
    return name


def encode(kind: str, key: str, record: Mapping[str, Any]) -> bytes:
    data = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
    if len(data) > MAX_RECORD_BYTES:
        raise ConfigError(
            f"record {kind}/{key} is {len(data)} bytes, over the {MAX_RECORD_BYTES} limit"
        )
    return data


def decode(where: str, data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise ConfigError(f"record {where} is corrupt: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"record {where} is corrupt: expected a JSON object")
    return value


class FileRecordStore:
    """Records as files: ``<directory>/<kind>/<key>.json``."""

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory) if directory is not None else state_dir() / "records"

    def __repr__(self) -> str:
        return f"FileRecordStore({str(self.directory)!r})"

    def _path(self, kind: str, key: str) -> Path:
        return self.directory / check_name("kind", kind) / f"{check_name('key', key)}.json"

    def put(self, kind: str, key: str, record: Mapping[str, Any]) -> None:
        atomic_write(self._path(kind, key), encode(kind, key, record).decode())

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        path = self._path(kind, key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        return decode(str(path), data)

    def delete(self, kind: str, key: str) -> None:
        self._path(kind, key).unlink(missing_ok=True)

    def all(self, kind: str, broken: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
        folder = self.directory / check_name("kind", kind)
        out: dict[str, dict[str, Any]] = {}
        try:
            names = sorted(os.listdir(folder))
        except FileNotFoundError:
            return out
        for name in names:
            if name.endswith(".json") and not name.startswith("."):
                key = name[: -len(".json")]
                rec = _readable(partial(self.get, kind, key), key, broken)
                if rec is not None:
                    out[key] = rec
        return out


class ConsulRecordStore:
    """Records as Consul keys: ``<prefix>/records/<kind>/<key>``."""

    def __init__(self, host: str, port: int, prefix: str) -> None:
        from o2ctl.config.consul_kv import ConsulKV

        self.kv = ConsulKV(host, port)
        self.prefix = prefix.strip("/")

    def __repr__(self) -> str:
        return f"ConsulRecordStore('consul://{self.kv.address}/{self.prefix}')"

    def _key(self, kind: str, key: str = "") -> str:
        parts = [self.prefix, "records", check_name("kind", kind)]
        if key:
            parts.append(check_name("key", key))
        return "/".join(p for p in parts if p)

    def put(self, kind: str, key: str, record: Mapping[str, Any]) -> None:
        self.kv.put(self._key(kind, key), encode(kind, key, record))

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        value = self.kv.get(self._key(kind, key))
        return None if value is None else decode(self._key(kind, key), value.data)

    def delete(self, kind: str, key: str) -> None:
        self.kv.delete(self._key(kind, key))

    def all(self, kind: str, broken: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
        base = self._key(kind) + "/"
        out: dict[str, dict[str, Any]] = {}
        for full in self.kv.keys(base):
            key = full[len(base) :]
            if key and "/" not in key:
                rec = _readable(partial(self.get, kind, key), key, broken)
                if rec is not None:
                    out[key] = rec
        return out


class RedisRecordStore:
    """Records in Redis: one hash per kind, ``<prefix>:records:<kind>``, field = key."""

    def __init__(self, host: str, port: int, prefix: str) -> None:
        from o2ctl.config.redis_kv import RedisKV

        self.kv = RedisKV(host, port, prefix)

    def __repr__(self) -> str:
        return f"RedisRecordStore({self.kv.uri!r})"

    def _hash(self, kind: str) -> str:
        return self.kv.key("records", check_name("kind", kind))

    def put(self, kind: str, key: str, record: Mapping[str, Any]) -> None:
        name, data = self._hash(kind), encode(kind, key, record)
        field = check_name("key", key)
        self.kv.call(f"write record {kind}/{key}", lambda c: c.hset(name, field, data))

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        name, field = self._hash(kind), check_name("key", key)
        data = self.kv.call(f"read record {kind}/{key}", lambda c: c.hget(name, field))
        return None if data is None else decode(f"{self.kv.uri} {kind}/{key}", data)

    def delete(self, kind: str, key: str) -> None:
        name, field = self._hash(kind), check_name("key", key)
        self.kv.call(f"delete record {kind}/{key}", lambda c: c.hdel(name, field))

    def all(self, kind: str, broken: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
        name = self._hash(kind)
        raw = self.kv.call(f"list records {kind}", lambda c: c.hgetall(name))
        out: dict[str, dict[str, Any]] = {}
        for field in sorted(raw):
            key = field.decode("utf-8", "replace")
            where = f"{self.kv.uri} {kind}/{key}"
            rec = _readable(partial(decode, where, raw[field]), key, broken)
            if rec is not None:
                out[key] = rec
        return out


def _readable(read: Any, key: str, broken: dict[str, str] | None) -> dict[str, Any] | None:
    """``read()``, or None with the reason in ``broken`` when given (else it raises)."""
    if broken is None:
        return read()  # type: ignore[no-any-return]
    try:
        return read()  # type: ignore[no-any-return]
    except (ConfigError, OSError, UnicodeDecodeError) as exc:
        broken[key] = str(exc)
        return None


def open_record_store(runtime_uri: str | None = None) -> RecordStore:
    """The record store beside the runtime store ``runtime_uri`` (see ``open_runtime_store``)."""
    if runtime_uri and runtime_uri.startswith("consul://"):
        from o2ctl.config.consul_kv import parse_consul_uri

        host, port, prefix = parse_consul_uri(runtime_uri)
        return ConsulRecordStore(host, port, prefix)
    if runtime_uri and runtime_uri.startswith("redis://"):
        from o2ctl.config.redis_kv import parse_redis_uri

        return RedisRecordStore(*parse_redis_uri(runtime_uri))
    if runtime_uri and "://" in runtime_uri and not runtime_uri.startswith("file://"):
        raise ConfigError(
            f"unknown runtime store URI {runtime_uri!r}; expected file://, consul:// or redis://"
        )
    base = Path(runtime_uri.removeprefix("file://")).expanduser() if runtime_uri else state_dir()
    return FileRecordStore(base / "records")
