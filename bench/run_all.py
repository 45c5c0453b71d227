"""The whole benchmark suite in one command, on local Rays, and its tables.

    .venv/bin/python -m bench.run_all [--quick | --tiny] [--sizes 10,50,100,200]
        [--crash-sizes 10,50] [--modify-k 5] [--farm 1x100,4x25] [--profile N]
        [--out DIR] [--readme [FILE]] [--no-expansion]

What flows through: template expansion first (no Ray, so nothing else competes). Then one
local Ray with the o2ctl controller and, for each size N, so that each measure has the
machine to itself: the floors (N devices driven directly, alone and beside N idle bare
actors; N bare actors; N bare actors each driving its own device), then one environment's
life in stages (``bench.stages``): cold deploys, transition cycles, memory and CPU at
rest, failure detection, control-plane crashes (at the crash sizes), warm deploys from the
idle pool, modify (+k tasks in RUNNING against a deploy of k). A stage that fails is
reported and the next one runs on a fresh environment. Then that Ray is closed and the
farm harness (``bench.farmscale``) runs its layouts on a ``ray.cluster_utils.Cluster`` of
its own; the farm model (``bench.farmmodel``) is computed from all of it.

The tables go to stdout, ending with the machine's facts, the load average before and
after and the command; progress goes to stderr. ``DIR/latest.json`` and
``DIR/scaling.png`` are written (DIR: ``bench/results``), with ``--readme`` the README's
two benchmark sections too (``bench.readme``); nothing is left running; the exit code is
1 if any measure failed. The farm layouts are 1x100, 4x25, 4x50 and 10x10 (``--quick``:
1x20, 4x5, 4x10, 10x2); one that does not fit the memory free then is left out with a
warning. ``--tiny`` (N = 3, each measure once, farm 1x4 and 2x2) proves
that every measure runs (CI: ``tests/system/test_bench_suite.py``); its numbers mean
nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bench import expansion, farmscale, farmtables, headloss, stages
from bench.common import (
    Figure,
    base_parser,
    elapsed,
    int_list,
    o2ctl_session,
    repeats_of,
    say,
    sizes_of,
)
from bench.modify import DEFAULT_K, MIN_K
from bench.readme import README
from bench.report import RESULTS, write_json

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
    "crash controller→usable",
    "crash environment→usable",
    "crash head gcs→usable",
    "crash head gcs+raylet→usable",
    "modify add k",
]
CRASH_SIZES = "10,50"


def parser() -> argparse.ArgumentParser:
    p = base_parser(__doc__.splitlines()[0])
    p.add_argument("--crash-sizes", default=None, help=f"crash measures at ({CRASH_SIZES})")
    p.add_argument("--modify-k", type=int, default=None, help=f"tasks a modify adds ({DEFAULT_K})")
    p.add_argument(
        "--farm",
        default=None,
        help=f"farm layouts NODESxTASKS ({farmscale.DEFAULT_LAYOUTS}; none: skip)",
    )
    p.add_argument("--profile", type=int, default=None, metavar="N", help="py-spy at N")
    p.add_argument("--out", type=Path, default=RESULTS, help="where the JSON and plot go")
    p.add_argument(
        "--readme",
        nargs="?",
        type=Path,
        const=README,
        default=None,
        metavar="FILE",
        help="write the tables into the README's two benchmark sections (README.md)",
    )
    p.add_argument("--no-expansion", action="store_true", help="skip template expansion")
    return p


def plan(options: argparse.Namespace) -> stages.Plan:
    tiny = options.tiny
    if options.modify_k is not None and options.modify_k < MIN_K:
        parser().error(
            f"--modify-k {options.modify_k}: at least {MIN_K} (its floor deploys an "
            f"environment of k tasks: sampler, sink and k - 2 processors)"
        )
    crash = options.crash_sizes or (",".join(map(str, sizes_of(options))) if tiny else CRASH_SIZES)
    layouts = options.farm or (
        farmscale.TINY_LAYOUTS
        if tiny
        else farmscale.QUICK_LAYOUTS
        if options.quick
        else farmscale.DEFAULT_LAYOUTS
    )
    return stages.Plan(
        sizes=sizes_of(options),
        repeats=repeats_of(options),
        crash_sizes=int_list(crash),
        k=options.modify_k or (MIN_K if tiny else DEFAULT_K),
        layouts=farmscale.Layout.parse(layouts),
        profile=options.profile,
    )


def _order(f: Figure) -> tuple[int, str, int]:
    i = ORDER.index(f.measure) if f.measure in ORDER else len(ORDER)
    return (i, f.measure, f.n)


def main() -> None:
    options = parser().parse_args()
    run = plan(options)
    t0, load0 = time.perf_counter(), os.getloadavg()
    figures: list[Figure] = []
    if not options.no_expansion:
        say("template expansion")
        sizes = expansion.TINY_SIZES if options.tiny else expansion.SIZES
        figures += expansion.measure(sizes, options.quick, 1 if options.tiny else None)
    result = stages.Result()
    with o2ctl_session() as client:
        facts = machine_facts()
        result.warnings += stages.preflight(client, run)
        for n in run.sizes:
            stages.one_size(client, n, run, result)
            say(f"N={n} done after {elapsed(t0) / 60:.1f} min")
    farm = []
    layouts, left_out = farmscale.fits(run.layouts)  # the memory free now, Ray closed
    for why in left_out:
        result.warnings.append(why)
        say(f"WARNING {why}")
    if layouts:
        try:
            measured = farmscale.measure(layouts, run.repeats, result.errors)
            farm = [r.to_dict() for r in measured]
        except Exception as exc:  # the farm failing must not lose the rest
            result.errors.append(f"farm: {type(exc).__name__}: {exc}")
            say(f"farm FAILED: {result.errors[-1]}")
    if not options.tiny and shutil.which("redis-server"):  # its own system: up --ha --nodes
        try:
            figures += headloss.measure(min(run.crash_sizes), run.repeats.crash)
        except Exception as exc:  # the head loss failing must not lose the rest
            result.errors.append(f"head loss: {type(exc).__name__}: {exc}")
            say(f"head loss FAILED: {result.errors[-1]}")
    figures = sorted(figures + result.figures, key=_order)
    meta = _meta(options, run, elapsed(t0), load0, facts)
    meta["errors"], meta["warnings"] = result.errors, result.warnings
    extra: dict[str, Any] = {"floors": result.floors, "farm": farm}
    whole = {"meta": meta, "figures": [f.to_dict() for f in figures], **extra}
    extra["farm_model"] = farmtables.farm_model(whole)
    path = write_json(figures, meta, extra, _json(options))
    _outputs(options, path)
    sys.exit(1 if result.errors else 0)


def _json(options: argparse.Namespace) -> Path:
    return Path(options.out) / "latest.json"


def _outputs(options: argparse.Namespace, path: Path) -> None:
    from bench.plot import plot
    from bench.readme import render, render_farm, render_main, update_readme
    from bench.report import figures_of, load

    doc = load(path)
    png = plot(figures_of(doc), path.with_name("scaling.png"))
    print(render(doc))
    if options.readme:
        update_readme(render_main(doc), render_farm(doc), options.readme)
        say(f"{options.readme}: Benchmarks and At farm scale sections written")
    say(f"JSON {path}" + (f", plot {png}" if png else " (no matplotlib: no plot)"))


def machine_facts() -> dict[str, Any]:
    """What the numbers were measured on (called with the suite's Ray up)."""
    import psutil
    import ray

    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
    ray_memory = float(resources.get("memory", 0))
    return {
        "cpu_model": model,
        "memory_gb": psutil.virtual_memory().total / 2**30,
        "ray_memory_gb": ray_memory / 2**30,
        "system": platform.platform(),
    }


def _meta(
    options: argparse.Namespace,
    run: stages.Plan,
    duration: float,
    load0: tuple[float, float, float],
    facts: dict[str, Any],
) -> dict[str, Any]:
    import ray

    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "machine": facts,
        "python": platform.python_version(),
        "ray": ray.__version__,
        "command": "python -m bench.run_all " + " ".join(sys.argv[1:]),
        "sizes": run.sizes,
        "crash_sizes": run.crash_sizes,
        "modify_k": run.k,
        "farm_layouts": [lay.label for lay in run.layouts],
        "quick": options.quick,
        "tiny": options.tiny,
        "repeats": run.repeats.__dict__,
        "duration_s": duration,
        "load_before": load0,
        "load_after": os.getloadavg(),
    }


if __name__ == "__main__":
    main()
