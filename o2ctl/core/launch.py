"""From a task's command template to the exact process to start.

What flows through: a task's ``command`` (value, arguments, env, shell), its control mode,
its id and the control port the controller assigned. Out comes a ``LaunchPlan``: the argv
(or shell line), the environment additions, and the OCC wire flavour to speak to it.

FairMQ devices get AliECS's launch arguments appended (aliecs.md §3):
``--id <taskId> -S <OCC plugin dir> -P OCClite --color false --control-port N``, the plugin
directory from ``CONTROL_OCCPLUGIN_ROOT``/lib. A template that already names a plugin with
``-P`` keeps its own, and the flavour follows it: JSON for ``OCClite``, protobuf otherwise.
Every controlled process also gets ``OCC_CONTROL_PORT``.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Flavour = Literal["protobuf", "json"]
DEFAULT_PLUGIN_ROOT = "/opt/o2/Control-OCCPlugin"


@dataclass(frozen=True)
class LaunchPlan:
    argv: tuple[str, ...]  # for exec; for shell, ("/bin/sh", "-c", line)
    env: Mapping[str, str]
    flavour: Flavour
    controlled: bool  # False for basic tasks (no control channel)

    @property
    def command_line(self) -> str:
        return self.argv[2] if self.argv[:2] == ("/bin/sh", "-c") else shlex.join(self.argv)


class LaunchError(ValueError):
    """A command template that cannot be turned into a process."""


def _plugin_dir(environ: Mapping[str, str]) -> str:
    root = environ.get("CONTROL_OCCPLUGIN_ROOT", DEFAULT_PLUGIN_ROOT)
    return os.path.join(root, "lib")


def flavour_of(words: Sequence[str]) -> Flavour:
    """JSON when the command line names the OCClite plugin (``-P OCClite``)."""
    for i, w in enumerate(words):
        if w == "-P" and i + 1 < len(words):
            return "json" if words[i + 1] == "OCClite" else "protobuf"
        if w.startswith("-P") and len(w) > 2:
            return "json" if w[2:] == "OCClite" else "protobuf"
    return "protobuf"


def _env_pairs(role_path: str, entries: Sequence[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for entry in entries:
        key, sep, value = str(entry).partition("=")
        if not sep or not key:
            raise LaunchError(f"task {role_path}: command.env entry {entry!r} is not VAR=value")
        env[key] = value
    return env


def plan_launch(
    *,
    role_path: str,
    task_id: str,
    control_mode: str,
    value: str,
    arguments: Sequence[str] = (),
    env: Sequence[str] = (),
    shell: bool = False,
    control_port: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> LaunchPlan:
    environ = os.environ if environ is None else environ
    if not value.strip():
        raise LaunchError(f"task {role_path}: command.value is empty")
    controlled = control_mode in ("fairmq", "direct")
    if controlled and control_port is None:
        raise LaunchError(f"task {role_path}: a {control_mode} task needs a control port")
    words = shlex.split(value) if shell else [value]
    words += [str(a) for a in arguments]
    extra: list[str] = []
    if control_mode == "fairmq":
        has_plugin = any(w == "-P" or (w.startswith("-P") and len(w) > 2) for w in words)
        extra = ["--id", task_id, "-S", _plugin_dir(environ)]
        if not has_plugin:
            extra += ["-P", "OCClite"]
        extra += ["--color", "false", "--control-port", str(control_port)]
    flavour = flavour_of(words + extra) if control_mode == "fairmq" else "protobuf"
    add_env = _env_pairs(role_path, env)
    add_env["O2CTL_TASK_ID"] = task_id
    if controlled:
        add_env["OCC_CONTROL_PORT"] = str(control_port)
    if shell:
        line = " ".join(
            [value, *(shlex.quote(str(a)) for a in arguments), *map(shlex.quote, extra)]
        )
        return LaunchPlan(("/bin/sh", "-c", line), add_env, flavour, controlled)
    return LaunchPlan((value, *map(str, arguments), *extra), add_env, flavour, controlled)
