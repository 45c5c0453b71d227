"""Control through the tree on a 4-node farm (issue 18's Done-when).

A workflow of four per-host roles (``flp1``..``flp4``, each a sampler → processor → sink
chain held to one farm node) is created (DEPLOY, CONFIGURE) and taken through START_ACTIVITY and STOP_ACTIVITY.
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


def actor_node(name: str) -> str:
    rows = list_actors(filters=[("name", "=", name), ("state", "=", "ALIVE")], detail=True)
    assert rows, f"no live actor named {name}"
    return str(rows[0]["node_id"])


def tasks_named(name: str) -> list[Any]:
    return list(list_tasks(filters=[("name", "=", name)], detail=True, limit=10_000))


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

    # every OCC event came from a Role.drive on the task's node (Ray's task events)
    names = {t["actor_name"] for t in tasks}
    env_actor_id = list_actors(filters=[("name", "=", naming.env_actor(env.id))])[0]["actor_id"]
    task_actor_ids = {
        list_actors(filters=[("name", "=", n)])[0]["actor_id"]: actor_node(n) for n in names
    }

    def transitions() -> list[Any]:
        got = [t for t in tasks_named("Task.transition") if t["actor_id"] in task_actor_ids]
        return got if len(got) >= 3 * len(names) else []

    sent = wait_for(transitions, 30, "the task events of CONFIGURE, START and STOP")
    drives = {t["task_id"]: t for t in tasks_named("Role.drive")}
    for t in sent:  # type: ignore[union-attr]
        parent = drives.get(t["parent_task_id"])
        assert parent is not None, f"{t['name']} on {t['actor_id']} not sent by a Role.drive"
        assert parent["actor_id"] != env_actor_id
        assert parent["node_id"] == task_actor_ids[t["actor_id"]]
    from_env = [
        t
        for t in tasks_named("Task.transition")
        if t.get("parent_task_id") in _env_tasks(env_actor_id)
    ]
    assert not from_env, "the environment actor called task actors itself"
    env.destroy()


def _env_tasks(actor_id: str) -> set[str]:
    rows = list_tasks(filters=[("actor_id", "=", actor_id)], detail=True, limit=10_000)
    return {r["task_id"] for r in rows}
