"""What a Control API request may hold, checked before any handler sees it.

Every field of every request is untrusted: an environment id of 4 MB, ten thousand
variables, a variable without a name, bytes that are no protobuf at all. The
``LimitsInterceptor`` takes over decoding (the handler gets raw bytes from gRPC) so that a
malformed body is answered INVALID_ARGUMENT saying so, instead of gRPC's UNKNOWN, then
checks each field against the limits below and answers INVALID_ARGUMENT naming the field,
the size and the limit. Only a valid request reaches the servicer.

The server's receive limit (``MAX_RECEIVE_BYTES``) is set deliberately above the largest
valid request (``MAX_VARS_BYTES`` of variables and a few short strings), so that an
oversized *field* is refused here by name; a message beyond even that is refused by gRPC
itself (RESOURCE_EXHAUSTED) before it is read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import DecodeError, Message

MAX_ID = 128  # environment and task ids are 11 characters (o2ctl.core.ids)
MAX_TEXT = {"workflowTemplate": 1024, "pathSpec": 1024, "repoPattern": 256, "id": MAX_ID}
ID_FIELDS = ("envId", "taskId", "taskIds")
MAX_OTHER_TEXT = 4096
MAX_ITEMS = 10_000  # entries of a repeated field
MAX_VARS = 1_000
MAX_VAR_NAME = 256
MAX_VAR_VALUE = 1 << 20
MAX_VARS_BYTES = 4 << 20
MAX_RECEIVE_BYTES = 8 << 20
SERVER_OPTIONS = (("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),)


class Invalid(Exception):
    """A request field over its limit (the message names field, size and limit)."""


def _limit(field: str) -> int:
    return MAX_ID if field in ID_FIELDS else MAX_TEXT.get(field, MAX_OTHER_TEXT)


def _text(where: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise Invalid(f"{where} is {len(value)} characters long (the limit is {limit})")


def _vars(where: str, values: Any) -> None:
    if len(values) > MAX_VARS:
        raise Invalid(f"{where} has {len(values)} entries (the limit is {MAX_VARS})")
    total = 0
    for key, value in values.items():
        if not str(key).strip():
            raise Invalid(f"{where} has an empty variable name (expected KEY or path:KEY)")
        _text(f"{where} name {key[:40]!r}", key, MAX_VAR_NAME)
        _text(f"{where}[{key!r}]", value, MAX_VAR_VALUE)
        total += len(key) + len(value)
    if total > MAX_VARS_BYTES:
        raise Invalid(f"{where} hold {total} characters in all (the limit is {MAX_VARS_BYTES})")


def check(request: Message) -> None:
    """Raise ``Invalid`` for the first field of ``request`` over its limit."""
    kind = type(request).__name__
    for descriptor, value in request.ListFields():
        name, where = descriptor.name, f"{kind}.{descriptor.name}"
        if descriptor.message_type is not None and descriptor.message_type.GetOptions().map_entry:
            _vars(where, value)
        elif descriptor.type == descriptor.TYPE_STRING and isinstance(value, str):
            _text(where, value, _limit(name))
        elif descriptor.type == descriptor.TYPE_STRING:  # a repeated string
            if len(value) > MAX_ITEMS:
                raise Invalid(f"{where} has {len(value)} entries (the limit is {MAX_ITEMS})")
            for item in value:
                _text(f"{where} entry", item, _limit(name))


def _decode(deserializer: Callable[[bytes], Any], raw: bytes, method: str) -> Any:
    try:
        request = deserializer(raw)
    except (DecodeError, ValueError, TypeError) as error:
        raise Invalid(f"malformed request body for {method}: {error}") from None
    check(request)
    return request


class LimitsInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Decodes and checks every request; INVALID_ARGUMENT, naming the field, when wrong."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or handler.request_streaming or handler.request_deserializer is None:
            return handler
        method = str(details.method).rsplit("/", 1)[-1]
        return _checked(handler, method)


def _checked(handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
    deserializer = handler.request_deserializer

    async def unary(raw: bytes, context: grpc.aio.ServicerContext) -> Any:
        try:
            request = _decode(deserializer, raw, method)
        except Invalid as invalid:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(invalid))
        return await handler.unary_unary(request, context)

    async def stream(raw: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        try:
            request = _decode(deserializer, raw, method)
        except Invalid as invalid:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(invalid))
        async for reply in handler.unary_stream(request, context):
            yield reply

    serializer = {"response_serializer": handler.response_serializer}
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(stream, **serializer)
    return grpc.unary_unary_rpc_method_handler(unary, **serializer)
