"""The interface an integration plugin implements, and what a call hands it.

A plugin is a class with a ``name`` (what templates write before the dot:
``bookkeeping.StartOfRun()``), its call functions (run by call roles at hook points, each
given a ``CallContext``: the environment's variables, the run number, the call's
deadline), its template helpers (functions expressions may use while a workflow is
expanded, ``odc.GenerateEPNTopologyFullname()`` style) and its own settings (declared
with defaults; a site overrides them in ``plugins.yaml`` in the state directory).

Plugins are found through the ``o2ctl.plugins`` entry point group (``registry``), so a
site installs its own package beside o2ctl and touches nothing in it. This module is
pure: no Ray, no gRPC; the runtime runs call functions in a thread of the plugin runner
actor (``actors/calls.py``), never on an environment's event loop.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Protocol

from o2ctl.config.errors import ConfigError


class PluginError(ConfigError):
    """An installed plugin or its settings are unusable; the message names which and why."""


class CallFailed(Exception):
    """Raised by a call function: the call failed, and the message is the reason."""


@dataclass(frozen=True)
class CallContext:
    """What a call function is given: who calls, when, with which variables, until when."""

    env_id: str
    workflow: str
    role_path: str  # the call role's path
    func: str  # as written in the template, e.g. "dcs.StartOfRun()"
    trigger: str  # the hook point the call was started at, e.g. "before_START_ACTIVITY+100"
    critical: bool
    state: str  # the environment's state when the call started
    run_number: int | None  # the current run (set from before_START_ACTIVITY on), else None
    variables: Mapping[str, str]  # the call role's variables, plus run_number & co.
    deadline: float  # time.time() by which the call must have returned
    detectors: tuple[str, ...] = ()

    def remaining(self) -> float:
        """Seconds left before the deadline (never negative)."""
        return max(0.0, self.deadline - time.time())


class HelperVariables(Protocol):
    """What a template helper sees of the expression's environment."""

    def stack_get(self, name: str) -> object | None:
        """A variable's value, or None when it is not defined."""
        ...

    def warn(self, message: str) -> None:
        """Record a warning of the expansion."""
        ...


@dataclass(frozen=True)
class CallFunction:
    """A function call roles can name: ``impl(ctx, *args)`` returns text (or None)."""

    impl: Callable[..., object]
    min_args: int = 0
    max_args: int | None = None  # None: exactly min_args
    doc: str = ""

    @property
    def most(self) -> int:
        return self.min_args if self.max_args is None else self.max_args


@dataclass(frozen=True)
class Helper:
    """A template helper: ``impl(variables, *args)`` returns a value expressions can use."""

    impl: Callable[..., object]
    min_args: int = 0
    max_args: int | None = None
    doc: str = ""


@dataclass(frozen=True)
class PluginSetup:
    """What a plugin is built with: the state directory and its settings (all text)."""

    state_dir: Path
    settings: Mapping[str, str] = field(default_factory=dict)

    def under_state_dir(self, key: str) -> Path:
        """The setting ``key`` as a path inside the state directory (never outside it)."""
        return inside(self.state_dir, self.settings[key], f"setting {key}", PluginError)


class Plugin(ABC):
    """Base class of integration plugins (entry point group ``o2ctl.plugins``).

    Subclasses set ``name`` (equal to the entry point's name), ``settings`` (every key they
    read, with its default) and implement ``functions``; ``helpers`` is optional. Build
    nothing costly in ``__init__``: plugins are also loaded where workflows are expanded.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    settings: ClassVar[Mapping[str, str]] = {}

    def __init__(self, setup: PluginSetup) -> None:
        self.setup = setup

    @abstractmethod
    def functions(self) -> Mapping[str, CallFunction]:
        """The call functions, by the name templates use (``StartOfRun``)."""

    def helpers(self) -> Mapping[str, Helper]:
        """Template helpers, by name (none by default)."""
        return {}


def inside(root: Path, relative: str, what: str, error: type[Exception] = CallFailed) -> Path:
    """``root/relative``, refused when it would leave ``root`` (``..``, absolute, symlinks)."""
    text = str(relative).strip()
    if not text or "\x00" in text or Path(text).is_absolute():
        raise error(f"{what} {relative!r}: expected a relative path under {root}")
    base = root.resolve()
    target = (base / text).resolve()
    if not target.is_relative_to(base) or target == base:
        raise error(f"{what} {relative!r} leaves {root}; expected a path under it")
    return target
