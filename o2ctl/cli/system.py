"""``o2ctl up | down | demo | status``: a local o2ctl system, and how commands reach one.

``up`` starts a Ray head on this machine (``ray start --head``, dashboard included) and the
controller in it; every other command then reaches that system from its own process
(``connect("auto")``, or ``--address``/``RAY_ADDRESS``). ``down`` destroys every
environment, ends every idle task and stops Ray. ``demo`` needs none of this: it runs the
example pipeline through its whole lifecycle on a private local Ray.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from typing import Annotated, Any

import typer

from o2ctl.cli import devfarm, localray
from o2ctl.cli.common import console, print_json

app = typer.Typer(help="A local o2ctl system.")

Address = Annotated[
    str | None,
    typer.Option(
        "--address", help="Ray address of the o2ctl system (default: RAY_ADDRESS or auto)"
    ),
]


ENDPOINT_ENV = "O2CTL_ENDPOINT"
TOKEN_ENV = "O2CTL_API_TOKEN"
remote_endpoint: dict[str, str | None] = {"endpoint": None, "token": None}
"""Set by the root ``--endpoint``/``--token`` options (see ``o2ctl.cli.main``)."""


def client(address: str | None = None) -> Any:
    """The running system: over the Control API with ``--endpoint``, else by joining Ray."""
    endpoint = remote_endpoint["endpoint"] or os.environ.get(ENDPOINT_ENV)
    if endpoint and not address:
        from o2ctl.cli.remote import RemoteClient

        return RemoteClient(endpoint, remote_endpoint["token"] or os.environ.get(TOKEN_ENV))
    from o2ctl.cli.waitback import HeadWait
    from o2ctl.config import state_dir
    from o2ctl.core.errors import ControlError
    from o2ctl.sdk import connect

    known = localray.remembered()
    target = address or os.environ.get("RAY_ADDRESS") or (known or {}).get("address") or "auto"
    head = HeadWait(state_dir())
    try:  # a stopped system: said now, not after Ray's retries; one restarting: waited for
        head.wait_head(target)
    except ControlError as exc:  # the head gone: say also what of ours is left
        raise ControlError(f"{exc}{localray.left_behind(known)}") from None
    localray.keep_default_sigterm()
    localray.keep_stdout_clean()
    return connect(
        target, start=False, isolate_cwd=True, on_restart=head.say, restart_reason=head.reason
    )


def _ray_cli() -> str:
    own = os.path.join(os.path.dirname(sys.executable), "ray")
    return own if os.path.exists(own) else (shutil.which("ray") or "ray")


DEFAULT_GCS_PORT = 6379


def up(
    num_cpus: Annotated[int | None, typer.Option(help="CPUs Ray may use")] = None,
    port: Annotated[int | None, typer.Option(help="Ray GCS port (default 6379)")] = None,
    dashboard_port: Annotated[int, typer.Option(help="Ray dashboard port")] = 8265,
    api_port: Annotated[
        int, typer.Option(help="Control API port on 127.0.0.1 (0: any free one; -1: no API)")
    ] = 0,
    console_port: Annotated[
        int, typer.Option(help="operator console port (0: any free one; -1: no console)")
    ] = 0,
    console_host: Annotated[str, typer.Option(help="address the console binds to")] = "127.0.0.1",
    nodes: Annotated[
        str | None,
        typer.Option(
            help="a development farm: one more Ray node per MACHINE_ID[:sync|async], "
            "comma-separated (e.g. flp1:sync,flp2:sync,epn1:async)"
        ),
    ] = None,
    ha: Annotated[
        bool,
        typer.Option(
            "--ha",
            help="a head that comes back: Ray's GCS fault tolerance on a Redis that also "
            "keeps o2ctl's records, the head's processes under a supervisor",
        ),
    ] = False,
    redis: Annotated[
        str | None,
        typer.Option(help="with --ha: an existing Redis HOST:PORT (default: start one)"),
    ] = None,
) -> None:
    """Start a local o2ctl system: a Ray head with its dashboard, the controller, the API.

    Safe to run again: when the system this state directory started is up, it says so
    (starting the controller or the API again if either is gone) and exits 0; when another
    Ray (or any process) holds the port, it says which and starts nothing.
    """
    from o2ctl.cli import upstate
    from o2ctl.core.errors import ControlError

    farm = _farm(nodes)
    running = upstate.this_system(localray.remembered())
    if running is not None:
        web = (console_host, console_port)
        _serve(running, api_port, f"o2ctl is already up at {running}", False, web, asked=port)
        return
    port = DEFAULT_GCS_PORT if port is None else port
    taken = upstate.port_taken(port)
    if taken:
        raise ControlError(taken)
    cmd = [_ray_cli(), "start", "--head", "--port", str(port), "--dashboard-host", "127.0.0.1"]
    cmd += ["--dashboard-port", str(dashboard_port), "--disable-usage-stats"]
    if num_cpus is not None:
        cmd += ["--num-cpus", str(num_cpus)]
    if redis and not ha:
        raise typer.BadParameter("--redis goes with --ha", param_hint="--redis")
    from o2ctl.cli import hasup
    from o2ctl.config import state_dir
    from o2ctl.core.placement import HEAD_LABEL

    ha_env, store = hasup.prepare(state_dir(), redis) if ha else ({}, None)
    if ha:
        cmd += ["--labels", f"{HEAD_LABEL}=1"]  # no task there while a farm node fits
    os.environ.update(ha_env)  # the controller this process starts must know the store too
    env = dict(os.environ)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    said = proc.stdout + proc.stderr
    if proc.returncode != 0:
        upstate.stop_failed_start(port)
        if store:
            hasup.stop_store(state_dir())
        raise ControlError(f"ray start failed: {upstate.ray_error(said)}")
    found = re.search(r"--address='([^']+)'", said)
    address = found.group(1) if found else f"127.0.0.1:{port}"
    localray.remember(address, farm)
    if ha:
        session = localray.session_of(address) or ""
        hasup.supervise(state_dir(), address, session, _ray_cli(), store)
    node_env = {k: v for k, v in ha_env.items() if k.startswith("O2CTL_")}
    for machine_id, mode in farm:  # farm (devfarm): the extra nodes, before the controller
        devfarm.start_node(_ray_cli(), address, machine_id, mode, extra_env=node_env)
    web = (console_host, console_port)
    _serve(address, api_port, f"o2ctl is up at {address}", True, web, dashboard=dashboard_port)
    if farm:
        console.print("farm nodes: " + ", ".join(f"{m} ({mode})" for m, mode in farm))


def _serve(
    address: str,
    api_port: int,
    headline: str,
    fresh: bool,
    web: tuple[str, int],
    dashboard: int | None = None,
    asked: int | None = None,
) -> None:
    """The controller (started if missing) and the Control API of the system at ``address``."""
    from o2ctl.sdk import ControlError, connect

    controller = "controller ready"
    try:
        info = connect(address, start=fresh, isolate_cwd=True).info()
    except ControlError:  # Ray is up, its controller is gone: what `up` is for
        info = connect(address, start=True, isolate_cwd=True).info()
        controller = "controller started again"
    if api_port >= 0:
        from o2ctl.api.serve import start_api, stop_api

        if controller != "controller ready":
            stop_api()  # it holds the handle of the controller that is gone
        endpoint, token = start_api(port=api_port)
        console.print(f"Control API at {endpoint} (token in the state directory's api-token)")
        if web[1] >= 0:
            from o2ctl.cli import webconsole
            from o2ctl.console.actor import stop_console

            if controller != "controller ready":
                stop_console()  # it follows the API that was just started again
            webconsole.serve(endpoint, token, *web)
    where = (
        "; " + devfarm.dashboard_hint(f"http://127.0.0.1:{dashboard}", _ray_cli())
        if dashboard
        else ""
    )
    if asked is not None and not address.endswith(f":{asked}"):
        where += f" (not starting another on port {asked}: `o2ctl down` first)"
    console.print(f"{headline}: {controller} ({info['environments']} environments){where}")


def _farm(nodes: str | None) -> list[tuple[str, str]]:
    from o2ctl.core.farm import FarmError

    try:
        return devfarm.parse_nodes(nodes) if nodes else []
    except FarmError as exc:
        raise typer.BadParameter(str(exc), param_hint="--nodes") from None


def down(address: Address = None) -> None:
    """Destroy every environment, end every idle task, stop the Ray that `up` started."""
    known = localray.remembered()
    if address is None and known is None:
        console.print("no o2ctl system started by `o2ctl up` here (give --address to stop another)")
        return
    try:
        done = client(address or known["address"]).shutdown()  # type: ignore[index]
        console.print(
            f"destroyed {len(done['destroyed'])} environment(s), "
            f"ended {len(done['cleaned'])} idle task(s)"
        )
    except Exception as exc:  # nothing running is fine for `down`
        console.print(f"no o2ctl system reachable ({exc})")
    import ray

    if ray.is_initialized():
        ray.shutdown()
    if known is None:
        console.print("the Ray at that address was not started by `o2ctl up` here: left running")
        return
    from o2ctl.cli import hasup
    from o2ctl.config import state_dir

    hasup.stop_supervisor(state_dir())  # first: it would start again what is stopped next
    count = localray.stop(known["address"], known.get("session"))
    count += len(hasup.stop_store(state_dir()))
    localray.forget()
    from o2ctl.cli import webconsole

    webconsole.forget()
    console.print(f"Ray at {known['address']} stopped ({count} processes)")
    ended = end_system_processes()
    if ended:
        console.print(f"ended {len(ended)} process(es) of this system left running: {ended}")


def end_system_processes(grace_s: float = 3.0) -> list[int]:
    """Every process on this machine marked as this system's (``O2CTL_SYSTEM``): what a
    control plane that crashed could not stop. SIGTERM to each group, then SIGKILL."""
    import signal
    import time

    from o2ctl.config import state_dir
    from occ.processes import SYSTEM_ENV, find_owned

    try:
        system = (state_dir() / "system-id").read_text().strip()
    except OSError:
        return []
    pids = [p.pid for p in find_owned(env_match=(SYSTEM_ENV, system))] if system else []
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(OSError):
                os.killpg(pid, sig)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
            time.sleep(0.05)
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def doctor(
    clean: Annotated[bool, typer.Option("--clean", help="end every orphan found")] = False,
    address: Address = None,
    output: Annotated[str, typer.Option("--output", "-o")] = "text",
) -> None:
    """Orphans: processes of ours that belong to nothing, task actors without a process,
    records without an actor or that cannot be read. Exit 0 when there are none (or
    ``--clean`` ended them all: it looks again), 4 otherwise."""
    report = client(address).doctor(clean=clean)
    if output == "json":
        print_json(report)
    else:
        for p in report["processes"]:
            console.print(
                f"orphan process {p['pid']} on {p['host']} ({p['owner']}): {p['cmdline']}"
            )
        for name in report["actors"]:
            console.print(f"orphan actor {name}")
        for task_id in report["idle_without_process"]:
            console.print(f"idle task {task_id} has no process")
        for r in report["records"]:
            what = f"cannot be read: {r['broken']}" if r.get("broken") else "has no actor"
            console.print(f"record {r['kind']}/{r['key']} {what}")
        verb = "ended" if clean else "found"
        console.print(f"{report['count']} orphan(s) {verb}" if report["count"] else "no orphans")
    left = client(address).doctor(clean=False)["count"] if clean and report["count"] else 0
    if left:
        console.print(f"{left} orphan(s) still there after the clean-up")
    if (report["count"] and not clean) or left:
        raise typer.Exit(4)  # orphans found, or left after --clean; 0 once all are ended


def demo(
    processors: Annotated[int, typer.Option("--processors", "-n", help="processors")] = 4,
    seconds: Annotated[float, typer.Option(help="seconds of data taking per run")] = 2.0,
    nodes: Annotated[
        str | None,
        typer.Option(help="run on a private farm: MACHINE_ID[:sync|async],... (see `up`)"),
    ] = None,
) -> None:
    """Run the example pipeline through its lifecycle on a private local Ray."""
    from o2ctl.demo import run_demo

    raise typer.Exit(run_demo(processors, seconds, say=console.print, nodes=_farm(nodes)))


def status(
    address: Address = None, output: Annotated[str, typer.Option("--output", "-o")] = "text"
) -> None:
    """What the running system holds."""
    from o2ctl.cli import hasup
    from o2ctl.config import state_dir

    head = hasup.describe(state_dir())
    if output != "json" and any(": restarting" in line for line in head):
        for line in head:  # what is restarting, said before waiting for it (client)
            console.print(line)
    info = client(address).info()
    head = hasup.describe(state_dir())
    if output == "json":
        print_json({**info, "head": head} if head else info)
        return
    for k, v in info.items():
        console.print(f"{k}: {v}")
    for line in head:
        console.print(line)
