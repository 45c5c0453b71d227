"""The helper namespaces templates call: ``strings``, ``json``, ``util``, ``uid`` (pure), and
``config``, ``inventory``, ``runtime``, ``dpl`` plus the integration plugins (backed).

Pure helpers behave as in AliECS. Backed helpers read an ``IntegrationContext`` the caller
passes to the expansion (host inventory, configuration payloads, runtime values). Without a
backend, the ones real templates need in order to expand at all return a documented neutral
value and leave a warning (``inventory.DetectorForHost`` → ``""``, ``DetectorsForHosts`` →
``"[]"``, ``config.Resolve`` → the unresolved query path); the others raise a
``TemplateError`` naming the function (``dpl.*`` without a generator: ``templates.dpl``).
Any member of an integration namespace (``odc.*``, ``dcs.*``, ``bookkeeping.*`` …)
called inside an expression is such an error, naming the plugin as not installed, unless
an installed plugin of that name publishes the helper (``IntegrationContext.plugin_helpers``,
filled from ``o2ctl.plugins``): expressions may use the helpers of installed plugins.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from o2ctl.templates.convert import describe, to_list, to_number, to_text
from o2ctl.templates.errors import TemplateError
from o2ctl.templates.evaluate import Env, Function, Namespace

if TYPE_CHECKING:
    from o2ctl.templates.dpl import DplGenerator

INTEGRATIONS = frozenset(
    {"bookkeeping", "ccdb", "dcs", "ddsched", "kafka", "lhc", "odc", "trg", "testplugin"}
)
"""Integration plugins of AliECS that call roles (``call: func: dcs.StartOfRun()``) use."""

_TRUTHY = frozenset({"true", "yes", "y", "1", "on", "ok"})
_FALSY = frozenset({"", "false", "no", "n", "0", "off", "none"})


@dataclass(frozen=True)
class IntegrationContext:
    """Backends for the helpers that need one; every field is optional.

    ``inventory``: host name → detector. ``config``: configuration path → payload
    (``config.Get``). ``runtime``: ``"component/key"`` → value (``runtime.Get``).
    ``integrations``: integration names available in this deployment without a signature
    check (others are reported as warnings on call roles). ``plugin_calls``: installed
    plugins → their call functions → (min, max) argument counts; a call role naming one is
    checked against it. ``plugin_helpers``: installed plugins' helper namespaces, which
    expressions may use. ``global_channels``: channel aliases provided from outside the
    workflow (alias → ``role.path:channel`` or a ``tcp://``/``ipc://`` address).
    ``dpl``: the DPL workflow generator of the ``dpl.*`` helpers (``templates.dpl``).
    """

    inventory: Mapping[str, str] | None = None
    config: Mapping[str, str] | None = None
    runtime: Mapping[str, str] | None = None
    integrations: frozenset[str] = frozenset()
    global_channels: Mapping[str, str] = field(default_factory=dict)
    plugin_calls: Mapping[str, Mapping[str, tuple[int, int]]] = field(default_factory=dict)
    plugin_helpers: Mapping[str, Namespace] = field(default_factory=dict)
    dpl: DplGenerator | None = None


class HelperEnv(Env, Protocol):
    """What backed helpers need from the evaluation environment."""

    integration: IntegrationContext

    def stack_get(self, name: str) -> object | None:
        """A variable's value, or None when undefined (no error)."""
        ...

    def warn(self, message: str) -> None:
        """Record a warning of the expansion."""
        ...


def _text(value: object) -> str:
    return to_text(value)


def _atoi(env: HelperEnv, value: object) -> int:
    number = to_number(value)
    if not isinstance(number, int):
        env.warn(f"strings.Atoi({value!r}): not an integer, gives 0")
        return 0
    return number


def _itoa(env: HelperEnv, value: object) -> str:
    number = to_number(value)
    if not isinstance(number, int):
        raise TemplateError(f"strings.Itoa needs an integer, got {describe(value)} {value!r}")
    return str(number)


def _unmarshal(env: HelperEnv, value: object) -> object:
    try:
        return json.loads(_text(value))
    except (ValueError, RecursionError):
        raise TemplateError(f"json.Unmarshal: not JSON: {_text(value)[:80]!r}") from None


def _sort(env: HelperEnv, value: object) -> list[object]:
    return sorted(to_list(value, "json.Sort argument"), key=to_text)


def _prefixed_override(env: HelperEnv, varname: object, prefix: object) -> str:
    def usable(name: str) -> str | None:
        value = env.stack_get(name)
        text = None if value is None else _text(value)
        return None if text is None or text == "none" or not text.strip() else text

    name = _text(varname)
    return usable(f"{_text(prefix)}_{name}") or usable(name) or ""


def _suffix_in_range(
    env: HelperEnv, text: object, prefix: object, low: object, high: object
) -> str:
    value, start = _text(text), _text(prefix)
    number = to_number(value[len(start) :]) if value.startswith(start) and value != start else None
    lowest, highest = to_number(low), to_number(high)
    if not (isinstance(number, int) and isinstance(lowest, int) and isinstance(highest, int)):
        return "false"
    return "true" if lowest <= number <= highest else "false"


def _fn(name: str, impl: Callable[..., object], args: int, most: int | None = None) -> Function:
    return Function(name, impl, args, most)


STRINGS = Namespace("strings", {
    "Atoi": _fn("strings.Atoi", _atoi, 1),
    "Itoa": _fn("strings.Itoa", _itoa, 1),
    "TrimQuotes": _fn("strings.TrimQuotes", lambda e, s: _text(s).strip('"'), 1),
    "TrimSpace": _fn("strings.TrimSpace", lambda e, s: _text(s).strip(), 1),
    "ToUpper": _fn("strings.ToUpper", lambda e, s: _text(s).upper(), 1),
    "ToLower": _fn("strings.ToLower", lambda e, s: _text(s).lower(), 1),
    "IsTruthy": _fn("strings.IsTruthy", lambda e, s: _text(s).strip().lower() in _TRUTHY, 1),
    "IsFalsy": _fn("strings.IsFalsy", lambda e, s: _text(s).strip().lower() in _FALSY, 1),
})  # fmt: skip


def _marshal(env: HelperEnv, value: object) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        raise TemplateError(
            f"json.Marshal: a {describe(value)} cannot be written as JSON"
        ) from None


_MARSHAL = _fn("json.Marshal", _marshal, 1)
_UNMARSHAL = _fn("json.Unmarshal", _unmarshal, 1)
JSON = Namespace("json", {
    "Marshal": _MARSHAL, "Serialize": _MARSHAL,
    "Unmarshal": _UNMARSHAL, "Deserialize": _UNMARSHAL,
    "Sort": _fn("json.Sort", _sort, 1),
})  # fmt: skip

UID = Namespace("uid", {"New": _fn("uid.New", lambda e: uuid.uuid4().hex[:12], 0)})


def _dump(env: HelperEnv, value: object, path: object) -> object:
    raise TemplateError("util.Dump writes files and is not available in o2ctl templates")


UTIL = Namespace("util", {
    "PrefixedOverride": _fn("util.PrefixedOverride", _prefixed_override, 2),
    "Nullable": _fn("util.Nullable", lambda e, v: "" if v is None else v, 1),
    "SuffixInRange": _fn("util.SuffixInRange", _suffix_in_range, 4),
    "Dump": _fn("util.Dump", _dump, 2),
})  # fmt: skip


def _unavailable(namespace: str, why: str) -> Callable[[str], Function]:
    def missing(name: str) -> Function:
        def fail(env: HelperEnv, *args: object) -> object:
            raise TemplateError(f"{namespace}.{name}() {why}")

        return Function(f"{namespace}.{name}", fail, 0, 16)

    return missing


def integration_namespace(name: str) -> Namespace:
    """``odc``, ``dcs`` …: any member is a function that reports the plugin as not installed."""
    why = f"needs the integration plugin '{name}', which is not installed"
    return Namespace(name, {}, _unavailable(name, why))


def len_of(env: Env, value: object) -> int:
    """``len(x)`` of a string, list or map."""
    if isinstance(value, str | list | dict):
        return len(value)
    raise TemplateError(f"len() of a {describe(value)}")


LEN = Function("len", len_of, 1)
