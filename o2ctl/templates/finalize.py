"""From draft tree to frozen ``RoleNode`` tree, resolving channels on the way.

Channels can only be finished once every role exists. For each task, in tree order, the
``bind``/``connect`` entries of its ancestors and of its own role are merged (nearest
wins), then over the task template's own (roles win), and validated. The binds then give
the global aliases (``global: NAME``) and the map of which task binds what, against which
every connect target is resolved (``channels.resolve_connect``). Last, the frozen nodes are
built bottom-up, each task's ``TaskSpec`` with its resolved channels.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from o2ctl.templates.channels import (
    ChannelDecl,
    TaskChannels,
    build_spec,
    global_aliases,
    merge_decls,
    resolve_connect,
)
from o2ctl.templates.convert import to_text
from o2ctl.templates.helpers import IntegrationContext
from o2ctl.templates.model import CallSpec, ChannelSpec, RoleNode, TaskSpec
from o2ctl.templates.stages import Draft, Expander


@dataclass(frozen=True)
class Finalized:
    root: RoleNode
    global_channels: dict[str, str]
    variables: dict[str, str]


def finalize(root: Draft, ex: Expander, integration: IntegrationContext) -> Finalized:
    """Resolve channels over the draft tree and freeze it."""
    tasks: list[tuple[Draft, TaskChannels]] = []
    _collect(root, [], [], tasks)
    channels = [t for _, t in tasks]
    aliases = {**integration.global_channels, **global_aliases(channels)}
    binds = {t.path: {spec.name: spec for spec, _ in t.binds} for t in channels}
    kinds = {d.path: d.kind for d in _walk(root)}
    resolved: dict[str, tuple[tuple[ChannelSpec, ...], tuple[ChannelSpec, ...]]] = {}
    for task in channels:
        connects = []
        for spec, decl in task.connects:
            spec, warning = resolve_connect(spec, decl, task.path, binds, aliases, kinds)
            if warning:
                ex.warn(warning)
            connects.append(spec)
        resolved[task.path] = (tuple(s for s, _ in task.binds), tuple(connects))
    published = {a: t for a, t in aliases.items() if a not in integration.global_channels}
    variables = {k: to_text(v) for k, v in (root.variables or {}).items()}
    return Finalized(_freeze(root, resolved, variables), published, variables)


def _walk(draft: Draft) -> list[Draft]:
    found = [draft]
    for child in draft.children:
        found += _walk(child)
    return found


def _collect(
    draft: Draft,
    binds: list[ChannelDecl],
    connects: list[ChannelDecl],
    out: list[tuple[Draft, TaskChannels]],
) -> None:
    binds = merge_decls(binds, draft.binds)
    connects = merge_decls(connects, draft.connects)
    if draft.task is not None:
        task_binds = merge_decls(draft.task.binds, binds)
        task_connects = merge_decls(draft.task.connects, connects)
        out.append(
            (
                draft,
                TaskChannels(
                    draft.path,
                    tuple((build_spec(d, "bind"), d) for d in task_binds),
                    tuple((build_spec(d, "connect"), d) for d in task_connects),
                ),
            )
        )
    for child in draft.children:
        _collect(child, binds, connects, out)


def _freeze(
    draft: Draft,
    resolved: dict[str, tuple[tuple[ChannelSpec, ...], tuple[ChannelSpec, ...]]],
    root_vars: dict[str, str],
) -> RoleNode:
    task = None
    if draft.task is not None:
        t = draft.task
        binds, connects = resolved[draft.path]
        task = TaskSpec(
            role_path=draft.path,
            task_class=t.task_class,
            control_mode=t.control_mode,
            command=t.rendered.command,
            wants=t.rendered.wants,
            limits=t.rendered.limits,
            constraints=draft.constraints,
            binds=binds,
            connects=connects,
            properties=t.rendered.properties,
            variables=t.rendered.variables,
            critical=draft.critical,
            trigger=t.trigger,
            timeout_s=t.timeout_s,
            placement_vars=t.rendered.placement_vars,
            raw=t.raw,
        )
    return RoleNode(
        name=draft.name,
        path=draft.path,
        kind=draft.kind,
        critical=draft.critical,
        constraints=draft.constraints,
        children=tuple(_freeze(child, resolved, root_vars) for child in draft.children),
        task=task,
        call=_own_variables(draft.call, root_vars),
        include=draft.include,
        locals=dict(draft.locals),
        source=str(draft.source),
    )


def _own_variables(call: CallSpec | None, root_vars: dict[str, str]) -> CallSpec | None:
    """A call keeps only the variables where its role differs from the root (the rest are
    ``ExpandedWorkflow.variables``): a workflow with many calls stays small to ship."""
    if call is None:
        return None
    own = {k: v for k, v in call.variables.items() if root_vars.get(k) != v}
    return replace(call, variables=own)
