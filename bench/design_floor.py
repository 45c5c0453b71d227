"""The design floor: N bare actors, each driving its own device over gRPC.

What one actor per task that does its own OCC costs at best (issue 18's floor). What flows
through: N devices launched exactly as the gRPC floor's (``bench.devices.launch``: same
argv, same wiring, same CONFIGURE arguments); then N bare async actors (``num_cpus=0``),
each holding one OCC client (``occ.client.make_controller``, the task actor's own) to one
device and nothing else: no state machine, no record, no watch, no events; and one async
``Driver`` actor standing for the environment, which sends the event to the N actors at
once and awaits every answer. Each actor sends the event to its device with its own
arguments (its CONFIGURE arguments, the run's for START and STOP) and answers with the
state the device reached.

Timed per transition: inside the driver (the fan-out to the N actors and their OCC
exchanges: the figure) and from this process (one more call, to the driver). The CPU of
the driver, the N actor workers and the N devices is read around each transition.

The classes are wrapped with ``ray.remote`` at call time and pickled by value, so that
Ray's workers need not import this package (they import ``occ`` and ``o2ctl.core``, as
task actors do).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from bench.common import elapsed
from bench.devices import CYCLE, OCC_EVENT, TRANSITION_TIMEOUT_S, launch, run_args
from bench.procs import CpuMeter

READY_TIMEOUT_S = 900.0


class OccActor:
    """A task actor with nothing in it but its device's OCC client."""

    def __init__(self, address: str, name: str, flavour: str, configure: dict[str, str]) -> None:
        self.address, self.name, self.flavour = address, name, flavour
        self.configure = configure
        self.ctl: Any = None

    async def ready(self, timeout: float) -> int:
        """Connect (the gRPC channel is made on the actor's own event loop); the pid."""
        from occ.client import make_controller

        self.ctl = make_controller(
            "fairmq",
            self.address,
            name=self.name,
            flavour=self.flavour,  # type: ignore[arg-type]
        )
        await self.ctl.wait_ready(timeout)
        return os.getpid()

    async def transition(self, event: Any, run: dict[str, str], timeout: float) -> str:
        """``event`` (an OccEvent) to the device, with the arguments the environment would
        give it (``bench.devices.args_of``, inline: this class travels by value)."""
        name = str(getattr(event, "name", event))
        args = self.configure if name == "CONFIGURE" else run if name in ("START", "STOP") else {}
        return str(await self.ctl.transition(event, args, timeout))

    async def close(self) -> None:
        if self.ctl is not None:
            await self.ctl.close()


class Driver:
    """An environment actor with nothing in it but the fan-out to the N actors."""

    def __init__(self, actors: list[Any]) -> None:
        self.actors = actors

    def pid(self) -> int:
        return os.getpid()

    async def transition(
        self, event: Any, run: dict[str, str], timeout: float
    ) -> tuple[float, list[str]]:
        t0 = time.perf_counter()
        states = await asyncio.gather(
            *(a.transition.remote(event, run, timeout) for a in self.actors)
        )
        return time.perf_counter() - t0, list(states)


@dataclass
class DesignFloor:
    n: int
    create_s: float  # N OCC actors created and connected to their devices (launched before)
    transitions: dict[str, list[float]]  # event → seconds inside the driver, one per cycle
    outer: dict[str, list[float]]  # event → seconds from this process (one call more)
    cpu_ms: dict[str, dict[str, list[float]]]  # event → driver/actors/devices → ms per cycle

    def to_dict(self) -> dict[str, Any]:
        return {
            "design_create_s": self.create_s,
            "design_transitions_s": self.transitions,
            "design_outer_s": self.outer,
            "design_cpu_ms": self.cpu_ms,
        }


def _remote(cls: type) -> Any:
    import sys

    import ray
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # type: ignore[no-untyped-call]
    return ray.remote(num_cpus=0, max_restarts=0)(cls)


async def _get(ref: Any, timeout: float) -> Any:
    import ray

    return await asyncio.to_thread(ray.get, ref, timeout=timeout)


async def measure(n: int, cycles: int) -> DesignFloor:
    """Launch N devices, put one OCC actor on each, run ``cycles`` CONFIGURE/START/STOP/
    RESET rounds through one driver actor; everything is gone at the end."""
    import ray

    with tempfile.TemporaryDirectory(prefix="o2ctl-bench-design-") as logs:
        devices = await launch(n, logs)
        actors: list[Any] = []
        try:
            occ_actor = _remote(OccActor)
            t0 = time.perf_counter()
            actors = [
                occ_actor.remote(
                    f"127.0.0.1:{d.port}",
                    f"{d.spec.role_path} ({d.task_id})",
                    d.flavour,
                    d.configure_args,
                )
                for d in devices.devices
            ]
            pids = await _get([a.ready.remote(READY_TIMEOUT_S) for a in actors], READY_TIMEOUT_S)
            create_s = elapsed(t0)
            driver = _remote(Driver).remote(actors)
            actors.append(driver)
            driver_pid = await _get(driver.pid.remote(), 120)
            groups = {"driver": [driver_pid], "actors": list(pids), "devices": devices.pids}
            meters = {e: CpuMeter(groups) for e in CYCLE}
            inner: dict[str, list[float]] = {e: [] for e in CYCLE}
            outer: dict[str, list[float]] = {e: [] for e in CYCLE}
            for run in range(1, cycles + 2):  # the first cycle warms the connections up
                for event in CYCLE:
                    occ = OCC_EVENT[event]
                    await asyncio.to_thread(meters[event].start)
                    t1 = time.perf_counter()
                    took, states = await _get(
                        driver.transition.remote(occ, run_args(run), TRANSITION_TIMEOUT_S),
                        TRANSITION_TIMEOUT_S + 60,
                    )
                    wall = elapsed(t1)
                    await asyncio.to_thread(meters[event].stop)
                    wrong = {s for s in states if s != occ.leads_to}
                    if wrong:
                        raise RuntimeError(
                            f"design floor: {occ} left devices in {sorted(wrong)}, "
                            f"expected {occ.leads_to}"
                        )
                    if run > 1:
                        inner[event].append(took)
                        outer[event].append(wall)
            cpu = {e: {k: v[1:] for k, v in m.used.items()} for e, m in meters.items()}
            return DesignFloor(n, create_s, inner, outer, cpu)
        finally:
            for a in actors:
                ray.kill(a)
            await devices.close()


def main() -> None:
    from bench.common import base_parser, median, o2ctl_session, sizes_of

    options = base_parser(__doc__.splitlines()[0]).parse_args()
    lines = []
    with o2ctl_session():
        for n in sizes_of(options):
            floor = asyncio.run(measure(n, 3 if options.quick else 7))
            cells = "  ".join(f"{e} {median(v) * 1e3:.1f}ms" for e, v in floor.transitions.items())
            lines.append(f"N={n}: {cells}  (actors up in {floor.create_s:.2f}s)")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
