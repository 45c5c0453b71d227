"""The record store's contract, for every backend (Consul skips without a real agent)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_config_contract import consul_agent

from o2ctl.config import ConfigError
from o2ctl.config.records import (
    ConsulRecordStore,
    FileRecordStore,
    RecordStore,
    RedisRecordStore,
    open_record_store,
)
from tests.redisserver import RedisServer


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(params=["file", "redis", pytest.param("consul", marks=pytest.mark.consul)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> RecordStore:
    if request.param == "file":
        return FileRecordStore(tmp_path / "records")
    if request.param == "redis":
        server = request.getfixturevalue("redis_server")
        return RedisRecordStore("127.0.0.1", server.port, f"t-{uuid.uuid4().hex}")
    from o2ctl.config.consul_kv import ConsulKV

    host, port = consul_agent()
    prefix = f"o2ctl-test/{uuid.uuid4().hex}"
    request.addfinalizer(lambda: ConsulKV(host, port).delete(prefix, recurse=True))
    return ConsulRecordStore(host, port, prefix)


def test_put_get_replace_delete(store: RecordStore) -> None:
    assert store.get("environments", "e1") is None
    store.put("environments", "e1", {"state": "DEPLOYED", "tasks": {"a": {"pid": 1}}})
    store.put("environments", "e2", {"state": "RUNNING"})
    store.put("pool", "t1", {"task_id": "t1"})
    assert store.get("environments", "e1") == {"state": "DEPLOYED", "tasks": {"a": {"pid": 1}}}
    store.put("environments", "e1", {"state": "CONFIGURED"})
    assert store.all("environments") == {
        "e1": {"state": "CONFIGURED"},
        "e2": {"state": "RUNNING"},
    }
    store.delete("environments", "e1")
    store.delete("environments", "e1")  # absent: no error
    assert list(store.all("environments")) == ["e2"]
    assert list(store.all("pool")) == ["t1"]
    assert store.all("nodes") == {}


@pytest.mark.parametrize("key", ["../x", "a/b", "", ".", "..", "x" * 300, "a b"])
def test_keys_are_ids_never_paths(store: RecordStore, key: str) -> None:
    with pytest.raises(ConfigError, match="bad record key"):
        store.put("environments", key, {})


def test_a_corrupt_record_is_named(tmp_path: Path) -> None:
    store = FileRecordStore(tmp_path)
    store.put("pool", "t1", {"a": 1})
    (tmp_path / "pool" / "t1.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"record .*t1.json is corrupt"):
        store.get("pool", "t1")


def test_the_store_follows_the_runtime_store(tmp_path: Path) -> None:
    files = open_record_store(f"file://{tmp_path}")
    assert isinstance(files, FileRecordStore) and files.directory == tmp_path / "records"
    consul = open_record_store("consul://127.0.0.1:8500/o2/control")
    assert isinstance(consul, ConsulRecordStore) and consul.prefix == "o2/control"
    redis = open_record_store("redis://10.0.0.5:6380/farm")
    assert isinstance(redis, RedisRecordStore) and redis.kv.uri == "redis://10.0.0.5:6380/farm"
    with pytest.raises(ConfigError, match="unknown runtime store URI"):
        open_record_store("etcd://x")


def test_a_listing_names_what_it_cannot_read_when_asked(tmp_path: Path) -> None:
    from o2ctl.config.records import FileRecordStore

    store = FileRecordStore(tmp_path)
    store.put("environments", "good", {"env_id": "good"})
    store.put("environments", "bad", {"env_id": "bad"})
    (tmp_path / "environments" / "bad.json").write_text('{"env_id": "bad", "state": ')
    with pytest.raises(ConfigError, match="is corrupt"):
        store.all("environments")  # without a place for them: the listing fails, as before
    broken: dict[str, str] = {}
    assert store.all("environments", broken) == {"good": {"env_id": "good"}}
    assert list(broken) == ["bad"]
    assert str(tmp_path / "environments" / "bad.json") in broken["bad"]
