"""``o2ctl runs list|show``: the runs the bookkeeping plugin recorded.

Both read the bookkeeping database (``o2ctl.plugins.bkstore``) in the state directory,
``$O2CTL_STATE_DIR``, the one ``o2ctl up`` started the system with; no running system is
needed. Runs are recorded by workflows that call the plugin (``bookkeeping.StartOfRun()``
and friends in call roles, as readout-dataflow and the ``calls-example`` workflow do).
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.table import Table

from o2ctl.cli.common import Output, OutputFormat, console, print_json
from o2ctl.cli.env import badge
from o2ctl.plugins import PluginError, installed
from o2ctl.plugins.bkstore import BookkeepingStore

app = typer.Typer(help="Runs recorded by the bookkeeping plugin.")


def store() -> BookkeepingStore:
    """The bookkeeping database of this state directory (as the plugin's settings say)."""
    plugin = installed().plugins.get("bookkeeping")
    if plugin is None:
        raise PluginError("the bookkeeping plugin is not installed")
    return BookkeepingStore(plugin.setup.under_state_dir("database"))


def when(stamp: float | None) -> str:
    return "" if stamp is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def duration(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds:.1f}s"


@app.command("list")
def list_(
    env: Annotated[str | None, typer.Option("--env", "-e", help="only this environment")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="at most this many")] = 100,
    output: Output = OutputFormat.text,
) -> None:
    """Runs, newest first: number, environment, type, detectors, start, stop, state."""
    runs = store().runs(env, limit)
    if output is OutputFormat.json:
        print_json(runs)
        return
    table = Table("run", "environment", "type", "detectors", "start", "stop", "duration", box=None)
    table.add_column("state")
    for r in runs:
        table.add_row(
            str(r["run_number"]),
            r["env_id"],
            r["run_type"],
            ",".join(r["detectors"]),
            when(r["start"]),
            when(r["stop"]),
            duration(r["duration_s"]),
            badge(r["state"]),
        )
    console.print(table)


@app.command("show")
def show(
    run: Annotated[int, typer.Argument(help="run number")], output: Output = OutputFormat.text
) -> None:
    """One run, with its environment as bookkeeping last saw it."""
    books = store()
    found = books.run(run)
    if found is None:
        raise LookupError(f"no run {run} in the bookkeeping database {books.path}")
    record: dict[str, Any] = {**found, "environment": books.environment(found["env_id"])}
    if output is OutputFormat.json:
        print_json(record)
        return
    env = record["environment"] or {}
    rows = [
        ("run", str(run)),
        ("state", badge(found["state"])),
        ("environment", f"{found['env_id']} ({env.get('workflow', '?')}, {env.get('state', '?')})"),
        ("run type", found["run_type"]),
        ("detectors", ",".join(found["detectors"]) or "none"),
        ("start", when(found["start"])),
        ("stop", when(found["stop"])),
        ("duration", duration(found["duration_s"])),
    ]
    for key, value in rows:
        console.print(f"{key:>12}  {value}")
