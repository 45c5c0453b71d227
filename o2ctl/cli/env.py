"""``o2ctl env create|list|show|control|destroy`` and ``o2ctl role query``: coconut's verbs.

A thin layer over the SDK. ``show -w`` prints the tree as coconut does, ``[STATE] name →
task id``; ``show -t`` the task table (id, class, host, pid, status, state). Every read
command takes ``--output json``. Refused or failed operations exit 4 with the control
system's own one-line message.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.tree import Tree

from o2ctl.cli.common import Output, OutputFormat, console, parse_assignments, print_json
from o2ctl.cli.system import Address, client
from o2ctl.progress import Step
from o2ctl.render import STATE_COLOURS

app = typer.Typer(help="Environments: create, list, show, control, destroy.")
role_app = typer.Typer(help="Roles of an environment.")

EnvId = Annotated[str, typer.Argument(help="environment id")]


def badge(state: str) -> str:
    return f"[bold {STATE_COLOURS.get(state, 'white')}][{state}][/]"


def env_tree(node: dict[str, Any], into: Tree | None = None) -> Tree:
    label = f"{badge(node.get('state', 'UNKNOWN'))} {node['name']}"
    if "task_id" in node:
        label += f" → {node['task_id']}"
    branch = Tree(label) if into is None else into.add(label)
    for child in node.get("children") or []:
        env_tree(child, branch)
    return branch


def task_table(tasks: list[dict[str, Any]]) -> Table:
    table = Table("task id", "class", "role", "host", "pid", "status", "state", box=None)
    for t in tasks:
        table.add_row(
            t["task_id"],
            t["task_class"],
            t["role_path"],
            t["host"],
            str(t["pid"]),
            t.get("status", ""),
            badge(t["state"]),
        )
    return table


@app.command("create")
def create(
    workflow: Annotated[str, typer.Option("--workflow", "-w", help="workflow template")],
    extra_vars: Annotated[
        list[str] | None,
        typer.Option("--extra-vars", "-e", help="key=value or path.to.role:key=value (repeatable)"),
    ] = None,
    no_configure: Annotated[bool, typer.Option("--no-configure", help="stop at DEPLOYED")] = False,
    reclaim: Annotated[
        bool, typer.Option("--reclaim", help="take async nodes (stopping their pilots) if needed")
    ] = False,
    address: Address = None,
    output: Output = OutputFormat.text,
) -> None:
    """Create an environment: DEPLOY then CONFIGURE (returns once CONFIGURED)."""
    user_vars = parse_assignments(extra_vars or [])
    c = client(address)
    cursor = _event_cursor(c)
    t0 = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def show(step: Step) -> None:
            if not tasks and output is not OutputFormat.json:  # the id, from the first second
                console.print(
                    f"environment [bold]{step.env_id}[/] is deploying {step.total} tasks "
                    f"(cancel with: o2ctl env destroy {step.env_id})"
                )
            if step.phase.startswith("RECLAIM"):
                if step.finished:
                    console.print(f"reclaimed async node {step.phase.split()[1]} (pilot stopped)")
                tasks.setdefault(step.phase, None)
                return
            if step.phase not in tasks:
                tasks[step.phase] = bar.add_task(
                    f"{step.phase.lower()} {step.env_id}", total=step.total
                )
            bar.update(tasks[step.phase], completed=step.done, total=step.total)

        env = c.create_environment(
            workflow,
            vars=user_vars,
            auto_configure=not no_configure,
            progress=show,
            reclaim=reclaim,
        )
    summary = env.summary()
    warnings = _creation_warnings(c, env.id, cursor)
    if output is OutputFormat.json:
        print_json({**summary, "warnings": warnings})
        return
    for warning in warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    console.print(
        f"environment [bold]{env.id}[/] {badge(summary['state'])}: "
        f"{summary['tasks']} tasks in {time.perf_counter() - t0:.1f}s"
    )


def _event_cursor(c: Any) -> int:
    """The newest event's sequence number, before a create (its warnings come after)."""
    if hasattr(c, "event_cursor"):  # over the Control API
        return int(c.event_cursor())
    from o2ctl.sdk import call

    return int(call(c.controller.last_event_seq.remote(), timeout=30))


def _creation_warnings(c: Any, env_id: str, cursor: int) -> list[str]:
    """What the expansion of ``env_id`` warned about (published as its first events)."""
    if hasattr(c, "warnings"):  # over the Control API
        return list(c.warnings(env_id, cursor))
    found = []
    for ev in c.events(after=cursor, timeout=0.2):
        warning = (ev.get("detail") or {}).get("warning")
        if ev.get("env_id") == env_id and warning:
            found.append(str(warning))
    return found


@app.command("list")
def list_(address: Address = None, output: Output = OutputFormat.text) -> None:
    """Every environment with its state, run number and task count."""
    envs = client(address).environments()
    if output is OutputFormat.json:
        print_json(envs)
        return
    table = Table("id", "workflow", "state", "run", "tasks", "detectors", box=None)
    for e in envs:
        table.add_row(
            e["env_id"],
            e["workflow"],
            badge(e["state"]),
            str(e["run_number"] or "-"),
            str(e["tasks"]),
            ",".join(e["detectors"]),
        )
    console.print(table)


@app.command("show")
def show(
    env_id: EnvId,
    tasks: Annotated[bool, typer.Option("--tasks", "-t", help="the task table")] = False,
    workflow: Annotated[bool, typer.Option("--workflow", "-w", help="the role tree")] = False,
    address: Address = None,
    output: Output = OutputFormat.text,
) -> None:
    """One environment: summary, and its tree (-w) and tasks (-t)."""
    env = client(address).environment(env_id)
    data: dict[str, Any] = {"summary": env.summary()}
    if workflow:
        data["tree"] = env.tree
    if tasks:
        data["tasks"] = env.tasks
    if output is OutputFormat.json:
        print_json(data)
        return
    s = data["summary"]
    console.print(
        f"environment [bold]{s['env_id']}[/] ({s['workflow']}) {badge(s['state'])} "
        f"run {s['run_number'] or '-'}; tasks {s['task_states']}"
    )
    if s.get("last_error"):
        console.print(f"last error: {s['last_error']}")
    if workflow:
        console.print(env_tree(data["tree"]))
    if tasks:
        console.print(task_table(data["tasks"]))


@app.command("control")
def control(
    env_id: EnvId,
    event: Annotated[str, typer.Option("--event", "-e", help="START_ACTIVITY, STOP_ACTIVITY, …")],
    address: Address = None,
    output: Output = OutputFormat.text,
) -> None:
    """Run one transition (CONFIGURE, START_ACTIVITY, STOP_ACTIVITY, RESET, GO_ERROR, RECOVER…)."""
    env = client(address).environment(env_id)
    t0 = time.perf_counter()
    with console.status(f"{event}…"):
        state = env.transition(event.upper())
    if output is OutputFormat.json:
        print_json(
            {
                "env_id": env_id,
                "event": event.upper(),
                "state": state,
                "run_number": env.run_number,
                "seconds": time.perf_counter() - t0,
            }
        )
        return
    console.print(
        f"{env_id}: {event.upper()} done in {time.perf_counter() - t0:.2f}s → {badge(state)}"
    )


@app.command("destroy")
def destroy(
    env_id: EnvId,
    keep_tasks: Annotated[bool, typer.Option("--keep-tasks", "-k")] = False,
    allow_in_running: Annotated[bool, typer.Option("--allow-in-running-state", "-a")] = False,
    force: Annotated[bool, typer.Option("--force", "-f")] = False,
    address: Address = None,
    output: Output = OutputFormat.text,
) -> None:
    """Tear an environment down (keeping its tasks for reuse with -k)."""
    result = client(address).environment(env_id).destroy(keep_tasks, allow_in_running, force)
    if output is OutputFormat.json:
        print_json(result)
        return
    console.print(
        f"environment {env_id} destroyed: {len(result['kept'])} task(s) kept idle, "
        f"{len(result['ended'])} ended"
    )


@app.command("modify")
def modify(
    env_id: EnvId,
    extra_vars: Annotated[
        list[str] | None,
        typer.Option("--extra-vars", "-e", help="key=value or path.to.role:key=value (repeatable)"),
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="role path to switch off (repeatable)")
    ] = None,
    include: Annotated[
        list[str] | None, typer.Option("--include", help="excluded role path to switch on again")
    ] = None,
    kill: Annotated[bool, typer.Option("--kill", help="end removed tasks (not kept idle)")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only show what would change")] = False,
    restart_run: Annotated[
        bool, typer.Option("--restart-run", help="stop the run, change, start a new run")
    ] = False,
    address: Address = None,
    output: Output = OutputFormat.text,
) -> None:
    """Change a live environment: the smallest change to what runs, nothing else touched."""
    user_vars = parse_assignments(extra_vars or [])
    env = client(address).environment(env_id)
    result = env.modify(
        vars=user_vars,
        exclude=exclude or [],
        include=include or [],
        kill=kill,
        dry_run=dry_run,
        restart_run=restart_run,
    )
    if output is OutputFormat.json:
        print_json(result)
        return
    console.print(diff_text(env_id, result))


def diff_text(env_id: str, d: dict[str, Any]) -> str:
    """The modify diff as an operator reads it."""
    lines = [
        f"environment {env_id}: "
        + ("would change (dry run)" if d.get("dry_run") else f"changed in {d['took_s']:.2f}s")
    ]
    lines += [f"  + {p}" for p in d["added"]]
    lines += [f"  - {p}" for p in d["removed"]]
    lines += [f"  ~ {p}: {', '.join(keys)}" for p, keys in d["changed"].items()]
    lines += [f"  ! {p}: restarted ({why})" for p, why in d["restarted"].items()]
    lines.append(f"  {d['untouched']} task(s) untouched")
    lines += [f"  blocked while RUNNING: {b}" for b in d.get("blocked_while_running", [])]
    if d.get("refused"):
        lines.append(f"  would be refused: {d['refused']}")
    if d.get("run_number") is not None:
        lines.append(f"  new run {d['run_number']}")
    lines += [f"  warning: {w}" for w in d.get("warnings", [])]
    return "\n".join(lines)


@role_app.command("query")
def role_query(
    env_id: EnvId,
    path: Annotated[str, typer.Argument(help="role path, e.g. my-workflow.sampler")],
    address: Address = None,
    output: Output = OutputFormat.text,
) -> None:
    """A role of an environment with its subtree."""
    tree = client(address).environment(env_id).tree
    node = _find(tree, path)
    if node is None:
        raise LookupError(f"environment {env_id} has no role {path!r}")
    if output is OutputFormat.json:
        print_json(node)
        return
    console.print(env_tree(node))


def _find(node: dict[str, Any], path: str) -> dict[str, Any] | None:
    if node["path"] == path:
        return node
    for child in node.get("children") or []:
        found = _find(child, path)
        if found is not None:
            return found
    return None
