"""One Redis, for the durable records and the runtime store of a system whose head may go.

``RedisKV`` is the only place that talks to Redis: a small pool with short timeouts (a
store that is down must say so in seconds, never hang a transition), a few quick retries
(a Redis restarted by its supervisor answers again within them), and every failure turned
into one error naming the address: ``StoreDown`` when Redis cannot be reached (nothing was
written; the caller refuses the change), ``ConfigError`` for anything else.

Durability: a write is acknowledged by Redis only once it is in its append-only file, and
that file reaches the disk before the reply only with ``appendonly yes`` and ``appendfsync
always`` (what ``o2ctl up --ha`` runs). A Redis without an append-only file is refused on
first use, since a record acknowledged there could be gone after its restart; one whose
``CONFIG`` is not readable (a managed service) is taken at its word.

URIs: ``redis://HOST[:PORT][/PREFIX]`` (default port 6379, prefix ``o2ctl``); every key
of ours starts with ``PREFIX:``, beside Ray's own keys when the same Redis holds its GCS.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from typing import Any, TypeVar

from o2ctl.config.errors import ConfigError, StoreDown

CONNECT_TIMEOUT_S = 2.0
CALL_TIMEOUT_S = 5.0
RETRIES = 3
DEFAULT_PREFIX = "o2ctl"
_PREFIX = re.compile(r"[A-Za-z0-9_.\-]{1,100}")
T = TypeVar("T")


def parse_redis_uri(uri: str) -> tuple[str, int, str]:
    """``redis://HOST[:PORT][/PREFIX]`` -> (host, port, prefix)."""
    parsed = urllib.parse.urlsplit(uri)
    if parsed.scheme != "redis" or not parsed.hostname:
        raise ConfigError(f"bad Redis URI {uri[:200]!r}: expected redis://HOST:PORT/PREFIX")
    try:
        port = parsed.port or 6379
    except ValueError as e:
        raise ConfigError(f"bad Redis URI {uri[:200]!r}: {e}") from None
    prefix = parsed.path.strip("/") or DEFAULT_PREFIX
    if not _PREFIX.fullmatch(prefix):
        raise ConfigError(
            f"bad Redis URI {uri[:200]!r}: the prefix must be letters, digits, '_', '.', '-'"
        )
    return parsed.hostname, port, prefix


class RedisKV:
    """Calls to one Redis, each failure named; the durability check runs once."""

    def __init__(self, host: str, port: int, prefix: str = DEFAULT_PREFIX) -> None:
        import redis
        from redis.backoff import ExponentialBackoff
        from redis.retry import Retry

        self.host, self.port, self.prefix = host, port, prefix
        self._down: tuple[type[BaseException], ...] = (
            redis.ConnectionError,
            redis.TimeoutError,
            OSError,
        )
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError,)
        self.client: Any = redis.Redis(
            host=host,
            port=port,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            socket_timeout=CALL_TIMEOUT_S,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.1), RETRIES),
            retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        )
        self._checked = False

    @property
    def uri(self) -> str:
        return f"redis://{self.host}:{self.port}/{self.prefix}"

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def call(self, what: str, fn: Callable[[Any], T]) -> T:
        """``fn(client)``; ``what`` says in the error what could not be done."""
        try:
            if not self._checked:
                self._check_durable()
            return fn(self.client)
        except self._down as e:
            raise StoreDown(
                f"durable store {self.uri} is down: cannot {what} ({e}); "
                "no change is accepted until it answers again"
            ) from None
        except self._errors as e:
            raise ConfigError(f"durable store {self.uri}: cannot {what}: {e}") from None

    def ping(self) -> None:
        """Raise ``StoreDown`` unless Redis answers."""
        self.call("reach it", lambda c: c.ping())

    def _check_durable(self) -> None:
        info = self.client.info("persistence")
        if not int(info.get("aof_enabled", 0)):
            raise ConfigError(
                f"durable store {self.uri} keeps no append-only file: an acknowledged record "
                "could be lost when it restarts; run it with 'appendonly yes' and "
                "'appendfsync always' (as `o2ctl up --ha` does)"
            )
        try:
            fsync = self.client.config_get("appendfsync").get("appendfsync", "always")
        except self._errors:
            fsync = "always"  # CONFIG not allowed (a managed Redis): taken at its word
        if fsync != "always":
            raise ConfigError(
                f"durable store {self.uri} has 'appendfsync {fsync}': a record is "
                "acknowledged before it is on disk; set 'appendfsync always'"
            )
        self._checked = True
