"""Transition latency: CONFIGURE, START_ACTIVITY, STOP_ACTIVITY, RESET of N tasks.

What flows through: one SDK call per transition (``env.transition(event)``: SDK →
controller → environment actor → N task actors in parallel → N devices over OCC, and the
replies back), timed from the call to the environment answering with its new state. An
environment in DEPLOYED goes round the cycle CONFIGURE → START → STOP → RESET, as many
times as asked, so that each transition has the same number of samples.

Floors (``bench.floors``): gRPC (one asyncio process sending the same OCC transitions to
N devices in parallel), the same beside N idle bare actors (what one actor per task costs
even idle), actor (gRPC + one round from one async actor to N bare actors) and design (N
bare actors each driving its own device over OCC, driven by one fan-out actor: what one
actor per task doing its own OCC costs at best).
The environment's own duration of each transition (its ``durations`` in the summary, read
after the timed call) is kept beside, to tell the hops from the work, and so is the CPU
each part used during the call (environment actor, controller, task actors, devices, Ray's
GCS and raylets; for the gRPC floor: the one client process and the devices). Target at
N = 100: ≤ 1.5 x the actor floor (moonshot 1.2 x), ≤ 3 x the gRPC floor and (issue 18)
≤ 1.2 x the design floor; the ratios to both gRPC floors are shown beside it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bench.common import Figure, elapsed, median, ms
from bench.devices import CYCLE
from bench.floors import Floors
from bench.procs import CpuMeter, control_pids

EXPECTED = {
    "CONFIGURE": "CONFIGURED",
    "START_ACTIVITY": "RUNNING",
    "STOP_ACTIVITY": "CONFIGURED",
    "RESET": "DEPLOYED",
}
TARGET_N = 100
LIMIT = 1.5  # x the actor floor (moonshot 1.2x)
GRPC_LIMIT = 3.0  # x the gRPC floor
DESIGN_LIMIT = 1.2  # x the design floor (issue 18: N = 100 on one node)


Timings = dict[str, list[float]]


@dataclass
class Measured:
    sdk: Timings  # SDK call → new state, seconds
    inner: Timings  # the environment's own duration, seconds
    cpu_ms: dict[str, dict[str, list[float]]]  # event → process group → CPU ms per call


def measure(env: Any, cycles: int, groups: dict[str, list[int]] | None = None) -> Measured:
    """``cycles`` rounds of the four transitions; the environment ends in DEPLOYED. The CPU
    is split by ``groups`` of processes (default: ``control_pids``)."""
    out = Measured({e: [] for e in CYCLE}, {e: [] for e in CYCLE}, {})
    groups = groups or control_pids(env)
    meters = {e: CpuMeter(groups) for e in CYCLE}
    for _ in range(cycles):
        for event in CYCLE:
            meters[event].start()
            t0 = time.perf_counter()
            state = env.transition(event)
            out.sdk[event].append(elapsed(t0))
            meters[event].stop()
            if state != EXPECTED[event]:
                raise RuntimeError(
                    f"{event} left environment {env.id} in {state}, expected {EXPECTED[event]}"
                )
            out.inner[event].append(float(env.summary()["durations"][event]))
    out.cpu_ms = {e: m.used for e, m in meters.items()}
    return out


def figures(n: int, measured: Measured, floors: Floors) -> list[Figure]:
    out = []
    for event in CYCLE:
        grpc = floors.grpc_s(event) * 1e3
        inner = ms(measured.inner[event])
        cpu = {k: median(v) for k, v in measured.cpu_ms[event].items()}
        floor_cpu = {k: median(v) for k, v in floors.grpc.cpu_ms[event].items()}
        notes = {
            "grpc_floor": grpc,
            "grpc_floor_samples": ms(floors.grpc.transitions[event]),
            "env_ms": median(inner),
            "env_samples": inner,
            "cpu_split_ms": cpu,
            "floor_cpu_split_ms": floor_cpu,
        }
        fig = Figure(
            event,
            n,
            "ms",
            ms(measured.sdk[event]),
            floors.actor_s(event) * 1e3,
            "actor",
            LIMIT if n == TARGET_N else None,
            notes={**notes, "grpc_limit": GRPC_LIMIT if n == TARGET_N else None},
        )
        fig.notes["grpc_ratio"] = fig.median / grpc if grpc > 0 else None
        beside = floors.grpc_idle_s(event)
        if beside is not None and floors.grpc_idle is not None:
            fig.notes["grpc_idle_floor"] = beside * 1e3
            fig.notes["grpc_idle_floor_samples"] = ms(floors.grpc_idle.transitions[event])
            fig.notes["grpc_idle_ratio"] = fig.median / (beside * 1e3) if beside > 0 else None
        design = floors.design_s(event)
        if design is not None and floors.design is not None:
            fig.notes["design_floor"] = design * 1e3
            fig.notes["design_floor_samples"] = ms(floors.design.transitions[event])
            fig.notes["design_ratio"] = fig.median / (design * 1e3) if design > 0 else None
            fig.notes["design_limit"] = DESIGN_LIMIT if n == TARGET_N else None
        out.append(fig)
    return out


def main() -> None:
    from bench import deploy, floors
    from bench.common import say
    from bench.standalone import standalone

    def per_size(client: Any, n: int, repeats: Any) -> list[Figure]:
        floor = floors.measure(n, repeats)
        env = deploy.create(client, n)
        say(f"N={n}: {repeats.transitions} transition cycles")
        out = figures(n, measure(env, repeats.transitions), floor)
        env.destroy()
        return out

    standalone(__doc__, "transitions", per_size)


if __name__ == "__main__":
    main()
