"""The one interface of workflow template role kinds: ``RoleTemplate``.

Every role kind reads the keys all roles share (name, enabled, defaults, vars,
constraints, connect, bind, locked) the same way, and expands through the same common
steps (``stages.begin_role``) before its own ``finish``. The kinds live beside it: the
leaves (task, call) in ``leaves.py``, the others (aggregator, include, iterator) and
``parse_role``, the one place that decides a role's kind from its keys, in ``roles.py``.
This module imports neither, so that both can import it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import ClassVar

from o2ctl.templates.convert import to_text
from o2ctl.templates.errors import located
from o2ctl.templates.locks import parse_locked
from o2ctl.templates.model import Constraint, RoleKind
from o2ctl.templates.parsing import (
    Where,
    check_channels,
    check_constraints,
    parse_vars,
    scalar_text,
    unknown_keys,
)
from o2ctl.templates.scope import Frame, Scope
from o2ctl.templates.stages import Common, Draft, Expander, RoleState, begin_role
from o2ctl.templates.yamlload import YMap

COMMON_KEYS = (
    "name",
    "enabled",
    "defaults",
    "vars",
    "constraints",
    "connect",
    "bind",
    "description",
    "locked",
)


class RoleTemplate(ABC):
    """A role as written in a workflow template."""

    kind: ClassVar[str]

    def __init__(self, doc: YMap, file: str, warnings: list[str]) -> None:
        self.where = Where(file, doc.line)
        name = scalar_text(doc, "name", file)
        if name is None or not to_text(name).strip():
            raise self.where.error("role without a name", expected="name: ROLE_NAME")
        self.name = to_text(name)
        self.common = Common(
            where=self.where,
            name=self.name,
            enabled=scalar_text(doc, "enabled", file, self.name),
            defaults=parse_vars(doc, "defaults", file, self.name),
            vars=parse_vars(doc, "vars", file, self.name),
            constraints=check_constraints(doc, file, self.name),
            connect=check_channels(doc, "connect", file, self.name),
            bind=check_channels(doc, "bind", file, self.name),
            lines=dict(doc.key_lines),
            locked=parse_locked(doc, file, self.name),
        )
        warnings += unknown_keys(doc, (*COMMON_KEYS, self.kind, "for"), f"role {self.name}", file)

    def expand(
        self,
        ex: Expander,
        parent: Frame,
        scope: Scope,
        inherited: tuple[Constraint, ...],
        locals: Mapping[str, str],
    ) -> list[Draft]:
        """The nodes this role becomes under ``parent`` (empty when disabled)."""
        state = begin_role(ex, self.common, parent, scope, inherited, locals)
        if state is None:
            return []
        with located(file=self.where.file, line=self.where.line, role=state.frame.path):
            return self.finish(ex, state)

    @abstractmethod
    def finish(self, ex: Expander, state: RoleState) -> list[Draft]:
        """The kind-specific part, after the common steps."""

    def draft(self, state: RoleState, kind: RoleKind, critical: bool) -> Draft:
        return Draft(
            name=state.frame.name,
            path=state.frame.path,
            kind=kind,
            source=self.where,
            critical=critical,
            constraints=state.constraints,
            binds=state.binds,
            connects=state.connects,
            locals=state.locals,
        )
