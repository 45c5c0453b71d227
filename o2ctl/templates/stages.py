"""The steps every role goes through while it is expanded, in AliECS's order.

For one role, under its parent (``begin_role``):

1. ``enabled`` is evaluated in the parent's stack (plus the iterator variable); a false
   value prunes the role and nothing else of it is evaluated (so a disabled role may use
   variables and services that do not exist);
2. ``defaults`` are evaluated in the parent's stack, then ``vars`` in the parent's stack
   plus those defaults (a block never sees its own siblings);
3. the name is rendered, giving the role its path; user vars aimed at that path
   (``path.to.role:key``) are evaluated and stacked;
4. constraints (merged with the parent's: the child wins per attribute) and the role's own
   ``bind``/``connect`` entries are rendered, with ``This()`` now available.

Each role kind (``roles``) then does its own part and returns ``Draft`` nodes, mutable
stand-ins for ``RoleNode`` until channel targets are resolved over the whole tree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar

from o2ctl.templates.channels import ChannelDecl, render_decls
from o2ctl.templates.convert import to_bool, to_text
from o2ctl.templates.errors import TemplateError, located
from o2ctl.templates.evaluate import Env
from o2ctl.templates.fields import render, render_text
from o2ctl.templates.helpers import IntegrationContext
from o2ctl.templates.model import CallSpec, Constraint, ControlMode, RoleKind
from o2ctl.templates.parsing import VarBlock, Where
from o2ctl.templates.scope import Frame, RoleEnv, Scope
from o2ctl.templates.yamlload import YList, YMap

if TYPE_CHECKING:
    from o2ctl.templates.roles import AggregatorRole
    from o2ctl.templates.tasktemplate import RenderedTask, TaskRaw, TaskTemplate

_BAD_NAME = re.compile(r"[\s:]")
_T = TypeVar("_T")
CONSTRAINT_OPERATORS = ("equals", "exists")


class Expander(Protocol):
    """What role kinds need from the expansion in progress (``expand.Expansion``)."""

    integration: IntegrationContext
    known: set[str]  # variables read, or declared in a defaults:/vars: (unknown user vars warn)

    def warn(self, message: str) -> None: ...

    def task_template(self, ref: str, where: Where, role: str) -> TaskTemplate: ...

    def include(self, ref: str, where: Where, role: str) -> AggregatorRole: ...

    def leave_include(self, ref: str) -> None: ...

    def targeted_vars(self, path: str) -> Mapping[str, object]: ...

    def count(self, where: Where, role: str) -> None: ...

    def tick(self) -> None: ...

    def lock(self, names: tuple[str, ...], where: Where) -> None: ...

    def specials(self, role_path: str, task_class: str) -> dict[str, str]: ...


@dataclass
class TaskDraft:
    """A task role's rendered parts, before its channels are resolved."""

    raw: TaskRaw
    rendered: RenderedTask
    task_class: str
    control_mode: ControlMode
    binds: list[ChannelDecl]
    connects: list[ChannelDecl]
    trigger: str | None
    timeout_s: float | None


@dataclass
class Draft:
    """A role of the tree being built."""

    name: str
    path: str
    kind: RoleKind
    source: Where
    critical: bool
    constraints: tuple[Constraint, ...]
    binds: list[ChannelDecl]
    connects: list[ChannelDecl]
    children: list[Draft] = field(default_factory=list)
    task: TaskDraft | None = None
    call: CallSpec | None = None
    include: str | None = None
    locals: dict[str, str] = field(default_factory=dict)
    variables: dict[str, object] | None = None  # the root's final stack


@dataclass
class RoleState:
    """A role after the common steps: its frame, stack, constraints and channels."""

    frame: Frame
    scope: Scope
    env: RoleEnv
    constraints: tuple[Constraint, ...]
    binds: list[ChannelDecl]
    connects: list[ChannelDecl]
    locals: dict[str, str]


@dataclass(frozen=True)
class Common:
    """The keys every role may have, as read from the template."""

    where: Where
    name: object
    enabled: object
    defaults: VarBlock
    vars: VarBlock
    constraints: YList | None
    connect: YList | None
    bind: YList | None
    lines: Mapping[str, int] = field(default_factory=dict)  # line of each key
    locked: tuple[str, ...] = ()  # variables a user may not set (``locks``)


def begin_role(
    ex: Expander,
    common: Common,
    parent: Frame,
    parent_scope: Scope,
    inherited: tuple[Constraint, ...],
    locals: Mapping[str, str],
) -> RoleState | None:
    """Steps 1-4 for one role; None when it is disabled."""
    scope = parent_scope.child(locals)
    env = RoleEnv(scope, parent, ex.integration, ex.warn, ex.known)
    label = _join(parent.path, to_text(common.name))
    file, line = common.where.file, common.where.line
    if common.locked:
        ex.lock(common.locked, Where(file, common.lines.get("locked", line)))
    ex.known.update(common.defaults.values, common.vars.values)
    with located(file=file, line=line, role=label):
        with located(line=common.lines.get("enabled")):
            if not is_enabled(common.enabled, env):
                return None
        scope.add("defaults", evaluate_vars(common.defaults, env, file, ex.tick))
        scope.add("vars", evaluate_vars(common.vars, env, file, ex.tick))
        with located(line=common.lines.get("name")):
            name = render_text(common.name, env).strip()
            if not name or _BAD_NAME.search(name):
                raise TemplateError(f"role name {name!r}", expected="a non-empty name without ':'")
    path = _join(parent.path, name)
    ex.count(common.where, path)
    with located(file=file, line=line, role=path):
        scope.add("user", _rendered(ex.targeted_vars(path), env))
        frame = Frame(name, path, parent)
        env.this = frame
        own = render_constraints(common.constraints, env, file)
        binds = render_decls(common.bind, env, file=file, line=line, role=path)
        connects = render_decls(common.connect, env, file=file, line=line, role=path)
    scope.settle_locals()
    return RoleState(
        frame, scope, env, merge_constraints(inherited, own), binds, connects, dict(locals)
    )


def _join(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


def is_enabled(raw: object, env: Env) -> bool:
    """``enabled`` (absent or empty means enabled)."""
    if raw is None:
        return True
    return to_bool(render(raw, env), "enabled", default=True)


def evaluate_vars(
    block: VarBlock, env: Env, file: str, tick: Callable[[], None] | None = None
) -> dict[str, object]:
    """Render a ``defaults``/``vars`` block in ``env`` (which does not see the block).

    ``tick`` is called once per variable (the expansion's budget meter).
    """
    result: dict[str, object] = {}
    for name, raw in block.values.items():
        if tick is not None:
            tick()
        with located(file=file, line=block.lines.get(name)):
            result[name] = render(raw, env)
    return result


def _rendered(values: Mapping[str, object], env: Env) -> dict[str, object]:
    return {name: render(value, env) for name, value in values.items()}


def render_constraints(entries: YList | None, env: Env, file: str) -> list[Constraint]:
    """Render ``[{attribute, value, operator}]``."""
    result = []
    for index, entry in enumerate(entries or ()):
        assert isinstance(entry, YMap)
        with located(file=file, line=entries.line_of(index) if entries else None):
            attribute = render_text(entry.get("attribute"), env).strip()
            operator = render_text(entry.get("operator") or "equals", env).strip()
            if not attribute:
                raise TemplateError("constraint with an empty attribute")
            if operator not in CONSTRAINT_OPERATORS:
                raise TemplateError(
                    f"constraint operator {operator!r}", expected=" | ".join(CONSTRAINT_OPERATORS)
                )
            result.append(Constraint(attribute, render_text(entry.get("value"), env), operator))
    return result


def merge_constraints(
    inherited: tuple[Constraint, ...], own: list[Constraint]
) -> tuple[Constraint, ...]:
    """Own constraints first; an inherited one on the same attribute is overridden."""
    mine = {c.attribute for c in own}
    return (*own, *(c for c in inherited if c.attribute not in mine))


def check_unique(children: list[Draft], path: str) -> None:
    """Sibling roles must have distinct names (checked after pruning and iteration)."""
    seen: dict[str, Draft] = {}
    for child in children:
        first = seen.get(child.name)
        if first is not None:
            raise TemplateError(
                f"two roles named {child.name!r} under {path} (the first at {first.source})",
                file=child.source.file,
                line=child.source.line,
                role=child.path,
                expected="unique role names among siblings",
            )
        seen[child.name] = child


def optional_render(raw: object, env: Env, render_with: Callable[[object], _T]) -> _T | None:
    """``render_with(render(raw))`` or None when the field is absent or empty."""
    if raw is None:
        return None
    value = render(raw, env)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return render_with(value)
