"""``o2ctl repo add|list|remove|refresh|default``: the template repositories o2ctl knows.

A thin shell over ``RepositoryManager``: the list lives in the state directory, the
built-in repository (the project's ``workflows/``) is always there, and one repository is
the default that bare template names resolve in.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from o2ctl.cli.common import Output, OutputFormat, console, manager, print_json

app = typer.Typer(help="Template repositories: add, list, remove, refresh, choose the default.")

Name = Annotated[str, typer.Argument(help="repository name")]


@app.command("add")
def add(
    uri: Annotated[
        str, typer.Argument(help="file://DIR, a git URL (URL@REV), consul://HOST:PORT/PREFIX")
    ],
    name: Annotated[str | None, typer.Option("--name", help="name to refer to it by")] = None,
    revision: Annotated[
        str | None, typer.Option("--revision", help="default revision (git)")
    ] = None,
    default: Annotated[bool, typer.Option("--default", help="make it the default")] = False,
) -> None:
    """Add a repository (git ones are cloned now)."""
    repo = manager().add(uri, name=name, revision=revision, default=default)
    console.print(f"added repository {repo.name} ({repo.backend})")


@app.command("list")
def list_(output: Output = OutputFormat.text) -> None:
    """List the known repositories; the default one is marked."""
    repos = manager()
    default = repos.default_name()
    entries = repos.entries()
    if output is OutputFormat.json:
        print_json(
            [
                {"name": e.name, "uri": e.uri, "revision": e.revision, "default": e.name == default}
                for e in entries
            ]
        )
        return
    table = Table("", "name", "uri", "revision", box=None)
    for e in entries:
        table.add_row("*" if e.name == default else "", e.name, e.uri, e.revision or "")
    console.print(table)


@app.command("remove")
def remove(name: Name) -> None:
    """Forget a repository (the built-in one stays)."""
    entry = manager().remove(name)
    console.print(f"removed repository {entry.name}")


@app.command("refresh")
def refresh(
    name: Annotated[str | None, typer.Argument(help="repository name (default: all)")] = None,
) -> None:
    """Fetch the latest revisions of one repository or of all."""
    for refreshed in manager().refresh(name):
        console.print(f"refreshed {refreshed}")


@app.command("default")
def default(name: Name) -> None:
    """Make a repository the default one."""
    entry = manager().set_default(name)
    console.print(f"default repository is now {entry.name}")
