"""Which plugins are installed, with which settings, and what templates may use of them.

``discover`` reads the ``o2ctl.plugins`` entry point group (our own built-ins are
registered there too, in pyproject.toml); each entry point names a ``Plugin`` subclass
whose ``name`` equals the entry point's. ``Plugins`` builds every installed plugin with its
settings: the plugin's declared defaults, overridden by ``plugins.yaml`` in the state
directory (``{plugin: {key: value}}``; an unknown plugin or key there is an error naming
the file). ``installed()`` is the process-wide, cached view: the expansion reads it for
the helpers and call signatures templates may use, the plugin runner to run calls.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import yaml

from o2ctl.config import state_dir as default_state_dir
from o2ctl.plugins.api import CallFunction, Helper, Plugin, PluginError, PluginSetup
from o2ctl.templates.backed import GLOBAL_NAMES
from o2ctl.templates.evaluate import Function, Namespace
from o2ctl.templates.helpers import INTEGRATIONS

GROUP = "o2ctl.plugins"
SETTINGS_FILE = "plugins.yaml"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED = frozenset(set(GLOBAL_NAMES) - INTEGRATIONS) | {"Parent", "Up", "This"}
"""Names a plugin cannot take: the template language's own helpers and tree functions."""


def discover() -> dict[str, type[Plugin]]:
    """Every plugin class installed under the entry point group, by name."""
    found: dict[str, type[Plugin]] = {}
    for ep in entry_points(group=GROUP):
        where = f"plugin entry point {ep.name} = {ep.value}"
        try:
            cls = ep.load()
        except Exception as exc:
            raise PluginError(f"{where}: cannot be loaded: {exc}") from None
        if not (isinstance(cls, type) and issubclass(cls, Plugin)):
            raise PluginError(f"{where}: not a subclass of o2ctl.plugins.Plugin")
        if getattr(cls, "name", None) != ep.name:
            raise PluginError(
                f"{where}: the class is named {getattr(cls, 'name', None)!r}, "
                "expected the entry point's name"
            )
        check_name(ep.name, where)
        if found.get(ep.name, cls) is not cls:
            raise PluginError(f"{where}: another installed package also provides {ep.name!r}")
        found[ep.name] = cls
    return found


def check_name(name: str, where: str) -> None:
    if not _NAME.fullmatch(name):
        raise PluginError(f"{where}: {name!r} is not a name templates can write")
    if name in RESERVED:
        raise PluginError(f"{where}: {name!r} is a built-in helper of the template language")


def read_settings(state: Path, classes: Mapping[str, type[Plugin]]) -> dict[str, dict[str, str]]:
    """``plugins.yaml`` of the state directory, checked against the plugins' declarations."""
    path = state / SETTINGS_FILE
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise PluginError(f"{path}: cannot be read: {exc}") from None
    if not isinstance(data, dict):
        raise PluginError(f"{path}: expected a mapping {{plugin: {{setting: value}}}}")
    chosen: dict[str, dict[str, str]] = {}
    for name, values in data.items():
        cls = classes.get(str(name))
        if cls is None:
            known = ", ".join(sorted(classes)) or "none"
            raise PluginError(f"{path}: no installed plugin {name!r} (installed: {known})")
        if not isinstance(values, dict):
            raise PluginError(f"{path}: {name}: expected a mapping of settings")
        unknown = sorted(str(k) for k in values if str(k) not in cls.settings)
        if unknown:
            known = ", ".join(sorted(cls.settings)) or "none"
            raise PluginError(f"{path}: {name}: unknown setting(s) {unknown} (known: {known})")
        chosen[str(name)] = {str(k): str(v) for k, v in values.items()}
    return chosen


class Plugins:
    """The installed plugins, each built with its settings."""

    def __init__(self, state: Path, classes: Mapping[str, type[Plugin]] | None = None) -> None:
        found = discover() if classes is None else dict(classes)
        chosen = read_settings(state, found)
        self.state_dir = state
        self.plugins: dict[str, Plugin] = {}
        self.calls: dict[str, dict[str, CallFunction]] = {}
        self.helpers: dict[str, dict[str, Helper]] = {}
        self._namespaces: dict[str, Namespace] | None = None
        for name, cls in sorted(found.items()):
            settings = {**{k: str(v) for k, v in cls.settings.items()}, **chosen.get(name, {})}
            try:
                plugin = cls(PluginSetup(state, settings))
                calls, helpers = dict(plugin.functions()), dict(plugin.helpers())
            except PluginError:
                raise
            except Exception as exc:
                raise PluginError(f"plugin {name}: cannot be set up: {exc}") from None
            self.plugins[name] = plugin
            self.calls[name] = _checked(name, calls, CallFunction, "call function")
            self.helpers[name] = _checked(name, helpers, Helper, "helper")

    def names(self) -> list[str]:
        return sorted(self.plugins)

    def function(self, plugin: str, name: str) -> CallFunction | None:
        return self.calls.get(plugin, {}).get(name)

    def namespaces(self) -> dict[str, Namespace]:
        """One expression namespace per plugin, holding its helpers."""
        if self._namespaces is None:
            self._namespaces = self._build_namespaces()
        return self._namespaces

    def _build_namespaces(self) -> dict[str, Namespace]:
        return {
            name: Namespace(
                name,
                {
                    h: Function(f"{name}.{h}", helper.impl, helper.min_args, helper.max_args)
                    for h, helper in helpers.items()
                },
            )
            for name, helpers in self.helpers.items()
        }

    def integration_fields(self) -> dict[str, Any]:
        """What an ``IntegrationContext`` needs: call signatures and helper namespaces."""
        return {
            "plugin_calls": {
                name: {f: (c.min_args, c.most) for f, c in calls.items()}
                for name, calls in self.calls.items()
            },
            "plugin_helpers": self.namespaces(),
        }

    def describe(self) -> list[dict[str, Any]]:
        """Name, description, functions, helpers and settings of each plugin."""
        return [
            {
                "name": name,
                "description": type(p).description,
                "functions": sorted(self.calls[name]),
                "helpers": sorted(self.helpers[name]),
                "settings": dict(p.setup.settings),
            }
            for name, p in sorted(self.plugins.items())
        ]


def _checked(plugin: str, table: dict[str, Any], kind: type, what: str) -> dict[str, Any]:
    for key, value in table.items():
        if not _NAME.fullmatch(key) or not isinstance(value, kind):
            raise PluginError(f"plugin {plugin}: {what} {key!r} is not a {kind.__name__}")
    return table


_lock = threading.Lock()
_cache: dict[tuple[str, float], Plugins] = {}


def installed(state: Path | None = None) -> Plugins:
    """The installed plugins for ``state`` (default: the state directory), cached until
    ``plugins.yaml`` changes. Installing a new plugin package needs a restart."""
    root = (state or default_state_dir()).expanduser()
    settings = root / SETTINGS_FILE
    key = (str(root.resolve()), settings.stat().st_mtime if settings.exists() else 0.0)
    with _lock:
        found = _cache.get(key)
        if found is None:
            found = Plugins(root)
            _cache.clear()
            _cache[key] = found
        return found
