"""The ``o2ctl`` command: the root typer app, its command groups, and error handling.

Each command group lives in its own module (``template``, ``repo``, ``config``, and later
``env``, ``task``, ``node``) exposing a typer ``app``; ``GROUPS`` mounts them. ``main``
runs the app in non-standalone mode so that every failure passes through one place that
maps it to an exit code and prints it as one line (see ``common``).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import typer

from o2ctl.cli import config, env, node, repo, runs, system, task, template, webconsole
from o2ctl.cli.common import EXIT_CONFIG, EXIT_CONTROL, EXIT_OTHER, EXIT_USAGE, print_error
from o2ctl.config import ConfigError, TemplateNotFound

app = typer.Typer(
    name="o2ctl",
    help="Control O2-style data processing workflows on Ray.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)

GROUPS: list[tuple[str, typer.Typer]] = [
    ("env", env.app),
    ("role", env.role_app),
    ("task", task.app),
    ("node", node.app),
    ("template", template.app),
    ("repo", repo.app),
    ("config", config.app),
    ("runs", runs.app),
]


@app.callback()
def _root(
    endpoint: str | None = typer.Option(
        None, "--endpoint", help="reach the system over its Control API (HOST:PORT)"
    ),
    token: str | None = typer.Option(None, "--token", help="Control API token"),
) -> None:
    """Control O2-style data processing workflows on Ray."""
    system.remote_endpoint.update(endpoint=endpoint, token=token)


for _name, _group in GROUPS:
    app.add_typer(_group, name=_name, no_args_is_help=True)
for _command in (system.up, system.down, system.demo, system.status, system.doctor):
    app.command()(_command)
app.command()(webconsole.console)


def user_errors() -> tuple[type[BaseException], ...]:
    """Errors that are the user's templates or configuration (exit 3), not our bugs."""
    from o2ctl.core.errors import InvalidWorkflow

    return (ConfigError, TemplateNotFound, InvalidWorkflow, *template.template_errors())


def control_errors() -> tuple[type[BaseException], ...]:
    """Operations the control system refused or that failed (exit 4), message included."""
    from o2ctl.core.errors import ControlError

    return (ControlError, LookupError)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script passes it to ``sys.exit``)."""
    args = list(argv) if argv is not None else None
    try:
        result = app(args=args, prog_name="o2ctl", standalone_mode=False)
    except typer.Abort:
        print_error("aborted")
        return EXIT_OTHER
    except user_errors() as e:
        _debug_traceback()
        print_error(str(e))
        return EXIT_CONFIG
    except control_errors() as e:
        _debug_traceback()
        print_error(str(e))
        return EXIT_CONTROL
    except Exception as e:
        if _is_click_error(e):
            return _usage_error(e)
        _debug_traceback()  # one line for the operator; O2CTL_DEBUG=1 for the traceback
        print_error(f"{type(e).__name__}: {e}")
        return EXIT_OTHER
    return result if isinstance(result, int) else 0


def _is_click_error(error: Exception) -> bool:
    """Typer's (vendored) click errors, recognised by shape rather than by a private import."""
    return callable(getattr(error, "format_message", None)) and isinstance(
        getattr(error, "exit_code", None), int
    )


def _usage_error(exception: Exception) -> int:
    error: Any = exception  # a click exception, as checked by _is_click_error
    message = str(error.format_message()).strip()
    if type(error).__name__ == "NoArgsIsHelpError":
        if message:  # the help text (typer's rich help prints itself and leaves this empty)
            sys.stderr.write(message + "\n")
        return EXIT_USAGE
    ctx = getattr(error, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    print_error(message + hint)
    return error.exit_code if isinstance(error.exit_code, int) and error.exit_code else EXIT_USAGE


def _debug_traceback() -> None:
    if os.environ.get("O2CTL_DEBUG"):
        traceback.print_exc(file=sys.stderr)
