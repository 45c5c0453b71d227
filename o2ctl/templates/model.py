"""The result of expansion: a frozen role tree with everything resolved.

``expand_workflow`` returns an ``ExpandedWorkflow``; its ``root`` is a ``RoleNode`` tree
(iterators already stamped out, disabled roles pruned, includes inlined). Task roles carry
a ``TaskSpec`` (command, channels with connect targets resolved to ``role.path:channel``,
properties, the final variables), call roles a ``CallSpec``. These objects are what the
runtime deploys and what ``o2ctl template expand`` prints; they are plain data (picklable,
``to_dict`` gives JSON) and never change once built.
"""

from __future__ import annotations

import contextlib
import gc
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Literal

RoleKind = Literal["aggregator", "task", "call", "include"]
ControlMode = Literal["fairmq", "direct", "basic", "hook"]


@dataclass(frozen=True)
class Constraint:
    """A placement constraint: the host attribute must equal (or merely have) a value."""

    attribute: str
    value: str
    operator: str = "equals"  # equals | exists


@dataclass(frozen=True)
class ChannelSpec:
    """One FairMQ channel of a task: a ``bind`` (inbound) or a ``connect`` (outbound)."""

    name: str
    type: str  # push pull pub sub req rep pair
    transport: str  # default zeromq shmem
    addressing: str  # tcp ipc
    method: Literal["bind", "connect"]
    target: str | None  # connect: "role.path:channel" or a literal tcp:// / ipc:// address
    global_alias: str | None  # bind: alias it publishes; connect: the "::alias" it used
    snd_buf_size: int | None
    rcv_buf_size: int | None
    rate_logging: int | None
    extra: Mapping[str, str] = field(default_factory=dict)  # any other key given, as strings


@dataclass(frozen=True)
class CommandSpec:
    """How to start the task's process (the runtime appends FairMQ/OCC arguments)."""

    value: str
    arguments: tuple[str, ...]
    env: tuple[str, ...]
    shell: bool
    user: str | None
    stdout: str | None
    stderr: str | None
    log: str | None


@dataclass(frozen=True)
class TaskSpec:
    """A task role ready to deploy."""

    role_path: str
    task_class: str  # the task template as referenced by ``load``
    control_mode: ControlMode  # basic + trigger gives hook
    command: CommandSpec
    wants: Mapping[str, object]  # cpu (cores), memory (MB), ports
    limits: Mapping[str, object]
    constraints: tuple[Constraint, ...]
    binds: tuple[ChannelSpec, ...]
    connects: tuple[ChannelSpec, ...]
    properties: Mapping[str, str]  # pushed at CONFIGURE
    variables: Mapping[str, str]  # the final variable stack, written as strings
    critical: bool
    trigger: str | None  # hook point for hook tasks (``before_CONFIGURE``, ``DESTROY`` …)
    timeout_s: float | None
    placement_vars: tuple[str, ...] = ()  # placement-time variables still placeholders
    raw: Any = field(default=None, repr=False, compare=False)  # for render_task_for_host


@dataclass(frozen=True)
class CallSpec:
    """A call role: an integration function run at a hook point."""

    func: str  # as written, e.g. "dcs.StartOfRun()"
    integration: str  # "dcs"
    method: str  # "StartOfRun"
    trigger: str
    await_trigger: str | None
    timeout_s: float
    critical: bool
    return_var: str | None
    variables: Mapping[str, str] = field(default_factory=dict)  # where they differ from root's


@dataclass(frozen=True)
class RoleNode:
    """A role of the expanded tree."""

    name: str
    path: str
    kind: RoleKind
    critical: bool
    constraints: tuple[Constraint, ...]
    children: tuple[RoleNode, ...]
    task: TaskSpec | None = None
    call: CallSpec | None = None
    enabled: bool = True  # disabled roles are pruned, so every node in a tree is enabled
    include: str | None = None  # include roles: the workflow reference inlined here
    locals: Mapping[str, str] = field(default_factory=dict)  # iterator variable, if generated
    source: str = ""  # "file:line" of the role in its template

    def walk(self) -> Iterator[RoleNode]:
        """This node and every descendant, depth first, in template order."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))

    def find(self, path: str) -> RoleNode:
        """The node at ``path`` (a full path from this node's path); KeyError if none."""
        node = self
        while node.path != path:
            prefix = [c for c in node.children if path == c.path or path.startswith(c.path + ".")]
            if not prefix:
                raise KeyError(f"no role {path!r} under {self.path!r}")
            node = max(prefix, key=lambda c: len(c.path))
        return node

    def tasks(self) -> list[TaskSpec]:
        """The task specs of every task role in this subtree, in template order."""
        return [n.task for n in self.walk() if n.task is not None]

    def calls(self) -> list[tuple[str, CallSpec]]:
        """``(role path, call)`` of every call role in this subtree."""
        return [(n.path, n.call) for n in self.walk() if n.call is not None]


def parse_detectors(value: object) -> list[str]:
    """The ``detectors`` variable as upper-case names: a list, a JSON list or ``A, B``."""
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip().upper() for v in value if str(v).strip()]
    text = str(value).strip()
    if text.startswith("["):
        with contextlib.suppress(ValueError):
            return parse_detectors(json.loads(text))
    return [d.strip().upper() for d in text.split(",") if d.strip()]


@dataclass(frozen=True)
class ExpandedWorkflow:
    """A workflow template expanded for one environment."""

    root: RoleNode
    workflow: str  # the reference it was expanded from
    origin: str  # where its text came from (file path, Consul key)
    user_vars: Mapping[str, str]
    global_channels: Mapping[str, str]  # alias -> "role.path:channel"
    warnings: tuple[str, ...]
    variables: Mapping[str, str] = field(default_factory=dict)  # the root's final variables
    public_vars: Mapping[str, Mapping[str, object]] = field(default_factory=dict)

    @property
    def detectors(self) -> tuple[str, ...]:
        """The ``detectors`` variable of the root as a tuple (empty when unset or not a list)."""
        try:
            value = json.loads(self.variables.get("detectors", "[]"))
        except ValueError:
            return ()
        return tuple(str(v) for v in value) if isinstance(value, list) else ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (``template expand --output json``)."""
        gc_was_on = gc.isenabled()
        gc.disable()  # millions of new containers, no cycles: see templates.budget
        try:
            return self._to_dict()
        finally:
            if gc_was_on:
                gc.enable()

    def _to_dict(self) -> dict[str, Any]:
        return {
            "workflow": self.workflow,
            "origin": self.origin,
            "user_vars": dict(self.user_vars),
            "global_channels": dict(self.global_channels),
            "warnings": list(self.warnings),
            "variables": dict(self.variables),
            "public_vars": _plain(self.public_vars),
            "root": _plain(self.root),
        }


_SCALARS = (str, int, float, bool, type(None))
_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in fields(cls) if f.name != "raw" and f.repr)
    return names


def _plain(value: object) -> Any:
    """JSON-able form of model objects; the type checks are ordered by frequency (a tree of
    100,000 tasks holds millions of strings and mappings)."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, dict):
        if all(type(v) is str for v in value.values()):
            return {str(k): v for k, v in value.items()}
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {name: _plain(getattr(value, name)) for name in _field_names(type(value))}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value
