"""ZeroMQ sockets for FairMQ channels: what BIND and CONNECT open and RESET DEVICE closes.

Each :class:`~occ.fairmq.channels.SubChannel` becomes one ``zmq.asyncio`` socket with
FairMQ's option mapping: ``sndBufSize``/``rcvBufSize`` are the ZeroMQ high-water marks (in
messages), the kernel sizes are the OS socket buffers (0 keeps the system default),
``linger`` is the close linger in ms, a ``sub`` socket subscribes to everything. A bind
that fails falls back to a free port in ``portRangeMin..portRangeMax`` only when
``autoBind`` is on (AliECS turns it off: it assigns ports itself, and a clash must be an
error, not a silent move). Failures raise :class:`SocketError` naming the channel key.

Receiving polls with a timeout instead of cancelling a pending receive, so that a message
is never half-taken when a run stops. Counters feed FairMQ-style rate logging.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import zmq
import zmq.asyncio

from occ.fairmq.channels import SubChannel

ZMQ_TYPES: dict[str, int] = {
    "pair": zmq.PAIR,
    "pub": zmq.PUB,
    "sub": zmq.SUB,
    "push": zmq.PUSH,
    "pull": zmq.PULL,
    "req": zmq.REQ,
    "rep": zmq.REP,
    "xpub": zmq.XPUB,
    "xsub": zmq.XSUB,
    "dealer": zmq.DEALER,
    "router": zmq.ROUTER,
}


class SocketError(RuntimeError):
    """A channel socket could not be opened; the message names the channel key."""


@dataclass
class Counters:
    """Messages and bytes through one socket, for rate logging."""

    msgs_in: int = 0
    bytes_in: int = 0
    msgs_out: int = 0
    bytes_out: int = 0
    since: float = field(default_factory=time.monotonic)

    def take(self) -> tuple[int, int, int, int, float]:
        """The counts since the last call, and the seconds they cover; then restart."""
        now = time.monotonic()
        snapshot = (self.msgs_in, self.bytes_in, self.msgs_out, self.bytes_out, now - self.since)
        self.msgs_in = self.bytes_in = self.msgs_out = self.bytes_out = 0
        self.since = now
        return snapshot


class ChannelSocket:
    """One open sub-channel socket."""

    def __init__(self, spec: SubChannel, sock: zmq.asyncio.Socket, address: str) -> None:
        self.spec = spec
        self.address = address
        self.counters = Counters()
        self._sock = sock

    @property
    def label(self) -> str:
        return f"{self.spec.name}[{self.spec.index}]"

    async def send(self, payload: bytes) -> None:
        await self._sock.send(payload, copy=False)
        self.counters.msgs_out += 1
        self.counters.bytes_out += len(payload)

    async def receive(self, timeout_s: float) -> bytes | None:
        """The next message, or None if none arrives within ``timeout_s``."""
        if not await self._sock.poll(max(0, int(timeout_s * 1000))):  # POLLIN by default
            return None
        try:
            payload = await self._sock.recv(flags=zmq.NOBLOCK)
        except zmq.Again:
            return None
        self.counters.msgs_in += 1
        self.counters.bytes_in += len(payload)
        return payload

    def close(self) -> None:
        self._sock.close(linger=self.spec.linger)


def _make(ctx: zmq.asyncio.Context, spec: SubChannel) -> zmq.asyncio.Socket:
    sock = ctx.socket(ZMQ_TYPES[spec.type])
    sock.setsockopt(zmq.SNDHWM, spec.snd_buf_size)
    sock.setsockopt(zmq.RCVHWM, spec.rcv_buf_size)
    if spec.snd_kernel_size > 0:
        sock.setsockopt(zmq.SNDBUF, spec.snd_kernel_size)
    if spec.rcv_kernel_size > 0:
        sock.setsockopt(zmq.RCVBUF, spec.rcv_kernel_size)
    sock.setsockopt(zmq.LINGER, spec.linger)
    if spec.type == "sub":
        sock.setsockopt(zmq.SUBSCRIBE, b"")
    return sock


def open_socket(ctx: zmq.asyncio.Context, spec: SubChannel) -> ChannelSocket:
    """Bind or connect ``spec`` as its ``method`` says."""
    sock = _make(ctx, spec)
    try:
        address = _bind(sock, spec) if spec.method == "bind" else _connect(sock, spec)
    except BaseException:
        sock.close(linger=0)
        raise
    return ChannelSocket(spec, sock, address)


def _bind(sock: zmq.asyncio.Socket, spec: SubChannel) -> str:
    if spec.address != "unspecified":
        try:
            sock.bind(spec.address)
            return _last_endpoint(sock, spec.address)
        except zmq.ZMQError as err:
            if not spec.auto_bind:
                raise SocketError(
                    f"{spec.prefix}.address: cannot bind {spec.address}: {err}"
                ) from err
    host = _host_part(spec.address)
    try:
        port = sock.bind_to_random_port(
            host, min_port=spec.port_range_min, max_port=spec.port_range_max + 1, max_tries=200
        )
    except zmq.ZMQError as err:
        raise SocketError(
            f"{spec.prefix}.address: no free port for autoBind on {host} "
            f"in {spec.port_range_min}..{spec.port_range_max}: {err}"
        ) from err
    return f"{host}:{port}"


def _connect(sock: zmq.asyncio.Socket, spec: SubChannel) -> str:
    try:
        sock.connect(spec.address)
    except zmq.ZMQError as err:
        raise SocketError(f"{spec.prefix}.address: cannot connect {spec.address}: {err}") from err
    return spec.address


def _host_part(address: str) -> str:
    """``tcp://host`` of a tcp address (``tcp://*`` when unspecified), for autoBind."""
    if address.startswith("tcp://"):
        return "tcp://" + address[len("tcp://") :].rsplit(":", 1)[0]
    return "tcp://*"


def _last_endpoint(sock: zmq.asyncio.Socket, fallback: str) -> str:
    endpoint = sock.getsockopt(zmq.LAST_ENDPOINT)
    return endpoint.decode() if isinstance(endpoint, bytes) and endpoint else fallback
