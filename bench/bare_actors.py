"""The actor floor: the least that one Ray actor per task can cost, on the same Ray.

What flows through: N bare async actors (``num_cpus=0``, one no-op method, nothing
imported) stand for the N task actors, and one async ``FanOut`` actor stands for the
environment actor. One round is the fan-out actor calling the no-op of all N at once and
awaiting every answer: the hop every environment transition adds on top of the gRPC floor.
Creating the N actors until each has answered once is the actor half of the deploy
floor; the unique set size and the CPU at rest of a bare actor's worker process are the
actor half of the memory floor.

The classes are wrapped with ``ray.remote`` at call time and pickled by value, so that
Ray's workers need not import this package.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from typing import Any

import psutil

from bench.common import elapsed, median
from bench.devices import IDLE_WINDOW_S
from bench.procs import cpu_s

READY_TIMEOUT_S = 900.0


class BareActor:
    """A task actor with nothing in it."""

    async def noop(self) -> None:
        return None

    def pid(self) -> int:
        return os.getpid()


class FanOut:
    """An environment actor with nothing in it but the fan-out."""

    def __init__(self, actors: list[Any]) -> None:
        self.actors = actors

    async def round(self) -> float:
        t0 = time.perf_counter()
        await asyncio.gather(*(a.noop.remote() for a in self.actors))
        return time.perf_counter() - t0


@dataclass
class ActorFloor:
    n: int
    create_s: float  # N bare actors created and each answered once
    round_s: list[float]  # one fan-out round from one async actor to the N
    actor_uss_mb: list[float]  # per bare actor worker
    create_cpu_s: float  # CPU of the N workers from birth to their first answer
    idle_ms_per_s: list[float]  # per bare actor worker, left alone


def _remote(cls: type) -> Any:
    import ray

    return ray.remote(num_cpus=0, max_restarts=0)(cls)


def _register_by_value() -> None:
    import sys

    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # type: ignore[no-untyped-call]


def create(n: int) -> tuple[list[Any], float]:
    """N bare actors, each having answered once; and how long that took."""
    import ray

    _register_by_value()
    bare = _remote(BareActor)
    t0 = time.perf_counter()
    actors = [bare.remote() for _ in range(n)]
    ray.get([a.noop.remote() for a in actors], timeout=READY_TIMEOUT_S)
    return actors, elapsed(t0)


def destroy(actors: list[Any]) -> None:
    import ray

    for a in actors:
        ray.kill(a)


def measure(
    n: int, rounds: int, uss_sample: int = 20, window_s: float = IDLE_WINDOW_S
) -> ActorFloor:
    """Create N bare actors, time ``rounds`` fan-out rounds, read a few workers' memory
    and their CPU at rest over ``window_s``."""
    import ray

    actors, create_s = create(n)
    fan = None
    try:
        pids = ray.get([a.pid.remote() for a in actors], timeout=60)
        create_cpu = cpu_s(pids)
        fan = _remote(FanOut).remote(actors)
        ray.get(fan.round.remote(), timeout=120)  # warm: connections to the N workers
        times = [ray.get(fan.round.remote(), timeout=120) for _ in range(rounds)]
        uss = [psutil.Process(p).memory_full_info().uss / 2**20 for p in pids[:uss_sample]]
        before = [cpu_s([p]) for p in pids[:uss_sample]]
        time.sleep(window_s)  # the window is the measure
        idle = [
            (cpu_s([p]) - b) * 1e3 / window_s
            for p, b in zip(pids[:uss_sample], before, strict=True)
        ]
        return ActorFloor(n, create_s, times, uss, create_cpu, idle)
    finally:
        destroy(actors + ([fan] if fan is not None else []))


def create_only(n: int) -> float:
    """The actor half of the deploy floor once more: N bare actors up, then gone."""
    actors, took = create(n)
    destroy(actors)
    return took


def main() -> None:
    from bench.common import base_parser, o2ctl_session, sizes_of

    options = base_parser(__doc__.splitlines()[0]).parse_args()
    lines = []
    with o2ctl_session():
        for n in sizes_of(options):
            floor = measure(n, 11 if options.quick else 21)
            lines.append(
                f"N={n}: create {floor.create_s:.2f}s  round {median(floor.round_s) * 1e3:.2f}ms"
                f"  bare actor USS {median(floor.actor_uss_mb):.1f}MB"
            )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
