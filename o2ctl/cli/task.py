"""``o2ctl task list|clean``: what runs where, and the idle pool.

``task list`` shows every task the controller knows, in an environment or idle in the
pool (with its process id, host and log file); ``task clean`` ends idle tasks (all, or the
ids given). The nodes themselves are ``o2ctl node`` (``o2ctl.cli.node``).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from o2ctl.cli.common import Output, OutputFormat, console, print_json
from o2ctl.cli.env import badge
from o2ctl.cli.system import Address, client

app = typer.Typer(help="Tasks: list them, clean idle ones.")


@app.command("list")
def list_(address: Address = None, output: Output = OutputFormat.text) -> None:
    """Every task: environment (or idle), class, host, pid, state, log file."""
    tasks = client(address).tasks()
    if output is OutputFormat.json:
        print_json(tasks)
        return
    table = Table("task id", "environment", "class", "host", "pid", "state", "log", box=None)
    for t in tasks:
        table.add_row(
            t["task_id"],
            "(idle)" if t["idle"] else str(t["env_id"]),
            t["task_class"],
            t["host"],
            str(t["pid"]),
            badge(t["state"]),
            t.get("log_path", ""),
        )
    console.print(table)


@app.command("clean")
def clean(
    task_ids: Annotated[
        list[str] | None, typer.Argument(help="idle task ids (default: all)")
    ] = None,
    address: Address = None,
    output: Output = OutputFormat.text,
) -> None:
    """End idle tasks (their processes and actors)."""
    ended = client(address).clean_tasks(task_ids or None)
    if output is OutputFormat.json:
        print_json({"ended": ended})
        return
    console.print(f"ended {len(ended)} idle task(s)")
