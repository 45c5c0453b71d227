"""The OCC library: makes any Python program a direct-mode process AliECS-style.

Python's counterpart of AliECS's C++ OCC library. A program hands its ``Handlers`` to
``run`` and is then controlled over OCC (protobuf flavour) on the port the controller gave
it:

    from occ.library import Handlers, run

    def configure(arguments: dict[str, str]) -> None: ...
    def iterate() -> bool: ...   # one unit of work while RUNNING; False ends the run

    sys.exit(run(Handlers(configure=configure, iterate=iterate)))

The port comes from ``OCC_CONTROL_PORT`` (it wins) or ``--control-port N``. The process
keeps serving until the EXIT event (state DONE) or SIGTERM/SIGINT, then closes its streams
cleanly, stops the server and returns exit code 0. The state machine itself is in
``occ.library_machine``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Mapping, Sequence

import grpc

from occ.endpoint import MismatchStyle, bound_port, serve, shutdown
from occ.library_machine import LEGAL_FROM, TRANSITIONS, Handlers, OccMachine

__all__ = [
    "LEGAL_FROM",
    "TRANSITIONS",
    "ControlPortError",
    "Handlers",
    "OccMachine",
    "control_port",
    "run",
]

PORT_ENV = "OCC_CONTROL_PORT"
PORT_OPTION = "--control-port"


class ControlPortError(ValueError):
    """The process was given no usable control port."""


def control_port(argv: Sequence[str], env: Mapping[str, str] | None = None) -> int:
    """The control port: ``OCC_CONTROL_PORT`` if set, else ``--control-port N`` in ``argv``."""
    env = os.environ if env is None else env
    raw, source = env.get(PORT_ENV), f"${PORT_ENV}"
    if not raw:
        raw, source = _option(argv, PORT_OPTION), PORT_OPTION
    if not raw:
        raise ControlPortError(f"no control port: set {PORT_ENV} or pass {PORT_OPTION} N")
    try:
        port = int(raw)
    except ValueError:
        raise ControlPortError(f"{source}={raw!r} is not a port number") from None
    if not 0 <= port < 65536:
        raise ControlPortError(f"{source}={port} is out of the port range")
    return port


def _option(argv: Sequence[str], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


async def serve_machine(
    machine: OccMachine, port: int, *, host: str = "127.0.0.1"
) -> grpc.aio.Server:
    """Serve ``machine`` the way the OCC library does (protobuf, refusals as ``ok=false``)."""
    return await serve(machine, port, "protobuf", host=host, mismatch_style=MismatchStyle.OK_FALSE)


async def run_async(handlers: Handlers, port: int, *, host: str = "127.0.0.1") -> int:
    """Serve until EXIT or SIGTERM/SIGINT; return the process exit code (0)."""
    machine = OccMachine(handlers)
    server = await serve_machine(machine, port, host=host)
    sys.stderr.write(f"occ: pid {os.getpid()} serving OCC on {host}:{bound_port(server)}\n")
    loop = asyncio.get_running_loop()
    signalled = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, signalled.set)
    done = asyncio.ensure_future(machine.wait_done())
    killed = asyncio.ensure_future(signalled.wait())
    try:
        await asyncio.wait((done, killed), return_when=asyncio.FIRST_COMPLETED)
        if not done.done():
            await machine.terminate()
    finally:
        for waiter in (done, killed):
            waiter.cancel()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        machine.close()
        await shutdown(server, grace=1.0)
    return 0


def run(handlers: Handlers, argv: Sequence[str] | None = None, *, host: str = "127.0.0.1") -> int:
    """Run a direct-mode process with ``handlers``; returns its exit code."""
    port = control_port(sys.argv[1:] if argv is None else argv)
    return asyncio.run(run_async(handlers, port, host=host))
