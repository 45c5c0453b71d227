"""Wiring at CONFIGURE: bind ports assigned per host, connect targets resolved, and the
FairMQ ``chans.*`` key-values every task receives.

What flows through: the expanded tasks with their bind and connect channels (targets
already resolved to ``role.path:channel``, a ``::global`` alias, or a literal address) and
the host each task runs on. Out comes, per task, the property map AliECS would push at
CONFIGURE (``chans.<name>.numSockets`` and ``chans.<name>.0.{address, method, autoBind,
type, transport, sndBufSize, rcvBufSize, sndKernelSize, rcvKernelSize, rateLogging}``),
plus the list of ports handed out so that they can be released when the task is
reconfigured or leaves. Binds listen on ``tcp://*:PORT``; their peers connect to
``tcp://<bind host ip>:PORT``. Everything is pure: port allocation is a callable.

A connect whose target names no bound channel is one ``WiringError`` naming the task, the
channel and the target, before anything is pushed to any process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class ChannelLike(Protocol):
    name: str
    type: str
    transport: str
    addressing: str
    target: str | None
    global_alias: str | None
    snd_buf_size: int | None
    rcv_buf_size: int | None
    rate_logging: int | None


class WiringError(ValueError):
    """A channel that cannot be wired (unknown target, missing bind, bad address)."""


@dataclass(frozen=True)
class WiringInput:
    role_path: str
    task_id: str
    host: str  # node key for the port allocator
    ip: str  # address peers connect to
    binds: Sequence[Any]
    connects: Sequence[Any]


@dataclass
class Wiring:
    chans: dict[str, dict[str, str]] = field(default_factory=dict)  # role_path -> chans.* keys
    bound: dict[str, str] = field(default_factory=dict)  # "role.path:chan" -> connect address
    ports: dict[str, list[int]] = field(default_factory=dict)  # role_path -> bind ports


Allocate = Callable[[str, str, str], int]  # (host, owner, purpose) -> port


def _chan_props(ch: Any, address: str, method: str) -> dict[str, str]:
    transport = getattr(ch, "transport", None) or "default"
    rate = getattr(ch, "rate_logging", None)
    snd = getattr(ch, "snd_buf_size", None)
    rcv = getattr(ch, "rcv_buf_size", None)
    props = {
        "address": address,
        "method": method,
        "type": str(ch.type),
        "transport": str(transport),
        "sndBufSize": str(1000 if snd is None else snd),
        "rcvBufSize": str(1000 if rcv is None else rcv),
        "sndKernelSize": "0",
        "rcvKernelSize": "0",
        "rateLogging": str(0 if rate is None else rate),
    }
    if method == "bind":
        props["autoBind"] = "0"
    prefix = f"chans.{ch.name}"
    out = {f"{prefix}.numSockets": "1"}
    out.update({f"{prefix}.0.{k}": v for k, v in props.items()})
    return out


def _is_literal(target: str) -> bool:
    return target.startswith(("tcp://", "ipc://", "inproc://"))


def _bind_addresses(
    t: WiringInput, ch: Any, env_id: str, allocate: Allocate
) -> tuple[str, str, int | None]:
    """(address to bind, address peers connect to, port or None)."""
    target = getattr(ch, "target", None)
    if target and _is_literal(target):
        return target, target, None
    if (getattr(ch, "addressing", None) or "tcp") == "ipc":
        path = f"/tmp/o2ctl-{env_id}-{t.role_path}-{ch.name}".replace(":", "_")
        return f"ipc://{path}", f"ipc://{path}", None
    port = allocate(t.host, t.task_id, f"chan:{ch.name}")
    return f"tcp://*:{port}", f"tcp://{t.ip}:{port}", port


def wire(
    tasks: Sequence[WiringInput],
    allocate: Allocate,
    *,
    env_id: str = "",
    global_channels: Mapping[str, str] | None = None,
) -> Wiring:
    """Assign bind addresses, resolve connect targets, build every task's ``chans.*`` map."""
    out = Wiring()
    for t in tasks:
        out.chans[t.role_path] = {}
        out.ports[t.role_path] = []
        for ch in t.binds:
            bind_addr, peer_addr, port = _bind_addresses(t, ch, env_id, allocate)
            out.bound[f"{t.role_path}:{ch.name}"] = peer_addr
            if port is not None:
                out.ports[t.role_path].append(port)
            out.chans[t.role_path].update(_chan_props(ch, bind_addr, "bind"))
    aliases = dict(global_channels or {})
    for t in tasks:
        for ch in t.connects:
            address = _resolve_target(t, ch, out.bound, aliases)
            out.chans[t.role_path].update(_chan_props(ch, address, "connect"))
    return out


def _resolve_target(
    t: WiringInput, ch: Any, bound: Mapping[str, str], aliases: Mapping[str, str]
) -> str:
    target = getattr(ch, "target", None) or ""
    if _is_literal(target):
        return target
    key = target
    if target.startswith("::"):
        alias = target[2:]
        if alias not in aliases:
            known = ", ".join(sorted(aliases)) or "none"
            raise WiringError(
                f"task {t.role_path}: connect channel {ch.name!r} targets global alias "
                f"{alias!r}, but no bind declares it (known: {known})"
            )
        key = aliases[alias]
        if _is_literal(key):
            return key
    if key not in bound:
        raise WiringError(
            f"task {t.role_path}: connect channel {ch.name!r} targets {target!r}, "
            "which is not a bound channel of any task in this environment"
        )
    return bound[key]
