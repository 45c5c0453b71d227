"""FairMQ channel configuration: ``chans.*`` properties in, typed channel specs out.

The controller configures a FairMQ device's channels by pushing key-values at INIT DEVICE:
``chans.<name>.numSockets`` and ``chans.<name>.<i>.<key>``. The real OCC plugin pushes every
value as a string except for a fixed set of keys it converts with ``std::stoi`` (buffer and
kernel sizes, ``linger``, ``rateLogging``); FairMQ then reads each channel key with the type
it declares. A key FairMQ reads as an integer but the plugin pushed as a string
(``sndTimeoutMs``, ``rcvTimeoutMs``, ``portRangeMin``/``Max``) makes a real device fail, and
so it does here: :func:`push_properties` types the pushed values as the plugin does and
:func:`build_channels` reads them as FairMQ does, raising :class:`ChannelConfigError` naming
the offending key. The same parser takes FairMQ's ``--channel-config`` command-line form,
where values are typed by FairMQ itself.

Pure data and validation: the sockets are opened elsewhere (``occ.fairmq.sockets``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

PropertyValue = int | str | bool
Properties = dict[str, PropertyValue]

PLUGIN_INT_KEYS = frozenset(
    {"rateLogging", "rcvBufSize", "sndBufSize", "linger", "rcvKernelSize", "sndKernelSize"}
)
"""Channel keys the OCC plugin converts to int before setting them (the rest stay strings)."""

INT_KEYS: Mapping[str, int] = {
    "sndBufSize": 1000,
    "rcvBufSize": 1000,
    "sndKernelSize": 0,
    "rcvKernelSize": 0,
    "sndTimeoutMs": -1,
    "rcvTimeoutMs": -1,
    "linger": 500,
    "rateLogging": 1,
    "portRangeMin": 22000,
    "portRangeMax": 23000,
}
"""Integer-typed sub-channel keys with FairMQ's defaults."""

STR_KEYS: Mapping[str, str] = {
    "type": "unspecified",
    "method": "unspecified",
    "address": "unspecified",
    "transport": "default",
}
"""String-typed sub-channel keys with FairMQ's defaults."""

SOCKET_TYPES = frozenset(
    {"pair", "pub", "sub", "push", "pull", "req", "rep", "xpub", "xsub", "dealer", "router"}
)
METHODS = frozenset({"bind", "connect"})
TRANSPORTS = frozenset({"default", "zeromq", "shmem", "ofi"})
ADDRESS_SCHEMES = ("tcp://", "ipc://", "inproc://")
_STOI = re.compile(r"\s*([+-]?\d+)")
_KEY = re.compile(r"chans\.([^.]+)\.(?:(numSockets)|(\d+)\.([^.]+))$")


class ChannelConfigError(ValueError):
    """A channel property FairMQ would not accept; the message names the key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"bad channel configuration: {key}: {problem}")
        self.key = key


@dataclass(frozen=True)
class SubChannel:
    """One socket of a FairMQ channel (``chans.<name>.<index>.*``), typed as FairMQ reads it."""

    name: str
    index: int
    type: str
    method: str
    address: str
    transport: str = "default"
    snd_buf_size: int = 1000
    rcv_buf_size: int = 1000
    snd_kernel_size: int = 0
    rcv_kernel_size: int = 0
    snd_timeout_ms: int = -1
    rcv_timeout_ms: int = -1
    linger: int = 500
    rate_logging: int = 1
    port_range_min: int = 22000
    port_range_max: int = 23000
    auto_bind: bool = True

    @property
    def prefix(self) -> str:
        return f"chans.{self.name}.{self.index}"


def stoi(key: str, value: str) -> int:
    """``std::stoi`` as the plugin applies it: a leading integer, else an error naming ``key``."""
    match = _STOI.match(value)
    if match is None:
        raise ChannelConfigError(key, f"expected an integer, got {value!r}")
    number = int(match.group(1))
    if not -(2**31) <= number < 2**31:
        raise ChannelConfigError(key, f"integer {value!r} out of range")
    return number


def push_properties(arguments: Iterable[tuple[str, str]]) -> Properties:
    """Type pushed key-values as the OCC plugin does before setting them on the device."""
    typed: Properties = {}
    for key, value in arguments:
        last = key.rsplit(".", 1)[-1]
        is_int = key.startswith("chans.") and last in PLUGIN_INT_KEYS
        typed[key] = stoi(key, value) if is_int else value
    return typed


def parse_channel_config(lines: Iterable[str]) -> Properties:
    """FairMQ's ``--channel-config name=data,type=push,method=bind,address=…`` as properties."""
    props: Properties = {}
    for line in lines:
        fields = dict(_split_field(line, part) for part in line.split(",") if part)
        name = fields.pop("name", "")
        if not name:
            raise ChannelConfigError("--channel-config", f"no name= in {line!r}")
        props[f"chans.{name}.numSockets"] = stoi(f"chans.{name}.numSockets", "1")
        for key, value in fields.items():
            full = f"chans.{name}.0.{key}"
            props[full] = stoi(full, value) if key in INT_KEYS else value
    return props


def _split_field(line: str, part: str) -> tuple[str, str]:
    key, sep, value = part.partition("=")
    if not sep:
        raise ChannelConfigError("--channel-config", f"{part!r} in {line!r} is not key=value")
    return key.strip(), value.strip()


def build_channels(props: Mapping[str, PropertyValue]) -> dict[str, list[SubChannel]]:
    """Every channel described by ``chans.*`` keys in ``props``, validated as FairMQ does."""
    grouped: dict[str, dict[int, dict[str, PropertyValue]]] = {}
    counts: dict[str, int] = {}
    for key, value in props.items():
        if not key.startswith("chans."):
            continue
        match = _KEY.match(key)
        if match is None:
            raise ChannelConfigError(
                key, "expected chans.<name>.numSockets or chans.<name>.<i>.<key>"
            )
        name, num, index, field = match.groups()
        if num:
            counts[name] = _as_int(key, value)
        else:
            grouped.setdefault(name, {}).setdefault(int(index), {})[field] = value
    channels: dict[str, list[SubChannel]] = {}
    for name in sorted(set(grouped) | set(counts)):
        subs = grouped.get(name, {})
        count = counts.get(name, max(subs, default=-1) + 1)
        if count < 1:
            raise ChannelConfigError(f"chans.{name}.numSockets", f"must be >= 1, got {count}")
        extra = [i for i in subs if i >= count]
        if extra:
            raise ChannelConfigError(f"chans.{name}.{extra[0]}", f"index beyond numSockets={count}")
        channels[name] = [_sub_channel(name, i, subs.get(i, {})) for i in range(count)]
    return channels


def _as_int(key: str, value: PropertyValue) -> int:
    """An int-typed FairMQ key; a string here is what kills a real device."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ChannelConfigError(key, f"expected an integer, got {value!r}")
    if isinstance(value, str):
        if key.endswith(".numSockets"):
            return stoi(key, value)
        raise ChannelConfigError(
            key, f"FairMQ reads this key as an integer but it was pushed as the string {value!r}"
        )
    return value


def _as_bool(key: str, value: PropertyValue) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ChannelConfigError(key, f"expected a boolean (0/1/true/false), got {value!r}")


def _sub_channel(name: str, index: int, fields: Mapping[str, PropertyValue]) -> SubChannel:
    prefix = f"chans.{name}.{index}"
    ints = {
        k: _as_int(f"{prefix}.{k}", fields[k]) if k in fields else d for k, d in INT_KEYS.items()
    }
    strs = {k: str(fields.get(k, d)) for k, d in STR_KEYS.items()}
    auto_bind = _as_bool(f"{prefix}.autoBind", fields["autoBind"]) if "autoBind" in fields else True
    method, address = _method_and_address(prefix, strs["method"], strs["address"])
    sub = SubChannel(
        name=name,
        index=index,
        type=strs["type"],
        method=method,
        address=address,
        transport=strs["transport"],
        snd_buf_size=ints["sndBufSize"],
        rcv_buf_size=ints["rcvBufSize"],
        snd_kernel_size=ints["sndKernelSize"],
        rcv_kernel_size=ints["rcvKernelSize"],
        snd_timeout_ms=ints["sndTimeoutMs"],
        rcv_timeout_ms=ints["rcvTimeoutMs"],
        linger=ints["linger"],
        rate_logging=ints["rateLogging"],
        port_range_min=ints["portRangeMin"],
        port_range_max=ints["portRangeMax"],
        auto_bind=auto_bind,
    )
    _validate(sub)
    return sub


def _method_and_address(prefix: str, method: str, address: str) -> tuple[str, str]:
    """FairMQ lets the address carry the method: ``@`` binds, ``+`` or ``>`` connects."""
    if address[:1] in {"@", "+", ">"}:
        implied = "bind" if address[0] == "@" else "connect"
        if method not in {"unspecified", implied}:
            raise ChannelConfigError(
                f"{prefix}.address", f"prefix {address[0]!r} contradicts method {method!r}"
            )
        return implied, address[1:]
    return method, address


def _validate(sub: SubChannel) -> None:
    p = sub.prefix
    if sub.type not in SOCKET_TYPES:
        raise ChannelConfigError(f"{p}.type", _one_of(sub.type, SOCKET_TYPES))
    if sub.method not in METHODS:
        raise ChannelConfigError(f"{p}.method", _one_of(sub.method, METHODS))
    if sub.transport not in TRANSPORTS:
        raise ChannelConfigError(f"{p}.transport", _one_of(sub.transport, TRANSPORTS))
    if sub.address == "unspecified":
        if sub.method == "connect" or not sub.auto_bind:
            raise ChannelConfigError(f"{p}.address", "no address given")
    elif not sub.address.startswith(ADDRESS_SCHEMES):
        raise ChannelConfigError(
            f"{p}.address", f"{sub.address!r} must start with one of {', '.join(ADDRESS_SCHEMES)}"
        )
    for key, value in (
        ("sndBufSize", sub.snd_buf_size),
        ("rcvBufSize", sub.rcv_buf_size),
        ("sndKernelSize", sub.snd_kernel_size),
        ("rcvKernelSize", sub.rcv_kernel_size),
        ("rateLogging", sub.rate_logging),
    ):
        if value < 0:
            raise ChannelConfigError(f"{p}.{key}", f"must be >= 0, got {value}")


def _one_of(value: str, allowed: Iterable[str]) -> str:
    return f"{value!r} is not one of {', '.join(sorted(allowed))}"
