"""Names of the control plane's actors, so that the Ray dashboard reads as the control tree.

All actors live in one namespace. The controller has a fixed name; an environment actor is
``env:<env id>``; a role actor ``<env id>:<role path>``; a task actor is named after the
environment and role it was created for, ``<env id>:<role path>#<task id>`` (a task reused
from the idle pool keeps its first name: Ray names are fixed; its current owner shows in
its state and in ``o2ctl task list``).
"""

from __future__ import annotations

NAMESPACE = "o2ctl"
CONTROLLER = "o2ctl-controller"


def env_actor(env_id: str) -> str:
    return f"env:{env_id}"


def role_actor(env_id: str, role_path: str) -> str:
    return f"{env_id}:{role_path}"


def task_actor(env_id: str, role_path: str, task_id: str) -> str:
    return f"{env_id}:{role_path}#{task_id}"


def process_owner(task_id: str) -> str:
    """The ``O2CTL_OWNER`` mark of a task's process."""
    return f"o2ctl-task/{task_id}"


def env_prefix(env_id: str) -> str:
    """Every role and task actor of an environment has a name starting with this."""
    return f"{env_id}:"


def named_actors(prefix: str = "") -> list[str]:
    """Names of the live named actors of our namespace starting with ``prefix`` (blocking)."""
    import ray

    found = ray.util.list_named_actors(all_namespaces=True)
    return sorted(
        a["name"]
        for a in found
        if a.get("namespace") == NAMESPACE and str(a.get("name", "")).startswith(prefix)
    )
