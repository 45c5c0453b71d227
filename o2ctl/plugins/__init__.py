"""Integration plugins: what call roles call (``bookkeeping.StartOfRun()``) and what
expressions may use of them (their template helpers).

``api``: the interface a plugin implements (``Plugin``, ``CallFunction``, ``Helper``,
``CallContext``, ``CallFailed``). ``registry``: discovery through the ``o2ctl.plugins``
entry point group and settings from ``plugins.yaml`` in the state directory. ``invoke``:
one call, from its text to its outcome, with its deadline. Built-ins: ``testplugin`` and
``bookkeeping`` (registered through our own entry points). Pure: no Ray, no gRPC; the
runtime runs calls in the plugin runner actor (``actors/calls.py``).
"""

from o2ctl.plugins.api import (
    CallContext,
    CallFailed,
    CallFunction,
    Helper,
    HelperVariables,
    Plugin,
    PluginError,
    PluginSetup,
)
from o2ctl.plugins.registry import GROUP, Plugins, discover, installed

__all__ = [
    "GROUP",
    "CallContext",
    "CallFailed",
    "CallFunction",
    "Helper",
    "HelperVariables",
    "Plugin",
    "PluginError",
    "PluginSetup",
    "Plugins",
    "discover",
    "installed",
]
