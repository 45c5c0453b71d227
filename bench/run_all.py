"""The whole benchmark suite in one command, on one local Ray, and its table.

    .venv/bin/python -m bench.run_all [--quick] [--sizes 10,50,100,200] [--profile N]

What flows through: template expansion first (no Ray, so nothing else competes). Then one
local Ray with the o2ctl controller and, for each size N, in this order so that each
measure has the machine to itself: the floors (N devices driven directly, N bare actors),
then one environment's life: cold deploys, transition cycles, memory (CONFIGURED), failure
detection (kill, RECOVER, CONFIGURE, again), warm deploys from the idle pool; then it is
destroyed and its tasks ended. With ``--profile N`` the environment and controller actors
are sampled with py-spy during the transition cycles at size N (``bench.profile``).
The table goes to stdout, progress to stderr; ``bench/results/latest.json`` and
``bench/results/scaling.png`` are written; nothing is left running.
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from typing import Any

from bench import deploy, expansion, failure, floors, memory, transitions
from bench.common import (
    Figure,
    Repeats,
    base_parser,
    elapsed,
    o2ctl_session,
    say,
    sizes_of,
)
from bench.profile import sampling
from bench.report import plot, render, write_json

ORDER = [
    "CONFIGURE",
    "START_ACTIVITY",
    "STOP_ACTIVITY",
    "RESET",
    "deploy cold",
    "deploy warm",
    "memory/task",
    "idle CPU/task",
    "failure→ERROR",
]


def one_size(
    client: Any, n: int, repeats: Repeats, profile: bool
) -> tuple[list[Figure], dict[str, Any]]:
    """Every Ray measure at size N; the floors' raw samples for the JSON."""
    floor = floors.measure(n, repeats)
    env, cold_runs = deploy.cold(client, n, repeats.cold_at(n))
    say(f"N={n}: {repeats.transitions} transition cycles")
    watched = sampling(env, f"transitions-{n}") if profile else contextlib.nullcontext()
    with watched:
        times = transitions.measure(env, repeats.transitions)
    env.configure()
    say(f"N={n}: memory per task")
    mem = memory.measure(env)
    say(f"N={n}: {repeats.failure} failure detections")
    fail_s, marks = failure.measure(env, repeats.failure)
    env, warm_runs = deploy.warm(client, env, n, repeats.deploy_warm)
    env.destroy()
    client.clean_tasks()
    figs = transitions.figures(n, times, floor)
    figs += deploy.figures(n, cold_runs, warm_runs, floor.deploy_s, floor.deploy_cpu_s)
    figs += [*memory.figures(n, mem, floor), failure.figure(n, fail_s, marks)]
    return figs, floor.to_dict()


def _order(f: Figure) -> tuple[int, int]:
    return (ORDER.index(f.measure) if f.measure in ORDER else len(ORDER), f.n)


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--profile",
        type=int,
        default=None,
        metavar="N",
        help="sample the environment and controller actors with py-spy at N",
    )
    parser.add_argument("--no-expansion", action="store_true", help="skip template expansion")
    options = parser.parse_args()
    sizes, repeats = sizes_of(options), Repeats.of(options.quick)
    t0, load0 = time.perf_counter(), os.getloadavg()
    figures: list[Figure] = []
    if not options.no_expansion:
        say("template expansion")
        figures += expansion.measure(quick=options.quick)
    raw_floors, errors = [], []
    with o2ctl_session() as client:
        for n in sizes:
            try:
                figs, raw = one_size(client, n, repeats, options.profile == n)
            except Exception as exc:  # one size failing must not lose the others
                errors.append(f"N={n}: {type(exc).__name__}: {exc}")
                say(f"N={n} FAILED, going on with the next size: {errors[-1]}")
                with contextlib.suppress(Exception):
                    client.shutdown()  # every environment and idle task of this size
                continue
            figures += figs
            raw_floors.append(raw)
            say(f"N={n} done after {elapsed(t0) / 60:.1f} min")
    figures.sort(key=_order)
    meta = _meta(options, sizes, repeats, elapsed(t0), load0)
    meta["errors"] = errors
    path = write_json(figures, meta, {"floors": raw_floors})
    png = plot(figures)
    print(render(figures, meta))
    say(f"JSON {path}" + (f", plot {png}" if png else " (no matplotlib: no plot)"))


def _meta(
    options: Any,
    sizes: list[int],
    repeats: Repeats,
    duration: float,
    load0: tuple[float, float, float],
) -> dict[str, Any]:
    import ray

    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "ray": ray.__version__,
        "sizes": sizes,
        "quick": options.quick,
        "repeats": repeats.__dict__,
        "duration_s": duration,
        "load_before": load0,
        "load_after": os.getloadavg(),
    }


if __name__ == "__main__":
    main()
