"""What every command group of the CLI shares: exit codes, output formats, the repositories.

Exit codes are part of the interface scripts rely on: 0 success, 2 a usage error (bad
option, malformed ``-e key=value``), 3 a template or configuration error (the message is
the error's own, naming file, line, role or repository), 4 an operation the control system
refused or that failed (no such environment, a transition not allowed, a task that
failed), 1 anything else. Errors are one
line on stderr, never a traceback (set ``O2CTL_DEBUG=1`` to get one).
"""

from __future__ import annotations

import json
import os
import sys
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console

from o2ctl.config import ConfigRepository, RepositoryManager, RuntimeStore, open_runtime_store

EXIT_OK = 0
EXIT_OTHER = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_CONTROL = 4

RUNTIME_ENV = "O2CTL_RUNTIME"

console = Console(highlight=False, width=None if sys.stdout.isatty() else 10_000)
"""stdout for people; when piped, lines are never wrapped or cut (scripts grep them)."""


class OutputFormat(StrEnum):
    """``--output``: for people (a tree or a table) or for scripts (JSON)."""

    text = "text"
    json = "json"


Output = Annotated[
    OutputFormat, typer.Option("--output", "-o", help="text for people, json for scripts")
]
RepoOption = Annotated[
    str | None,
    typer.Option("--repo", "-r", help="repository name or URI (default: the default repository)"),
]


def print_json(data: object, compact: bool = False) -> None:
    """JSON on stdout, as scripts want it (plain, no colour, one document).

    ``compact``: one line, no indentation (for very large documents: Python indents with
    its pure-Python encoder, five times slower than the compact C one).
    """
    if compact:
        sys.stdout.write(json.dumps(data, separators=(",", ":")) + "\n")
    else:
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=False) + "\n")


def print_error(message: str) -> None:
    """One line on stderr (newlines inside the message are folded)."""
    one_line = " | ".join(part.strip() for part in message.splitlines() if part.strip())
    sys.stderr.write(f"error: {one_line}\n")


def runtime_store(uri: str | None = None) -> RuntimeStore:
    """The runtime store: ``uri``, else ``$O2CTL_RUNTIME``, else files in the state directory."""
    return open_runtime_store(uri or os.environ.get(RUNTIME_ENV) or None)


def manager() -> RepositoryManager:
    """The repository manager over the state directory (``$O2CTL_STATE_DIR``)."""
    return RepositoryManager()


def repository(name_or_uri: str | None) -> ConfigRepository:
    """``--repo``: a remembered repository by name, a URI opened for this call, or the default."""
    repos = manager()
    return repos.lookup(name_or_uri) if name_or_uri else repos.get()


def parse_assignments(pairs: list[str], option: str = "-e") -> dict[str, str]:
    """``key=value`` strings (or JSON objects) into a mapping; malformed is a usage error."""
    values: dict[str, str] = {}
    for pair in pairs:
        if pair.lstrip().startswith("{"):
            values.update(_json_assignments(pair, option))
            continue
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{pair!r}: expected key=value", param_hint=option)
        values[key.strip()] = value
    return values


def _json_assignments(text: str, option: str) -> dict[str, str]:
    try:
        loaded = json.loads(text)
    except ValueError as e:
        raise typer.BadParameter(f"{text!r} is not a JSON object: {e}", param_hint=option) from e
    if not isinstance(loaded, dict):
        raise typer.BadParameter(f"{text!r}: expected a JSON object", param_hint=option)
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in loaded.items()}
