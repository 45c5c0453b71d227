"""The expanded workflow as a tree of lines, for ``o2ctl template expand`` (people's view).

One branch per role, labelled ``path [kind]``; a task role shows its task class and control
mode, its constraints, its channels (a bind's address is assigned at CONFIGURE; a
connect shows its concrete ``role.path:channel`` target) and its final variables; a call
role shows its function and hook point. Scripts use ``--output json`` instead, which is
``ExpandedWorkflow.to_dict()`` unchanged.

Labels are built once as styled segments (``Branch``). A tree of up to ``RICH_LIMIT`` roles
is drawn by rich (colours, wrapping); a larger one (an iterator stamping out 100,000
processors) is written as plain lines with the same guides, because rich takes a minute
per 20,000 roles and the operator then wants the text, not the colours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TextIO

from rich.text import Text
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
RICH_LIMIT = 2_000
Segment = str | tuple[str, str]  # plain text, or (text, rich style)


@dataclass
class Branch:
    """One line of the tree and the lines under it (a plain ``str`` for a leaf line).

    A role's lines are grown when first needed (``grow``), so that writing a large tree
    plainly never holds more than the path being written.
    """

    label: tuple[Segment, ...]
    children: list[Branch | str] = field(default_factory=list)
    grow: Callable[[], list[Branch | str]] | None = None

    def add(self, *label: Segment) -> Branch:
        child = Branch(label)
        self.children.append(child)
        return child

    def kids(self) -> list[Branch | str]:
        if self.grow is not None:
            self.children, self.grow = self.grow(), None
        return self.children


def workflow_branches(expanded: ExpandedWorkflow, *, variables: bool = True) -> Branch:
    """The whole tree, with the workflow's origin and warnings on top."""
    top = Branch(((expanded.workflow, "bold"), " ", (f"({expanded.origin})", "dim")))
    for warning in expanded.warnings:
        top.add(("warning:", "yellow"), f" {warning}")
    top.children.append(_role(expanded.root, variables))
    return top


def role_count(expanded: ExpandedWorkflow) -> int:
    return sum(1 for _ in expanded.root.walk())


def workflow_tree(expanded: ExpandedWorkflow, *, variables: bool = True) -> Tree:
    """The tree for rich (for trees of a few thousand roles at most)."""
    return to_rich(workflow_branches(expanded, variables=variables))


def to_rich(branch: Branch | str, into: Tree | None = None) -> Tree:
    if isinstance(branch, str):
        label, kids = Text(branch), []
    else:
        label, kids = Text.assemble(*branch.label), branch.kids()
    node = Tree(label) if into is None else into.add(label)
    for child in kids:
        to_rich(child, node)
    return node


def write_plain(branch: Branch, out: TextIO) -> None:
    """The tree as plain lines, with rich's guides (``├── ``, ``└── ``, ``│   ``)."""
    out.write(_plain(branch.label) + "\n")
    stack: list[tuple[Branch | str, str, bool]] = []
    _push(stack, branch.kids(), "")
    lines: list[str] = []
    while stack:
        node, prefix, last = stack.pop()
        text = node if isinstance(node, str) else _plain(node.label)
        lines.append(f"{prefix}{'└── ' if last else '├── '}{text}\n")
        if len(lines) >= 4096:
            out.write("".join(lines))
            lines.clear()
        if not isinstance(node, str):
            _push(stack, node.kids(), prefix + ("    " if last else "│   "))
            node.children = []  # written: let it go
    out.write("".join(lines))


def _push(
    stack: list[tuple[Branch | str, str, bool]], kids: list[Branch | str], prefix: str
) -> None:
    last = len(kids) - 1
    stack.extend((kids[i], prefix, i == last) for i in range(last, -1, -1))


def _plain(label: tuple[Segment, ...]) -> str:
    return "".join(s if isinstance(s, str) else s[0] for s in label)


def _role(node: RoleNode, variables: bool) -> Branch:
    optional: tuple[Segment, ...] = () if node.critical else (" ", ("(not critical)", "dim"))
    label = ((node.path, "bold cyan"), f" [{node.kind}]", *optional)
    return Branch(label, grow=lambda: _role_lines(node, variables))


def _role_lines(node: RoleNode, variables: bool) -> list[Branch | str]:
    branch = Branch(())
    if node.constraints and node.task is None:
        branch.children.append(_constraints(node.constraints))
    if node.task is not None:
        _add_task(branch, node.task, variables)
    if node.call is not None:
        _add_call(branch, node.call)
    branch.children.extend(_role(child, variables) for child in node.children)
    return branch.children


def _add_task(branch: Branch, task: TaskSpec, variables: bool) -> None:
    hook = f", hook at {task.trigger}" if task.trigger else ""
    branch.add("task class ", (task.task_class, "green"), f" ({task.control_mode}{hook})")
    if task.constraints:
        branch.children.append(_constraints(task.constraints))
    if task.binds or task.connects:
        channels = branch.add("channels")
        channels.children = [_channel(spec) for spec in (*task.binds, *task.connects)]
    if variables and task.variables:
        _add_mapping(branch, "variables", task.variables)


def _add_call(branch: Branch, call: CallSpec) -> None:
    awaits = f", awaits {call.await_trigger}" if call.await_trigger else ""
    branch.add("call ", (call.func, "green"), f" at {call.trigger}{awaits}")


def _constraints(constraints: Iterable[Constraint]) -> str:
    shown = [
        f"{c.attribute} exists" if c.operator == "exists" else f"{c.attribute}={c.value}"
        for c in constraints
    ]
    return "constraints: " + ", ".join(shown)


def _channel(spec: ChannelSpec) -> str:
    what = f"{spec.type}, {spec.transport}, {spec.addressing}"
    if spec.method == "bind":
        alias = f", global {spec.global_alias}" if spec.global_alias else ""
        return f"bind {spec.name} ({what}{alias}): {BIND_ADDRESS}"
    via = f" (via ::{spec.global_alias})" if spec.global_alias else ""
    return f"connect {spec.name} ({what}) → {spec.target}{via}"


def _add_mapping(branch: Branch, title: str, values: Mapping[str, str]) -> None:
    node = branch.add(f"{title} ({len(values)})")
    node.children = [f"{key} = {values[key]}" for key in sorted(values)]
