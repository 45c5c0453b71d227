"""One OCC connection: a grpc.aio channel with its four calls, built once and reused.

This is the hot path of the whole system: every task transition passes through here. So a
controller keeps a single channel and the multicallables are built once, when the channel
is first used. Opening the channel that late also binds it to the event loop that uses it.
Every unary call takes a deadline. Failures come out as ``CallFailed``, whose reason says
what happened in words ("did not answer within 10.0 s"), so that the caller can name the
process and event around it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from occ import wire
from occ._gen import occ_pb2 as pb
from occ.endpoint import MESSAGE_KEY

CHANNEL_OPTIONS = (
    # A process that is still starting must be noticed soon after it listens.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    ("grpc.enable_retries", 0),
)


class CallFailed(Exception):
    """An OCC call got no reply: ``code`` is the gRPC status, ``reason`` says it in words."""

    def __init__(self, code: grpc.StatusCode, reason: str, message: str = "") -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.message = message

    @property
    def mismatch(self) -> bool:
        """The FairMQ plugins' ways of saying "srcState is not the current state"."""
        if self.code == grpc.StatusCode.CANCELLED:
            return True
        return self.code == grpc.StatusCode.INVALID_ARGUMENT and "mismatch" in self.reason


def _trailing_message(metadata: Any) -> str:
    for key, value in metadata or ():
        if key == MESSAGE_KEY:
            return str(value)
    return ""


def _failure(err: grpc.aio.AioRpcError, within: float | None) -> CallFailed:
    code = err.code()
    details = err.details() or ""
    if code == grpc.StatusCode.DEADLINE_EXCEEDED and within is not None:
        reason = f"did not answer within {within:.1f} s"
    elif code == grpc.StatusCode.UNAVAILABLE:
        reason = f"not reachable ({details})" if details else "not reachable"
    elif code == grpc.StatusCode.CANCELLED and not details:
        reason = "refused the transition (empty CANCELLED: state mismatch)"
    else:
        reason = f"answered {code.name}" + (f": {details}" if details else "")
    return CallFailed(code, reason, _trailing_message(err.trailing_metadata()))


class OccChannel:
    """The four OCC calls to the process at ``address`` in one wire ``flavour``."""

    def __init__(self, address: str, flavour: wire.Flavour) -> None:
        self.address = address
        self.flavour = flavour
        self._channel: grpc.aio.Channel | None = None
        self._calls: dict[str, Any] = {}
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def _call(self, name: str) -> Any:
        if self._closed:
            raise CallFailed(grpc.StatusCode.FAILED_PRECONDITION, "the controller was closed")
        if self._channel is None:
            self._channel = grpc.aio.insecure_channel(self.address, options=CHANNEL_OPTIONS)
            encode = wire.serializer(self.flavour)
            for method in wire.paths(self.flavour).values():
                make = self._channel.unary_stream if method.streaming else self._channel.unary_unary
                self._calls[method.name] = make(
                    wire.method_path(self.flavour, method.name),
                    request_serializer=encode,
                    response_deserializer=wire.deserializer(self.flavour, method.reply),
                )
        return self._calls[name]

    async def get_state(self, within: float, *, wait_for_ready: bool = False) -> pb.GetStateReply:
        """GetState with a deadline ``within`` seconds from now."""
        try:
            reply: pb.GetStateReply = await self._call("GetState")(
                _GET_STATE, timeout=within, wait_for_ready=wait_for_ready
            )
        except grpc.aio.AioRpcError as err:
            raise _failure(err, within) from None
        return reply

    async def transition(
        self, src_state: str, event: str, arguments: dict[str, str], within: float
    ) -> tuple[pb.TransitionReply, str]:
        """The reply, and the process's explanation when it is not ``ok``; deadline ``within`` s."""
        request = pb.TransitionRequest(
            srcState=src_state,
            transitionEvent=event,
            arguments=[pb.ConfigEntry(key=k, value=v) for k, v in arguments.items()],
        )
        try:
            call = self._call("Transition")(request, timeout=within)
            reply: pb.TransitionReply = await call
            message = "" if reply.ok else _trailing_message(await call.trailing_metadata())
        except grpc.aio.AioRpcError as err:
            raise _failure(err, within) from None
        return reply, message

    def events(self) -> AsyncIterator[pb.EventStreamReply]:
        """The EventStream call (cancel it to stop)."""
        return self._call("EventStream")(_EVENT_STREAM)  # type: ignore[no-any-return]

    def states(self) -> AsyncIterator[pb.StateStreamReply] | None:
        """The StateStream call, or None when the flavour does not offer it."""
        if self.flavour not in wire.METHODS["StateStream"].flavours:
            return None
        return self._call("StateStream")(_STATE_STREAM)  # type: ignore[no-any-return]

    async def close(self) -> None:
        """Close the channel; any later call fails with CallFailed (no silent reopening)."""
        self._closed = True
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
            self._calls.clear()


_GET_STATE = pb.GetStateRequest()
_EVENT_STREAM = pb.EventStreamRequest()
_STATE_STREAM = pb.StateStreamRequest()
