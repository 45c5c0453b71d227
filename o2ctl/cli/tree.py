"""The expanded workflow as a rich ``Tree``, for ``o2ctl template expand`` (people's view).

One branch per role, labelled ``path [kind]``; a task role shows its task class and control
mode, its constraints, its channels (a bind's address is assigned at CONFIGURE; a
connect shows its concrete ``role.path:channel`` target) and its final variables; a call
role shows its function and hook point. Scripts use ``--output json`` instead, which is
``ExpandedWorkflow.to_dict()`` unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rich.markup import escape
from rich.tree import Tree

from o2ctl.templates.model import (
    CallSpec,
    ChannelSpec,
    Constraint,
    ExpandedWorkflow,
    RoleNode,
    TaskSpec,
)

BIND_ADDRESS = "address assigned at CONFIGURE"


def workflow_tree(expanded: ExpandedWorkflow, *, variables: bool = True) -> Tree:
    """The whole tree, with the workflow's origin and warnings on top."""
    tree = Tree(f"[bold]{escape(expanded.workflow)}[/] [dim]({escape(expanded.origin)})[/]")
    for warning in expanded.warnings:
        tree.add(f"[yellow]warning:[/] {escape(warning)}")
    _add_role(tree, expanded.root, variables)
    return tree


def _add_role(parent: Tree, node: RoleNode, variables: bool) -> None:
    optional = "" if node.critical else " [dim](not critical)[/]"
    branch = parent.add(f"[bold cyan]{escape(node.path)}[/] {escape(f'[{node.kind}]')}{optional}")
    if node.constraints and node.task is None:
        branch.add(_constraints(node.constraints))
    if node.task is not None:
        _add_task(branch, node.task, variables)
    if node.call is not None:
        _add_call(branch, node.call)
    for child in node.children:
        _add_role(branch, child, variables)


def _add_task(branch: Tree, task: TaskSpec, variables: bool) -> None:
    hook = f", hook at {escape(task.trigger)}" if task.trigger else ""
    branch.add(f"task class [green]{escape(task.task_class)}[/] ({task.control_mode}{hook})")
    if task.constraints:
        branch.add(_constraints(task.constraints))
    if task.binds or task.connects:
        channels = branch.add("channels")
        for spec in (*task.binds, *task.connects):
            channels.add(_channel(spec))
    if variables and task.variables:
        _add_mapping(branch, "variables", task.variables)


def _add_call(branch: Tree, call: CallSpec) -> None:
    awaits = f", awaits {escape(call.await_trigger)}" if call.await_trigger else ""
    branch.add(f"call [green]{escape(call.func)}[/] at {escape(call.trigger)}{awaits}")


def _constraints(constraints: Iterable[Constraint]) -> str:
    shown = [
        f"{c.attribute} exists" if c.operator == "exists" else f"{c.attribute}={c.value}"
        for c in constraints
    ]
    return "constraints: " + escape(", ".join(shown))


def _channel(spec: ChannelSpec) -> str:
    what = f"{spec.type}, {spec.transport}, {spec.addressing}"
    if spec.method == "bind":
        alias = f", global {spec.global_alias}" if spec.global_alias else ""
        return escape(f"bind {spec.name} ({what}{alias}): {BIND_ADDRESS}")
    via = f" (via ::{spec.global_alias})" if spec.global_alias else ""
    return escape(f"connect {spec.name} ({what}) → {spec.target}{via}")


def _add_mapping(branch: Tree, title: str, values: Mapping[str, str]) -> None:
    node = branch.add(f"{title} ({len(values)})")
    for key in sorted(values):
        node.add(escape(f"{key} = {values[key]}"))
