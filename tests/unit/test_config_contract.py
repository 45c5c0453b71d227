"""One contract for every backend: TemplateSource (file, git, Consul) and RuntimeStore.

The Consul parameters need a real agent named by ``CONSUL_HTTP_ADDR``; without one they
skip, saying so. Each test reads the same template set through the backend under test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_config_gitutil import GitRemote, write_tree

from o2ctl.config import (
    ConfigError,
    ConfigRepository,
    ConsulRepository,
    ConsulRuntimeStore,
    FileRepository,
    FileRuntimeStore,
    GitRepository,
    RuntimeStore,
    TemplateNotFound,
    TemplateSource,
)
from o2ctl.config.consul_kv import ConsulKV
from o2ctl.config.runtime_redis import RedisRuntimeStore
from occ.processes import owned_env
from tests.redisserver import RedisServer

TEMPLATES = {
    "workflows/alpha.yaml": "name: alpha\nroles: []\n",
    "workflows/beta.yaml": "name: beta\nroles: []\n",
    "tasks/sampler.yaml": "name: sampler\ncontrol:\n  mode: basic\n",
    "tasks/sink.yaml": "name: sink\ncontrol:\n  mode: basic\n",
}


def consul_agent() -> tuple[str, int]:
    """The agent of ``CONSUL_HTTP_ADDR``, or skip the test saying why."""
    address = os.environ.get("CONSUL_HTTP_ADDR", "")
    if not address:
        pytest.skip("no Consul agent: CONSUL_HTTP_ADDR not set")
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    try:
        ConsulKV(host or hostport, int(port or 8500), timeout_s=2.0).ping()
    except (ConfigError, ValueError):
        pytest.skip(f"no Consul agent: not reachable at {address}")
    return host or hostport, int(port or 8500)


@pytest.fixture
def consul_prefix() -> Iterator[tuple[str, int, str]]:
    host, port = consul_agent()
    prefix = f"o2ctl-test/{uuid.uuid4().hex}"
    yield host, port, prefix
    ConsulKV(host, port).delete(prefix, recurse=True)


@pytest.fixture(params=["file", "git", pytest.param("consul", marks=pytest.mark.consul)])
def repo(request: pytest.FixtureRequest, tmp_path: Path) -> ConfigRepository:
    if request.param == "file":
        write_tree(tmp_path / "tree", TEMPLATES)
        return FileRepository(tmp_path / "tree")
    if request.param == "git":
        remote = GitRemote(tmp_path / "git", TEMPLATES)
        return GitRepository(remote.url, tmp_path / "cache")
    host, port, prefix = request.getfixturevalue("consul_prefix")
    consul_repo = ConsulRepository(host, port, prefix)
    for relpath, text in TEMPLATES.items():
        kind = "workflow" if relpath.startswith("workflows/") else "task"
        consul_repo.put_template(kind, Path(relpath).stem, text)
    return consul_repo


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(params=["file", "redis", pytest.param("consul", marks=pytest.mark.consul)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> RuntimeStore:
    if request.param == "file":
        return FileRuntimeStore(tmp_path / "state")
    if request.param == "redis":
        server = request.getfixturevalue("redis_server")
        return RedisRuntimeStore("127.0.0.1", server.port, f"t-{uuid.uuid4().hex}")
    host, port, prefix = request.getfixturevalue("consul_prefix")
    return ConsulRuntimeStore(host, port, prefix)


def store_uri(store: RuntimeStore) -> str:
    if isinstance(store, FileRuntimeStore):
        return f"file://{store.directory}"
    if isinstance(store, RedisRuntimeStore):
        return store.kv.uri
    assert isinstance(store, ConsulRuntimeStore)
    return f"consul://{store.kv.address}/{store.prefix}"


# --- TemplateSource ----------------------------------------------------------------------


def test_is_a_template_source(repo: ConfigRepository) -> None:
    assert isinstance(repo, TemplateSource)


def test_reads_a_template_with_its_origin(repo: ConfigRepository) -> None:
    got = repo.get_template("workflow", "alpha")
    assert (got.name, got.kind, got.text) == (
        "alpha",
        "workflow",
        TEMPLATES["workflows/alpha.yaml"],
    )
    assert got.origin.endswith("workflows/alpha.yaml")
    task = repo.get_template("task", "sink")
    assert task.text == TEMPLATES["tasks/sink.yaml"]


def test_lists_templates_by_kind_sorted(repo: ConfigRepository) -> None:
    assert repo.list_templates("workflow") == ["alpha", "beta"]
    assert repo.list_templates("task") == ["sampler", "sink"]


def test_accepts_kind_dir_suffix_and_own_repo_in_reference(repo: ConfigRepository) -> None:
    for ref in ("tasks/sampler", "sampler.yaml", f"{repo.name}/tasks/sampler"):
        assert repo.get_template("task", ref).name == "sampler"


def test_unknown_template_names_kind_name_repo_and_neighbours(repo: ConfigRepository) -> None:
    with pytest.raises(TemplateNotFound) as caught:
        repo.get_template("workflow", "alpah")
    message = str(caught.value)
    assert "workflow template 'alpah'" in message
    assert repo.name in message
    assert "workflows/alpah.yaml" in message
    assert "did you mean: alpha" in message


def test_unknown_template_with_nothing_close_lists_what_exists(repo: ConfigRepository) -> None:
    with pytest.raises(TemplateNotFound, match=r"it has: sampler, sink"):
        repo.get_template("task", "zzz-unrelated")


def test_reference_to_the_wrong_kind_or_repo_is_refused(repo: ConfigRepository) -> None:
    with pytest.raises(ConfigError, match="points into tasks/"):
        repo.get_template("workflow", "tasks/sampler")
    with pytest.raises(ConfigError, match=r"names repository 'example\.org/other/repo'"):
        repo.get_template("task", "example.org/other/repo/tasks/sampler")


@pytest.mark.parametrize("bad", ["../secrets", "tasks/..", "-rf", ".hidden"])
def test_names_that_could_escape_are_refused(repo: ConfigRepository, bad: str) -> None:
    with pytest.raises((ConfigError, TemplateNotFound)):
        repo.get_template("task", bad)


# --- RuntimeStore ------------------------------------------------------------------------


def test_is_a_runtime_store(store: RuntimeStore) -> None:
    assert isinstance(store, RuntimeStore)


def test_run_numbers_increase_and_survive_a_restart(store: RuntimeStore) -> None:
    assert store.last_run_number() == 0
    assert [store.next_run_number() for _ in range(3)] == [1, 2, 3]
    again = type(store)(**_same_place(store))
    assert again.last_run_number() == 3
    assert again.next_run_number() == 4


def _same_place(store: RuntimeStore) -> dict[str, object]:
    if isinstance(store, FileRuntimeStore):
        return {"directory": store.directory}
    if isinstance(store, RedisRuntimeStore):
        return {"host": store.kv.host, "port": store.kv.port, "prefix": store.prefix}
    assert isinstance(store, ConsulRuntimeStore)
    return {"host": store.kv.host, "port": store.kv.port, "prefix": store.prefix}


RACER = """
import sys
from o2ctl.config import open_runtime_store
store = open_runtime_store(sys.argv[1])
print(" ".join(str(store.next_run_number()) for _ in range(int(sys.argv[2]))))
"""


def test_two_processes_racing_never_share_a_run_number(store: RuntimeStore) -> None:
    env = owned_env("test-config-race")
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, store_uri(store), "50"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = []
    for racer in racers:
        out, err = racer.communicate(timeout=120)
        assert racer.returncode == 0, err
        outputs.append([int(n) for n in out.split()])
    for numbers in outputs:
        assert len(numbers) == 50
        assert numbers == sorted(numbers) and len(set(numbers)) == 50
    everything = outputs[0] + outputs[1]
    assert sorted(everything) == list(range(1, 101))
    assert store.last_run_number() == 100


def test_runtime_values_round_trip(store: RuntimeStore) -> None:
    assert store.get("trg/ctp") is None
    store.set("trg/ctp", "load=1")
    assert store.get("trg/ctp") == "load=1"
    with pytest.raises(ConfigError, match="run number counter"):
        store.set("aliecs/run_number", "7")
    with pytest.raises(ConfigError, match="bad runtime key"):
        store.set("../escape", "x")


def test_import_merges_layers_and_show_reports_everything(store: RuntimeStore) -> None:
    store.import_config({"defaults": {"a": 1, "flag": True}, "vars": {"b": "x"}})
    store.import_config({"defaults": {"c": "3"}, "runtime": {"qc/last": "ok"}})
    assert store.global_defaults() == {"a": "1", "flag": "true", "c": "3"}
    assert store.global_vars() == {"b": "x"}
    store.next_run_number()
    shown = store.show()
    assert shown["run_number"] == 1
    assert shown["defaults"] == {"a": "1", "flag": "true", "c": "3"}
    assert shown["runtime"] == {"qc/last": "ok"}


def test_import_refuses_unknown_sections(store: RuntimeStore) -> None:
    with pytest.raises(ConfigError, match=r"unknown section\(s\) variables; expected defaults"):
        store.import_config({"variables": {"a": "1"}})
    with pytest.raises(ConfigError, match="'vars' must be a mapping"):
        store.import_config({"vars": ["a"]})
    assert store.global_vars() == {}
