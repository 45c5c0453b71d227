"""``o2ctl template list|expand``: the templates of a repository, and a dry-run expansion.

``expand`` shows what a workflow becomes before anything is deployed: the role tree with
its kinds, task classes, constraints, channels (bind addresses are assigned at CONFIGURE;
connect targets are concrete ``role.path:channel``) and each task's final variables. The
variable stack is the one environments use: the runtime store's global defaults and vars
under the templates' own, and ``-e key=value`` (or ``-e path.to.role:key=value``) on top.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from o2ctl.cli.common import (
    Output,
    OutputFormat,
    RepoOption,
    console,
    manager,
    parse_assignments,
    print_json,
    runtime_store,
)
from o2ctl.cli.tree import RICH_LIMIT, role_count, to_rich, workflow_branches, write_plain
from o2ctl.config import ConfigRepository, TemplateKind
from o2ctl.expansion import expand_for_environment
from o2ctl.templates import TemplateError
from o2ctl.templates.budget import DEFAULT_BUDGET, address_space_limit, no_cyclic_gc

app = typer.Typer(help="Workflow and task templates: list them, expand one (dry run).")

Kind = Annotated[str, typer.Option("--kind", "-k", help="workflow or task")]


def template_errors() -> tuple[type[BaseException], ...]:
    """Template errors map to exit code 3 (see ``main``)."""
    return (TemplateError,)


@app.command("list")
def list_(
    repo: RepoOption = None,
    kind: Kind = "workflow",
    output: Output = OutputFormat.text,
) -> None:
    """List the templates of one repository (--repo) or of every known one."""
    if kind not in ("workflow", "task"):
        raise typer.BadParameter(f"{kind!r}: expected workflow or task", param_hint="--kind")
    template_kind: TemplateKind = "workflow" if kind == "workflow" else "task"
    repos = manager()
    chosen: list[ConfigRepository] = (
        [repos.lookup(repo)] if repo else [repos.get(e.name) for e in repos.entries()]
    )
    rows = [
        {"repository": r.name, "revision": r.default_revision, "kind": kind, "name": name}
        for r in chosen
        for name in r.list_templates(template_kind)
    ]
    if output is OutputFormat.json:
        print_json(rows)
        return
    table = Table("repository", "revision", kind, box=None)
    for row in rows:
        table.add_row(str(row["repository"]), str(row["revision"] or ""), str(row["name"]))
    console.print(table)


@app.command("expand")
def expand(
    workflow: Annotated[str, typer.Argument(help="name, name@rev or repo/workflows/name@rev")],
    extra_vars: Annotated[
        list[str] | None,
        typer.Option("--extra-vars", "-e", help="key=value or path.to.role:key=value (repeatable)"),
    ] = None,
    repo: RepoOption = None,
    output: Output = OutputFormat.text,
    no_variables: Annotated[
        bool, typer.Option("--no-variables", help="leave the tasks' variables out of the tree")
    ] = False,
) -> None:
    """Expand a workflow and print the role tree (or its JSON) without deploying anything.

    The expansion runs under the default budget (roles, seconds, memory), with a hard
    memory cap on this process. A tree of more than 2,000 roles is written plainly: the
    text without colours, the JSON without indentation (both in seconds even for the
    largest iterator allowed).
    """
    user_vars = parse_assignments(extra_vars or [])
    repos = manager()
    with address_space_limit(DEFAULT_BUDGET):
        expanded = expand_for_environment(
            repos, runtime_store(), workflow, user_vars, repo=repos.lookup(repo) if repo else None
        )
    large = role_count(expanded) > RICH_LIMIT
    with no_cyclic_gc():
        if output is OutputFormat.json:
            print_json(expanded.to_dict(), compact=large)
            return
        tree = workflow_branches(expanded, variables=not no_variables)
        if large:
            write_plain(tree, sys.stdout)
        else:
            console.print(to_rich(tree))
