"""Every floor of one size N, measured in the same run as the figures judged against them.

What flows through: the gRPC floor (``bench.devices``: N devices driven straight over
OCC), the actor floor pieces (``bench.bare_actors``: N bare actors and one fan-out actor)
and the design floor (``bench.design_floor``: N bare actors each driving its own device
over OCC) are measured one after the other, never beside a live environment, so that each
has the machine to itself. They combine into:

* transition floors: design = one fan-out actor driving N bare actors that each send the
  event to their own device (what one actor per task that does its own OCC costs at best;
  issue 18's target: o2ctl ≤ 1.2x it at N = 100 on one node); gRPC = the OCC round of
  that event to N devices in parallel; gRPC beside N idle actors = the same round while N
  bare actors sit idle on the same machine (what the one-actor-per-task design costs even
  when its actors do nothing: their Ray workers' own CPU); actor = gRPC + one fan-out
  round from one async actor to N bare actors;
* the deploy floor: N devices launched until each answers GetState + N bare actors
  created until each answers once (as many times as there are cold deploys);
* the memory floor per task: a bare actor's worker + a bare device, unique set sizes, and
  the same pair's CPU at rest.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bench import bare_actors, design_floor, devices
from bench.common import Repeats, base_parser, median, o2ctl_session, repeats_of, say, sizes_of


@dataclass
class Floors:
    n: int
    grpc: devices.GrpcFloor
    actors: bare_actors.ActorFloor
    deploy_s: list[float] = field(default_factory=list)
    grpc_idle: devices.GrpcFloor | None = None  # the gRPC floor beside N idle bare actors
    design: design_floor.DesignFloor | None = None  # N bare actors each doing its own OCC

    def grpc_s(self, event: str) -> float:
        return median(self.grpc.transitions[event])

    def grpc_idle_s(self, event: str) -> float | None:
        return None if self.grpc_idle is None else median(self.grpc_idle.transitions[event])

    def design_s(self, event: str) -> float | None:
        return None if self.design is None else median(self.design.transitions[event])

    def actor_s(self, event: str) -> float:
        return self.grpc_s(event) + median(self.actors.round_s)

    @property
    def task_uss_mb(self) -> float:
        return median(self.grpc.device_uss_mb) + median(self.actors.actor_uss_mb)

    @property
    def task_idle_ms_per_s(self) -> float:
        return median(self.grpc.idle_ms_per_s) + median(self.actors.idle_ms_per_s)

    @property
    def deploy_cpu_s(self) -> tuple[float, float]:
        """CPU of the first deploy floor: (devices + client, bare actor workers)."""
        return self.grpc.launch_cpu_s, self.actors.create_cpu_s

    def to_dict(self) -> dict[str, object]:
        return {
            "n": self.n,
            "grpc_transitions_s": self.grpc.transitions,
            "device_launch_s": self.grpc.launch_s,
            "device_uss_mb": self.grpc.device_uss_mb,
            "actor_round_s": self.actors.round_s,
            "actor_create_s": self.actors.create_s,
            "actor_uss_mb": self.actors.actor_uss_mb,
            "grpc_cpu_ms": self.grpc.cpu_ms,
            "device_launch_cpu_s": self.grpc.launch_cpu_s,
            "actor_create_cpu_s": self.actors.create_cpu_s,
            "device_idle_ms_per_s": self.grpc.idle_ms_per_s,
            "actor_idle_ms_per_s": self.actors.idle_ms_per_s,
            "deploy_s": self.deploy_s,
            "grpc_idle_actors_transitions_s": (
                None if self.grpc_idle is None else self.grpc_idle.transitions
            ),
            "grpc_idle_actors_cpu_ms": None if self.grpc_idle is None else self.grpc_idle.cpu_ms,
            **({} if self.design is None else self.design.to_dict()),
        }


def measure(n: int, repeats: Repeats) -> Floors:
    """All floors at size N (needs a running Ray for the actor floor)."""
    say(f"N={n}: gRPC floor ({repeats.transitions} cycles on {n} devices)")
    grpc = asyncio.run(devices.measure(n, repeats.transitions, repeats.idle_window_s))
    say(f"N={n}: gRPC floor beside {n} idle bare actors")
    grpc_idle = beside_idle_actors(n, repeats.transitions)
    say(f"N={n}: actor floor ({repeats.actor_rounds} rounds over {n} bare actors)")
    actors = bare_actors.measure(n, repeats.actor_rounds, window_s=repeats.idle_window_s)
    say(f"N={n}: design floor ({repeats.transitions} cycles, {n} bare actors doing OCC)")
    design = asyncio.run(design_floor.measure(n, repeats.transitions))
    floors = Floors(n, grpc, actors, [grpc.launch_s + actors.create_s], grpc_idle, design)
    for i in range(1, repeats.cold_at(n)):
        say(f"N={n}: deploy floor, run {i + 1}")
        launch = asyncio.run(devices.launch_only(n))
        floors.deploy_s.append(launch + bare_actors.create_only(n))
    return floors


def beside_idle_actors(n: int, cycles: int) -> devices.GrpcFloor:
    """The gRPC floor again, with N bare actors alive and idle beside the devices."""
    actors, _ = bare_actors.create(n)
    try:
        return asyncio.run(devices.measure(n, cycles, idle_window_s=0.0))
    finally:
        bare_actors.destroy(actors)


def describe(f: Floors) -> str:
    cells = "  ".join(
        f"{e} gRPC {f.grpc_s(e) * 1e3:.1f}ms (idle actors beside "
        f"{(f.grpc_idle_s(e) or 0) * 1e3:.1f}ms) actor {f.actor_s(e) * 1e3:.1f}ms "
        f"design {(f.design_s(e) or 0) * 1e3:.1f}ms"
        for e in devices.CYCLE
    )
    return (
        f"N={f.n}: {cells}\n  deploy {median(f.deploy_s):.2f}s (devices "
        f"{f.grpc.launch_s:.2f}s + actors {f.actors.create_s:.2f}s)  "
        f"task USS {f.task_uss_mb:.1f}MB"
    )


def main() -> None:
    options = base_parser(__doc__.splitlines()[0]).parse_args()
    repeats = repeats_of(options)
    lines = []
    with o2ctl_session():
        for n in sizes_of(options):
            lines.append(describe(measure(n, repeats)))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
