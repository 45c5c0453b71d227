"""Role kinds of workflow templates: one class each, behind one interface (``rolebase``).

``parse_role`` is the one place that decides a role's kind from its keys: ``roles`` makes
an aggregator, ``task`` a task role, ``call`` a call role, ``include`` an included
sub-workflow, and ``for`` wraps any of these in an iterator. Every class reads its keys
when the file is loaded (shape errors surface then, with file and line) and implements
``expand``: given the parent's frame, stack and constraints, it returns the ``Draft``
nodes it becomes (none when disabled, several for an iterator, which is transparent in
paths: ``processor{{ it }}`` gives siblings ``processor1`` … ``processorN``).
"""

from __future__ import annotations

from collections.abc import Mapping

from o2ctl.templates.channels import render_decls
from o2ctl.templates.convert import to_int, to_list, to_text
from o2ctl.templates.errors import TemplateError, located
from o2ctl.templates.fields import names_used, render
from o2ctl.templates.leaves import CallRole, TaskRole
from o2ctl.templates.model import Constraint
from o2ctl.templates.parsing import Where, mapping, scalar_text, sequence, unknown_keys
from o2ctl.templates.rolebase import RoleTemplate
from o2ctl.templates.scope import Frame, RoleEnv, Scope
from o2ctl.templates.stages import (
    Draft,
    Expander,
    RoleState,
    check_unique,
    evaluate_vars,
    is_enabled,
    merge_constraints,
    render_constraints,
)
from o2ctl.templates.yamlload import YList, YMap

MAX_ITERATIONS = 100_000
KINDS = ("roles", "task", "call", "include")


class AggregatorRole(RoleTemplate):
    """``roles:`` — a group of child roles; disabled when no child is enabled."""

    kind = "roles"

    def __init__(self, doc: YMap, file: str, warnings: list[str]) -> None:
        super().__init__(doc, file, warnings)
        entries = sequence(doc, "roles", file, self.name) or YList(doc.line)
        self.children = [
            parse_role(entry, file, warnings, Where(file, entries.line_of(i)))
            for i, entry in enumerate(entries)
        ]

    def finish(self, ex: Expander, state: RoleState) -> list[Draft]:
        children = expand_children(ex, self.children, state)
        is_root = state.frame.parent is not None and state.frame.parent.parent is None
        if not children and not is_root:
            return []
        draft = self.draft(state, "aggregator", any(c.critical for c in children))
        draft.children = children
        if is_root:
            draft.variables = state.scope.flatten()
        return [draft]


def expand_children(ex: Expander, children: list[RoleTemplate], state: RoleState) -> list[Draft]:
    """Expand child role templates under ``state`` and check their names are unique."""
    drafts: list[Draft] = []
    for child in children:
        drafts += child.expand(ex, state.frame, state.scope, state.constraints, {})
    check_unique(drafts, state.frame.path)
    return drafts


class IncludeRole(RoleTemplate):
    """``include: WORKFLOW`` — the sub-workflow's roles, under this role's name."""

    kind = "include"

    def __init__(self, doc: YMap, file: str, warnings: list[str]) -> None:
        super().__init__(doc, file, warnings)
        self.ref = scalar_text(doc, "include", file, self.name)
        self.ref_where = Where(file, doc.line_of("include"))

    def finish(self, ex: Expander, state: RoleState) -> list[Draft]:
        with located(line=self.ref_where.line):
            ref = to_text(render(self.ref, state.env)).strip()
            if not ref:
                raise TemplateError("include names no workflow", expected="include: WORKFLOW")
        sub = ex.include(ref, self.ref_where, state.frame.path)
        try:
            inner = self._enter(ex, sub, state)
            children = expand_children(ex, sub.children, inner) if inner else []
        finally:
            ex.leave_include(ref)
        if inner is None or not children:
            return []
        draft = self.draft(inner, "include", any(c.critical for c in children))
        draft.children, draft.include = children, ref
        return [draft]

    @staticmethod
    def _enter(ex: Expander, sub: AggregatorRole, state: RoleState) -> RoleState | None:
        """The included root's variables, constraints and channels, one level below ours."""
        scope = state.scope.child()
        env = RoleEnv(scope, state.frame.parent, ex.integration, ex.warn, ex.known)
        env.this = state.frame
        common, file = sub.common, sub.where.file
        if common.locked:
            ex.lock(common.locked, Where(file, common.lines.get("locked", sub.where.line)))
        ex.known.update(common.defaults.values, common.vars.values)
        with located(file=file, line=sub.where.line):
            if not is_enabled(common.enabled, env):
                return None
            scope.add("defaults", evaluate_vars(common.defaults, env, file, ex.tick))
            scope.add("vars", evaluate_vars(common.vars, env, file, ex.tick))
            own = render_constraints(common.constraints, env, file)
            role, line = state.frame.path, sub.where.line
            binds = render_decls(common.bind, env, file=file, line=line, role=role)
            connects = render_decls(common.connect, env, file=file, line=line, role=role)
        return RoleState(
            state.frame,
            scope,
            env,
            merge_constraints(state.constraints, own),
            state.binds + binds,
            state.connects + connects,
            state.locals,
        )


class IteratorRole(RoleTemplate):
    """``for: {begin, end, var}`` or ``for: {range, var}`` around another role kind."""

    kind = "for"

    def __init__(self, doc: YMap, file: str, warnings: list[str], inner: RoleTemplate) -> None:
        self.where = Where(file, doc.line)
        self.name = inner.name
        self.inner = inner
        spec = mapping(doc, "for", file, self.name)
        self.for_where = Where(file, doc.line_of("for"))
        if spec is None or not isinstance(spec.get("var"), str) or not spec["var"].strip():
            raise self.for_where.error(
                "bad iterator", role=self.name, expected="for: {begin, end, var} or {range, var}"
            )
        self.var = spec["var"].strip()
        ranged = "range" in spec
        if ranged == ("begin" in spec or "end" in spec) or (
            not ranged and not ("begin" in spec and "end" in spec)
        ):
            raise self.for_where.error(
                "bad iterator: give either begin and end, or range",
                role=self.name,
                expected="for: {begin, end, var} or {range, var}",
            )
        self.spec = spec
        warnings += unknown_keys(spec, ("begin", "end", "range", "var"), "for", file)
        with located(file=file, line=self.where.line):
            used = names_used(self.name)
        if self.var not in used:
            raise self.where.error(
                f"iterator role name {self.name!r} does not use its variable {self.var!r}",
                expected=f"a name like '{self.name}-{{{{ {self.var} }}}}'",
            )

    def expand(
        self,
        ex: Expander,
        parent: Frame,
        scope: Scope,
        inherited: tuple[Constraint, ...],
        locals: Mapping[str, str],
    ) -> list[Draft]:
        env = RoleEnv(scope.child(locals), parent, ex.integration, ex.warn, ex.known)
        with located(file=self.for_where.file, line=self.for_where.line, role=parent.path):
            values, spec = self.values(env)
        if not values:
            ex.warn(
                f"{self.for_where}: iterator role {self.name!r} under {parent.path} yields "
                f"no role ({spec})"
            )
        drafts: list[Draft] = []
        for value in values:
            drafts += self.inner.expand(ex, parent, scope, inherited, {**locals, self.var: value})
        return drafts

    def values(self, env: RoleEnv) -> tuple[list[str], str]:
        """The iterator's values, and how they were given (for a warning when none).

        ``end`` one below ``begin`` is an empty iterator (a count of zero: a warning);
        further below is an error, since a negative count is a mistake, never a choice.
        """
        spec = self.spec

        def field(key: str) -> object:
            with located(file=self.for_where.file, line=spec.line_of(key)):
                return render(spec[key], env)

        if "range" in spec:
            with located(file=self.for_where.file, line=spec.line_of("range")):
                items = to_list(field("range"), "for.range")
            values = [to_text(item) for item in items]
            given = f"range {to_text(items)}"
        else:
            with located(file=self.for_where.file, line=spec.line_of("begin")):
                begin = to_int(field("begin"), "for.begin")
            with located(file=self.for_where.file, line=spec.line_of("end")):
                end = to_int(field("end"), "for.end")
            if end - begin >= MAX_ITERATIONS:
                raise TemplateError(f"iterator {begin}..{end} is too long (max {MAX_ITERATIONS})")
            if end < begin - 1:
                raise TemplateError(
                    f"iterator {begin}..{end} has a negative count ({end - begin + 1})",
                    file=self.for_where.file,
                    line=spec.line_of("end"),
                    expected=f"for.end >= {begin - 1} (end = begin - 1 gives no role)",
                )
            values = [str(i) for i in range(begin, end + 1)]
            given = f"begin {begin}, end {end}"
        if len(values) > MAX_ITERATIONS:
            raise TemplateError(f"iterator over {len(values)} values (max {MAX_ITERATIONS})")
        return values, given

    def finish(self, ex: Expander, state: RoleState) -> list[Draft]:
        raise NotImplementedError  # iterators expand through their inner role


def parse_role(doc: object, file: str, warnings: list[str], where: Where) -> RoleTemplate:
    """Decide a role's kind from its keys and read it."""
    if not isinstance(doc, YMap):
        raise where.error(
            "a role must be a mapping", expected="{name: ..., roles|task|call|include}"
        )
    present = [key for key in KINDS if key in doc]
    if len(present) != 1:
        name = to_text(doc.get("name"))
        reason = "has none of" if not present else f"has {len(present)} of"
        raise Where(file, doc.line).error(
            f"role {name!r} {reason} roles/task/call/include", expected="exactly one of them"
        )
    classes: dict[str, type[RoleTemplate]] = {
        "roles": AggregatorRole,
        "task": TaskRole,
        "call": CallRole,
        "include": IncludeRole,
    }
    role = classes[present[0]](doc, file, warnings)
    return IteratorRole(doc, file, warnings, role) if "for" in doc else role
