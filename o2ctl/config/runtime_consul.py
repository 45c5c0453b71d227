"""``RuntimeStore`` on Consul, with keys laid out as AliECS does.

- ``PREFIX/runtime/aliecs/run_number``: the run number counter, advanced by
  check-and-set on the key's ``ModifyIndex`` (a lost race retries, so two control planes
  can never hand out the same number);
- ``PREFIX/runtime/KEY``: runtime values (``runtime.Get('trg/ctp', …)`` reads
  ``PREFIX/runtime/trg/ctp``);
- ``PREFIX/aliecs/defaults`` and ``PREFIX/aliecs/vars``: the global variable layers, each
  a YAML mapping, merged by check-and-set too.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping

import yaml

from o2ctl.config.consul_kv import ConsulKV
from o2ctl.config.errors import ConfigError
from o2ctl.config.runtime import RUN_NUMBER_KEY, check_runtime_key, parse_import, value_text

CAS_ATTEMPTS = 200


class ConsulRuntimeStore:
    """Runtime records under one key prefix of a Consul agent."""

    def __init__(self, host: str, port: int, prefix: str) -> None:
        self.prefix = prefix.strip("/")
        self.kv = ConsulKV(host, port)

    def __repr__(self) -> str:
        return f"ConsulRuntimeStore('consul://{self.kv.address}/{self.prefix}')"

    def _key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def next_run_number(self) -> int:
        key = self._key("runtime", RUN_NUMBER_KEY)
        raw = self._cas_update(key, lambda old: str(_as_int(old, key) + 1).encode())
        return int(raw)

    def last_run_number(self) -> int:
        key = self._key("runtime", RUN_NUMBER_KEY)
        value = self.kv.get(key)
        return _as_int(value.data if value else None, key)

    def get(self, key: str) -> str | None:
        value = self.kv.get(self._key("runtime", key))
        return value.data.decode("utf-8", "replace") if value else None

    def set(self, key: str, value: str) -> None:
        self.kv.put(self._key("runtime", check_runtime_key(key)), value.encode("utf-8"))

    def global_defaults(self) -> dict[str, str]:
        return self._layer("defaults")

    def global_vars(self) -> dict[str, str]:
        return self._layer("vars")

    def import_config(self, mapping: Mapping[str, object]) -> None:
        payload = parse_import(mapping)
        for layer, values in (("defaults", payload.defaults), ("vars", payload.vars)):
            if values:
                self._merge_layer(layer, values)
        for key, value in payload.runtime.items():
            self.set(key, value)

    def show(self) -> dict[str, object]:
        folder = self._key("runtime") + "/"
        counter = self._key("runtime", RUN_NUMBER_KEY)
        runtime: dict[str, str] = {}
        for key in self.kv.keys(folder):
            if key != counter and not key.endswith("/"):
                runtime[key[len(folder) :]] = self.get(key[len(folder) :]) or ""
        return {
            "run_number": self.last_run_number(),
            "defaults": self.global_defaults(),
            "vars": self.global_vars(),
            "runtime": runtime,
        }

    def _layer(self, layer: str) -> dict[str, str]:
        key = self._key("aliecs", layer)
        value = self.kv.get(key)
        return _yaml_mapping(value.data if value else None, key)

    def _merge_layer(self, layer: str, values: dict[str, str]) -> None:
        key = self._key("aliecs", layer)

        def merge(old: bytes | None) -> bytes:
            merged = {**_yaml_mapping(old, key), **values}
            return yaml.safe_dump(merged, sort_keys=True).encode("utf-8")

        self._cas_update(key, merge)

    def _cas_update(self, key: str, change: Callable[[bytes | None], bytes]) -> bytes:
        """Apply ``change`` to the value at ``key`` atomically; returns the value written."""
        for _ in range(CAS_ATTEMPTS):
            current = self.kv.get(key)
            new = change(current.data if current else None)
            if self.kv.put(key, new, cas=current.modify_index if current else 0):
                return new
            time.sleep(random.uniform(0.001, 0.02))  # lost a race: back off and retry
        raise ConfigError(
            f"Consul agent {self.kv.address}: key {key} kept changing under "
            f"{CAS_ATTEMPTS} check-and-set attempts"
        )


def _as_int(data: bytes | None, key: str) -> int:
    if data is None:
        return 0
    try:
        return int(data.decode().strip())
    except (UnicodeDecodeError, ValueError):
        raise ConfigError(f"Consul key {key} holds {data[:40]!r}; expected an integer") from None


def _yaml_mapping(data: bytes | None, key: str) -> dict[str, str]:
    if not data:
        return {}
    try:
        loaded = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as e:
        raise ConfigError(f"Consul key {key} is not a YAML mapping: {e}") from e
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"Consul key {key}: expected a YAML mapping of variables")
    return {str(k): value_text(v) for k, v in loaded.items()}
