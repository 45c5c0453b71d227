"""FairMQ channels: from ``bind``/``connect`` entries to resolved ``ChannelSpec``s.

Channels are declared in three places: on any role (``connect``, ``bind``; inherited by
every task below it), and in task templates (``bind``, ``connect`` without target). Each
entry is rendered where it is declared (so ``{{ Parent().Path }}`` means that role's
parent), kept as a ``ChannelDecl`` with its file and line, merged by channel name (the role
nearer the task wins over its ancestors, roles win over the task template), and validated
into a ``ChannelSpec``.

Connect targets are resolved only once the whole tree exists, because they name concrete
roles (``processor3``, never ``processor{{ it }}``): ``role.path:channel`` must name a task
role with that bind channel, ``::alias`` a bind published with ``global: alias`` (or an
alias the caller provides), and ``tcp://``/``ipc://`` addresses are taken literally. A
bind with a ``target`` address keeps it (DPL writes one for a channel labelled
``ecs-preserve-raw-channels``: bound where the command said, e.g. for an EPN merger).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from o2ctl.templates.convert import to_int, to_text
from o2ctl.templates.errors import TemplateError, located
from o2ctl.templates.evaluate import Env
from o2ctl.templates.fields import render
from o2ctl.templates.model import ChannelSpec
from o2ctl.templates.yamlload import YMap

CHANNEL_TYPES = ("push", "pull", "pub", "sub", "req", "rep", "pair")
TRANSPORTS = ("default", "zeromq", "shmem")
ADDRESSINGS = ("tcp", "ipc")
_INTS = {"sndBufSize": "snd_buf_size", "rcvBufSize": "rcv_buf_size", "rateLogging": "rate_logging"}
_KNOWN = {"name", "type", "transport", "addressing", "target", "global", *_INTS}
_PEERS = {"push": "pull", "pull": "push", "pub": "sub", "sub": "pub", "req": "rep", "rep": "req"}
_PEERS["pair"] = "pair"


@dataclass(frozen=True)
class ChannelDecl:
    """One rendered channel entry and where it was written."""

    name: str
    values: Mapping[str, object]
    file: str
    line: int
    role: str

    def error(self, reason: str, expected: str | None = None) -> TemplateError:
        return TemplateError(
            f"channel {self.name!r}: {reason}",
            file=self.file,
            line=self.line,
            role=self.role,
            expected=expected,
        )


def render_decls(
    entries: object, env: Env, *, file: str, line: int, role: str
) -> list[ChannelDecl]:
    """Render a ``bind:``/``connect:`` list (None means none)."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise TemplateError("channels must be a list", file=file, line=line, role=role)
    decls = []
    for index, entry in enumerate(entries):
        entry_line = entries.line_of(index) if hasattr(entries, "line_of") else line
        with located(file=file, line=entry_line, role=role):
            if not isinstance(entry, YMap):
                raise TemplateError(
                    "a channel entry must be a mapping", expected="{name, type, ...}"
                )
            values = {key: render(value, env) for key, value in entry.items()}
            name = to_text(values.get("name")).strip()
            if not name:
                raise TemplateError("a channel entry has no name")
        decls.append(ChannelDecl(name, values, file, entry_line, role))
    return decls


def merge_decls(base: list[ChannelDecl], override: list[ChannelDecl]) -> list[ChannelDecl]:
    """Merge by name: keys of ``override`` replace those of ``base``; order of first mention."""
    if not override:
        return base
    merged = {decl.name: decl for decl in base}
    for decl in override:
        previous = merged.get(decl.name)
        if previous is not None:
            values = {**previous.values, **decl.values}
            decl = ChannelDecl(decl.name, values, decl.file, decl.line, decl.role)
        merged[decl.name] = decl
    return list(merged.values())


def build_spec(decl: ChannelDecl, method: str) -> ChannelSpec:
    """Validate a merged declaration into a ``ChannelSpec`` (targets still unresolved)."""
    values = decl.values
    kind = _choice(decl, "type", None, CHANNEL_TYPES)
    ints: dict[str, int | None] = {}
    for key, attribute in _INTS.items():
        raw = values.get(key)
        try:
            ints[attribute] = None if raw is None or raw == "" else to_int(raw, key)
        except TemplateError as error:
            raise decl.error(error.reason, error.expected) from None
    alias = to_text(values.get("global")).strip() or None
    target = to_text(values.get("target")).strip() or None
    if method == "bind" and target is not None and "://" not in target:
        target = None  # a bind keeps only a fixed address (DPL's preserved raw channels)
    return ChannelSpec(
        name=decl.name,
        type=kind,
        transport=_choice(decl, "transport", "default", TRANSPORTS),
        addressing=_choice(decl, "addressing", "tcp", ADDRESSINGS),
        method="bind" if method == "bind" else "connect",
        target=target,
        global_alias=alias if method == "bind" else None,
        extra={k: to_text(v) for k, v in values.items() if k not in _KNOWN},
        **ints,
    )


def _choice(decl: ChannelDecl, key: str, default: str | None, allowed: tuple[str, ...]) -> str:
    raw = decl.values.get(key)
    text = to_text(raw).strip() if raw is not None else ""
    if not text and default is not None:
        return default
    if text not in allowed:
        shown = repr(raw) if text else "missing"
        raise decl.error(f"{key} is {shown}", expected=" | ".join(allowed))
    return text


@dataclass(frozen=True)
class TaskChannels:
    """A task's merged channels (connect targets not yet resolved), with their declarations."""

    path: str
    binds: tuple[tuple[ChannelSpec, ChannelDecl], ...]
    connects: tuple[tuple[ChannelSpec, ChannelDecl], ...]


def global_aliases(tasks: list[TaskChannels]) -> dict[str, str]:
    """``global`` aliases published by binds: alias → ``role.path:channel``."""
    aliases: dict[str, str] = {}
    owners: dict[str, ChannelDecl] = {}
    for task in tasks:
        for spec, decl in task.binds:
            if spec.global_alias is None:
                continue
            if spec.global_alias in aliases:
                first = owners[spec.global_alias]
                raise decl.error(
                    f"global alias {spec.global_alias!r} is already published by "
                    f"{aliases[spec.global_alias]} ({first.file}:{first.line})"
                )
            aliases[spec.global_alias] = f"{task.path}:{spec.name}"
            owners[spec.global_alias] = decl
    return aliases


def resolve_connect(
    spec: ChannelSpec,
    decl: ChannelDecl,
    task_path: str,
    binds: Mapping[str, Mapping[str, ChannelSpec]],
    aliases: Mapping[str, str],
    kinds: Mapping[str, str],
) -> tuple[ChannelSpec, str | None]:
    """The connect with its target resolved, and a warning when the types do not pair."""
    target = spec.target
    where = f"connect of task {task_path}"
    if target is None:
        raise decl.error(f"{where} has no target", "role.path:channel, ::alias or tcp://…")
    if "://" in target:
        if target.split("://", 1)[0] not in ADDRESSINGS:
            raise decl.error(f"target {target!r} is not a tcp:// or ipc:// address")
        return spec, None
    alias = None
    if target.startswith("::"):
        alias = target[2:]
        if alias not in aliases:
            known = ", ".join(sorted(aliases)) or "none"
            raise decl.error(
                f"target {target!r}: no bind in the workflow publishes global alias {alias!r}",
                f"an alias published with 'global:' (published: {known}) or given by the caller",
            )
        target = aliases[alias]
        if "://" in target:
            return _retarget(spec, target, alias), None
    path, sep, channel = target.rpartition(":")
    if not sep or not path or not channel:
        raise decl.error(f"target {target!r} is malformed", "role.path:channel, ::alias or tcp://…")
    if path not in binds:
        what = f"is a {kinds[path]} role, not a task" if path in kinds else "is not a role"
        raise decl.error(f"target {target!r}: {path} {what}", "the full path of a task role")
    peer = binds[path].get(channel)
    if peer is None:
        known = ", ".join(sorted(binds[path])) or "no bind channels"
        raise decl.error(f"target {target!r}: task {path} has no bind channel {channel!r}", known)
    resolved = _retarget(spec, f"{path}:{channel}", alias)
    warning = None
    if _PEERS.get(spec.type) != peer.type:
        warning = f"{where} {spec.name!r} is {spec.type} but {path}:{channel} binds {peer.type}"
    return resolved, warning


def _retarget(spec: ChannelSpec, target: str, alias: str | None) -> ChannelSpec:
    # Spelled out rather than dataclasses.replace: this runs once per connect of a tree.
    return ChannelSpec(
        spec.name,
        spec.type,
        spec.transport,
        spec.addressing,
        spec.method,
        target,
        alias,
        spec.snd_buf_size,
        spec.rcv_buf_size,
        spec.rate_logging,
        spec.extra,
    )
