"""The gRPC floor: the same N devices, started and driven straight from one asyncio process.

What flows through: the workflow is expanded exactly as the controller expands it (the
project's ``workflows/`` repository), each task's command goes through the runtime's own
``plan_launch`` (same argv, same ``--control-port``, same OCC wire flavour), the channels
through the runtime's own ``wire`` (same ``chans.*`` keys), and the CONFIGURE arguments are
the task's properties plus those keys, as the environment sends them. The devices are
spawned with ``occ.processes.spawn`` (owner ``bench``) and controlled with
``occ.client.make_controller`` in parallel with ``asyncio.gather``: no Ray, no actor, the
least that N OCC transitions can cost on this machine.

Measured: launching the N processes until each answers GetState (the process half of the
deploy floor), every OCC transition (the gRPC floor of CONFIGURE, START, STOP, RESET) and
the unique set size and the CPU at rest of each device, once configured (the device half
of the memory floor), and the CPU every part used during each of those.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import psutil

from bench.common import ROOT, WORKFLOW, elapsed, workflow_vars
from bench.procs import CpuMeter, cpu_s
from o2ctl.core.envfsm import EnvEvent
from o2ctl.core.envrecord import TASK_EVENT
from o2ctl.core.launch import plan_launch
from o2ctl.core.occevents import OccEvent
from o2ctl.core.wiring import WiringInput, wire
from occ import processes
from occ.client import ProcessController, make_controller

OWNER = "bench"
TRANSITION_TIMEOUT_S = 10.0
START_TIMEOUT_S = 60.0
IDLE_WINDOW_S = 5.0
# Environment transition → the OCC event each task receives (and the state it leads to).
OCC_EVENT: dict[str, OccEvent] = {
    e.value: TASK_EVENT[e]
    for e in (EnvEvent.CONFIGURE, EnvEvent.START_ACTIVITY, EnvEvent.STOP_ACTIVITY, EnvEvent.RESET)
}
CYCLE = tuple(OCC_EVENT)


_handed_out: set[int] = set()


def free_port() -> int:
    """A port free now and never handed out before by this process: ``bind(0)`` alone can
    give the same port twice among a few hundred picks, and two devices would then answer
    on one control port."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("0.0.0.0", 0))
            port = int(s.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def expanded_tasks(n: int) -> tuple[list[Any], dict[str, str]]:
    """The task specs of an N-task environment, and the workflow's global channels."""
    from bench.bench_expand import DirSource
    from o2ctl.templates import expand_workflow

    wf = expand_workflow(
        DirSource(ROOT / "workflows"),
        WORKFLOW,
        workflow_vars(n),
        builtins={"environment_id": "bench"},
    )
    return list(wf.root.tasks()), dict(wf.global_channels)


@dataclass
class Device:
    spec: Any
    task_id: str
    port: int
    process: asyncio.subprocess.Process
    controller: ProcessController
    configure_args: dict[str, str] = field(default_factory=dict)
    flavour: str = "protobuf"  # the OCC wire flavour its controller speaks


@dataclass
class DeviceSet:
    """N running devices and their controllers."""

    devices: list[Device]
    launch_s: float  # spawn of all N until each answered GetState
    launch_cpu_s: float = 0.0  # CPU the devices and this client used to get there

    @property
    def pids(self) -> list[int]:
        return [d.process.pid for d in self.devices]

    async def transition(self, event: str, run_number: int) -> float:
        """One environment transition sent to every device at once; its wall time."""
        occ = OCC_EVENT[event]
        run = run_args(run_number)
        t0 = time.perf_counter()
        states = await asyncio.gather(
            *(
                d.controller.transition(occ, self._args(d, occ, run), timeout=TRANSITION_TIMEOUT_S)
                for d in self.devices
            )
        )
        took = elapsed(t0)
        wrong = {s for s in states if s != occ.leads_to}
        if wrong:
            raise RuntimeError(
                f"gRPC floor: {occ} left devices in {sorted(wrong)}, expected {occ.leads_to}"
            )
        return took

    @staticmethod
    def _args(d: Device, occ: OccEvent, run: dict[str, str]) -> dict[str, str]:
        return args_of(occ, d.configure_args, run)

    def uss_mb(self) -> list[float]:
        return [psutil.Process(pid).memory_full_info().uss / 2**20 for pid in self.pids]

    async def close(self) -> None:
        await asyncio.gather(*(d.controller.close() for d in self.devices), return_exceptions=True)
        await asyncio.gather(
            *(processes.terminate(d.process.pid, 2.0, process=d.process) for d in self.devices),
            return_exceptions=True,
        )


def run_args(run_number: int) -> dict[str, str]:
    """The arguments of START and STOP for run ``run_number``, as the environment sends them."""
    return {
        "run_number": str(run_number),
        "runNumber": str(run_number),
        "run_type": "PHYSICS",
        "run_start_time_ms": str(int(time.time() * 1000)),
    }


def args_of(occ: OccEvent, configure: dict[str, str], run: dict[str, str]) -> dict[str, str]:
    """What one device is sent with ``occ``: its own CONFIGURE arguments, the run's for
    START and STOP, nothing else."""
    if occ is OccEvent.CONFIGURE:
        return configure
    return run if occ in (OccEvent.START, OccEvent.STOP) else {}


async def _spawn(spec: Any, task_id: str, port: int, log_dir: str) -> Device:
    cmd = spec.command
    plan = plan_launch(
        role_path=spec.role_path,
        task_id=task_id,
        control_mode=spec.control_mode,
        value=cmd.value,
        arguments=list(cmd.arguments),
        env=list(cmd.env),
        shell=cmd.shell,
        control_port=port,
    )
    # The devices are console scripts beside this interpreter, as the task actor finds them.
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    log = os.path.join(log_dir, f"{task_id}.log")
    proc = await processes.spawn(
        list(plan.argv),
        owner=OWNER,
        env={**plan.env, "PATH": path},
        stdout_path=log,
        stderr_path=log,
    )
    ctl = make_controller(
        "fairmq", f"127.0.0.1:{port}", name=f"{spec.role_path} ({task_id})", flavour=plan.flavour
    )
    return Device(spec, task_id, port, proc, ctl, flavour=plan.flavour)


def _wire(devices: list[Device], global_channels: dict[str, str]) -> None:
    inputs = [
        WiringInput(
            d.spec.role_path, d.task_id, "local", "127.0.0.1", d.spec.binds, d.spec.connects
        )
        for d in devices
    ]
    wiring = wire(
        inputs,
        lambda host, owner, purpose: free_port(),
        env_id="bench",
        global_channels=global_channels,
    )
    for d in devices:
        props = {k: str(v) for k, v in d.spec.properties.items()}
        d.configure_args = {**props, **wiring.chans.get(d.spec.role_path, {})}


async def launch(n: int, log_dir: str) -> DeviceSet:
    """Start the N devices of an N-task environment; wait until each answers GetState."""
    specs, global_channels = expanded_tasks(n)
    t0, cpu0 = time.perf_counter(), cpu_s([os.getpid()])
    spawned = await asyncio.gather(
        *(_spawn(s, f"bench{i}", free_port(), log_dir) for i, s in enumerate(specs)),
        return_exceptions=True,
    )
    devices = [d for d in spawned if isinstance(d, Device)]
    result = DeviceSet(devices, 0.0)
    try:
        failed = [r for r in spawned if isinstance(r, BaseException)]
        if failed:
            raise RuntimeError(
                f"gRPC floor: {len(failed)} of {n} devices did not spawn: {failed[0]}"
            )
        await asyncio.gather(*(d.controller.wait_ready(START_TIMEOUT_S) for d in devices))
    except BaseException:
        await result.close()
        raise
    result.launch_s = elapsed(t0)
    result.launch_cpu_s = cpu_s([*result.pids, os.getpid()]) - cpu0
    _wire(devices, global_channels)
    return result


@dataclass
class GrpcFloor:
    n: int
    launch_s: float
    transitions: dict[str, list[float]]  # environment event → seconds, one per cycle
    device_uss_mb: list[float]
    cpu_ms: dict[str, dict[str, list[float]]]  # event → {"client"/"devices": ms per cycle}
    launch_cpu_s: float  # CPU of the launch (devices since birth + the client)
    idle_ms_per_s: list[float]  # per device, CONFIGURED and left alone


async def measure(n: int, cycles: int, idle_window_s: float = IDLE_WINDOW_S) -> GrpcFloor:
    """Launch N devices, run ``cycles`` CONFIGURE/START/STOP/RESET rounds, read memory
    (and, unless ``idle_window_s`` is 0, their CPU at rest)."""
    with tempfile.TemporaryDirectory(prefix="o2ctl-bench-dev-") as logs:
        devices = await launch(n, logs)
        try:
            times: dict[str, list[float]] = {e: [] for e in CYCLE}
            meters = {
                e: CpuMeter({"client": [os.getpid()], "devices": devices.pids}) for e in CYCLE
            }
            for run in range(1, cycles + 1):
                for event in CYCLE:
                    await asyncio.to_thread(meters[event].start)
                    times[event].append(await devices.transition(event, run))
                    await asyncio.to_thread(meters[event].stop)
            await devices.transition("CONFIGURE", cycles + 1)
            uss = await asyncio.to_thread(devices.uss_mb)
            idle = await idle_cpu(devices.pids, idle_window_s) if idle_window_s > 0 else []
            await devices.transition("RESET", cycles + 1)
            cpu = {e: m.used for e, m in meters.items()}
            return GrpcFloor(n, devices.launch_s, times, uss, cpu, devices.launch_cpu_s, idle)
        finally:
            await devices.close()


async def idle_cpu(pids: list[int], window_s: float = IDLE_WINDOW_S) -> list[float]:
    """CPU ms per second of each process over ``window_s`` of doing nothing asked."""
    before = await asyncio.to_thread(lambda: [cpu_s([p]) for p in pids])
    await asyncio.sleep(window_s)  # the window is the measure
    after = await asyncio.to_thread(lambda: [cpu_s([p]) for p in pids])
    return [(b - a) * 1e3 / window_s for a, b in zip(before, after, strict=True)]


async def launch_only(n: int) -> float:
    """The process half of the deploy floor once more: N devices up, then gone."""
    with tempfile.TemporaryDirectory(prefix="o2ctl-bench-dev-") as logs:
        devices = await launch(n, logs)
        await devices.close()
        return devices.launch_s


def main() -> None:
    from bench.common import base_parser, median, sizes_of

    options = base_parser(__doc__.splitlines()[0]).parse_args()
    for n in sizes_of(options):
        floor = asyncio.run(measure(n, 3 if options.quick else 7))
        cells = "  ".join(f"{e} {median(v) * 1e3:.1f}ms" for e, v in floor.transitions.items())
        print(
            f"N={n}: launch {floor.launch_s:.2f}s  {cells}  "
            f"device USS {median(floor.device_uss_mb):.1f}MB"
        )


if __name__ == "__main__":
    main()
