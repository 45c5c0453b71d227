"""Launching a FairMQ-style device: its command line, and the process from start to exit.

A controller launches a FairMQ device with ``--id <taskId> -S <plugin dir> -P OCClite
--color false --control-port N`` appended to the command; ``OCC_CONTROL_PORT`` in the
environment wins over ``--control-port``. ``-P OCClite`` serves OCC in the JSON flavour,
``-P OCC`` in protobuf. Without ``-P`` the device runs in FairMQ's ``static`` control mode:
straight to RUNNING on the channels given by ``--channel-config``, and out when the run
loop ends or a signal comes.

As in FairMQ, every option becomes a configuration property (``--max-messages 5`` is
property ``max-messages``), which a CONFIGURE may override, and an unknown option is an
error: the process exits with status 1 naming it. The plugin directory of ``-S`` is
accepted and not searched (the plugin is built in).

Exit status: 0 after END (or a signal), 1 after ERROR or a bad command line. On ERROR the
process stays reachable for :data:`ERROR_LINGER_S` so that a poller can read the state.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import Literal

from occ.endpoint import bound_port, serve, shutdown
from occ.fairmq import control
from occ.fairmq.channels import ChannelConfigError, Properties, parse_channel_config
from occ.fairmq.device import STATE_LEVEL, Device
from occ.fairmq.plugin import OccPlugin

log = logging.getLogger("fairmq")

PLUGINS: dict[str, Literal["protobuf", "json"]] = {"OCClite": "json", "OCC": "protobuf"}
PORT_ENV = "OCC_CONTROL_PORT"
HOST_ENV = "OCC_CONTROL_HOST"
ERROR_LINGER_S = 0.5
SEVERITIES = {
    "nolog": logging.CRITICAL + 10,
    "fatal": logging.CRITICAL,
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "state": STATE_LEVEL,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": logging.DEBUG,
}
GENERIC = (
    # (option, default, help): FairMQ's own device options, kept as properties.
    ("transport", "zeromq", "transport of channels without their own (zeromq)"),
    ("network-interface", "default", "network interface for auto-bound channels"),
    ("io-threads", "1", "number of ZeroMQ I/O threads"),
    ("session", "default", "session name"),
    ("rate", "0", "rate of the conditional run loop in Hz (0: unthrottled)"),
    ("init-timeout", "120", "seconds to wait for the configuration"),
    ("hang-on", "", "testing: never answer this FairMQ transition (fault injection)"),
    ("verbosity", "medium", "log verbosity"),
    ("severity", "info", "log severity: " + ", ".join(SEVERITIES)),
    ("color", "true", "colored log output (true/false)"),
    ("shm-segment-size", "2000000000", "shared memory segment size (unused)"),
    ("fail-on", "", "o2ctl test aid: fail with ERROR at this FairMQ transition"),
    ("count-file", "", "o2ctl: write the messages handled per run to this file"),
)


class UsageError(Exception):
    """A command line FairMQ would reject."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser(device_cls: type[Device], prog: str) -> argparse.ArgumentParser:
    parser = _Parser(prog=prog, allow_abbrev=False, description=device_cls.__doc__)
    parser.add_argument("--id", required=True, help="device id (the task id)")
    parser.add_argument("-S", "--plugin-search-path", nargs="+", action="extend", default=[])
    parser.add_argument("-P", "--plugin", action="append", default=[], help="OCClite or OCC")
    parser.add_argument("--control-port", help=f"OCC port ({PORT_ENV} wins)")
    parser.add_argument("--control", default="static", help="control without plugin: static")
    parser.add_argument("--channel-config", nargs="+", action="extend", default=[])
    for name, default, text in GENERIC:
        parser.add_argument(f"--{name}", dest=name, default=default, help=text)
    for option in device_cls.OPTIONS:
        flags = [f"--{option.name}", *(f"--{a}" for a in option.aliases)]
        parser.add_argument(*flags, dest=option.name, default=option.default, help=option.help)
    return parser


def parse(
    device_cls: type[Device], argv: Sequence[str], prog: str
) -> tuple[Device, Literal["protobuf", "json"] | None, int]:
    """The device, the OCC flavour (None: static control) and the control port."""
    args = vars(build_parser(device_cls, prog).parse_args(list(argv)))
    plugins = [p for value in args["plugin"] for p in value.split(",") if p]
    unknown = [p for p in plugins if p not in PLUGINS]
    if unknown or len(plugins) > 1:
        raise UsageError(f"-P {','.join(plugins)}: expected exactly one of {', '.join(PLUGINS)}")
    flavour = PLUGINS[plugins[0]] if plugins else None
    if flavour is None and args["control"] != "static":
        raise UsageError(f"--control {args['control']}: only 'static' is supported without -P")
    port = _control_port(args["control_port"]) if flavour else 0
    properties: Properties = {"id": args["id"]}
    for name, *_ in GENERIC:
        properties[name] = args[name]
    for option in device_cls.OPTIONS:
        properties[option.name] = args[option.name]
    try:
        properties.update(parse_channel_config(args["channel_config"]))
    except ChannelConfigError as err:
        raise UsageError(str(err)) from err
    return device_cls(args["id"], properties), flavour, port


def _control_port(option: str | None) -> int:
    raw = os.environ.get(PORT_ENV) or option
    if not raw:
        raise UsageError(f"no control port: give --control-port N or set {PORT_ENV}")
    try:
        port = int(raw)
    except ValueError:
        raise UsageError(f"control port {raw!r} is not a number") from None
    if not 0 <= port <= 65535:
        raise UsageError(f"control port {port} out of range")
    return port


def setup_logging(severity: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(levelname)s] %(message)s", "%H:%M:%S"))
    log.handlers[:] = [handler]
    log.setLevel(SEVERITIES.get(severity, logging.INFO))
    log.propagate = False


async def run_device(device: Device, flavour: Literal["protobuf", "json"] | None, port: int) -> int:
    """Serve ``device`` until it exits; the process exit status."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, functools.partial(_on_signal, device, sig))
    server = None
    try:
        if flavour is None:
            driver = asyncio.create_task(control.run_static(device))
        else:
            host = os.environ.get(HOST_ENV, "127.0.0.1")
            server = await serve(OccPlugin(device), port, flavour, host=host)
            log.info("OCC plugin (%s) listening on %s:%d", flavour, host, bound_port(server))
        await device.ended.wait()
        if device.error_message:
            await asyncio.sleep(ERROR_LINGER_S)
        if flavour is None:
            await asyncio.gather(driver, return_exceptions=True)
    finally:
        if server is not None:
            await shutdown(server, grace=1.0)
        await device.close()
    return 1 if device.error_message else 0


def _on_signal(device: Device, sig: signal.Signals) -> None:
    log.info("caught signal %d, shutting down", sig)
    asyncio.get_running_loop().create_task(control.shut_down(device))


def main_for(device_cls: type[Device], prog: str) -> None:
    """Console-script entry point of a device class."""
    try:
        device, flavour, port = parse(device_cls, sys.argv[1:], prog)
    except UsageError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        sys.exit(1)
    setup_logging(str(device.properties.get("severity", "info")))
    sys.exit(asyncio.run(run_device(device, flavour, port)))
