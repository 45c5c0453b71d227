"""A farm-scale model: what a node with k tasks costs, and the control plane's load at T tasks.

What flows through: the costs a run of the suite measured per task (``Costs``, read from
its JSON by ``costs_from``: memory and CPU at rest per task, the CPU a transition costs per
task on the node — task actor + device — and in the control plane — environment actor,
controller, GCS —, the gRPC floor of the transition, cold deploy per task, and from the
farm harness the Ray actors per task and the GCS's CPU at rest per task) go through three
explicit formulas (no fit, no magic):

* a node with k tasks on c cores: memory k·m; CPU at rest k·i + its raylet's r; a
  transition costs k·p of
  node CPU, done in parallel on the node's c cores; cold deploy k·d·(c0/c), where d was
  measured on this machine's c0 cores (Ray starts workers about as many at once as cores);
* the control plane at T tasks: the environment actor is one process (one event loop), so
  a transition costs it T·e of CPU **in series**: a lower bound on the transition's time
  whatever the number of nodes; with the controller and the GCS, T·q; the GCS at rest
  T·g; Ray actors T·a (Ray's published envelope: 10,000+ actors, 2,000-node tests);
* a transition of an environment of T tasks spread k per node on c cores takes about
  floor + max(T·e, k·p/c): the devices' own latency plus whichever is the bottleneck, the
  one environment actor or the busiest node.

``tables`` renders it for k = tasks per node and for ALICE's farm (~200 FLPs with 10-20
controlled tasks each, ~250 EPNs, whose processes ODC controls: shown as a what-if where
o2ctl controlled them itself). ``python -m bench.farmmodel [results.json]`` prints it.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

EVENT = "CONFIGURE"  # the transition modelled: the heaviest of the cycle
# The inputs come from the smallest size of at least this many tasks: CPU is read in 10 ms
# ticks (smaller sizes round too coarsely), and larger sizes oversubscribe this machine's
# cores (N = 200 on 2 cores: load ~200), a contention a farm node with 10-20 tasks on
# 32 cores never sees; the largest size's per-task figures are shown beside, as the bound.
MODEL_MIN_N = 50
PER_NODE = (1, 10, 20, 25, 50, 100)
FARM_NODE_CORES = 32  # cores of a farm node in the model (this machine's are shown too)
RAY_ACTORS = 10_000  # Ray's published envelope: 10,000+ actors per cluster …
RAY_NODES = 2_000  # … and tests with 2,000 nodes
SCENARIOS = (  # label, nodes, tasks per node
    ("ALICE FLPs, 10 tasks each", 200, 10),
    ("ALICE FLPs, 20 tasks each", 200, 20),
    ("FLPs x20 + 250 EPNs x20 (what-if: o2ctl controls EPN processes)", 450, 20),
)


@dataclass(frozen=True)
class Costs:
    """Per-task costs measured by one run (at size ``n`` on ``cores`` cores)."""

    n: int
    cores: int
    memory_mb: float  # actor + device, unique set size
    idle_ms_per_s: float  # actor + device, CPU at rest
    node_cpu_ms: float  # per transition: task actor + device
    env_cpu_ms: float  # per transition: the environment actor alone
    control_cpu_ms: float  # per transition: environment actor + controller + GCS
    floor_ms: float  # the transition's gRPC floor at the smallest size (devices' own time)
    deploy_s: float  # cold deploy, wall, per task
    actors_per_task: float = 2.0  # the environment's actors / tasks (farm harness)
    gcs_idle_ms_per_s: float = 0.0  # GCS at rest / tasks (farm harness): an upper bound
    raylet_idle_ms_per_s: float = 0.0  # a worker node's raylet at rest (farm harness)


def _figures(doc: dict[str, Any]) -> dict[tuple[str, int], dict[str, Any]]:
    return {(f["measure"], f["n"]): f for f in doc["figures"] if f.get("samples")}


def model_sizes(doc: dict[str, Any], event: str = EVENT) -> tuple[int, int]:
    """(the size the model's inputs come from, the largest size measured)."""
    figs = _figures(doc)
    sizes = sorted(
        n
        for (m, n) in figs
        if m == event and ("memory/task", n) in figs and ("deploy cold", n) in figs
    )
    if not sizes:
        raise ValueError(f"no size with {event}, memory/task and deploy cold measured")
    return next((n for n in sizes if n >= MODEL_MIN_N), sizes[-1]), sizes[-1]


def costs_from(doc: dict[str, Any], event: str = EVENT, n: int | None = None) -> Costs:
    """The per-task costs at size ``n`` (default: ``model_sizes``' choice)."""
    figs = _figures(doc)
    if n is None:
        n = model_sizes(doc, event)[0]
    smallest = min(s for (m, s) in figs if m == event)
    split = figs[(event, n)]["notes"]["cpu_split_ms"]
    farm = max(doc.get("farm") or [{}], key=lambda r: (r.get("tasks", 0), r.get("nodes", 0)))
    idle = farm.get("idle_ms_per_s") or {}
    return Costs(
        n=n,
        cores=int(doc["meta"].get("cpus") or 1),
        memory_mb=figs[("memory/task", n)]["median"],
        idle_ms_per_s=figs[("idle CPU/task", n)]["median"] if ("idle CPU/task", n) in figs else 0,
        node_cpu_ms=(split.get("task actors", 0) + split.get("devices", 0)) / n,
        env_cpu_ms=split.get("env", 0) / n,
        control_cpu_ms=sum(split.get(k, 0) for k in ("env", "controller", "gcs")) / n,
        floor_ms=figs[(event, smallest)]["notes"]["grpc_floor"],
        deploy_s=figs[("deploy cold", n)]["median"] / n,
        actors_per_task=farm["actors"] / farm["tasks"] if farm.get("tasks") else 2.0,
        gcs_idle_ms_per_s=idle.get("gcs", 0) / farm["tasks"] if farm.get("tasks") else 0.0,
        raylet_idle_ms_per_s=idle.get("raylets nodes", 0) / farm["nodes"]
        if farm.get("nodes")
        else 0.0,
    )


def node(c: Costs, k: int, cores: int) -> dict[str, float]:
    """What a node with ``k`` tasks on ``cores`` cores costs."""
    return {
        "memory_mb": k * c.memory_mb,
        "idle_cores": (k * c.idle_ms_per_s + c.raylet_idle_ms_per_s) / 1e3,
        "transition_cpu_s": k * c.node_cpu_ms / 1e3,
        "transition_s": (c.floor_ms + k * c.node_cpu_ms / cores) / 1e3,
        "deploy_s": k * c.deploy_s * c.cores / cores,
    }


def control_plane(c: Costs, total: int) -> dict[str, float]:
    """The control plane's load with ``total`` tasks in one environment."""
    return {
        "env_serial_s": total * c.env_cpu_ms / 1e3,
        "control_cpu_s": total * c.control_cpu_ms / 1e3,
        "gcs_idle_cores": total * c.gcs_idle_ms_per_s / 1e3,
        "actors": total * c.actors_per_task,
    }


def transition_s(c: Costs, total: int, per_node: int, cores: int) -> float:
    """floor + max(the environment actor's serial work, the busiest node's share)."""
    serial = total * c.env_cpu_ms
    busiest = per_node * c.node_cpu_ms / cores
    return (c.floor_ms + max(serial, busiest)) / 1e3


def tables(c: Costs, node_cores: int = FARM_NODE_CORES, bound: Costs | None = None) -> str:
    """The model as markdown: per node, then per farm (``bound``: the largest size's costs,
    said beside the inputs)."""
    head = (
        f"Inputs (N = {c.n}, {c.cores} cores, {EVENT}): {c.memory_mb:.1f} MB and "
        f"{c.idle_ms_per_s:.1f} ms/s at rest per task; per transition {c.node_cpu_ms:.1f} ms "
        f"of node CPU and {c.control_cpu_ms:.2f} ms of control-plane CPU per task "
        f"({c.env_cpu_ms:.2f} in the environment actor); floor {c.floor_ms:.0f} ms; cold "
        f"deploy {c.deploy_s:.3f} s per task; {c.actors_per_task:.2f} Ray actors per task; "
        f"GCS at rest {c.gcs_idle_ms_per_s:.3f} ms/s per task; a node's raylet at rest "
        f"{c.raylet_idle_ms_per_s:.1f} ms/s."
    )
    if bound is not None and bound.n != c.n:
        head += (
            f" At N = {bound.n} on the same {bound.cores} cores, oversubscribed, a transition "
            f"cost {bound.node_cpu_ms:.1f} ms of node CPU and {bound.control_cpu_ms:.2f} ms of "
            f"control-plane CPU per task ({bound.env_cpu_ms:.2f} in the environment actor): "
            "contention, the upper bound."
        )
    rows = [
        f"| tasks per node k | memory | CPU at rest | transition CPU | transition on "
        f"{c.cores} cores | on {node_cores} cores | cold deploy on {node_cores} cores |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for k in PER_NODE:
        here, farm = node(c, k, c.cores), node(c, k, node_cores)
        rows.append(
            f"| {k} | {here['memory_mb'] / 1024:.2f} GB | {here['idle_cores']:.2f} cores | "
            f"{here['transition_cpu_s']:.2f} s | {here['transition_s']:.2f} s | "
            f"{farm['transition_s']:.2f} s | {farm['deploy_s']:.1f} s |"
        )
    farm_rows = [
        "| farm | nodes | tasks | Ray actors (envelope 10,000+) | env actor CPU per "
        f"transition (serial) | control-plane CPU per transition | GCS at rest | "
        f"transition on {node_cores}-core nodes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    scenarios = [(f"this machine, N = {c.n}", 1, c.n), *SCENARIOS]
    for label, nodes, k in scenarios:
        total = nodes * k
        cp = control_plane(c, total)
        flag = " ⚠" if cp["actors"] > RAY_ACTORS or nodes > RAY_NODES else ""
        farm_rows.append(
            f"| {label} | {nodes} | {total:,} | {cp['actors']:,.0f}{flag} | "
            f"{cp['env_serial_s']:.2f} s | {cp['control_cpu_s']:.2f} s | "
            f"{cp['gcs_idle_cores']:.2f} cores | "
            f"{transition_s(c, total, k, node_cores):.2f} s |"
        )
    return "\n\n".join([head, "\n".join(rows), "\n".join(farm_rows)])


def farm_model(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The model's inputs and its tables for a run's JSON; None without enough inputs."""
    try:
        n, largest = model_sizes(doc)
        c, bound = costs_from(doc, n=n), costs_from(doc, n=largest)
    except (ValueError, KeyError, ZeroDivisionError):
        return None
    return {"costs": asdict(c), "bound": asdict(bound), "tables": tables(c, bound=bound)}


def main() -> None:
    from bench.report import RESULTS

    path = Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS / "latest.json"
    model = farm_model(json.loads(path.read_text()))
    print(model["tables"] if model else "not enough measured in that run for the model")


if __name__ == "__main__":
    main()
