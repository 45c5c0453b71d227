"""One call of a call role: from ``dcs.StartOfRun()`` as written to its outcome.

``run_call`` takes a ``CallRequest`` (the func text, the call role's variables, the run
number, the timeout), finds the plugin and function, evaluates the arguments with the
template expression language in the call's variables (``testplugin.Append(order_file,
'x ' + run_number)``: data, never Python), then runs the function in a thread of its own
and waits for it until the deadline. Every way it can go wrong ends in a ``CallResult``
with one sentence: the plugin is not installed (``missing``), it has no such function,
an argument does not evaluate, the function failed (its ``CallFailed`` message, or the
exception it raised) or overran its deadline. A function that ignores its deadline keeps
its thread until it returns; the caller has its answer at the deadline regardless.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from o2ctl.plugins.api import CallContext, CallFailed
from o2ctl.plugins.registry import Plugins
from o2ctl.templates import expr
from o2ctl.templates.backed import GLOBAL_NAMES
from o2ctl.templates.convert import to_text
from o2ctl.templates.errors import TemplateError
from o2ctl.templates.evaluate import Function, Namespace, RoleRef, evaluate
from o2ctl.templates.helpers import IntegrationContext
from o2ctl.templates.scope import unknown_variable

MAX_OUTPUT = 2000


@dataclass(frozen=True)
class CallRequest:
    """Everything the runner needs to make one call (plain data: it crosses Ray)."""

    env_id: str
    workflow: str
    role_path: str
    func: str
    trigger: str
    critical: bool
    state: str
    run_number: int | None
    variables: Mapping[str, str]
    timeout_s: float
    detectors: tuple[str, ...] = ()


@dataclass(frozen=True)
class CallResult:
    """How a call ended: ``ok``, or ``error`` (one sentence); ``missing``: no such plugin."""

    ok: bool
    error: str = ""
    output: str = ""
    duration_s: float = 0.0
    missing: bool = False
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class CallEnv:
    """Names an argument expression can use: helpers, plugin helpers, the call's variables."""

    def __init__(
        self, variables: Mapping[str, str], namespaces: Mapping[str, Namespace], role_path: str
    ) -> None:
        self.variables, self.namespaces = variables, namespaces
        self.integration = IntegrationContext()
        self.warnings: list[str] = []
        parent = role_path.rsplit(".", 1)[0] if "." in role_path else role_path
        self.tree = {
            "This": RoleRef(role_path.rsplit(".", 1)[-1], role_path),
            "Parent": RoleRef(parent.rsplit(".", 1)[-1], parent),
        }

    def lookup(self, name: str) -> object:
        found = self.namespaces.get(name) or GLOBAL_NAMES.get(name)
        if found is not None:
            return found
        if name in self.tree:
            ref = self.tree[name]
            return Function(name, lambda env: ref, 0)
        if name in self.variables:
            return self.variables[name]
        raise unknown_variable(name, self.variables)

    def stack_get(self, name: str) -> object | None:
        return self.variables.get(name)

    def warn(self, message: str) -> None:
        self.warnings.append(message)


def split_func(func: str) -> tuple[str, str, list[expr.Node]]:
    """``ns.Function(args…)`` → (ns, Function, argument nodes); anything else is refused."""
    node = expr.parse(func)
    if (
        isinstance(node, expr.Call)
        and isinstance(node.func, expr.Member)
        and isinstance(node.func.obj, expr.Name)
    ):
        return node.func.obj.id, node.func.name, list(node.args)
    raise TemplateError(
        f"call func {func!r}", expected="an integration call such as dcs.StartOfRun()"
    )


def run_call(plugins: Plugins, req: CallRequest) -> CallResult:
    """Make the call ``req`` describes; never raises."""
    t0 = time.monotonic()
    env = CallEnv(req.variables, plugins.namespaces(), req.role_path)
    try:
        plugin, name, nodes = split_func(req.func)
        if plugin not in plugins.plugins:
            installed = ", ".join(plugins.names()) or "none"
            return CallResult(
                False,
                f"integration plugin {plugin!r} is not installed (installed: {installed})",
                missing=True,
            )
        function = plugins.function(plugin, name)
        if function is None:
            known = ", ".join(sorted(plugins.calls[plugin])) or "none"
            raise CallFailed(f"plugin {plugin} has no function {name!r} (known: {known})")
        if not function.min_args <= len(nodes) <= function.most:
            raise CallFailed(
                f"{plugin}.{name} takes {function.min_args}-{function.most} argument(s), "
                f"got {len(nodes)}"
            )
        args = [evaluate(node, env) for node in nodes]
        ctx = _context(req)
        value = with_deadline(lambda: function.impl(ctx, *args), req.timeout_s, req.func)
    except (CallFailed, TemplateError) as exc:
        return _result(False, str(exc), t0, env)
    except Exception as exc:  # a plugin's own bug: report it, never crash the runner
        return _result(False, f"{type(exc).__name__}: {exc}", t0, env)
    output = "" if value is None else to_text(value)
    return _result(True, "", t0, env, output[:MAX_OUTPUT])


def _context(req: CallRequest) -> CallContext:
    return CallContext(
        env_id=req.env_id,
        workflow=req.workflow,
        role_path=req.role_path,
        func=req.func,
        trigger=req.trigger,
        critical=req.critical,
        state=req.state,
        run_number=req.run_number,
        variables=dict(req.variables),
        deadline=time.time() + req.timeout_s,
        detectors=tuple(req.detectors),
    )


def _result(ok: bool, error: str, t0: float, env: CallEnv, output: str = "") -> CallResult:
    return CallResult(
        ok, error, output, round(time.monotonic() - t0, 6), warnings=tuple(env.warnings)
    )


def with_deadline(fn: Callable[[], object], timeout_s: float, what: str) -> object:
    """``fn()`` in a thread of its own; CallFailed when it has not returned by the deadline."""
    box: dict[str, object] = {}
    done = threading.Event()

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, name=f"o2ctl-call {what}", daemon=True).start()
    if not done.wait(max(0.0, timeout_s)):
        raise CallFailed(f"{what} did not return within its timeout of {timeout_s:g}s")
    error = box.get("error")
    if isinstance(error, Exception):
        raise error
    if isinstance(error, BaseException):
        raise CallFailed(f"{what} raised {type(error).__name__}")
    return box.get("value")
