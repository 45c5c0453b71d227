"""Git repositories: revisions, refresh, and git failures as one clear ConfigError."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_config_gitutil import GitRemote

from o2ctl.config import ConfigError, GitRepository, TemplateNotFound

V1 = {"workflows/wf.yaml": "name: wf\n# v1\n", "tasks/t.yaml": "name: t\n"}


@pytest.fixture
def remote(tmp_path: Path) -> GitRemote:
    return GitRemote(tmp_path / "git", V1)


def test_revision_selects_branch_tag_or_commit(remote: GitRemote, tmp_path: Path) -> None:
    remote.tag("v1")
    dev_sha = remote.commit({"workflows/wf.yaml": "name: wf\n# dev\n"}, "dev change", branch="dev")
    repo = GitRepository(remote.url, tmp_path / "cache")
    assert repo.get_template("workflow", "wf").text.endswith("# v1\n")
    dev = repo.get_template("workflow", "wf@dev")
    assert dev.text.endswith("# dev\n")
    assert dev.revision == dev_sha
    assert dev.origin == f"{remote.url}@{dev_sha[:12]}:workflows/wf.yaml"
    assert repo.get_template("workflow", f"wf@{dev_sha[:10]}").text.endswith("# dev\n")
    assert repo.get_template("workflow", "wf@v1").text.endswith("# v1\n")


def test_default_revision_of_the_repository(remote: GitRemote, tmp_path: Path) -> None:
    remote.commit({"tasks/only-on-dev.yaml": "name: only-on-dev\n"}, "dev", branch="dev")
    on_main = GitRepository(remote.url, tmp_path / "cache")
    on_dev = GitRepository(remote.url, tmp_path / "cache", revision="dev")
    assert on_main.list_templates("task") == ["t"]
    assert on_dev.list_templates("task") == ["only-on-dev", "t"]
    with pytest.raises(TemplateNotFound, match=r"in repository .*@dev"):
        on_main.get_template("task", "nope@dev")


def test_refresh_fetches_what_was_pushed(remote: GitRemote, tmp_path: Path) -> None:
    repo = GitRepository(remote.url, tmp_path / "cache")
    assert repo.list_templates("workflow") == ["wf"]
    remote.commit({"workflows/later.yaml": "name: later\n"}, "later")
    assert repo.list_templates("workflow") == ["wf"], "reads the cache until refreshed"
    repo.refresh()
    assert repo.list_templates("workflow") == ["later", "wf"]


def test_two_instances_share_one_cached_clone(remote: GitRemote, tmp_path: Path) -> None:
    a = GitRepository(remote.url, tmp_path / "cache")
    b = GitRepository(remote.url, tmp_path / "cache")
    a.ensure_cloned()
    b.ensure_cloned()
    assert a.clone_dir == b.clone_dir
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [a.clone_dir.name]


def test_unknown_revision_names_repo_and_revision(remote: GitRemote, tmp_path: Path) -> None:
    repo = GitRepository(remote.url, tmp_path / "cache")
    with pytest.raises(ConfigError, match=r"git repository .*remote: unknown revision 'nope'"):
        repo.get_template("task", "t@nope")
    with pytest.raises(ConfigError, match="bad revision"):
        repo.get_template("task", "t@--upload-pack=x")


def test_clone_failure_carries_the_git_message(tmp_path: Path) -> None:
    repo = GitRepository(f"file://{tmp_path}/missing.git", tmp_path / "cache")
    with pytest.raises(ConfigError) as caught:
        repo.list_templates("task")
    message = str(caught.value)
    assert message.startswith(f"git repository {tmp_path}/missing: `git clone` failed: ")
    assert "does not exist" in message or "not appear to be a git repository" in message
    assert not repo.clone_dir.exists()
    assert list((tmp_path / "cache").iterdir()) == [], "a failed clone leaves nothing behind"
