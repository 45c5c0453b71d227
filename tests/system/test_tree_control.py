"""Control through the tree on a 4-node farm (issue 18's Done-when).

A workflow of four per-host roles (``flp1``..``flp4``, each a sampler → processor → sink
chain held to one farm node) is created (DEPLOY, CONFIGURE) and taken through
START_ACTIVITY and STOP_ACTIVITY.
What is checked comes from Ray's own records, not o2ctl's:
- each per-host role actor runs on the node of its tasks (Ray's actor table);
- every OCC event reached a task actor from a role actor's ``drive`` running on that task's
  node (Ray's task events: each ``Task.transition`` and its parent task), never from the
  environment actor, whose only calls into the tree are ``Role.drive`` on the root.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import ray
from ray.util.state import list_actors, list_tasks

from actors import naming
from tests.conftest import ROOT, Farm, wait_for

pytestmark = pytest.mark.ray
NODES = 4

WORKFLOW = """\
name: pernode
defaults:
  node_prefix: ""
roles:
  - name: "flp{{ it }}"
    for:
      begin: 1
      end: 4
      var: it
    constraints:
      - attribute: machine_id
        value: "{{ node_prefix }}{{ it }}"
    roles:
      - name: sampler
        task:
          load: fairmq-ex-1-n-1-sampler
      - name: processor
        connect:
          - name: data1
            type: pull
            target: "{{ Parent().Path }}.sampler:data1"
          - name: data2
            type: push
            target: "{{ Parent().Path }}.sink:data2"
        task:
          load: fairmq-ex-1-n-1-processor
      - name: sink
        task:
          load: fairmq-ex-1-n-1-sink
"""


@pytest.fixture
def pernode_repo(tmp_path: Path) -> Iterator[str]:
    from o2ctl.config import RepositoryManager

    repo = tmp_path / "pernode"
    shutil.copytree(ROOT / "workflows" / "tasks", repo / "tasks")
    (repo / "workflows").mkdir()
    (repo / "workflows" / "pernode.yaml").write_text(WORKFLOW)
    manager = RepositoryManager()
    manager.add(str(repo), name="pernode")
    yield "pernode/workflows/pernode"
    manager.remove("pernode")


def gcs() -> str:
    """The session's Ray (the state API would pick any Ray on this host)."""
    return str(ray.get_runtime_context().gcs_address)


def actor_node(name: str) -> str:
    rows = list_actors(
        address=gcs(), filters=[("name", "=", name), ("state", "=", "ALIVE")], detail=True
    )
    assert rows, f"no live actor named {name}"
    return str(rows[0]["node_id"])


def calls(func: str = "") -> list[Any]:
    """Ray's task events (every actor call of the session), of one method if named."""
    rows = list_tasks(address=gcs(), detail=True, limit=10_000)
    return [r for r in rows if not func or r["func_or_class_name"] == func]


def test_a_transition_goes_through_role_actors_on_their_nodes(
    farm: Farm, clean_o2: Any, pernode_repo: str
) -> None:
    prefix = f"tree{uuid.uuid4().hex[:5]}-"
    for i in range(1, NODES + 1):
        farm.add(f"{prefix}{i}")
    env = clean_o2.create_environment(pernode_repo, vars={"node_prefix": prefix})
    assert env.state == "CONFIGURED"  # create deploys and configures
    env.start()
    env.stop()
    tasks = env.tasks
    assert len(tasks) == 3 * NODES

    # each per-host role actor is on its tasks' node (Ray's actor table)
    root = env.tree["path"]
    for i in range(1, NODES + 1):
        path = f"{root}.flp{i}"
        mine = [t for t in tasks if t["role_path"].startswith(path + ".")]
        nodes = {actor_node(t["actor_name"]) for t in mine}
        assert len(nodes) == 1, (path, nodes)
        assert actor_node(naming.role_actor(env.id, path)) == nodes.pop(), path

    # every OCC event reached its task from a role actor on the task's node, none from the
    # environment actor (Ray's task events; an async actor's call names its caller by the
    # caller's creation task: 16 hex of f, then the caller's actor id)
    names = {t["actor_name"] for t in tasks}
    task_nodes = {actor_id(n): actor_node(n) for n in names}
    env_actor = actor_id(naming.env_actor(env.id))

    def transitions() -> list[Any]:
        got = [t for t in calls("Task.transition") if t["actor_id"] in task_nodes]
        return got if len(got) >= 3 * len(names) else []  # CONFIGURE, START, STOP

    sent = wait_for(transitions, 30, "the task events of CONFIGURE, START and STOP")
    live = {
        a["actor_id"]: a
        for a in list_actors(address=gcs(), filters=[("state", "=", "ALIVE")], detail=True)
    }
    for t in sent:  # type: ignore[union-attr]
        caller = live.get(t["parent_task_id"][16:])
        assert caller is not None, f"Task.transition on {t['actor_id']}: caller not found"
        assert caller["class_name"] == "Role", caller["class_name"]
        assert caller["node_id"] == task_nodes[t["actor_id"]], caller["name"]
    every = calls()
    env_calls = {t["task_id"] for t in every if t["actor_id"] == env_actor}

    def by_env(t: Any) -> bool:  # called from the environment actor (either form of parent)
        return bool(t["parent_task_id"][16:] == env_actor or t["parent_task_id"] in env_calls)

    assert not [t for t in every if t["func_or_class_name"] == "Task.transition" and by_env(t)]
    root_actor = actor_id(naming.role_actor(env.id, root))
    root_drives = [
        t for t in every if t["func_or_class_name"] == "Role.drive" and t["actor_id"] == root_actor
    ]
    assert len(root_drives) >= 3 and all(by_env(t) for t in root_drives), root_drives[:1]
    env.destroy()


def actor_id(name: str) -> str:
    rows = list_actors(address=gcs(), filters=[("name", "=", name), ("state", "=", "ALIVE")])
    return str(rows[0]["actor_id"])
