"""``o2ctl template list|expand`` as an operator runs it: the installed console script.

Every call runs ``.venv/bin/o2ctl`` in a subprocess with its own state directory, reading
the real AliECS templates beside the project (``shared_workflows``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from occ.processes import owned_env

O2CTL = Path(sys.executable).with_name("o2ctl")
WORKFLOW = "fairmq-ex-1-n-1"


def o2ctl(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the console script; returns its exit code and outputs."""
    env = owned_env("test-cli-template", {"O2CTL_STATE_DIR": str(state), "COLUMNS": "200"})
    env.pop("O2CTL_REPO", None)
    return subprocess.run(
        [str(O2CTL), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def test_template_list(state: Path, shared_workflows: Path) -> None:
    text = o2ctl(state, "template", "list", "--repo", str(shared_workflows))
    assert text.returncode == 0, text.stderr
    assert WORKFLOW in text.stdout and "readout-dataflow" in text.stdout
    tasks = o2ctl(
        state, "template", "list", "-r", str(shared_workflows), "-k", "task", "-o", "json"
    )
    assert tasks.returncode == 0, tasks.stderr
    names = [row["name"] for row in json.loads(tasks.stdout)]
    assert "fairmq-ex-1-n-1-sampler" in names and names == sorted(names)


def test_expand_as_a_tree(state: Path, shared_workflows: Path) -> None:
    done = o2ctl(state, "template", "expand", WORKFLOW, "--repo", str(shared_workflows))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for n in range(1, 5):
        assert f"{WORKFLOW}.processor{n} [task]" in out
    assert f"{WORKFLOW} [aggregator]" in out
    assert "task class fairmq-ex-1-n-1-processor (fairmq)" in out
    assert f"connect data1 (pull, default, tcp) → {WORKFLOW}.sampler:data1" in out
    assert "bind data1 (push, default, tcp): address assigned at CONFIGURE" in out
    assert "task_parent_role = fairmq-ex-1-n-1.processor3" in out


def test_expand_as_json_with_user_vars(state: Path, shared_workflows: Path) -> None:
    done = o2ctl(
        state, "template", "expand", WORKFLOW, "-r", str(shared_workflows), "--output", "json"
    )
    assert done.returncode == 0, done.stderr
    tree = json.loads(done.stdout)
    children = {c["name"]: c for c in tree["root"]["children"]}
    assert sorted(children) == [
        "processor1",
        "processor2",
        "processor3",
        "processor4",
        "sampler",
        "sink",
    ]
    for n in range(1, 5):
        task = children[f"processor{n}"]["task"]
        targets = {c["name"]: c["target"] for c in task["connects"]}
        assert targets == {"data1": f"{WORKFLOW}.sampler:data1", "data2": f"{WORKFLOW}.sink:data2"}
        assert task["variables"]["it"] == str(n)
    two = o2ctl(
        state, "template", "expand", WORKFLOW, "-r", str(shared_workflows), "-o", "json",
        "-e", "nProcessors=2", "-e", "fairmq-ex-1-n-1.sink:log_task_output=all",
    )  # fmt: skip
    assert two.returncode == 0, two.stderr
    expanded = json.loads(two.stdout)
    names = [c["name"] for c in expanded["root"]["children"]]
    assert names == ["processor1", "processor2", "sampler", "sink"]
    sink = expanded["root"]["children"][-1]["task"]
    assert sink["variables"]["log_task_output"] == "all"
    assert expanded["user_vars"]["nProcessors"] == "2"


def test_bad_template_exits_3_naming_file_and_line(state: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "workflows").mkdir(parents=True)
    (repo / "tasks").mkdir()
    bad = repo / "workflows" / "broken.yaml"
    bad.write_text("name: broken\nroles:\n  - name: a\n    task:\n      load: missing-task\n")
    done = o2ctl(state, "template", "expand", "broken", "--repo", str(repo))
    assert done.returncode == 3
    assert done.stdout == ""
    assert f"{bad}:4" in done.stderr and "missing-task" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_unknown_workflow_exits_3_and_suggests(state: Path, shared_workflows: Path) -> None:
    done = o2ctl(state, "template", "expand", "fairmq-ex-1-n", "--repo", str(shared_workflows))
    assert done.returncode == 3
    assert "no workflow template 'fairmq-ex-1-n'" in done.stderr
    assert "did you mean: fairmq-ex-1-n-1" in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("template", "expand", WORKFLOW, "--bogus"),
        ("template", "expand", WORKFLOW, "-e", "no-equals-sign"),
        ("template", "expand"),
        ("template", "list", "--kind", "role"),
    ],
)
def test_usage_errors_exit_2_in_one_line(state: Path, args: tuple[str, ...]) -> None:
    done = o2ctl(state, *args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ")
    assert len(done.stderr.strip().splitlines()) == 1
