"""Task templates (``tasks/NAME.yaml``): read once, rendered per task role.

A task template says how to run one process: control mode, command, resources, bind
channels, properties pushed at CONFIGURE, its own ``defaults``/``vars`` and constraints.
``parse_task_template`` checks its shape when the file is read. ``render_task`` then fills
in the fields for one task role, in the task's stack: the role's variables win over the
template's own (which are ``Lazy`` and rendered at use), and the task's special variables
(``task_hostname``, ``task_id``, ``environment_id``, ``task_parent_role`` …) win over all.

Some special values are known only at placement (the host, the task id): expansion renders
them as ``<task_hostname>``-style placeholders and lists them in ``placement_vars``;
``render_task_for_host`` renders the command, properties and variables again once they are
known. Channels and constraints are fixed at expansion (they feed target resolution).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from o2ctl.templates.convert import to_bool, to_float, to_text
from o2ctl.templates.errors import TemplateError, located
from o2ctl.templates.fields import render, render_text
from o2ctl.templates.helpers import IntegrationContext
from o2ctl.templates.locks import parse_locked
from o2ctl.templates.model import CommandSpec, ControlMode, TaskSpec
from o2ctl.templates.parsing import (
    VarBlock,
    check_channels,
    check_constraints,
    mapping,
    parse_vars,
    sequence,
    unknown_keys,
)
from o2ctl.templates.scope import Frame, Lazy, TaskEnv
from o2ctl.templates.yamlload import YList, YMap

CONTROL_MODES: dict[str, ControlMode] = {m: m for m in ("fairmq", "direct", "basic", "hook")}
PLACEMENT_VARS = ("task_hostname", "task_id", "task_name", "environment_id")
_KEYS = frozenset(
    {"name", "description", "defaults", "vars", "control", "command", "wants", "limits"}
    | {"bind", "connect", "properties", "constraints", "locked"}
)
_COMMAND_KEYS = ("value", "arguments", "env", "shell", "user", "stdout", "stderr", "log")


def placeholder(name: str) -> str:
    """What a variable known only later reads as until then."""
    return f"<{name}>"


@dataclass(frozen=True)
class TaskTemplate:
    """A parsed task template (fields still hold their ``{{ }}``)."""

    name: str
    origin: str
    control_mode: ControlMode
    command: YMap
    wants: YMap | None
    limits: YMap | None
    binds: YList | None
    connects: YList | None
    properties: YMap | None
    constraints: YList | None
    defaults: VarBlock
    vars: VarBlock
    warnings: tuple[str, ...] = ()
    locked: tuple[str, ...] = ()  # variables a user may not set (``locks``)
    locked_line: int = 1


def parse_task_template(doc: object, origin: str) -> TaskTemplate:
    """Check a task template's shape; TemplateError naming file and line when wrong."""
    if not isinstance(doc, YMap):
        raise TemplateError("a task template must be a YAML mapping", file=origin, line=1)
    control = mapping(doc, "control", origin)
    mode = to_text(control.get("mode") if control else "direct").strip() or "direct"
    if mode not in CONTROL_MODES:
        line = control.line_of("mode") if control else doc.line
        raise TemplateError(
            f"control mode {mode!r}", file=origin, line=line, expected=" | ".join(CONTROL_MODES)
        )
    command = mapping(doc, "command", origin)
    if command is None or command.get("value") is None:
        raise TemplateError(
            "task template has no command.value", file=origin, line=doc.line_of("command")
        )
    for key in ("arguments", "env"):
        sequence(command, key, origin)
    warnings = unknown_keys(doc, _KEYS, "task template", origin)
    warnings += unknown_keys(command, _COMMAND_KEYS, "command", origin)
    return TaskTemplate(
        name=to_text(doc.get("name")),
        origin=origin,
        control_mode=CONTROL_MODES[mode],
        command=command,
        wants=mapping(doc, "wants", origin),
        limits=mapping(doc, "limits", origin),
        binds=check_channels(doc, "bind", origin),
        connects=check_channels(doc, "connect", origin),
        properties=mapping(doc, "properties", origin),
        constraints=check_constraints(doc, origin),
        defaults=parse_vars(doc, "defaults", origin),
        vars=parse_vars(doc, "vars", origin),
        warnings=tuple(warnings),
        locked=parse_locked(doc, origin),
        locked_line=doc.line_of("locked"),
    )


@dataclass(frozen=True)
class TaskRaw:
    """What a task is rendered from: its template and the role's variable snapshot."""

    template: TaskTemplate
    stack: Mapping[str, object]
    specials: Mapping[str, str]
    frame_names: tuple[tuple[str, str], ...]  # (name, path) from the root down to the role
    extra: Mapping[str, str] = field(default_factory=dict)

    def frame(self) -> Frame:
        node = Frame("", "", None)
        for name, path in self.frame_names:
            node = Frame(name, path, node)
        return node


def task_env(raw: TaskRaw, integration: IntegrationContext, sink: Callable[[str], None]) -> TaskEnv:
    """The task's environment: template defaults < template vars < role stack < specials."""
    values: dict[str, object] = {k: _lazy(v) for k, v in raw.template.defaults.values.items()}
    values.update((k, _lazy(v)) for k, v in raw.template.vars.values.items())
    values.update(raw.stack)
    values.update(raw.specials)
    values.update(raw.extra)
    return TaskEnv(values, raw.frame(), integration, sink)


def _lazy(value: object) -> object:
    return Lazy(value) if isinstance(value, str) and "{{" in value else value


@dataclass(frozen=True)
class RenderedTask:
    """The placement-dependent parts of a task."""

    command: CommandSpec
    properties: Mapping[str, str]
    variables: Mapping[str, str]
    wants: Mapping[str, object]
    limits: Mapping[str, object]
    placement_vars: tuple[str, ...]


def render_task(env: TaskEnv, raw: TaskRaw, role: str) -> RenderedTask:
    """Render command, properties, resources and variables of one task."""
    template = raw.template
    with located(file=template.origin, line=template.command.line, role=role):
        command = _command(template.command, env)
    with located(file=template.origin, role=role):
        properties = {str(k): render_text(v, env) for k, v in (template.properties or {}).items()}
        wants = _resources(template.wants, env, "wants")
        limits = _resources(template.limits, env, "limits")
    pending = tuple(
        name
        for name in PLACEMENT_VARS
        if name in env.used and env.values.get(name) == placeholder(name)
    )
    return RenderedTask(command, properties, _variables(env), wants, limits, pending)


def _command(doc: YMap, env: TaskEnv) -> CommandSpec:
    def optional(key: str) -> str | None:
        value = doc.get(key)
        return None if value is None else render_text(value, env)

    def listed(key: str) -> tuple[str, ...]:
        return tuple(render_text(item, env) for item in doc.get(key) or ())

    return CommandSpec(
        value=render_text(doc["value"], env).strip(),
        arguments=listed("arguments"),
        env=listed("env"),
        shell=to_bool(render(doc.get("shell"), env), "command.shell", default=True),
        user=optional("user"),
        stdout=optional("stdout"),
        stderr=optional("stderr"),
        log=optional("log"),
    )


def _resources(doc: YMap | None, env: TaskEnv, what: str) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, raw in (doc or {}).items():
        value = render(raw, env)
        if key in ("cpu", "memory") and value is not None:
            value = to_float(value, f"{what}.{key}")
        elif value is not None and not isinstance(value, int | float | bool):
            value = to_text(value)
        result[key] = value
    return result


def _variables(env: TaskEnv) -> dict[str, str]:
    result: dict[str, str] = {}
    for name, value in list(env.values.items()):
        if type(value) is str:
            result[name] = value
            continue
        try:
            result[name] = to_text(env.resolve(name, value))
        except TemplateError:
            result[name] = value.text if isinstance(value, Lazy) else repr(value)
    return result


def render_task_for_host(
    spec: TaskSpec,
    *,
    hostname: str,
    extra: Mapping[str, str] | None = None,
    integration: IntegrationContext | None = None,
) -> TaskSpec:
    """Render a task's command, properties and variables again now that its host is known.

    ``extra`` may set the other placement values (``task_id``, ``task_name``,
    ``environment_id``) or any variable; they win over everything, like AliECS's special
    variables. Channels, constraints and the role tree are unchanged.
    """
    raw = spec.raw
    if not isinstance(raw, TaskRaw):
        raise TemplateError(f"task {spec.role_path} carries no template to render again")
    raw = replace(raw, extra={**raw.extra, **(extra or {}), "task_hostname": hostname})
    warnings: list[str] = []
    env = task_env(raw, integration or IntegrationContext(), warnings.append)
    rendered = render_task(env, raw, spec.role_path)
    return replace(
        spec,
        command=rendered.command,
        properties=rendered.properties,
        variables=rendered.variables,
        wants=rendered.wants,
        limits=rendered.limits,
        placement_vars=rendered.placement_vars,
        raw=raw,
    )
