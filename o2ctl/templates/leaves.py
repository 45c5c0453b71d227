"""Leaf role kinds: task roles (one process) and call roles (one integration call).

A task role loads a task template (``task: {load, critical, trigger, timeout}``) and
renders it in the role's stack; with a ``trigger`` it is a hook task, run at that hook
point of the environment's transitions (a ``basic`` template then runs in ``hook`` mode,
with a 30 s default timeout, as in AliECS). A call role names an integration function
(``call: {func: dcs.StartOfRun(), trigger, await, timeout, critical, return}``); it is
not run while expanding (its arguments are evaluated at call time, in the role's
variables, which the ``CallSpec`` keeps), only checked: a call to an installed plugin must
name one of its functions with a fitting number of arguments (a ``TemplateError``
otherwise), and an integration that is not installed is reported as a warning on the
expansion, never a crash (at run time its call fails: fatal if critical).
"""

from __future__ import annotations

import re

from o2ctl.templates import expr
from o2ctl.templates.channels import render_decls
from o2ctl.templates.convert import to_bool, to_duration, to_text
from o2ctl.templates.errors import TemplateError, located
from o2ctl.templates.fields import render, render_text
from o2ctl.templates.model import CallSpec, ControlMode
from o2ctl.templates.parsing import Where, mapping, unknown_keys
from o2ctl.templates.rolebase import RoleTemplate
from o2ctl.templates.scope import Frame
from o2ctl.templates.stages import (
    Draft,
    Expander,
    RoleState,
    TaskDraft,
    merge_constraints,
    optional_render,
    render_constraints,
)
from o2ctl.templates.tasktemplate import TaskRaw, render_task, task_env
from o2ctl.templates.yamlload import YMap

_EVENTS = "DEPLOY|CONFIGURE|RESET|START_ACTIVITY|STOP_ACTIVITY|EXIT|GO_ERROR|RECOVER"
_STATES = "STANDBY|DEPLOYED|CONFIGURED|RUNNING|ERROR|DONE"
TRIGGER = re.compile(
    rf"(?:(?:before_|after_)?(?:{_EVENTS})|(?:enter_|leave_)(?:{_STATES})|DESTROY)(?:[+-]\d+)?"
)
TRIGGER_HELP = (
    "a hook point such as before_CONFIGURE, after_START_ACTIVITY+100, enter_RUNNING, DESTROY"
)
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RETURN_VAR = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
HOOK_TIMEOUT_S = 30.0
CALL_TIMEOUT_S = 30.0


def parse_trigger(value: object, what: str) -> str:
    """A validated hook point."""
    text = to_text(value).strip()
    if not TRIGGER.fullmatch(text):
        raise TemplateError(f"{what} is {text!r}", expected=TRIGGER_HELP)
    return text


def parse_return(value: object) -> str:
    """A call's ``return:``: the name of the variable its output is stored in."""
    text = to_text(value).strip()
    if not RETURN_VAR.fullmatch(text):
        raise TemplateError(
            f"call.return is {text[:80]!r}", expected="a variable name (letters, digits, _)"
        )
    return text


def _block(doc: YMap, key: str, file: str, name: str, required: str) -> tuple[YMap, Where]:
    block = mapping(doc, key, file, name)
    where = Where(file, doc.line_of(key))
    if block is None or block.get(required) is None:
        raise where.error(
            f"{key} without {required}", role=name, expected=f"{key}: {{{required}: ...}}"
        )
    return block, where


class TaskRole(RoleTemplate):
    """``task: {load: TEMPLATE, ...}`` — one process."""

    kind = "task"

    def __init__(self, doc: YMap, file: str, warnings: list[str]) -> None:
        super().__init__(doc, file, warnings)
        self.task, self.task_where = _block(doc, "task", file, self.name, "load")
        keys = ("load", "critical", "trigger", "await", "timeout")
        warnings += unknown_keys(self.task, keys, f"task of role {self.name}", file)

    def finish(self, ex: Expander, state: RoleState) -> list[Draft]:
        env, path = state.env, state.frame.path
        with located(line=self.task_where.line):
            load = render_text(self.task["load"], env).strip()
            trigger = optional_render(
                self.task.get("trigger"), env, lambda v: parse_trigger(v, "task.trigger")
            )
            critical = to_bool(
                render(self.task.get("critical"), env), "task.critical", default=True
            )
            timeout = optional_render(
                self.task.get("timeout"), env, lambda v: to_duration(v, "task.timeout")
            )
        template = ex.task_template(load, self.task_where, path)
        raw = TaskRaw(
            template, state.scope.flatten(), ex.specials(path, load), _lineage(state.frame)
        )
        tenv = task_env(raw, ex.integration, ex.warn)
        origin, line = template.origin, 1
        with located(file=origin, line=line, role=path):
            binds = render_decls(template.binds, tenv, file=origin, line=line, role=path)
            connects = render_decls(template.connects, tenv, file=origin, line=line, role=path)
            own = render_constraints(template.constraints, tenv, origin)
        rendered = render_task(tenv, raw, path)
        ex.known.update(tenv.used, template.defaults.values, template.vars.values)
        mode: ControlMode = template.control_mode
        if mode == "basic" and trigger:
            mode = "hook"
        draft = self.draft(state, "task", critical)
        draft.constraints = merge_constraints(tuple(own), list(state.constraints))
        draft.task = TaskDraft(
            raw=raw,
            rendered=rendered,
            task_class=load,
            control_mode=mode,
            binds=binds,
            connects=connects,
            trigger=trigger,
            timeout_s=HOOK_TIMEOUT_S if timeout is None and trigger else timeout,
        )
        return [draft]


def _lineage(frame: Frame) -> tuple[tuple[str, str], ...]:
    names: list[tuple[str, str]] = []
    node: Frame | None = frame
    while node is not None and node.parent is not None:
        names.append((node.name, node.path))
        node = node.parent
    return tuple(reversed(names))


class CallRole(RoleTemplate):
    """``call: {func: ns.Function(), trigger, ...}`` — an integration call at a hook point."""

    kind = "call"

    def __init__(self, doc: YMap, file: str, warnings: list[str]) -> None:
        super().__init__(doc, file, warnings)
        self.call, self.call_where = _block(doc, "call", file, self.name, "func")
        keys = ("func", "return", "trigger", "await", "timeout", "critical")
        warnings += unknown_keys(self.call, keys, f"call of role {self.name}", file)

    def finish(self, ex: Expander, state: RoleState) -> list[Draft]:
        env, call = state.env, self.call
        with located(line=self.call_where.line):
            func = render_text(call["func"], env).strip()
            ex.known.update(NAME.findall(func))  # its arguments read these when it is called
            integration, method, nargs = _function_name(func)
            if call.get("trigger") is None:
                raise TemplateError("call without trigger", expected=TRIGGER_HELP)
            timeout = optional_render(
                call.get("timeout"), env, lambda v: to_duration(v, "call.timeout")
            )
            spec = CallSpec(
                func=func,
                integration=integration,
                method=method,
                trigger=parse_trigger(render(call["trigger"], env), "call.trigger"),
                await_trigger=optional_render(
                    call.get("await"), env, lambda v: parse_trigger(v, "call.await")
                ),
                timeout_s=CALL_TIMEOUT_S if timeout is None else timeout,
                critical=to_bool(render(call.get("critical"), env), "call.critical", default=True),
                return_var=optional_render(call.get("return"), env, parse_return),
                variables={k: to_text(v) for k, v in state.scope.flatten().items()},
            )
            _bind(ex, state.frame.path, spec, nargs)
        draft = self.draft(state, "call", spec.critical)
        draft.call = spec
        return [draft]


def _bind(ex: Expander, path: str, spec: CallSpec, nargs: int) -> None:
    """Check the call against the installed plugin, or warn that there is none."""
    functions = ex.integration.plugin_calls.get(spec.integration)
    name = f"{spec.integration}.{spec.method}"
    if functions is None:
        if spec.integration not in ex.integration.integrations:
            fate = "critical: it will fail the transition" if spec.critical else "skipped, warning"
            ex.warn(
                f"call role {path} uses integration {spec.integration!r}, which is not "
                f"installed ({spec.func} at {spec.trigger}: {fate})"
            )
        return
    arity = functions.get(spec.method)
    if arity is None:
        known = ", ".join(sorted(functions)) or "none"
        raise TemplateError(
            f"call func {spec.func}: plugin {spec.integration!r} has no function {spec.method!r}",
            expected=f"one of {known}",
        )
    low, high = arity
    if not low <= nargs <= high:
        count = str(low) if low == high else f"{low}-{high}"
        raise TemplateError(f"call func {spec.func}: {name} takes {count} argument(s), got {nargs}")


def _function_name(func: str) -> tuple[str, str, int]:
    node = expr.parse(func)
    if (
        isinstance(node, expr.Call)
        and isinstance(node.func, expr.Member)
        and isinstance(node.func.obj, expr.Name)
    ):
        return node.func.obj.id, node.func.name, len(node.args)
    raise TemplateError(
        f"call func {func!r}", expected="an integration call such as dcs.StartOfRun()"
    )
