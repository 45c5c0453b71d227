"""``expand_workflow``: a workflow reference and variables in, an ``ExpandedWorkflow`` out.

The flow: read the workflow through the ``TemplateSource`` and parse it into role
templates (``roles.parse_role``; parsed files are cached by text), expand the root under a
stack built from the caller's context (``Expansion`` serves the role kinds with task
templates, includes, user vars aimed at one role, warnings and limits), then
``finalize`` the drafts: channels merged and connect targets resolved over the whole tree,
and frozen ``RoleNode``s built. The whole expansion runs under a ``Budget`` (roles,
seconds, memory: ``budget.Meter``), with the cyclic garbage collector paused.

The bottom of every stack, lowest first: ``SITE_DEFAULTS`` (neutral values for what an
AliECS site keeps in its configuration store, so real templates expand without one), the
caller's ``builtins`` (environment id, hosts, detectors, a site's global defaults), the
caller's ``global_vars``, then the user vars given at creation (which beat everything in
the templates, AliECS's precedence).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from o2ctl.config.source import TemplateKind, TemplateSource, TemplateText
from o2ctl.templates.budget import DEFAULT_BUDGET, Budget, Meter, no_cyclic_gc
from o2ctl.templates.convert import to_text
from o2ctl.templates.errors import TemplateError
from o2ctl.templates.finalize import finalize
from o2ctl.templates.helpers import IntegrationContext
from o2ctl.templates.locks import Locks
from o2ctl.templates.model import ExpandedWorkflow
from o2ctl.templates.parsing import Where
from o2ctl.templates.roles import AggregatorRole, parse_role
from o2ctl.templates.scope import Frame, Scope
from o2ctl.templates.tasktemplate import (
    PLACEMENT_VARS,
    TaskTemplate,
    parse_task_template,
    placeholder,
)
from o2ctl.templates.yamlload import YMap, load_yaml

SITE_DEFAULTS: dict[str, object] = {
    "modulepath": "",
    "o2_install_path": "/opt/o2",
    "consul_endpoint": "localhost:8500",
    "infologger_severity": "info",
    "infologger_mode": "infoLogger",
    "fmq_rate_logging": "0",
    "monitoring_dd_url": "no-op://",
    "extra_env_vars": "",
    "detector": "",
    "hosts": "[]",
    "detectors": "[]",
    "run_number": placeholder("run_number"),
    "environment_id": placeholder("environment_id"),
}
"""Variables an AliECS site provides globally, with neutral values (callers override)."""

MAX_NODES = DEFAULT_BUDGET.roles
READ_BY_O2CTL = frozenset(
    {"detectors", "run_type", "modify_while_running", "auto_stop_timeout", "environment_id"}
)
"""User variables o2ctl itself reads, whether or not a template does."""


class Expansion:
    """One expansion in progress: sources, caches, warnings and limits."""

    def __init__(
        self,
        source: TemplateSource,
        user_vars: Mapping[str, object],
        builtins: Mapping[str, object],
        integration: IntegrationContext,
        meter: Meter,
    ) -> None:
        self.source = source
        self.integration = integration
        self.meter = meter
        self.warnings: list[str] = []
        self.warned: set[str] = set()
        self.known: set[str] = set()
        self.including: list[str] = []
        self.targeted: dict[str, dict[str, object]] = {}
        self.targets_used: set[str] = set()
        for key, value in user_vars.items():
            path, sep, name = key.partition(":")
            if sep:
                if not path or not name:
                    raise TemplateError(f"user var {key!r}", expected="KEY or path.to.role:KEY")
                self.targeted.setdefault(path, {})[name] = value
        self.placement = {
            name: to_text(builtins.get(name, placeholder(name))) for name in PLACEMENT_VARS
        }
        self.locks = Locks()
        self.tasks: dict[str, TaskTemplate] = {}
        self.workflows: dict[str, tuple[AggregatorRole, str]] = {}

    def warn(self, message: str) -> None:
        if message not in self.warned:
            self.warned.add(message)
            self.warnings.append(message)

    def fetch(self, kind: TemplateKind, ref: str, where: Where | None, role: str) -> TemplateText:
        try:
            generated = self.integration.dpl and self.integration.dpl.template(kind, ref)
            return generated or self.source.get_template(kind, ref)
        except TemplateError:
            raise
        except Exception as error:  # any backend failure, named with the reference
            raise TemplateError(
                f"cannot read {kind} template {ref!r}: {error}",
                file=where.file if where else None,
                line=where.line if where else None,
                role=role or None,
            ) from None

    def task_template(self, ref: str, where: Where, role: str) -> TaskTemplate:
        template = self.tasks.get(ref)
        if template is None:
            text = self.fetch("task", ref, where, role)
            template = self.tasks[ref] = _parse_task(text.text, text.origin)
            for warning in template.warnings:
                self.warn(warning)
            if template.locked:
                self.lock(template.locked, Where(text.origin, template.locked_line))
        return template

    def workflow(self, ref: str, where: Where | None, role: str) -> tuple[AggregatorRole, str]:
        found = self.workflows.get(ref)
        if found is None:
            text = self.fetch("workflow", ref, where, role)
            root, warnings = _parse_workflow(text.text, text.origin)
            for warning in warnings:
                self.warn(warning)
            found = self.workflows[ref] = (root, text.origin)
        return found

    def include(self, ref: str, where: Where, role: str) -> AggregatorRole:
        root, origin = self.workflow(ref, where, role)
        if origin in self.including:
            chain = " -> ".join([*self.including, origin])
            raise TemplateError(
                f"include cycle: {chain}", file=where.file, line=where.line, role=role
            )
        self.including.append(origin)
        return root

    def leave_include(self, ref: str) -> None:
        self.including.pop()

    def targeted_vars(self, path: str) -> Mapping[str, object]:
        found: dict[str, object] = {}
        relative = path.partition(".")[2]
        for key in (relative, path):
            if key and key in self.targeted:
                found.update(self.targeted[key])
                self.targets_used.add(key)
        return found

    def count(self, where: Where, role: str) -> None:
        self.meter.count_role(where.file, where.line, role)

    def tick(self) -> None:
        self.meter.tick()

    def lock(self, names: tuple[str, ...], where: Where) -> None:
        self.locks.add(names, where)

    def specials(self, role_path: str, task_class: str) -> dict[str, str]:
        return {**self.placement, "task_class_name": task_class, "task_parent_role": role_path}


@lru_cache(maxsize=128)
def _parse_workflow(text: str, origin: str) -> tuple[AggregatorRole, tuple[str, ...]]:
    doc = load_yaml(text, origin)
    if not isinstance(doc, YMap):
        raise TemplateError("a workflow template must be a YAML mapping", file=origin, line=1)
    warnings: list[str] = []
    root = parse_role(doc, origin, warnings, Where(origin, doc.line))
    if not isinstance(root, AggregatorRole):
        raise TemplateError(
            "the root role of a workflow must be an aggregator",
            file=origin,
            line=doc.line,
            expected="roles: [...] at the top level, without for:",
        )
    return root, tuple(warnings)


@lru_cache(maxsize=512)
def _parse_task(text: str, origin: str) -> TaskTemplate:
    return parse_task_template(load_yaml(text, origin), origin)


def expand_workflow(
    source: TemplateSource,
    workflow: str,
    user_vars: Mapping[str, str] | None = None,
    *,
    builtins: Mapping[str, object] | None = None,
    global_vars: Mapping[str, object] | None = None,
    integration: IntegrationContext | None = None,
    budget: Budget = DEFAULT_BUDGET,
) -> ExpandedWorkflow:
    """Expand ``workflow`` (``name``, ``name@rev`` or ``repo/…/name@rev``) into a role tree.

    ``user_vars`` are the variables given at creation (``key`` or ``path.to.role:key``);
    ``builtins`` the system's own (``environment_id``, ``hosts``, a site's global defaults
    …), ``global_vars`` a site's global ``vars``; ``integration`` the backends of the
    helpers that need one; ``budget`` what the expansion may cost. Raises
    ``TemplateError`` for anything wrong in the templates, or over the budget.
    """
    try:
        with no_cyclic_gc():
            return _expand(source, workflow, user_vars, builtins, global_vars, integration, budget)
    except MemoryError:  # a hard limit of the process (budget.address_space_limit) was hit
        raise TemplateError(
            f"expansion ran out of memory (the limit of one expansion: {budget.describe()})",
            file=workflow,
        ) from None


def _expand(
    source: TemplateSource,
    workflow: str,
    user_vars: Mapping[str, str] | None,
    builtins: Mapping[str, object] | None,
    global_vars: Mapping[str, object] | None,
    integration: IntegrationContext | None,
    budget: Budget,
) -> ExpandedWorkflow:
    users = dict(user_vars or {})
    context = integration or IntegrationContext()
    ex = Expansion(source, users, builtins or {}, context, Meter(budget, workflow))
    root, origin = ex.workflow(workflow, None, "")
    ex.meter.origin = origin
    ex.including.append(origin)
    base = Scope.base(
        {**SITE_DEFAULTS, **(builtins or {})},
        dict(global_vars or {}),
        {k: v for k, v in users.items() if ":" not in k},
    )
    drafts = root.expand(ex, Frame("", "", None), base, (), {})
    if not drafts:
        raise TemplateError("the root role is disabled", file=origin, line=root.where.line)
    tree = finalize(drafts[0], ex, context)
    ex.locks.check(users)
    for key in sorted(set(ex.targeted) - ex.targets_used):
        ex.warn(f"user vars for {key!r} target no role of the expanded tree")
    known = ex.known | READ_BY_O2CTL
    unknown = sorted(k for k in users if ":" not in k and k not in known)
    if unknown:
        ex.warn(
            f"user vars {', '.join(map(repr, unknown[:20]))}{' …' if len(unknown) > 20 else ''}"
            f" are unknown to workflow {workflow!r}: no defaults: or vars: declares them and"
            " nothing reads them (a misspelt name?)"
        )
    stem = workflow.rpartition("/")[2].partition("@")[0].removesuffix(".yaml")
    if root.name != stem and "{{" not in root.name:
        ex.warn(f"root role {root.name!r} is not named after its template {workflow!r}")
    if not tree.root.children:
        ex.warn(f"workflow {workflow!r} expands to an empty tree (every role is disabled)")
    public = {**root.common.defaults.public, **root.common.vars.public}
    return ExpandedWorkflow(
        root=tree.root,
        workflow=workflow,
        origin=origin,
        user_vars={k: to_text(v) for k, v in users.items()},
        global_channels=tree.global_channels,
        warnings=tuple(ex.warnings),
        variables=tree.variables,
        public_vars=public,
    )
