"""Variables a user may not set: the system's own, and those a template locks.

User vars beat everything in the templates (AliECS's precedence), so a variable that picks
a path or a command of a built-in hook (the clean-up job's ``cleanup_path``, the scratch
directory it works in) would otherwise be the user's to choose. A template lists such
variables under ``locked:`` (a task template for its own variables; any role of a
workflow for the variables it passes down); the control system's own variables
(``environment_id``, ``run_number``, the task's identity) are always locked. A user var
(``key`` or ``path.to.role:key``) naming a locked variable is refused with one
``TemplateError`` naming the variable and where it was locked; nothing is deployed.
"""

from __future__ import annotations

from collections.abc import Iterable

from o2ctl.templates.errors import TemplateError
from o2ctl.templates.parsing import Where, sequence
from o2ctl.templates.yamlload import YMap

SYSTEM_VARS = (
    "environment_id",
    "run_number",
    "task_id",
    "task_name",
    "task_hostname",
    "task_class_name",
    "task_parent_role",
)
"""Set by the control system for every environment and task; never by a user."""


def parse_locked(doc: YMap, file: str, role: str | None = None) -> tuple[str, ...]:
    """The ``locked:`` list of a role or a task template (names of variables)."""
    entries = sequence(doc, "locked", file, role)
    names = []
    for index, entry in enumerate(entries or ()):
        if not isinstance(entry, str) or not entry.strip():
            line = entries.line_of(index) if entries is not None else doc.line
            raise Where(file, line).error(
                f"locked entry {entry!r} is not a variable name",
                role=role,
                expected="locked: [VARIABLE, ...]",
            )
        names.append(entry.strip())
    return tuple(names)


class Locks:
    """The variables locked so far in one expansion, with where each was locked."""

    def __init__(self) -> None:
        self.by_name: dict[str, Where] = {}

    def add(self, names: Iterable[str], where: Where) -> None:
        for name in names:
            self.by_name.setdefault(name, where)

    def check(self, user_vars: Iterable[str]) -> None:
        """Refuse the first user var (``key`` or ``path:key``) that names a locked variable."""
        for key in user_vars:
            name = key.rpartition(":")[2]
            if name in SYSTEM_VARS:
                raise TemplateError(
                    f"user var {key!r}: {name!r} is set by the control system; a user may not "
                    "set it"
                )
            where = self.by_name.get(name)
            if where is not None:
                raise TemplateError(
                    f"user var {key!r}: variable {name!r} is locked (it selects what a "
                    "built-in hook acts on); a user may not set it",
                    file=where.file,
                    line=where.line,
                )
