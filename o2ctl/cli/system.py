"""``o2ctl up | down | demo | status``: a local o2ctl system, and how commands reach one.

``up`` starts a Ray head on this machine (``ray start --head``, dashboard included) and the
controller in it; every other command then reaches that system from its own process
(``connect("auto")``, or ``--address``/``RAY_ADDRESS``). ``down`` destroys every
environment, ends every idle task and stops Ray. ``demo`` needs none of this: it runs the
example pipeline through its whole lifecycle on a private local Ray.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Annotated, Any

import typer

from o2ctl.cli.common import console, print_json

app = typer.Typer(help="A local o2ctl system.")

Address = Annotated[
    str | None,
    typer.Option(
        "--address", help="Ray address of the o2ctl system (default: RAY_ADDRESS or auto)"
    ),
]


def client(address: str | None = None) -> Any:
    """The SDK client of the running system (an error if none is running)."""
    from o2ctl.sdk import connect

    return connect(address or os.environ.get("RAY_ADDRESS") or "auto", start=False)


def _ray_cli() -> str:
    own = os.path.join(os.path.dirname(sys.executable), "ray")
    return own if os.path.exists(own) else (shutil.which("ray") or "ray")


def up(
    num_cpus: Annotated[int | None, typer.Option(help="CPUs Ray may use")] = None,
    dashboard_port: Annotated[int, typer.Option(help="Ray dashboard port")] = 8265,
) -> None:
    """Start a local o2ctl system: a Ray head with its dashboard, and the controller."""
    cmd = [
        _ray_cli(),
        "start",
        "--head",
        "--dashboard-host",
        "127.0.0.1",
        "--dashboard-port",
        str(dashboard_port),
        "--disable-usage-stats",
    ]
    if num_cpus is not None:
        cmd += ["--num-cpus", str(num_cpus)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 and "already running" not in (proc.stdout + proc.stderr):
        raise RuntimeError(f"ray start failed: {(proc.stderr or proc.stdout).strip()[-400:]}")
    from o2ctl.sdk import connect

    info = connect("auto", start=True).info()
    console.print(
        f"o2ctl is up: controller ready ({info['environments']} environments); "
        f"Ray dashboard at http://127.0.0.1:{dashboard_port}"
    )


def down(address: Address = None) -> None:
    """Destroy every environment, end every idle task, stop the local Ray."""
    try:
        done = client(address).shutdown()
        console.print(
            f"destroyed {len(done['destroyed'])} environment(s), "
            f"ended {len(done['cleaned'])} idle task(s)"
        )
    except Exception as exc:  # nothing running is fine for `down`
        console.print(f"no o2ctl system reachable ({exc}); stopping Ray anyway")
    import ray

    if ray.is_initialized():
        ray.shutdown()
    subprocess.run([_ray_cli(), "stop"], capture_output=True, check=False)
    console.print("Ray stopped")


def demo(
    processors: Annotated[int, typer.Option("--processors", "-n", help="processors")] = 4,
    seconds: Annotated[float, typer.Option(help="seconds of data taking per run")] = 2.0,
) -> None:
    """Run the example pipeline through its lifecycle on a private local Ray."""
    from o2ctl.demo import run_demo

    raise typer.Exit(run_demo(processors, seconds, say=console.print))


def status(
    address: Address = None, output: Annotated[str, typer.Option("--output", "-o")] = "text"
) -> None:
    """What the running system holds."""
    info = client(address).info()
    if output == "json":
        print_json(info)
        return
    for k, v in info.items():
        console.print(f"{k}: {v}")
