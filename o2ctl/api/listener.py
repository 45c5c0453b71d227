"""The listening side of the Control API: port, TLS, the token check, a clean stop.

``start_server`` puts the servicer (``server.ControlServicer``) behind the token
interceptor and the request limits (``limits``: malformed or oversized fields are refused
before any handler runs) on ``host:port`` (port 0: a free one, reported back), with TLS
when given a certificate and key; ``stop_server`` first ends open event streams (so subscribers see
their stream end with OK), then stops, giving calls in flight a grace period. Used by the
``ControlApiActor``, and directly by tests that need a server in their own event loop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import grpc

from o2ctl.api._gen import o2control_pb2_grpc as pb_grpc
from o2ctl.api._gen import o2ctl_pb2_grpc
from o2ctl.api.auth import TokenInterceptor, server_credentials
from o2ctl.api.limits import SERVER_OPTIONS, LimitsInterceptor
from o2ctl.api.o2ctlservice import O2CtlServicer
from o2ctl.api.server import ControlServicer

log = logging.getLogger("o2ctl.api")


@dataclass
class RunningServer:
    server: grpc.aio.Server
    servicer: ControlServicer
    host: str
    port: int
    tls: bool

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


async def start_server(
    controller: Any,
    token: str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    tls_cert: str | None = None,
    tls_key: str | None = None,
) -> RunningServer:
    """Serve the Control API for ``controller`` on ``host:port`` (0: a free port)."""
    if bool(tls_cert) != bool(tls_key):
        raise ValueError("Control API TLS needs both a certificate and a key file")
    servicer = ControlServicer(controller)
    server = grpc.aio.server(
        interceptors=[TokenInterceptor(token), LimitsInterceptor()], options=SERVER_OPTIONS
    )
    pb_grpc.add_ControlServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
    o2ctl_pb2_grpc.add_O2CtlServicer_to_server(  # type: ignore[no-untyped-call]
        O2CtlServicer(controller, servicer.closing), server
    )
    address = f"{host}:{port}"
    if tls_cert and tls_key:
        bound = server.add_secure_port(address, server_credentials(tls_cert, tls_key))
    else:
        bound = server.add_insecure_port(address)
    if bound == 0:
        raise OSError(f"Control API: cannot listen on {address}")
    await server.start()
    log.info("Control API on %s:%d (tls %s)", host, bound, bool(tls_cert))
    return RunningServer(server, servicer, host, bound, bool(tls_cert))


async def stop_server(running: RunningServer, grace: float = 2.0) -> None:
    """End open event streams cleanly, then stop (calls in flight get ``grace`` seconds)."""
    running.servicer.closing.set()
    await running.server.stop(grace)
