"""The OCC server endpoint: one gRPC service in front of anything ``Controllable``.

Direct-mode processes (``occ.library``) and FairMQ-style devices (``occ.fairmq``) both keep
their own state machine and expose it through the small ``Controllable`` protocol. This
module turns OCC calls into calls on it: GetState → ``current_state``/``pid``, Transition →
``transition``, EventStream/StateStream → the ``subscribe_*`` iterators. Both wire
flavours (``occ.wire``) are served by the same handlers, each mounted on its own paths.

A refused transition (wrong ``srcState``, or an event not allowed) comes back as a
``TransitionResult`` with a ``refusal``. How that looks on the wire depends on what is
being imitated (aliecs.md §3), so it's a parameter of ``serve``:

* ``OK_FALSE`` (OCC library): a normal reply, ``ok=false``, state unchanged.
* ``INVALID_ARGUMENT`` (protobuf FairMQ plugin): status INVALID_ARGUMENT "…state mismatch…".
* ``CANCELLED`` (JSON FairMQ plugin): an empty CANCELLED status.

An event that isn't allowed (``Refusal.NOT_ALLOWED``) gets ``ok=false`` under OK_FALSE.
Under either plugin style it gets INVALID_ARGUMENT with the result's message, which is what
both plugins answer for an unknown transition name.

A non-empty ``TransitionResult.message`` (e.g. the error a handler raised) goes back in the
trailing metadata key ``o2ctl-message``. Real clients ignore it, so the wire stays
compatible, and our client puts it in its errors.

Streams end cleanly: when the target's iterator ends, and at ``shutdown`` (which finishes
every open stream with status OK before stopping the server).
"""

from __future__ import annotations

import asyncio
import enum
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

import grpc

from occ import wire
from occ._gen import occ_pb2 as pb

MESSAGE_KEY = "o2ctl-message"
"""Trailing-metadata key carrying the explanation of a failed or refused transition."""

T = TypeVar("T")


class Refusal(enum.Enum):
    STATE_MISMATCH = "state mismatch"
    NOT_ALLOWED = "not allowed"


@dataclass(frozen=True)
class TransitionResult:
    """What a ``Controllable`` answers to one transition request."""

    state: str
    ok: bool
    trigger: int = pb.EXECUTOR  # occ_pb StateChangeTrigger value
    transition_event: str = ""
    refusal: Refusal | None = None
    message: str = ""


@runtime_checkable
class Controllable(Protocol):
    """Something with an OCC-visible state machine."""

    def current_state(self) -> str: ...

    def pid(self) -> int: ...

    async def transition(
        self, src_state: str, event: str, arguments: dict[str, str]
    ) -> TransitionResult: ...

    def subscribe_states(self) -> AsyncIterator[tuple[int, str]]:
        """(StateType value, state) on every change, starting with the current state."""
        ...

    def subscribe_events(self) -> AsyncIterator[int]:
        """DeviceEventType values as they happen."""
        ...


class MismatchStyle(enum.Enum):
    OK_FALSE = "ok_false"  # OCC library
    INVALID_ARGUMENT = "invalid_argument"  # protobuf FairMQ plugin
    CANCELLED = "cancelled"  # JSON FairMQ plugin


DEFAULT_STYLE: dict[wire.Flavour, MismatchStyle] = {
    "protobuf": MismatchStyle.INVALID_ARGUMENT,
    "json": MismatchStyle.CANCELLED,
}
"""Without an explicit style, a flavour behaves like the FairMQ plugin speaking it."""

_closing: weakref.WeakKeyDictionary[Any, asyncio.Event] = weakref.WeakKeyDictionary()
_ports: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()


class _Handlers:
    """The four OCC methods, implemented once for both flavours."""

    def __init__(self, target: Controllable, style: MismatchStyle, closing: asyncio.Event):
        self.target = target
        self.style = style
        self.closing = closing

    async def get_state(self, request: pb.GetStateRequest, context: Any) -> pb.GetStateReply:
        return pb.GetStateReply(state=self.target.current_state(), pid=self.target.pid())

    async def transition(self, request: pb.TransitionRequest, context: Any) -> pb.TransitionReply:
        arguments = {a.key: a.value for a in request.arguments}
        result = await self.target.transition(request.srcState, request.transitionEvent, arguments)
        if result.refusal is not None and self.style is not MismatchStyle.OK_FALSE:
            await self._abort_refusal(result, request, context)
        if result.message:
            context.set_trailing_metadata(((MESSAGE_KEY, result.message),))
        return pb.TransitionReply(
            trigger=result.trigger,  # type: ignore[arg-type]
            state=result.state,
            transitionEvent=result.transition_event or request.transitionEvent,
            ok=result.ok,
        )

    async def _abort_refusal(
        self, result: TransitionResult, request: pb.TransitionRequest, context: Any
    ) -> None:
        if result.refusal is Refusal.STATE_MISMATCH:
            if self.style is MismatchStyle.CANCELLED:
                await context.abort(grpc.StatusCode.CANCELLED, "")
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "transition not possible: state mismatch: source: "
                f"{request.srcState} current: {result.state}",
            )
        reason = result.message or (
            f"transition {request.transitionEvent!r} not allowed in state {result.state}"
        )
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, reason)

    async def event_stream(
        self, request: pb.EventStreamRequest, context: Any
    ) -> AsyncIterator[pb.EventStreamReply]:
        async for kind in self._until_closing(self.target.subscribe_events()):
            yield pb.EventStreamReply(event=pb.DeviceEvent(type=kind))  # type: ignore[arg-type]

    async def state_stream(
        self, request: pb.StateStreamRequest, context: Any
    ) -> AsyncIterator[pb.StateStreamReply]:
        async for kind, state in self._until_closing(self.target.subscribe_states()):
            yield pb.StateStreamReply(type=kind, state=state)  # type: ignore[arg-type]

    async def _until_closing(self, source: AsyncIterator[T]) -> AsyncIterator[T]:
        """Items of ``source`` until it ends or the server is shutting down."""
        closing = asyncio.ensure_future(self.closing.wait())
        step: asyncio.Future[T] | None = None
        try:
            while True:
                step = asyncio.ensure_future(anext(source))
                await asyncio.wait((step, closing), return_when=asyncio.FIRST_COMPLETED)
                if not step.done():
                    return
                try:
                    item = step.result()
                except StopAsyncIteration:
                    return
                yield item
        finally:
            # Also reached when the client goes away (the handler task is cancelled).
            for pending in (step, closing):
                if pending is not None and not pending.done():
                    pending.cancel()
                    await asyncio.gather(pending, return_exceptions=True)
            aclose = getattr(source, "aclose", None)
            if aclose is not None:
                await aclose()


_Unary = Callable[[Any, Any], Awaitable[Any]]


class _Router(grpc.GenericRpcHandler):  # type: ignore[misc]
    """Routes the wire paths of one flavour to the shared handlers."""

    def __init__(self, flavour: wire.Flavour, handlers: _Handlers):
        by_name: dict[str, Callable[..., Any]] = {
            "GetState": handlers.get_state,
            "Transition": handlers.transition,
            "EventStream": handlers.event_stream,
            "StateStream": handlers.state_stream,
        }
        encode = wire.serializer(flavour)
        self._routes: dict[str, Any] = {}
        for path, method in wire.paths(flavour).items():
            make = (
                grpc.unary_stream_rpc_method_handler
                if method.streaming
                else grpc.unary_unary_rpc_method_handler
            )
            self._routes[path] = make(
                by_name[method.name],
                request_deserializer=wire.deserializer(flavour, method.request),
                response_serializer=encode,
            )

    def service(self, handler_call_details: Any) -> Any:
        return self._routes.get(handler_call_details.method)


async def serve(
    target: Controllable,
    port: int,
    flavour: Literal["protobuf", "json"],
    *,
    host: str = "127.0.0.1",
    mismatch_style: MismatchStyle | None = None,
) -> grpc.aio.Server:
    """Start serving OCC for ``target`` on ``host:port`` (port 0: any free port).

    The bound port is ``bound_port(server)``. Stop with ``shutdown(server)`` so that open
    streams end with OK rather than CANCELLED.
    """
    closing = asyncio.Event()
    handlers = _Handlers(target, mismatch_style or DEFAULT_STYLE[flavour], closing)
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((_Router(flavour, handlers),))
    address = f"{host}:{port}"
    bound = server.add_insecure_port(address)
    if bound == 0:
        raise OSError(f"OCC endpoint: cannot listen on {address}")
    await server.start()
    _closing[server] = closing
    _ports[server] = bound
    return server


def bound_port(server: grpc.aio.Server) -> int:
    """The TCP port ``server`` (from ``serve``) listens on."""
    return _ports[server]


async def shutdown(server: grpc.aio.Server, grace: float = 1.0) -> None:
    """End every open stream cleanly, then stop ``server`` (in-flight calls get ``grace``)."""
    closing = _closing.get(server)
    if closing is not None:
        closing.set()
    await server.stop(grace)
