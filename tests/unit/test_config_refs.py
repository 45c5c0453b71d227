"""Template references, repository identities and URI dispatch (pure, no I/O beyond tmp)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from o2ctl.config import (
    ConfigError,
    ConsulRepository,
    FileRepository,
    GitRepository,
    TemplateRef,
    open_repository,
    open_runtime_store,
    parse_ref,
    repo_id,
)
from o2ctl.config.runtime import FileRuntimeStore
from o2ctl.config.uri import split_revision


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("foo", TemplateRef("foo")),
        ("foo@dev", TemplateRef("foo", "dev")),
        ("tasks/foo.yaml", TemplateRef("foo", kind_dir="tasks")),
        (
            "github.com/AliceO2Group/ControlWorkflows/tasks/foo@branch",
            TemplateRef("foo", "branch", "github.com/AliceO2Group/ControlWorkflows", "tasks"),
        ),
        ("/srv/repo/workflows/wf", TemplateRef("wf", None, "/srv/repo", "workflows")),
        ("consul://h:8500/o2/tasks/t", TemplateRef("t", None, "consul://h:8500/o2", "tasks")),
        ("example.org/x/y/name@v1.2", TemplateRef("name", "v1.2", "example.org/x/y")),
    ],
)
def test_parse_ref(ref: str, expected: TemplateRef) -> None:
    assert parse_ref(ref) == expected


@pytest.mark.parametrize("bad", ["", "@dev", "foo@", "///"])
def test_parse_ref_refuses_empty_parts(bad: str) -> None:
    with pytest.raises(ConfigError, match="bad template reference"):
        parse_ref(bad)


@given(
    name=st.from_regex(r"[a-z][a-z0-9\-]{0,12}", fullmatch=True),
    rev=st.one_of(st.none(), st.from_regex(r"[a-z0-9][a-z0-9./\-]{0,10}", fullmatch=True)),
)
def test_parse_ref_round_trips_name_and_revision(name: str, rev: str | None) -> None:
    ref = f"github.com/org/repo/tasks/{name}" + (f"@{rev}" if rev else "")
    parsed = parse_ref(ref)
    assert (parsed.name, parsed.revision, parsed.repo) == (name, rev, "github.com/org/repo")


@pytest.mark.parametrize(
    "uri",
    [
        "https://github.com/AliceO2Group/ControlWorkflows.git",
        "https://user@github.com/AliceO2Group/ControlWorkflows/",
        "git@github.com:AliceO2Group/ControlWorkflows.git",
        "ssh://git@github.com/AliceO2Group/ControlWorkflows",
        "github.com/AliceO2Group/ControlWorkflows",
    ],
)
def test_repo_id_is_the_same_whatever_the_spelling(uri: str) -> None:
    assert repo_id(uri) == "github.com/AliceO2Group/ControlWorkflows"


def test_repo_id_of_paths_and_consul() -> None:
    assert repo_id("file:///srv/templates/") == "/srv/templates"
    assert repo_id("/srv/templates") == "/srv/templates"
    assert repo_id("consul://h:8500/o2/") == "consul://h:8500/o2"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("https://h/o/r.git@dev", ("https://h/o/r.git", "dev")),
        ("https://h/o/r.git@feature/x", ("https://h/o/r.git", "feature/x")),
        ("https://user@h/o/r.git", ("https://user@h/o/r.git", None)),
        ("git@h:o/r.git", ("git@h:o/r.git", None)),
        ("git@h:o/r.git@v1", ("git@h:o/r.git", "v1")),
        ("/srv/r.git@main", ("/srv/r.git", "main")),
    ],
)
def test_split_revision(uri: str, expected: tuple[str, str | None]) -> None:
    assert split_revision(uri) == expected


def test_open_repository_dispatches_on_the_uri(tmp_path: Path) -> None:
    (tmp_path / "tree").mkdir()
    (tmp_path / "checkout" / ".git").mkdir(parents=True)
    cache = tmp_path / "cache"
    assert isinstance(open_repository(f"file://{tmp_path}/tree"), FileRepository)
    assert isinstance(open_repository(str(tmp_path / "tree")), FileRepository)
    assert isinstance(open_repository(str(tmp_path / "checkout"), cache_dir=cache), GitRepository)
    assert isinstance(open_repository("file:///srv/x.git", cache_dir=cache), GitRepository)
    assert isinstance(open_repository("git@h:o/r.git", cache_dir=cache), GitRepository)
    consul = open_repository("consul://127.0.0.1:8500/o2/control")
    assert isinstance(consul, ConsulRepository)
    assert consul.prefix == "o2/control"
    git = open_repository("https://h/o/r.git@dev", cache_dir=cache)
    assert isinstance(git, GitRepository)
    assert (git.url, git.default_revision, git.name) == ("https://h/o/r.git", "dev", "h/o/r")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("ftp://h/x", "unknown repository URI scheme 'ftp'"),
        ("/definitely/not/here", "no such directory"),
        ("consul://", "bad Consul URI"),
        ("consul://h:notaport/x", "bad Consul URI"),
    ],
)
def test_open_repository_errors_say_what_is_accepted(uri: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_repository(uri)


def test_revisions_on_a_file_repository_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="has no revisions"):
        open_repository(f"{tmp_path}@dev")
    with pytest.raises(ConfigError, match="has no revisions"):
        FileRepository(tmp_path).get_template("task", "foo@dev")


def test_open_runtime_store(tmp_path: Path) -> None:
    store = open_runtime_store(f"file://{tmp_path}")
    assert isinstance(store, FileRuntimeStore) and store.directory == tmp_path
    with pytest.raises(ConfigError, match="unknown runtime store URI"):
        open_runtime_store("etcd://h/x")
