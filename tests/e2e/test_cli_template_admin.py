"""``o2ctl repo …`` and ``o2ctl config …`` through the console script, and their effect on
``template expand`` (a git repository made default, global vars from ``config import``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from occ.processes import owned_env

O2CTL = Path(sys.executable).with_name("o2ctl")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "unit"))
from test_config_gitutil import GitRemote  # noqa: E402

WORKFLOW = "name: wf\nroles:\n  - name: t\n    task:\n      load: t\n"
TASK = "name: t\ncontrol:\n  mode: basic\ncommand:\n  value: echo {{ greeting }}\n"


def o2ctl(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = owned_env("test-cli-admin", {"O2CTL_STATE_DIR": str(state)})
    env.pop("O2CTL_REPO", None)
    env.pop("O2CTL_RUNTIME", None)
    return subprocess.run(
        [str(O2CTL), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def remote(tmp_path: Path) -> GitRemote:
    remote = GitRemote(tmp_path / "git", {"workflows/wf.yaml": WORKFLOW, "tasks/t.yaml": TASK})
    remote.commit({"tasks/t.yaml": TASK.replace("echo", "echo dev")}, "dev", branch="dev")
    return remote


def command_of(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    task = json.loads(done.stdout)["root"]["children"][0]["task"]
    return str(task["command"]["value"])


def test_repo_lifecycle_and_expansion_from_git(tmp_path: Path, remote: GitRemote) -> None:
    state = tmp_path / "state"
    listed = json.loads(o2ctl(state, "repo", "list", "-o", "json").stdout)
    assert [r["default"] for r in listed] == [True], "only the built-in repository at first"
    added = o2ctl(state, "repo", "add", remote.url, "--default")
    assert added.returncode == 0, added.stderr
    name = str(remote.bare).removesuffix(".git")
    listed = json.loads(o2ctl(state, "repo", "list", "-o", "json").stdout)
    assert [(r["name"], r["default"]) for r in listed][1] == (name, True)

    expand = ("template", "expand", "wf", "-e", "greeting=hi", "-o", "json")
    assert command_of(o2ctl(state, *expand)) == "echo hi"
    dev = ("template", "expand", f"{name}/workflows/wf@dev", "-e", "greeting=hi", "-o", "json")
    assert command_of(o2ctl(state, *dev)) == "echo dev hi", "tasks load from the workflow's branch"

    remote.commit({"tasks/t.yaml": TASK.replace("echo", "echo new")}, "new")
    assert command_of(o2ctl(state, *expand)) == "echo hi", "the cache until refreshed"
    assert o2ctl(state, "repo", "refresh").returncode == 0
    assert command_of(o2ctl(state, *expand)) == "echo new hi"

    builtin = listed[0]["name"]
    assert o2ctl(state, "repo", "default", builtin).returncode == 0
    assert o2ctl(state, "repo", "remove", name).returncode == 0
    assert len(json.loads(o2ctl(state, "repo", "list", "-o", "json").stdout)) == 1


def test_repo_errors_exit_3(tmp_path: Path) -> None:
    state = tmp_path / "state"
    missing = o2ctl(state, "repo", "add", f"file://{tmp_path}/missing.git")
    assert missing.returncode == 3
    assert "`git clone` failed" in missing.stderr and "Traceback" not in missing.stderr
    unknown = o2ctl(state, "repo", "remove", "nope")
    assert unknown.returncode == 3 and "'nope': not known" in unknown.stderr
    scheme = o2ctl(state, "template", "list", "--repo", "ftp://h/x")
    assert scheme.returncode == 3 and "unknown repository URI scheme 'ftp'" in scheme.stderr


def test_config_import_show_and_global_vars_in_expansion(tmp_path: Path) -> None:
    state = tmp_path / "state"
    repo = tmp_path / "repo"
    for relpath, text in {"workflows/wf.yaml": WORKFLOW, "tasks/t.yaml": TASK}.items():
        (repo / relpath).parent.mkdir(parents=True, exist_ok=True)
        (repo / relpath).write_text(text)
    conf = tmp_path / "conf.yaml"
    conf.write_text("defaults:\n  greeting: from-defaults\nruntime:\n  trg/ctp: x\n")
    imported = o2ctl(state, "config", "import", str(conf))
    assert imported.returncode == 0, imported.stderr
    shown = json.loads(o2ctl(state, "config", "show", "-o", "json").stdout)
    assert shown == {
        "run_number": 0,
        "defaults": {"greeting": "from-defaults"},
        "vars": {},
        "runtime": {"trg/ctp": "x"},
    }
    expand = ("template", "expand", "wf", "--repo", str(repo), "-o", "json")
    assert command_of(o2ctl(state, *expand)) == "echo from-defaults"
    assert command_of(o2ctl(state, *expand, "-e", "greeting=user")) == "echo user"

    conf.write_text("variables: {}\n")
    bad = o2ctl(state, "config", "import", str(conf))
    assert bad.returncode == 3
    assert f"{conf}: unknown section(s) variables; expected defaults" in bad.stderr
