"""The control system's own durable records: run numbers, runtime values, global variables.

``RuntimeStore`` is what the environment machinery and ``o2ctl config`` use:

- ``next_run_number()`` hands out run numbers: strictly increasing, never reused, even
  across restarts and when two processes ask at the same instant;
- ``get``/``set`` keep runtime values (``runtime.Get``/``runtime.Set`` in templates);
- ``global_defaults()``/``global_vars()`` are the AliECS lowest-precedence variable
  layers, under a workflow's own ``defaults``/``vars``;
- ``import_config``/``show`` back ``o2ctl config import|show``.

This module holds the protocol, the validation shared by every backend, and the file
backend (under the state directory: ``run_number``, ``runtime.json``, guarded by
``runtime.lock``). The Consul backend is in ``runtime_consul``. Calls block briefly (a
lock, an fsync, an HTTP round trip): async callers use ``asyncio.to_thread``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from o2ctl.config.durable import atomic_write, locked, state_dir
from o2ctl.config.errors import ConfigError

RUN_NUMBER_KEY = "aliecs/run_number"
"""The runtime key of the run number counter (reserved: ``set`` refuses it)."""

SECTIONS = ("defaults", "vars", "runtime")
_KEY = re.compile(r"[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*")


@runtime_checkable
class RuntimeStore(Protocol):
    """Durable runtime records of the control system."""

    def next_run_number(self) -> int:
        """Allocate the next run number (persisted before it is returned)."""
        ...

    def last_run_number(self) -> int:
        """The last run number handed out (0 if none yet)."""
        ...

    def get(self, key: str) -> str | None:
        """A runtime value, or None when unset."""
        ...

    def set(self, key: str, value: str) -> None:
        """Store a runtime value."""
        ...

    def global_defaults(self) -> dict[str, str]:
        """Variables under every workflow's ``defaults`` (lowest precedence)."""
        ...

    def global_vars(self) -> dict[str, str]:
        """Variables under every workflow's ``vars``."""
        ...

    def import_config(self, mapping: Mapping[str, object]) -> None:
        """Merge ``{defaults: {...}, vars: {...}, runtime: {...}}`` into the store."""
        ...

    def show(self) -> dict[str, object]:
        """Everything stored: run number, defaults, vars, runtime values."""
        ...


@dataclass(frozen=True)
class ConfigImport:
    """A validated ``import_config`` payload: each section as string key-values."""

    defaults: dict[str, str] = field(default_factory=dict)
    vars: dict[str, str] = field(default_factory=dict)
    runtime: dict[str, str] = field(default_factory=dict)


def parse_import(mapping: Mapping[str, object], origin: str = "") -> ConfigImport:
    """Validate an import payload; unknown sections and non-mapping sections are errors."""
    where = f"{origin}: " if origin else ""
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{where}expected a mapping with keys {', '.join(SECTIONS)}")
    unknown = sorted(str(k) for k in mapping if k not in SECTIONS)
    if unknown:
        raise ConfigError(
            f"{where}unknown section(s) {', '.join(unknown)}; expected {', '.join(SECTIONS)}"
        )
    sections: dict[str, dict[str, str]] = {}
    for name in SECTIONS:
        raw = mapping.get(name) or {}
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where}section {name!r} must be a mapping of key: value")
        sections[name] = {str(k): value_text(v) for k, v in raw.items()}
    for key in sections["runtime"]:
        check_runtime_key(key)
    return ConfigImport(sections["defaults"], sections["vars"], sections["runtime"])


def value_text(value: object) -> str:
    """Variables are strings, as in AliECS: YAML booleans become ``true``/``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (Mapping, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def check_runtime_key(key: str) -> str:
    """Refuse malformed keys and the reserved run number counter."""
    if not _KEY.fullmatch(key) or ".." in key.split("/"):
        raise ConfigError(
            f"bad runtime key {key!r}: expected path segments of letters, digits, '_', '-', '.'"
        )
    if key == RUN_NUMBER_KEY:
        raise ConfigError(f"runtime key {key!r} is the run number counter; it cannot be set")
    return key


class FileRuntimeStore:
    """``RuntimeStore`` in files under a directory (default: the state directory)."""

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory) if directory is not None else state_dir()
        self._run_number = self.directory / "run_number"
        self._data = self.directory / "runtime.json"
        self._lock = self.directory / "runtime.lock"

    def __repr__(self) -> str:
        return f"FileRuntimeStore({str(self.directory)!r})"

    def next_run_number(self) -> int:
        with locked(self._lock):
            number = self.last_run_number() + 1
            atomic_write(self._run_number, f"{number}\n")
        return number

    def last_run_number(self) -> int:
        try:
            text = self._run_number.read_text(encoding="utf-8")
        except FileNotFoundError:
            return 0
        try:
            return int(text.strip())
        except ValueError:
            raise ConfigError(
                f"run number file {self._run_number} is corrupt ({text.strip()[:40]!r}); "
                "expected one integer: fix it by hand, never lower it"
            ) from None

    def get(self, key: str) -> str | None:
        return self._load()["runtime"].get(key)

    def set(self, key: str, value: str) -> None:
        check_runtime_key(key)
        self._update(lambda data: data["runtime"].__setitem__(key, value))

    def global_defaults(self) -> dict[str, str]:
        return dict(self._load()["defaults"])

    def global_vars(self) -> dict[str, str]:
        return dict(self._load()["vars"])

    def import_config(self, mapping: Mapping[str, object]) -> None:
        payload = parse_import(mapping)

        def merge(data: dict[str, dict[str, str]]) -> None:
            data["defaults"].update(payload.defaults)
            data["vars"].update(payload.vars)
            data["runtime"].update(payload.runtime)

        self._update(merge)

    def show(self) -> dict[str, object]:
        data = self._load()
        return {"run_number": self.last_run_number(), **{k: dict(data[k]) for k in SECTIONS}}

    def _load(self) -> dict[str, dict[str, str]]:
        try:
            raw = json.loads(self._data.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raw = {}
        except (OSError, ValueError) as e:
            raise ConfigError(f"runtime file {self._data} is unreadable: {e}") from e
        if not isinstance(raw, dict):
            raise ConfigError(f"runtime file {self._data}: expected a JSON object")
        return {name: dict(raw.get(name) or {}) for name in SECTIONS}

    def _update(self, change: Callable[[dict[str, dict[str, str]]], None]) -> None:
        with locked(self._lock):
            data = self._load()
            change(data)
            atomic_write(self._data, json.dumps(data, indent=2, sort_keys=True) + "\n")
