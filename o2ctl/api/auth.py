"""Who may call the Control API: a bearer token on every call, TLS when configured.

Every call must carry the metadata ``authorization: Bearer <token>``. The check is a server
interceptor, so no RPC handler can forget it: a call without the header, or with another
token, never reaches the servicer and ends with UNAUTHENTICATED and a message saying what
to send (never the token). Tokens are compared in constant time.

The token lives in ``<state dir>/api-token`` (mode 0600) on the host the API serves from,
so a local operator's CLI finds it without being told; remote clients are given it. TLS
is optional (a certificate and key file for the server, the CA file for clients); without
it the server is meant to stay bound to 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc

from o2ctl.config.durable import atomic_write, state_dir

TOKEN_FILE = "api-token"
HEADER = "authorization"
SCHEME = "Bearer "


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_path(directory: Path | None = None) -> Path:
    return (directory if directory is not None else state_dir()) / TOKEN_FILE


def write_token(token: str, directory: Path | None = None) -> Path:
    """Write the token for local clients; readable by its owner only."""
    path = token_path(directory)
    atomic_write(path, token + "\n")  # a fresh temporary file: created with mode 0600
    path.chmod(0o600)
    return path


def read_token(directory: Path | None = None) -> str:
    """The token a local server wrote, or an error saying where it was looked for."""
    path = token_path(directory)
    try:
        token = path.read_text().strip()
    except OSError as exc:
        raise PermissionError(
            f"no Control API token: cannot read {path} ({exc.strerror}); pass the token "
            "explicitly, or start the API on this host"
        ) from None
    if not token:
        raise PermissionError(f"no Control API token: {path} is empty")
    return token


def remove_token(token: str, directory: Path | None = None) -> None:
    """Remove the token file if it still holds ``token`` (a newer server's is left alone)."""
    path = token_path(directory)
    with contextlib.suppress(OSError):
        if path.read_text().strip() == token:
            path.unlink()


def bearer(token: str) -> tuple[tuple[str, str]]:
    """The call metadata a client sends."""
    return ((HEADER, SCHEME + token),)


def refusal(metadata: Any, token: str) -> str | None:
    """Why a call with this metadata is refused, or None when it carries ``token``."""
    sent = [v for k, v in (metadata or ()) if k.lower() == HEADER]
    if not sent:
        return (
            f"missing token: send the metadata '{HEADER}: Bearer <token>' (the token is "
            f"in {TOKEN_FILE} in the o2ctl state directory of the API's host)"
        )
    value = sent[-1] if isinstance(sent[-1], str) else sent[-1].decode(errors="replace")
    if not value.startswith(SCHEME):
        return f"malformed '{HEADER}' metadata: expected 'Bearer <token>'"
    if not hmac.compare_digest(value[len(SCHEME) :].strip().encode(), token.encode()):
        return "wrong token in the 'authorization' metadata"
    return None


class TokenInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Refuses, with UNAUTHENTICATED, every call that does not carry the token."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("the Control API needs a non-empty token")
        self._token = token

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        why = refusal(details.invocation_metadata, self._token)
        if handler is None or why is None:
            return handler
        return _denying(handler, why)


def _denying(handler: grpc.RpcMethodHandler, why: str) -> grpc.RpcMethodHandler:
    """A handler of the same shape as ``handler`` that only refuses."""

    async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, why)

    async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, why)
        yield  # pragma: no cover - abort raises; this only makes the function a generator

    codec = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.request_streaming:
        raise ValueError("the Control API has no client-streaming RPC")
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(stream, **codec)
    return grpc.unary_unary_rpc_method_handler(unary, **codec)


def server_credentials(cert_file: str, key_file: str) -> grpc.ServerCredentials:
    """TLS for the server from PEM files; an error names the file that could not be read."""
    return grpc.ssl_server_credentials([(_read(key_file), _read(cert_file))])


def channel_credentials(ca_file: str | None) -> grpc.ChannelCredentials:
    """TLS for a client; ``ca_file`` is the PEM to trust (None: the system's roots)."""
    return grpc.ssl_channel_credentials(_read(ca_file) if ca_file else None)


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise OSError(f"Control API TLS: cannot read {path}: {exc.strerror}") from None
