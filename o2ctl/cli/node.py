"""``o2ctl node list|assign``: the farm's nodes, their modes, and their pilot jobs.

``node list`` shows each node as the controller sees it: machine id, mode (``sync`` serves
data taking; ``async`` runs a grid pilot and is only borrowed), whether it is alive, free
cpu and memory, the tasks o2ctl runs there, and its pilot (pid, state, jobs done).
``node assign MACHINE_ID async`` starts a pilot there (refused while an environment has
tasks on the node); ``node assign MACHINE_ID sync --grace S`` reclaims it: the pilot gets
SIGTERM, then SIGKILL after the grace period, and the node is sync once nothing of the
pilot is left. Both work over Ray or, with ``--endpoint``, over the Control API.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table

from o2ctl.cli.common import Output, OutputFormat, console, print_json
from o2ctl.cli.system import Address, client

app = typer.Typer(help="Farm nodes: list them, make them sync or async.")

SHOWN_LABELS = ("machine_id", "node_class")  # already columns of their own


class ModeChoice(StrEnum):
    sync = "sync"
    async_ = "async"


def _mode(row: dict[str, Any]) -> str:
    mode, target = row["node_class"], row.get("target") or row["node_class"]
    colour = "green" if mode == "sync" else "magenta"
    shown = f"[{colour}]{mode}[/]"
    return shown if target == mode else f"{shown} → {target}"


def _pilot(pilot: dict[str, Any] | None) -> str:
    if not pilot:
        return "-"
    jobs = "" if pilot.get("jobs") is None else f", {pilot['jobs']} jobs"
    since = ""
    if pilot.get("since"):
        since = f", up {max(0.0, time.time() - float(pilot['since'])):.0f}s"
    return f"pid {pilot.get('pid')} {pilot.get('state')}{jobs}{since}"


@app.command("list")
def list_(address: Address = None, output: Output = OutputFormat.text) -> None:
    """Every node: mode, alive, free cpu and memory, tasks, pilot, labels."""
    rows = client(address).nodes()
    if output is OutputFormat.json:
        print_json(rows)
        return
    table = Table(
        "machine id",
        "mode",
        "alive",
        "ip",
        "tasks",
        "cpu free",
        "MB free",
        "pilot",
        "labels",
        box=None,
    )
    for r in rows:
        labels = ", ".join(f"{k}={v}" for k, v in r["labels"].items() if k not in SHOWN_LABELS)
        table.add_row(
            r["machine_id"],
            _mode(r),
            "yes" if r["alive"] else "[red]no[/]",
            r["ip"],
            str(r["tasks"]),
            f"{r['cpu']:g}",
            f"{r['memory']:.0f}",
            _pilot(r["pilot"]),
            labels,
        )
    console.print(table)


@app.command("assign")
def assign(
    machine_id: Annotated[str, typer.Argument(help="the node's machine id (o2ctl node list)")],
    mode: Annotated[ModeChoice, typer.Argument(help="sync (reclaim it) or async (run a pilot)")],
    grace: Annotated[
        float | None,
        typer.Option(
            "--grace", min=0, max=3600, help="sync: seconds from SIGTERM to SIGKILL (default 10)"
        ),
    ] = None,
    address: Address = None,
    output: Output = OutputFormat.text,
) -> None:
    """Make a node async (start a pilot job) or sync (stop it: SIGTERM, grace, SIGKILL)."""
    done = client(address).assign_node(machine_id, mode.value, grace_s=grace)
    if output is OutputFormat.json:
        print_json(done)
        return
    pilot = done.get("pilot")
    what = f"pilot {_pilot(pilot)}" if pilot else str(done.get("how") or "no pilot")
    console.print(f"{done['machine_id']} is {done['node_class']}: {what} ({done['took_s']:.1f}s)")
