"""RepositoryManager: the remembered repository list, the default, and reference resolution."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_config_gitutil import GitRemote, write_tree

from o2ctl.config import ConfigError, RepositoryManager, TemplateNotFound, repo_id

BUILTIN = {
    "workflows/local-wf.yaml": "name: local-wf\n",
    "tasks/t.yaml": "name: t\n# builtin\n",
}
REMOTE = {
    "workflows/remote-wf.yaml": "name: remote-wf\n",
    "tasks/t.yaml": "name: t\n# remote main\n",
}


@pytest.fixture
def builtin(tmp_path: Path) -> Path:
    write_tree(tmp_path / "builtin", BUILTIN)
    return tmp_path / "builtin"


@pytest.fixture
def remote(tmp_path: Path) -> GitRemote:
    remote = GitRemote(tmp_path / "git", REMOTE)
    remote.commit({"tasks/t.yaml": "name: t\n# remote dev\n"}, "dev", branch="dev")
    return remote


def manager(tmp_path: Path, builtin: Path) -> RepositoryManager:
    return RepositoryManager(tmp_path / "state", builtin_uri=str(builtin))


def test_builtin_is_present_and_default(tmp_path: Path, builtin: Path) -> None:
    m = manager(tmp_path, builtin)
    assert [e.name for e in m.entries()] == [str(builtin)]
    assert m.default_name() == str(builtin)
    assert m.get().list_templates("workflow") == ["local-wf"]


def test_add_default_remove_persist(tmp_path: Path, builtin: Path, remote: GitRemote) -> None:
    m = manager(tmp_path, builtin)
    added = m.add(remote.url, default=True)
    assert added.name == repo_id(remote.url)
    again = manager(tmp_path, builtin)
    assert [e.name for e in again.entries()] == [str(builtin), added.name]
    assert again.default_name() == added.name
    assert again.get().list_templates("workflow") == ["remote-wf"]
    with pytest.raises(ConfigError, match="already known"):
        again.add(remote.url)
    again.remove(added.name)
    assert manager(tmp_path, builtin).default_name() == str(builtin)


def test_unknown_names_and_the_builtin_are_not_removable(tmp_path: Path, builtin: Path) -> None:
    m = manager(tmp_path, builtin)
    with pytest.raises(ConfigError, match=rf"'nope': not known; known: {builtin}"):
        m.remove("nope")
    with pytest.raises(ConfigError, match="built-in one; it cannot be removed"):
        m.remove(str(builtin))
    with pytest.raises(ConfigError, match="cannot make default repository 'nope'"):
        m.set_default("nope")


def test_a_failed_add_remembers_nothing(tmp_path: Path, builtin: Path) -> None:
    m = manager(tmp_path, builtin)
    with pytest.raises(ConfigError, match="`git clone` failed"):
        m.add(f"file://{tmp_path}/missing.git")
    assert len(m.entries()) == 1


def test_refresh_all(tmp_path: Path, builtin: Path, remote: GitRemote) -> None:
    m = manager(tmp_path, builtin)
    m.add(remote.url)
    remote.commit({"workflows/new.yaml": "name: new\n"}, "new")
    assert m.refresh() == [str(builtin), repo_id(remote.url)]
    assert "new" in m.get(repo_id(remote.url)).list_templates("workflow")


def test_bare_references_resolve_in_the_workflows_repo_and_revision(
    tmp_path: Path, builtin: Path, remote: GitRemote
) -> None:
    m = manager(tmp_path, builtin)
    m.add(remote.url)
    rid = repo_id(remote.url)
    source, name = m.source_for(f"{rid}/workflows/remote-wf@dev")
    assert name == "remote-wf"
    assert source.get_template("workflow", name).text == "name: remote-wf\n"
    assert source.get_template("task", "t").text.endswith("# remote dev\n")
    assert source.get_template("task", "t@main").text.endswith("# remote main\n")
    local, name = m.source_for("local-wf")
    assert local.get_template("task", "t").text.endswith("# builtin\n")
    across = local.get_template("task", f"{rid}/tasks/t@dev")
    assert across.text.endswith("# remote dev\n")


def test_reference_to_an_unknown_repository(tmp_path: Path, builtin: Path) -> None:
    source, _ = manager(tmp_path, builtin).source_for("local-wf")
    with pytest.raises(ConfigError, match=r"cannot use repository 'example\.org/x/y': not known"):
        source.get_template("task", "example.org/x/y/tasks/t")
    with pytest.raises(TemplateNotFound, match="no task template 'u'"):
        source.get_template("task", "u")


def test_lookup_opens_an_unremembered_uri(tmp_path: Path, builtin: Path) -> None:
    other = tmp_path / "other"
    write_tree(other, {"workflows/o.yaml": "name: o\n"})
    m = manager(tmp_path, builtin)
    assert m.lookup(str(other)).list_templates("workflow") == ["o"]
    assert m.lookup(str(builtin)) is m.get()
    assert len(m.entries()) == 1


def test_corrupt_state_file_is_a_clear_error(tmp_path: Path, builtin: Path) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "repos.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"repository list .*repos.json is unreadable"):
        manager(tmp_path, builtin).entries()


def test_default_revisions_per_repository_and_global(
    tmp_path: Path, builtin: Path, remote: GitRemote
) -> None:
    m = manager(tmp_path, builtin)
    added = m.add(remote.url)
    assert sorted(m.get(added.name).revisions()) == ["dev", "main"]  # type: ignore[attr-defined]
    m.set_global_revision("dev")
    again = manager(tmp_path, builtin)
    assert (again.global_revision(), again.get(added.name).default_revision) == ("dev", "dev")
    assert "remote dev" in again.get(added.name).get_template("task", "t").text
    again.set_revision(added.name, "main")  # its own beats the global one
    third = manager(tmp_path, builtin)
    assert third.get(added.name).default_revision == "main"
    assert third.global_revision() == "dev"  # kept through the other change
    with pytest.raises(ConfigError, match="unknown revision 'nope'"):
        third.set_revision(added.name, "nope")
    assert manager(tmp_path, builtin).get(added.name).default_revision == "main"  # unchanged
    with pytest.raises(ConfigError, match="not known"):
        third.set_revision(str(builtin), "main")
    third.set_global_revision(None)
    assert manager(tmp_path, builtin).global_revision() is None
