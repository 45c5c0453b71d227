"""Helpers that read a backend (``config``, ``inventory``, ``runtime``, ``dpl``), and the
table of every name an expression can reach besides variables.

Each backed helper looks in the ``IntegrationContext`` of the expansion. When the context
has no answer, the helpers real templates need in order to expand give a neutral value and
a warning (see ``helpers``); the rest raise a ``TemplateError`` that names the function and
what it needed, which is how "services we do not have" are reported instead of crashing.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from o2ctl.templates.convert import to_list, to_text
from o2ctl.templates.dpl import FUNCTIONS as DPL_FUNCTIONS
from o2ctl.templates.errors import TemplateError
from o2ctl.templates.evaluate import Function, Namespace
from o2ctl.templates.helpers import (
    INTEGRATIONS,
    JSON,
    LEN,
    STRINGS,
    UID,
    UTIL,
    HelperEnv,
    integration_namespace,
)


def _detector_for_host(env: HelperEnv, host: object) -> str:
    inventory = env.integration.inventory
    name = to_text(host)
    if inventory is None:
        env.warn(f"inventory.DetectorForHost({name!r}): no inventory configured, gives ''")
        return ""
    try:
        detector = inventory.get(name)
    except Exception as error:  # the configuration store could not be read: one line
        raise TemplateError(f"inventory.DetectorForHost({name!r}): {error}") from None
    if detector is None:
        raise TemplateError(f"inventory.DetectorForHost: host {name!r} is not in the inventory")
    return to_text(detector)


def _detectors_for_hosts(env: HelperEnv, hosts: object) -> str:
    names = [to_text(h) for h in to_list(hosts, "inventory.DetectorsForHosts argument")]
    if env.integration.inventory is None:
        env.warn("inventory.DetectorsForHosts: no inventory configured, gives []")
        return "[]"
    detectors = sorted({_detector_for_host(env, h) for h in names} - {""})
    return json.dumps(detectors, separators=(",", ":"))


def _cards(env: HelperEnv, function: str, host: str) -> list[dict[str, str]] | None:
    reader = getattr(env.integration.inventory, "cards_for_host", None)
    if reader is None:
        env.warn(f"inventory.{function}({host!r}): no card inventory configured, gives none")
        return None
    try:
        cards: list[dict[str, str]] = reader(host)
    except Exception as error:  # the store's ConfigError, one line
        raise TemplateError(f"inventory.{function}({host!r}): {error}") from None
    return cards


def _cru_cards_for_host(env: HelperEnv, host: object) -> str:
    cards = _cards(env, "CRUCardsForHost", to_text(host)) or []
    serials = list(dict.fromkeys(card.get("serial", "") for card in cards))
    return json.dumps(serials, separators=(",", ":"))


def _endpoints_for_cru_card(env: HelperEnv, host: object, serial: object) -> str:
    cards = _cards(env, "EndpointsForCRUCard", to_text(host)) or []
    wanted = to_text(serial)
    return " ".join(card.get("endpoint", "") for card in cards if card.get("serial") == wanted)


def _config_get(env: HelperEnv, path: object) -> str:
    store = env.integration.config
    key = to_text(path)
    if store is None or key not in store:
        where = "no configuration store is configured" if store is None else "no such entry"
        raise TemplateError(f"config.Get({key!r}): {where}")
    return to_text(store[key])


def _config_resolve(
    env: HelperEnv, component: object, run_type: object, role: object, entry: object
) -> str:
    query = "/".join(to_text(part) for part in (component, run_type, role, entry))
    store = env.integration.config
    if store is None or query not in store:
        env.warn(f"config.Resolve: {query} is not resolved against a configuration store")
    return query


def _config_resolve_path(env: HelperEnv, path: object) -> str:
    env.warn(f"config.ResolvePath: {to_text(path)} is not resolved against a configuration store")
    return to_text(path)


def _runtime_get(env: HelperEnv, component: object, key: object) -> str:
    store = env.integration.runtime
    name = f"{to_text(component)}/{to_text(key)}"
    if store is None or name not in store:
        where = "no runtime store is configured" if store is None else "no such key"
        raise TemplateError(f"runtime.Get({to_text(component)!r}, {to_text(key)!r}): {where}")
    return to_text(store[name])


def _runtime_set(env: HelperEnv, component: object, key: object, value: object) -> object:
    env.warn(f"runtime.Set({to_text(component)!r}, {to_text(key)!r}) ignored while expanding")
    return value


def _fn(name: str, impl: Callable[..., object], args: int) -> Function:
    return Function(name, impl, args)


CONFIG = Namespace("config", {
    "Get": _fn("config.Get", _config_get, 1),
    "GetLegacy": _fn("config.GetLegacy", _config_get, 1),
    "Resolve": _fn("config.Resolve", _config_resolve, 4),
    "ResolvePath": _fn("config.ResolvePath", _config_resolve_path, 1),
})  # fmt: skip

INVENTORY = Namespace("inventory", {
    "DetectorForHost": _fn("inventory.DetectorForHost", _detector_for_host, 1),
    "DetectorsForHosts": _fn("inventory.DetectorsForHosts", _detectors_for_hosts, 1),
    "CRUCardsForHost": _fn("inventory.CRUCardsForHost", _cru_cards_for_host, 1),
    "EndpointsForCRUCard": _fn("inventory.EndpointsForCRUCard", _endpoints_for_cru_card, 2),
})  # fmt: skip

RUNTIME = Namespace("runtime", {
    "Get": _fn("runtime.Get", _runtime_get, 2),
    "Set": _fn("runtime.Set", _runtime_set, 3),
})  # fmt: skip

DPL = Namespace("dpl", dict(DPL_FUNCTIONS))

GLOBAL_NAMES: dict[str, Function | Namespace] = {
    "len": LEN,
    "strings": STRINGS,
    "json": JSON,
    "uid": UID,
    "util": UTIL,
    "config": CONFIG,
    "inventory": INVENTORY,
    "runtime": RUNTIME,
    "dpl": DPL,
    **{name: integration_namespace(name) for name in sorted(INTEGRATIONS)},
}
"""Names that shadow variables in expressions (as in AliECS, where helpers win)."""
