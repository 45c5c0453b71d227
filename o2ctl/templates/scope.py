"""Variable stacks and the environments expressions are evaluated in.

AliECS precedence, reproduced by ``Scope``: an iterator's local variable beats user vars,
which beat ``vars``, which beat ``defaults``; inside each of the three layers a child's
value beats its parent's (one chain per layer, one link per role). The bottom of the
chain is the caller's context: user vars given at creation, global vars, builtins and
site defaults.

Two environments read a scope. ``RoleEnv`` serves role fields while the tree is expanded:
variables, helper namespaces, and the tree functions ``Parent()``, ``Up(n)`` and
``This()`` (the latter once the role has its name). ``TaskEnv`` serves a task's command and
properties from a flat snapshot of the stack plus the task template's own defaults, kept as
``Lazy`` text and rendered on first use in the task's full stack (so a template default
like ``_plain_cmdline: "{{ o2_install_path }}/bin/x"`` sees the workflow's variables).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any

from o2ctl.templates.backed import GLOBAL_NAMES
from o2ctl.templates.convert import to_number
from o2ctl.templates.errors import TemplateError
from o2ctl.templates.evaluate import Function, RoleRef
from o2ctl.templates.fields import render
from o2ctl.templates.helpers import IntegrationContext

MISSING: Any = object()


class Lazy:
    """A task-template variable whose ``{{ }}`` are rendered when first read."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __reduce__(self) -> tuple[object, ...]:
        return (Lazy, (self.text,))


class Scope:
    """The variable stack of one role: user, vars and defaults chains plus locals.

    Each chain is a tuple of dicts, this role's own first, then its parent's, up to the
    caller's context (a hand-rolled ``ChainMap``: lookups here are the hot path of
    expanding large iterators).
    """

    __slots__ = ("defaults", "locals", "user", "vars")

    def __init__(
        self,
        user: tuple[dict[str, object], ...],
        vars: tuple[dict[str, object], ...],
        defaults: tuple[dict[str, object], ...],
        locals: dict[str, object],
    ) -> None:
        self.user, self.vars, self.defaults, self.locals = user, vars, defaults, locals

    @classmethod
    def base(
        cls,
        defaults: Mapping[str, object],
        vars: Mapping[str, object],
        user: Mapping[str, object],
    ) -> Scope:
        return cls((dict(user),), (dict(vars),), (dict(defaults),), {})

    def child(self, locals: Mapping[str, object] | None = None) -> Scope:
        """A new link for a child role (its own layers start empty)."""
        return Scope(({}, *self.user), ({}, *self.vars), ({}, *self.defaults), dict(locals or {}))

    def add(self, layer: str, values: Mapping[str, object]) -> None:
        """Set this role's own ``defaults``, ``vars`` or ``user`` values."""
        chain: tuple[dict[str, object], ...] = getattr(self, layer)
        chain[0].update(values)

    def get(self, name: str, default: object = MISSING) -> object:
        if name in self.locals:
            return self.locals[name]
        for chain in (self.user, self.vars, self.defaults):
            for layer in chain:
                if name in layer:
                    return layer[name]
        return default

    def settle_locals(self) -> None:
        """Make the iterator locals visible to children (as vars, like AliECS)."""
        self.vars[0].update(self.locals)

    def flatten(self) -> dict[str, object]:
        """Every visible variable with its winning value."""
        flat: dict[str, object] = {}
        for chain in (self.defaults, self.vars, self.user):
            for layer in reversed(chain):
                flat.update(layer)
        flat.update(self.locals)
        return flat


class Frame:
    """A role's place in the tree while it is expanded (for ``Parent``/``Up``/``This``)."""

    __slots__ = ("name", "parent", "path")

    def __init__(self, name: str, path: str, parent: Frame | None) -> None:
        self.name, self.path, self.parent = name, path, parent

    def ref(self) -> RoleRef:
        return RoleRef(self.name, self.path)


def unknown_variable(name: str, known: Mapping[str, object]) -> TemplateError:
    """The error for a name no stack defines, with the nearest defined names as hints."""
    close = difflib.get_close_matches(name, [*known, *GLOBAL_NAMES], n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return TemplateError(
        f"unknown variable {name!r}{hint}",
        expected="a variable set by defaults, vars, a user var or the caller's builtins",
    )


def _up(start: Frame | None, levels: object) -> RoleRef:
    count = to_number(levels)
    if not isinstance(count, int) or count < 1:
        raise TemplateError(f"Up({levels!r})", expected="a positive integer")
    node = start
    for _ in range(count - 1):
        node = node.parent if node is not None else None
    if node is None or node.parent is None:
        raise TemplateError(f"Up({count}) goes above the root role")
    return node.ref()


class RoleEnv:
    """The environment of a role's fields during expansion."""

    __slots__ = ("integration", "parent", "scope", "seen", "sink", "this")

    def __init__(
        self,
        scope: Scope,
        parent: Frame | None,
        integration: IntegrationContext,
        sink: Callable[[str], None],
        seen: set[str] | None = None,
    ) -> None:
        self.scope, self.parent, self.integration, self.sink = scope, parent, integration, sink
        self.this: Frame | None = None
        self.seen = set() if seen is None else seen  # every variable name read

    def lookup(self, name: str) -> object:
        found = self.integration.plugin_helpers.get(name) or GLOBAL_NAMES.get(name)
        if found is not None:
            return found
        if name in _TREE:
            return _TREE[name](self.parent, self.this)
        self.seen.add(name)
        value = self.scope.get(name)
        if value is MISSING:
            raise unknown_variable(name, self.scope.flatten())
        return value

    def stack_get(self, name: str) -> object | None:
        self.seen.add(name)
        value = self.scope.get(name, None)
        return value if not isinstance(value, Lazy) else value.text

    def warn(self, message: str) -> None:
        self.sink(message)


def _parent(parent: Frame | None, this: Frame | None) -> Function:
    def call(env: object) -> RoleRef:
        if parent is None or parent.parent is None:
            raise TemplateError("Parent() of the root role")
        return parent.ref()

    return Function("Parent", call, 0)


def _this(parent: Frame | None, this: Frame | None) -> Function:
    def call(env: object) -> RoleRef:
        if this is None:
            raise TemplateError("This() is not available before the role has its name")
        return this.ref()

    return Function("This", call, 0)


def _up_function(parent: Frame | None, this: Frame | None) -> Function:
    return Function("Up", lambda env, n: _up(parent, n), 1)


_TREE: dict[str, Callable[[Frame | None, Frame | None], Function]] = {
    "Parent": _parent,
    "This": _this,
    "Up": _up_function,
}


class TaskEnv:
    """The environment of a task's command, properties and channels."""

    __slots__ = ("frame", "integration", "rendering", "sink", "used", "values")

    def __init__(
        self,
        values: dict[str, object],
        frame: Frame,
        integration: IntegrationContext,
        sink: Callable[[str], None],
    ) -> None:
        self.values, self.frame, self.integration, self.sink = values, frame, integration, sink
        self.rendering: set[str] = set()
        self.used: set[str] = set()

    def lookup(self, name: str) -> object:
        found = self.integration.plugin_helpers.get(name) or GLOBAL_NAMES.get(name)
        if found is not None:
            return found
        if name in _TREE:
            return _TREE[name](self.frame.parent, self.frame)
        value = self.values.get(name, MISSING)
        if value is MISSING:
            raise unknown_variable(name, self.values)
        self.used.add(name)
        return self.resolve(name, value)

    def resolve(self, name: str, value: object) -> object:
        """Render a ``Lazy`` template variable in this task's stack (once)."""
        if not isinstance(value, Lazy):
            return value
        if name in self.rendering:
            raise TemplateError(f"variable {name!r} refers to itself")
        self.rendering.add(name)
        try:
            result = render(value.text, self)
        finally:
            self.rendering.discard(name)
        self.values[name] = result
        return result

    def stack_get(self, name: str) -> object | None:
        self.used.add(name)
        value = self.values.get(name)
        return None if value is None else self.resolve(name, value)

    def warn(self, message: str) -> None:
        self.sink(message)
