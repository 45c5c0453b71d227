"""Changing a running environment without redeploying it (``env.modify``).

The example pipeline, RUNNING, is scaled up and down, has one role's variable changed, and
has a subtree excluded and included back. Each test checks what an operator needs: what
changed did change (new tasks running and fed with data, new values in the CONFIGURE
arguments their devices logged), and everything else received no call at all (same PIDs,
no event of theirs in the environment's log, no new state change in their device's log),
the run goes on with the same run number, and refused modifies leave everything as it was.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from o2ctl.demo import PIPELINE
from tests.conftest import ROOT, wait_for

pytestmark = pytest.mark.ray
PROC = f"{PIPELINE}.processor"


def count(path: Path) -> int:
    try:
        return int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def flowing(path: Path, timeout: float = 20.0) -> None:
    start = count(path)
    wait_for(lambda: count(path) > start + 5, timeout, f"{path.name}'s count to grow")


@pytest.fixture
def counted_repo(tmp_path: Path) -> Iterator[str]:
    """Our pipeline, each processor also writing its message count to a file of its own."""
    from o2ctl.config import RepositoryManager

    repo = tmp_path / "counted"
    shutil.copytree(ROOT / "workflows" / "tasks", repo / "tasks")
    shutil.copytree(ROOT / "workflows" / "workflows", repo / "workflows")
    task = repo / "tasks" / "fairmq-ex-1-n-1-processor.yaml"
    text = task.read_text().replace(
        '  severity: "{{ severity }}"',
        '  severity: "{{ severity }}"\n  count-file: "{{ count_dir }}/{{ task_id }}"',
    )
    task.write_text(
        text.replace("  log_task_output: none\n", '  log_task_output: none\n  count_dir: ""\n')
    )
    manager = RepositoryManager()
    manager.add(str(repo), name="counted")
    yield f"counted/workflows/{PIPELINE}"
    manager.remove("counted")


def state_lines(task: dict[str, Any]) -> int:
    """State changes the device logged (``A ---> B``): a transition shows there."""
    return Path(task["log_path"]).read_text().count("--->")


def calls_since(env: Any, cursor: int) -> set[str]:
    """Role paths of the tasks that got a transition (or changed state) after ``cursor``."""
    return {
        e["path"]
        for e in env.events(after=cursor, timeout=0.5)
        if e["kind"] == "task" and e.get("path")
    }


def cursor_of(env: Any) -> int:
    import ray

    return int(ray.get(env.actor.wait_events.remote(0, 0.0))["last_seq"])


def running(o2: Any, repo: str, tmp_path: Path, n: int) -> tuple[Any, Path]:
    counter = tmp_path / "sink.count"
    (tmp_path / "counts").mkdir(exist_ok=True)
    env = o2.create_environment(
        repo,
        vars={
            "nProcessors": str(n),
            "sink_count_file": str(counter),
            "sampler_rate": "200",
            "count_dir": str(tmp_path / "counts"),
        },
    )
    env.start()
    flowing(counter)
    return env, counter


def test_scale_processors_up_and_down_during_a_run(
    clean_o2: Any, counted_repo: str, tmp_path: Path
) -> None:
    env, counter = running(clean_o2, counted_repo, tmp_path, 2)
    run = env.run_number
    before = {t["role_path"]: t for t in env.tasks}
    logged = {p: state_lines(t) for p, t in before.items()}
    cursor = cursor_of(env)

    diff = env.modify(vars={"nProcessors": "4"})
    assert diff["added"] == [f"{PROC}3", f"{PROC}4"], diff
    assert diff["removed"] == [] and diff["changed"] == {} and diff["untouched"] == 4
    after = {t["role_path"]: t for t in env.tasks}
    assert env.state == "RUNNING" and env.run_number == run
    assert all(t["state"] == "RUNNING" for t in after.values()), after
    for p, t in before.items():  # sampler, sink, processors 1 and 2: untouched
        assert after[p]["pid"] == t["pid"] and state_lines(after[p]) == logged[p], p
    assert calls_since(env, cursor) == {f"{PROC}3", f"{PROC}4"}
    for p in (f"{PROC}3", f"{PROC}4"):  # data from the sampler reaches the new ones
        flowing(tmp_path / "counts" / after[p]["task_id"])
    flowing(counter)

    diff = env.modify(vars={"nProcessors": "1"})
    assert diff["removed"] == [f"{PROC}2", f"{PROC}3", f"{PROC}4"], diff
    idle = {t["task_id"] for t in clean_o2.tasks() if t["idle"]}
    assert idle == {after[f"{PROC}{i}"]["task_id"] for i in (2, 3, 4)}
    assert env.run_number == run and env.state == "RUNNING"
    flowing(counter)
    env.stop()
    env.destroy()


def test_a_variable_of_one_role_reconfigures_exactly_that_role(
    clean_o2: Any, counted_repo: str, tmp_path: Path
) -> None:
    env, counter = running(clean_o2, counted_repo, tmp_path, 2)
    before = {t["role_path"]: t for t in env.tasks}
    sampler = f"{PIPELINE}.sampler"
    logged = {p: state_lines(t) for p, t in before.items()}
    cursor = cursor_of(env)

    dry = env.modify(vars={f"{sampler}:sampler_text": "Bye"}, dry_run=True)
    assert dry["changed"] == {sampler: ["text"]} and dry["dry_run"]
    assert calls_since(env, cursor) == set(), "a dry run calls nobody"
    diff = env.modify(vars={f"{sampler}:sampler_text": "Bye"})
    assert diff["changed"] == {sampler: ["text"]} and diff["untouched"] == 3, diff
    after = {t["role_path"]: t for t in env.tasks}
    assert {p: t["pid"] for p, t in after.items()} == {p: t["pid"] for p, t in before.items()}
    assert "text=Bye" in Path(after[sampler]["log_path"]).read_text()
    assert calls_since(env, cursor) == {sampler}
    for p, t in after.items():
        if p != sampler:
            assert state_lines(t) == logged[p], f"{p} got a transition"
    assert env.state == "RUNNING"
    flowing(counter)
    env.stop()
    env.destroy()


@pytest.mark.parametrize("running_state", [False, True])
def test_exclude_then_include_a_subtree(
    clean_o2: Any, counted_repo: str, tmp_path: Path, running_state: bool
) -> None:
    env, _ = running(clean_o2, counted_repo, tmp_path, 3)
    if not running_state:
        env.stop()
    before = {t["role_path"]: t for t in env.tasks}
    cursor = cursor_of(env)

    diff = env.modify(exclude=[f"{PROC}2"])
    assert diff["removed"] == [f"{PROC}2"] and diff["untouched"] == 4, diff
    assert env.summary()["excluded"] == [f"{PROC}2"]
    assert calls_since(env, cursor) == {f"{PROC}2"}
    diff = env.modify(include=[f"{PROC}2"])
    assert diff["added"] == [f"{PROC}2"], diff
    back = {t["role_path"]: t for t in env.tasks}
    assert back[f"{PROC}2"]["pid"] == before[f"{PROC}2"]["pid"], "back from the idle pool"
    assert back[f"{PROC}2"]["state"] == ("RUNNING" if running_state else "CONFIGURED")
    assert {p: t["pid"] for p, t in back.items()} == {p: t["pid"] for p, t in before.items()}
    if running_state:
        flowing(tmp_path / "counts" / back[f"{PROC}2"]["task_id"])
        env.stop()
    env.destroy()


def test_refused_modifies_change_nothing(clean_o2: Any, tmp_path: Path) -> None:
    from o2ctl.sdk import ControlError

    env = clean_o2.create_environment(PIPELINE, vars={"nProcessors": "1", "detectors": "TPC"})
    other = clean_o2.create_environment(PIPELINE, vars={"nProcessors": "1", "detectors": "ITS"})
    summary, tasks = env.summary(), env.tasks

    def unchanged() -> None:
        now = env.summary()
        assert (now["state"], now["user_vars"], now["excluded"]) == (
            summary["state"],
            summary["user_vars"],
            summary["excluded"],
        )
        assert [(t["task_id"], t["pid"], t["state"]) for t in env.tasks] == [
            (t["task_id"], t["pid"], t["state"]) for t in tasks
        ]

    with pytest.raises(ControlError, match=r"no role 'nosuch\.path'"):
        env.modify(exclude=["nosuch.path"])
    unchanged()
    with pytest.raises(ControlError, match="cannot include"):
        env.modify(include=[f"{PROC}1"])
    unchanged()
    with pytest.raises(ControlError, match=r"negative count|nProcessors"):
        env.modify(vars={"nProcessors": "-3"})
    unchanged()
    with pytest.raises(
        ControlError, match="detector ITS is already in use by environment " + other.id
    ):
        env.modify(vars={"detectors": '["TPC", "ITS"]'})
    unchanged()
    assert clean_o2.info()["detectors"] == {"TPC": env.id, "ITS": other.id}
    env.transition("GO_ERROR")
    with pytest.raises(ControlError, match="MODIFY is not allowed in state ERROR"):
        env.modify(vars={"nProcessors": "2"})
    env.destroy(force=True)
    other.destroy()


def test_a_change_a_run_cannot_absorb_needs_a_new_run(clean_o2: Any, tmp_path: Path) -> None:
    from o2ctl.sdk import ControlError

    env = clean_o2.create_environment(PIPELINE, vars={"nProcessors": "1"})
    env.start()
    run, pids = env.run_number, {t["role_path"]: t["pid"] for t in env.tasks}
    sampler = f"{PIPELINE}.sampler"
    change = {f"{sampler}:sampler_text": "Bye", f"{sampler}:modify_while_running": "false"}
    with pytest.raises(ControlError, match=r"cannot be made during a run.*sampler"):
        env.modify(vars=change)
    assert env.state == "RUNNING" and env.run_number == run
    diff = env.modify(vars=change, restart_run=True)
    assert diff["changed"] == {sampler: ["text"]} and diff["run_number"] > run
    assert env.state == "RUNNING" and env.run_number == diff["run_number"]
    assert {t["role_path"]: t["pid"] for t in env.tasks} == pids
    env.stop()
    env.destroy()


def test_unknown_variables_and_role_paths_are_warned_at_create_and_modify(
    clean_o2: Any,
) -> None:
    """A misspelt variable or a role path that names nothing is said, not silently stored."""
    env = clean_o2.create_environment(
        PIPELINE, vars={"nProcesors": "3", f"{PIPELINE}.nosuch:severity": "debug"}
    )
    said = [  # the controller's event of its creation carries the expansion's warnings
        str(w)
        for e in clean_o2.events(after=0, timeout=1.0)
        if e.get("env_id") == env.id
        for w in (e.get("detail") or {}).get("warnings", [])
    ]
    assert any("'nProcesors' are unknown to workflow" in w for w in said), said
    assert any(f"'{PIPELINE}.nosuch' target no role" in w for w in said), said
    pids = sorted(t["pid"] for t in env.tasks)
    result = env.modify(vars={"severitty": "debug"})
    assert any("'severitty'" in w and "unknown to workflow" in w for w in result["warnings"])
    assert not result["added"] and not result["removed"] and not result["changed"]
    assert sorted(t["pid"] for t in env.tasks) == pids
    env.destroy()
