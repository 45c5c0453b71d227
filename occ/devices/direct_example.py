"""``o2ctl-direct-example``: a direct-mode process built on the OCC library.

It does nothing useful, but it does it the way a real direct-mode process does, and it can
be made to misbehave on purpose. Tests and the task actors use it as a real process:

* every handler call goes to stdout as one JSON line ``{"handler": ..., "arguments":
  {...}}``, so a test can check what the process was given;
* ``--fail-in HANDLER`` makes that handler (or ``iterate``) raise;
* ``--iterations N`` ends each run by itself after N iterations (END_OF_STREAM);
* ``--iterate-interval S`` sets the pace of the run loop;
* ``--startup-delay S`` delays the control server (a slow starter).

Control port: ``OCC_CONTROL_PORT`` or ``--control-port N``. Unknown options are ignored,
as a controller may append its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable, Sequence

from occ.library import Handlers, control_port, run_async

HANDLER_NAMES = ("configure", "reset", "start", "stop", "pause", "resume", "exit", "iterate")


class ExampleFailure(RuntimeError):
    """Raised on purpose by the handler named in ``--fail-in``."""


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="o2ctl-direct-example", description=__doc__)
    parser.add_argument("--control-port", type=int, default=None)
    parser.add_argument("--fail-in", choices=HANDLER_NAMES, default=None)
    parser.add_argument("--iterations", type=int, default=0, help="0: run until STOP")
    parser.add_argument("--iterate-interval", type=float, default=0.01)
    parser.add_argument("--startup-delay", type=float, default=0.0)
    options, _unknown = parser.parse_known_args(list(argv))
    return options


def report(handler: str, arguments: dict[str, str]) -> None:
    line = json.dumps({"handler": handler, "arguments": arguments}, sort_keys=True)
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Example:
    """The handlers, with a count of iterations in the current run."""

    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.done_in_run = 0

    def handler(self, name: str) -> Callable[[dict[str, str]], None]:
        def handle(arguments: dict[str, str]) -> None:
            report(name, arguments)
            if name == "start":
                self.done_in_run = 0
            if self.options.fail_in == name:
                raise ExampleFailure(f"{name} failed on purpose (--fail-in {name})")

        return handle

    async def iterate(self) -> bool:
        if self.options.fail_in == "iterate":
            raise ExampleFailure("iterate failed on purpose (--fail-in iterate)")
        await asyncio.sleep(self.options.iterate_interval)
        self.done_in_run += 1
        limit = self.options.iterations
        if limit and self.done_in_run >= limit:
            report("iterate", {"iterations": str(self.done_in_run)})
            return False
        return True

    def handlers(self) -> Handlers:
        named = {n: self.handler(n) for n in HANDLER_NAMES if n != "iterate"}
        return Handlers(**named, iterate=self.iterate)


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    options = parse(args)
    port = control_port(args)
    if options.startup_delay > 0:
        time.sleep(options.startup_delay)  # before any event loop exists: nothing to block
    return asyncio.run(run_async(Example(options).handlers(), port))


if __name__ == "__main__":
    sys.exit(main())
