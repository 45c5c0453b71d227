"""The clean-up hook acts only where it may: inside its scratch root, as locked variables say.

``o2ctl-cleanup`` (the program the built-in hook runs) is run as a real process on real
directories: absolute paths outside the root, ``..``, a symbolic link pointing out (at the
top and inside the tree), the root itself and ``/`` are refused, and every target outside
still exists afterwards. The variables that choose its paths are locked: a user var naming
one is refused at expansion, naming the variable and where it is locked.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from test_templates_support import OUR_WORKFLOWS, DirSource

from o2ctl.templates import TemplateError, expand_workflow

CLEANUP = str(Path(sys.executable).with_name("o2ctl-cleanup"))


@pytest.fixture
def area(tmp_path: Path) -> tuple[Path, Path]:
    """A scratch root with one environment's directory, and a victim outside it."""
    root = tmp_path / "scratch"
    (root / "env1" / "sub").mkdir(parents=True)
    (root / "env1" / "sub" / "data").write_text("run data")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious").write_text("keep me")
    return root, victim


def cleanup(root: Path | str, *paths: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLEANUP, "--root", str(root), "--", *paths],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_removes_a_directory_inside_its_root(area: tuple[Path, Path]) -> None:
    root, victim = area
    (root / "env1" / "link-out").symlink_to(victim)  # inside the tree: removed as a link
    done = cleanup(root, str(root / "env1"))
    assert done.returncode == 0, done.stderr
    assert not (root / "env1").exists() and root.is_dir()
    assert (victim / "precious").read_text() == "keep me"
    assert cleanup(root, str(root / "env1")).returncode == 0, "nothing left: already clean"


@pytest.mark.parametrize(
    "make_path",
    [
        lambda root, victim: str(victim),
        lambda root, victim: str(root / ".." / "victim"),
        lambda root, victim: str(root / "env1" / ".." / ".." / "victim"),
        lambda root, victim: str(root),
        lambda root, victim: "/",
        lambda root, victim: "victim",
    ],
    ids=["absolute-outside", "dotdot", "dotdot-deeper", "the-root-itself", "slash", "relative"],
)
def test_refuses_paths_outside_its_root(area: tuple[Path, Path], make_path: object) -> None:
    root, victim = area
    path = make_path(root, victim)  # type: ignore[operator]
    done = cleanup(root, str(root / "env1"), path)
    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stderr.startswith("o2ctl-cleanup: refusing to remove")
    assert path in done.stderr or repr(path) in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert (victim / "precious").exists() and (root / "env1" / "sub" / "data").exists()


def test_refuses_a_symlink_pointing_out(area: tuple[Path, Path]) -> None:
    root, victim = area
    (root / "env2").symlink_to(victim)
    done = cleanup(root, str(root / "env2"))
    assert done.returncode == 3
    assert f"{root / 'env2'} (it resolves to {victim})" in done.stderr
    assert (victim / "precious").read_text() == "keep me"


def test_a_symlinked_root_is_followed_once_not_escaped(area: tuple[Path, Path]) -> None:
    root, victim = area
    alias = root.parent / "scratch-alias"
    alias.symlink_to(root)
    assert cleanup(alias, str(alias / "env1")).returncode == 0
    assert not (root / "env1").exists()
    assert cleanup(alias, str(alias / ".." / "victim")).returncode == 3
    assert victim.exists()


def test_refuses_slash_as_root(area: tuple[Path, Path]) -> None:
    _, victim = area
    done = cleanup("/", str(victim))
    assert done.returncode == 3 and "must be an absolute directory other than /" in done.stderr
    assert victim.exists()


@pytest.fixture
def ours() -> DirSource:
    return DirSource(OUR_WORKFLOWS)


@pytest.mark.parametrize(
    ("user_var", "locked_in"),
    [
        ("cleanup_path", "tasks/o2ctl-cleanup.yaml"),
        ("cleanup_root", "tasks/o2ctl-cleanup.yaml"),
        ("direct-example.cleanup:cleanup_path", "tasks/o2ctl-cleanup.yaml"),
        ("cleanup:cleanup_root", "tasks/o2ctl-cleanup.yaml"),
        ("scratch_dir", "workflows/direct-example.yaml"),
    ],
)
def test_a_user_may_not_set_the_hooks_paths(ours: DirSource, user_var: str, locked_in: str) -> None:
    with pytest.raises(TemplateError) as caught:
        expand_workflow(ours, "direct-example", {user_var: "/"})
    text = str(caught.value)
    lines = (OUR_WORKFLOWS / locked_in).read_text().splitlines()
    line = next(i for i, t in enumerate(lines, 1) if t.startswith("locked:"))  # names the lock
    assert text.startswith(f"{OUR_WORKFLOWS / locked_in}:{line}"), text
    name = user_var.rpartition(":")[2]
    assert f"user var {user_var!r}: variable {name!r} is locked" in text


@pytest.mark.parametrize("name", ["environment_id", "run_number", "task_id"])
def test_a_user_may_not_set_the_systems_own_variables(ours: DirSource, name: str) -> None:
    with pytest.raises(TemplateError, match=f"{name!r} is set by the control system"):
        expand_workflow(ours, "direct-example", {name: "../../victim"})


def test_other_variables_stay_the_users(ours: DirSource) -> None:
    wf = expand_workflow(ours, "direct-example", {"nWorkers": "2", "cleanup_enabled": "false"})
    assert [c.name for c in wf.root.children] == ["worker1", "worker2"]


def test_a_locked_entry_must_name_a_variable(ours: DirSource) -> None:
    from test_templates_support import source

    text = "name: w\nlocked: [ok, 3]\nroles:\n  - name: a\n    task: {load: simple}\n"
    with pytest.raises(TemplateError, match="locked entry 3 is not a variable name"):
        expand_workflow(source({"w": text}), "w")
