"""A thin wrapper over py-consul's key-value API, for the Consul backends.

The repository and the runtime store both talk to Consul only through ``ConsulKV``: bytes
in and out, the ``ModifyIndex`` kept for check-and-set, and every failure (agent down,
ACL refusal, HTTP error) turned into one ``ConfigError`` naming the agent and the key.
Calls are blocking, with a short timeout: callers on an event loop go through a thread.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any

from o2ctl.config.errors import ConfigError

CONSUL_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class ConsulValue:
    """One key's value and the index to compare-and-set against."""

    data: bytes
    modify_index: int


class ConsulKV:
    """Key-value access to one Consul agent."""

    def __init__(self, host: str, port: int, timeout_s: float = CONSUL_TIMEOUT_S) -> None:
        self.host = host
        self.port = port
        import consul  # lazily: py-consul pulls in requests, which most commands never need

        self._client: Any = consul.Consul(host=host, port=port, connections_timeout=timeout_s)
        self._errors: tuple[type[BaseException], ...] = (consul.ConsulException, OSError)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def get(self, key: str) -> ConsulValue | None:
        """The value at ``key``, or None when the key does not exist."""
        _, item = self._call("read", key, lambda: self._client.kv.get(key))
        if item is None:
            return None
        value = item.get("Value") or b""
        data = value if isinstance(value, bytes) else str(value).encode()
        return ConsulValue(data, int(item["ModifyIndex"]))

    def keys(self, prefix: str) -> list[str]:
        """Every key under ``prefix`` (recursively), sorted."""
        _, found = self._call("list", prefix, lambda: self._client.kv.get(prefix, keys=True))
        return sorted(found or [])

    def put(self, key: str, value: str | bytes, cas: int | None = None) -> bool:
        """Write ``key``; with ``cas`` only if its index still matches (0: only if absent)."""
        return bool(self._call("write", key, lambda: self._client.kv.put(key, value, cas=cas)))

    def delete(self, key: str, recurse: bool = False) -> None:
        """Delete ``key`` (with ``recurse``: every key under it)."""
        self._call("delete", key, lambda: self._client.kv.delete(key, recurse=recurse or None))

    def ping(self) -> None:
        """Raise ``ConfigError`` unless the agent answers."""
        self._call("reach", "status/leader", lambda: self._client.status.leader())

    def _call(self, what: str, key: str, fn: Any) -> Any:
        try:
            return fn()
        except self._errors as e:
            raise ConfigError(f"Consul agent {self.address}: cannot {what} key {key!r}: {e}") from e


def parse_consul_uri(uri: str) -> tuple[str, int, str]:
    """``consul://HOST[:PORT][/PREFIX]`` → (host, port, prefix without slashes)."""
    parsed = urllib.parse.urlsplit(uri)
    if parsed.scheme != "consul" or not parsed.hostname:
        raise ConfigError(f"bad Consul URI {uri!r}: expected consul://HOST:PORT/PREFIX")
    try:
        port = parsed.port or 8500
    except ValueError as e:
        raise ConfigError(f"bad Consul URI {uri!r}: {e}") from e
    return parsed.hostname, port, parsed.path.strip("/")
