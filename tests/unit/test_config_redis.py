"""The Redis store when Redis goes: it says it is down, refuses, goes on; nothing is lost.

A real ``redis-server`` (Debian's; the tests skip, naming it, when it is missing) with the
configuration ``o2ctl up --ha`` runs, SIGKILLed and started again on the same port and data.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from o2ctl.config import ConfigError, open_runtime_store
from o2ctl.config.errors import StoreDown
from o2ctl.config.records import RedisRecordStore, open_record_store
from o2ctl.config.redis_kv import RETRIES, parse_redis_uri
from tests.redisserver import RedisServer


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path / "redis") as server:
        yield server


def test_every_acknowledged_record_survives_a_sigkill_of_redis(redis_server: RedisServer) -> None:
    records = open_record_store(redis_server.uri())
    runtime = open_runtime_store(redis_server.uri())
    for i in range(200):
        records.put("environments", f"e{i}", {"state": "RUNNING", "run": i})
    numbers = [runtime.next_run_number() for _ in range(5)]
    redis_server.kill()  # no shutdown, no save: only what appendfsync always put on disk
    redis_server.start()
    again = open_record_store(redis_server.uri())
    assert len(again.all("environments")) == 200
    assert again.get("environments", "e199") == {"state": "RUNNING", "run": 199}
    assert open_runtime_store(redis_server.uri()).next_run_number() == numbers[-1] + 1


def test_down_is_said_refused_and_then_goes_on(redis_server: RedisServer) -> None:
    records = open_record_store(redis_server.uri())
    records.put("pool", "t1", {"task_id": "t1"})
    redis_server.kill()
    started = time.monotonic()
    with pytest.raises(StoreDown) as caught:
        records.put("pool", "t2", {"task_id": "t2"})
    took = time.monotonic() - started
    message = str(caught.value)
    assert redis_server.uri() in message and "is down" in message
    assert "cannot write record pool/t2" in message
    assert took < 10.0, f"refusing took {took:.1f}s: a down store must say so in seconds"
    with pytest.raises(StoreDown):
        open_runtime_store(redis_server.uri()).next_run_number()
    redis_server.start()  # same client objects: they reconnect by themselves
    records.put("pool", "t2", {"task_id": "t2"})
    assert sorted(records.all("pool")) == ["t1", "t2"]


def test_a_redis_that_would_lose_records_is_refused(redis_server: RedisServer) -> None:
    store = RedisRecordStore("127.0.0.1", redis_server.port, "x")
    store.kv.client.config_set("appendfsync", "everysec")
    with pytest.raises(ConfigError, match="appendfsync everysec"):
        store.put("pool", "t1", {})
    store.kv.client.config_set("appendonly", "no")
    with pytest.raises(ConfigError, match="keeps no append-only file"):
        store.get("pool", "t1")
    assert RETRIES >= 1


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("redis://h", ("h", 6379, "o2ctl")),
        ("redis://10.1.2.3:6380/farm-a", ("10.1.2.3", 6380, "farm-a")),
    ],
)
def test_redis_uris(uri: str, expected: tuple[str, int, str]) -> None:
    assert parse_redis_uri(uri) == expected


@pytest.mark.parametrize("uri", ["redis://", "redis://h:99999/x", "redis://h/a/b", "http://h"])
def test_bad_redis_uris_are_named(uri: str) -> None:
    with pytest.raises(ConfigError, match="bad Redis URI"):
        parse_redis_uri(uri)
