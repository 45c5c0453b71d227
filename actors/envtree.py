"""An environment's role tree as the operator sees it: ``[STATE] role → task``, with each
aggregating role's state merged from its children (hook tasks shown, not merged)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from o2ctl.core.states import TaskState, aggregate

if TYPE_CHECKING:
    from actors.environment import EnvironmentRuntime


def tree_of(node: Any, env: EnvironmentRuntime) -> dict[str, Any]:
    entry = env.tasks.get(node.path)
    out: dict[str, Any] = {
        "name": node.name,
        "path": node.path,
        "kind": node.kind,
        "critical": node.critical,
    }
    if node is env.workflow.root:  # the workflow's final variables, as AliECS shows them
        out["vars"] = {str(k): str(v) for k, v in env.workflow.variables.items()}
    if entry is not None:
        out.update(
            state=entry.state.value,
            task_id=entry.task_id,
            host=entry.host,
            pid=entry.pid,
            task_class=entry.task_class,
        )
    elif node.task is not None:  # a hook task: it runs at its trigger, not deployed
        out.update(
            kind="hook",
            state="INVARIANT",
            trigger=node.task.trigger,
            task_class=node.task.task_class,
        )
    else:
        kids = [tree_of(c, env) for c in node.children]
        out["children"] = kids
        out["state"] = aggregate(
            (TaskState(k.get("state", "UNKNOWN")), k["critical"])
            for k in kids
            if k["kind"] != "hook"
        ).value
    return out
