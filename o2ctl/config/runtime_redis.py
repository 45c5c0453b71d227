"""``RuntimeStore`` on Redis: run numbers and runtime values where every node reaches them.

With the records in Redis (``records.RedisRecordStore``), the run number counter must be
there too: a controller restarted on another node after the head is lost carries on from
the last number handed out, never reusing one.

- ``PREFIX:run_number``: the counter, advanced by ``INCR`` (atomic in Redis, so two
  control planes can never hand out the same number; a retried call after a lost reply
  may skip one, never repeat one);
- ``PREFIX:runtime``: a hash of runtime values (``runtime.Get('trg/ctp', …)``);
- ``PREFIX:defaults`` and ``PREFIX:vars``: the global variable layers, one hash each.
"""

from __future__ import annotations

from collections.abc import Mapping

from o2ctl.config.errors import ConfigError
from o2ctl.config.redis_kv import RedisKV
from o2ctl.config.runtime import check_runtime_key, parse_import


class RedisRuntimeStore:
    """Runtime records under one key prefix of a Redis."""

    def __init__(self, host: str, port: int, prefix: str) -> None:
        self.kv = RedisKV(host, port, prefix)

    @property
    def prefix(self) -> str:
        return self.kv.prefix

    def __repr__(self) -> str:
        return f"RedisRuntimeStore({self.kv.uri!r})"

    def next_run_number(self) -> int:
        key = self.kv.key("run_number")
        return int(self.kv.call("hand out a run number", lambda c: c.incr(key)))

    def last_run_number(self) -> int:
        key = self.kv.key("run_number")
        raw = self.kv.call("read the run number", lambda c: c.get(key))
        if raw is None:
            return 0
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(
                f"{self.kv.uri} run number key {key} holds {raw[:40]!r}; expected an integer"
            ) from None

    def get(self, key: str) -> str | None:
        name = self.kv.key("runtime")
        raw = self.kv.call(f"read runtime value {key}", lambda c: c.hget(name, key))
        return None if raw is None else bytes(raw).decode("utf-8", "replace")

    def set(self, key: str, value: str) -> None:
        name, field = self.kv.key("runtime"), check_runtime_key(key)
        self.kv.call(f"write runtime value {key}", lambda c: c.hset(name, field, value))

    def global_defaults(self) -> dict[str, str]:
        return self._layer("defaults")

    def global_vars(self) -> dict[str, str]:
        return self._layer("vars")

    def import_config(self, mapping: Mapping[str, object]) -> None:
        payload = parse_import(mapping)
        layers = {"defaults": payload.defaults, "vars": payload.vars, "runtime": payload.runtime}

        def write(client: object) -> None:
            pipe = client.pipeline(transaction=True)  # type: ignore[attr-defined]
            for layer, values in layers.items():
                if values:
                    pipe.hset(self.kv.key(layer), mapping=values)
            pipe.execute()

        self.kv.call("import configuration", write)

    def show(self) -> dict[str, object]:
        return {
            "run_number": self.last_run_number(),
            "defaults": self.global_defaults(),
            "vars": self.global_vars(),
            "runtime": self._layer("runtime"),
        }

    def _layer(self, layer: str) -> dict[str, str]:
        name = self.kv.key(layer)
        raw = self.kv.call(f"read {layer}", lambda c: c.hgetall(name))
        return {k.decode("utf-8", "replace"): v.decode("utf-8", "replace") for k, v in raw.items()}
