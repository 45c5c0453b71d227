"""A farm-scale model: what a node with k tasks costs, and the control plane's serial path.

What flows through: the costs a run of the suite measured per task (``Costs``, read from
its JSON by ``costs_from``: memory and CPU at rest per task, the CPU a transition costs per
task on the node — task actor + device —, the controller's and the GCS's CPU per task, the
gRPC floor of the transition, cold deploy per task, and from the farm harness the GCS's and
a node's raylet's CPU at rest) and the costs of the control tree, fitted on the farm
harness's layouts (``Tree``, by ``tree_from``: least squares, no magic) go through explicit
formulas:

* a node with k tasks on c cores: memory k·m; CPU at rest k·i + its raylet's r; a
  transition costs k·p of node CPU, done in parallel on the node's c cores, plus its role's
  (or shard's) own work n0 + n1·k; cold deploy k·d·(c0/c), where d was measured on this
  machine's c0 cores (Ray starts workers about as many at once as cores);
* the control plane's **serial** time per transition, for M nodes of k tasks (T = M·k) in
  the flat tree of the example (every task a direct child of the root role): the
  environment's one call (e0 + e1·T: its call and what it keeps per task), then the root
  role's work per direct child — one shard per node — (r0 + r1·M + r2·T; on one node the
  root is that node's role and this term is not there), then the busiest node's role's work
  per task on its node (n0 + n1·k); the nodes' roles work in parallel, each on its node;
* the control plane's total CPU per transition: the same, with every node's role counted,
  plus the controller's and the GCS's per task (T·q); the GCS at rest T·g; Ray actors
  a0 + a1·T + a2·M (M shards, none on one node; fitted on the layouts' counts; Ray's
  published envelope: 10,000+ actors, 2,000-node tests);
* a transition of T tasks spread k per node on c cores takes about floor + serial +
  k·p/c: the devices' own latency, the control plane's serial path and the busiest node's
  tasks.

``bench.farmtables`` renders it for k = tasks per node and for ALICE's farm (~200 FLPs with 10-20
controlled tasks each, ~250 EPNs, whose processes ODC controls: shown as a what-if where
o2ctl controlled them itself), with the serial control-plane time against issue 18's
target (≤ 0.5 s for 200 FLPs x 20 tasks; moonshot 0.1 s). ``env_growth`` checks, on the
farm harness's layouts with the same nodes and more tasks, that the environment actor's
CPU per transition does not grow with the tasks. ``python -m bench.farmtables
[results.json]`` prints it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
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
SERIAL_TARGET_S = 0.5  # issue 18: the control plane's serial time, 200 FLPs x 20 tasks …
SERIAL_MOONSHOT_S = 0.1  # … and its moonshot
TARGET_SCENARIO = (200, 20)
ENV_GROWTH_LIMIT = 1.2  # env CPU per transition, more tasks on the same nodes: "no growth"
HEAD_ROLES = "roles head"  # the farm harness's CPU groups of role actors (bench.farmscale)
ROLES = "roles "


@dataclass(frozen=True)
class Costs:
    """Per-task costs measured by one run (at size ``n`` on ``cores`` cores)."""

    n: int
    cores: int
    memory_mb: float  # actor + device, unique set size
    idle_ms_per_s: float  # actor + device, CPU at rest
    node_cpu_ms: float  # per transition: task actor + device
    other_cpu_ms: float  # per transition: controller + GCS
    floor_ms: float  # the transition's gRPC floor at the smallest size (devices' own time)
    deploy_s: float  # cold deploy, wall, per task
    gcs_idle_ms_per_s: float = 0.0  # GCS at rest / tasks (farm harness): an upper bound
    raylet_idle_ms_per_s: float = 0.0  # a worker node's raylet at rest (farm harness)


@dataclass(frozen=True)
class Tree:
    """The control tree's CPU per transition (ms), fitted on the farm harness's layouts."""

    env_call_ms: float  # the environment actor: its one call …
    env_task_ms: float  # … and what it does per task (its table, its events)
    root_call_ms: float  # the root role on the control node: its call …
    root_child_ms: float  # … per direct child (a node's shard) …
    root_task_ms: float  # … and per task passing through it
    node_call_ms: float  # a node's role (or shard): its call …
    node_task_ms: float  # … and per task on its node
    actors_fixed: float = 2.0  # Ray actors of an environment: fixed …
    actors_per_task: float = 1.0  # … per task …
    actors_per_node: float = 0.0  # … per node of several (its shard)
    layouts: tuple[str, ...] = ()  # the layouts fitted


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
        other_cpu_ms=sum(split.get(k, 0) for k in ("controller", "gcs")) / n,
        floor_ms=figs[(event, smallest)]["notes"]["grpc_floor"],
        deploy_s=figs[("deploy cold", n)]["median"] / n,
        gcs_idle_ms_per_s=idle.get("gcs", 0) / farm["tasks"] if farm.get("tasks") else 0.0,
        raylet_idle_ms_per_s=idle.get("raylets nodes", 0) / farm["nodes"]
        if farm.get("nodes")
        else 0.0,
    )


def fit_linear(
    rows: Sequence[Sequence[float]], ys: Sequence[float], drop: Sequence[int] = ()
) -> list[float]:
    """Least-squares coefficients of ``y = Σ c_i·x_i`` (the first x of each row is 1: the
    intercept). Regressors the points cannot tell apart are dropped (their coefficient 0)
    in the order ``drop`` gives, by default from the last: two layouts with the same tasks
    say nothing of a per-task cost. A negative coefficient other than the intercept (noise:
    CPU is read in 10 ms ticks) is taken as 0 and the others fitted again."""
    import numpy as np

    width = len(rows[0]) if rows else 0
    out = [0.0] * width
    keep = list(range(width))
    order = [*drop, *reversed(range(width))]
    while keep:
        x = np.array([[r[i] for i in keep] for r in rows], dtype=float)
        y = np.array(ys, dtype=float)
        if len(rows) >= len(keep) and np.linalg.matrix_rank(x) == len(keep):
            coef = np.linalg.lstsq(x, y, rcond=None)[0]
            negative = [i for i, c in zip(keep, coef, strict=True) if c < 0 and i != 0]
            if not negative:
                for i, c in zip(keep, coef, strict=True):
                    out[i] = max(float(c), 0.0)
                return out
            keep.remove(negative[-1])
        else:
            keep.remove(next(i for i in order if i in keep))
    return out


def mean_cpu(row: dict[str, Any], event: str, part: str) -> float:
    """The mean CPU (ms) of ``part`` over ``event``'s transitions in a farm layout (its
    median in older results, which kept no samples)."""
    samples = (row.get("cpu_samples_ms") or {}).get(event, {}).get(part)
    if samples:
        return float(sum(samples)) / len(samples)
    return float((row.get("cpu_ms") or {}).get(event, {}).get(part, 0.0))


def _node_roles(row: dict[str, Any], event: str) -> list[tuple[int, float]]:
    """(tasks on the node, its role actors' CPU) for each worker node of a farm layout."""
    parts = set((row.get("cpu_samples_ms") or {}).get(event, {})) | set(
        (row.get("cpu_ms") or {}).get(event, {})
    )
    out = []
    for machine, k in (row.get("tasks_per_node") or {}).items():
        if ROLES + machine in parts:
            out.append((int(k), mean_cpu(row, event, ROLES + machine)))
    return out


def has_tree(row: dict[str, Any]) -> bool:
    """Whether a farm layout measured its role actors' CPU (results before issue 18 did not)."""
    return bool(row.get("role_actors"))


def tree_from(rows: list[dict[str, Any]], event: str = EVENT) -> Tree:
    """The control tree's costs from the farm harness's layouts (``LayoutResult.to_dict``):
    the environment's CPU against the tasks, the root role's (on the control node, layouts
    of several nodes) against the nodes and the tasks, each node's roles' against its tasks,
    the environment's Ray actors against tasks and nodes."""
    rows = [r for r in rows if has_tree(r)]
    if not rows:
        raise ValueError("no farm layout with its role actors' CPU measured")
    env = fit_linear([(1.0, r["tasks"]) for r in rows], [mean_cpu(r, event, "env") for r in rows])
    spread = [r for r in rows if r["nodes"] > 1]
    root = fit_linear(
        [(1.0, r["nodes"], r["tasks"]) for r in spread],
        [mean_cpu(r, event, HEAD_ROLES) for r in spread],
    ) or [0.0, 0.0, 0.0]
    points = [p for r in rows for p in _node_roles(r, event)]
    per_node = fit_linear([(1.0, k) for k, _ in points], [y for _, y in points]) or [0.0, 0.0]
    actors = fit_linear(  # one actor per task is what cannot be dropped
        [(1.0, r["tasks"], _shards(r["nodes"])) for r in rows],
        [r["actors"] for r in rows],
        drop=(2, 0),
    )
    return Tree(
        env_call_ms=env[0],
        env_task_ms=env[1],
        root_call_ms=root[0],
        root_child_ms=root[1],
        root_task_ms=root[2],
        node_call_ms=per_node[0],
        node_task_ms=per_node[1],
        actors_fixed=actors[0],
        actors_per_task=actors[1],
        actors_per_node=actors[2],
        layouts=tuple(r["layout"] for r in rows),
    )


def _shards(nodes: int) -> int:
    """Node shards of the root role in the flat tree: one per node, none on one node (the
    root role is that node's)."""
    return nodes if nodes > 1 else 0


def node_role_ms(t: Tree, k: int) -> float:
    """A node's role (or shard) per transition, driving its ``k`` tasks."""
    return t.node_call_ms + k * t.node_task_ms


def serial(t: Tree, nodes: int, k: int) -> dict[str, float]:
    """The control plane's serial path per transition (ms), M = ``nodes`` of ``k`` tasks in
    the flat tree: the environment's call, the root role's (on the control node when the
    tasks span nodes; on one node it is that node's role), the busiest node's role."""
    total = nodes * k
    env = t.env_call_ms + total * t.env_task_ms
    root = t.root_call_ms + nodes * t.root_child_ms + total * t.root_task_ms if nodes > 1 else 0.0
    busiest = node_role_ms(t, k)
    return {"env": env, "root": root, "node": busiest, "serial": env + root + busiest}


def node(c: Costs, t: Tree, k: int, cores: int) -> dict[str, float]:
    """What a node with ``k`` tasks on ``cores`` cores costs."""
    role = node_role_ms(t, k)
    return {
        "memory_mb": k * c.memory_mb,
        "idle_cores": (k * c.idle_ms_per_s + c.raylet_idle_ms_per_s) / 1e3,
        "transition_cpu_s": k * c.node_cpu_ms / 1e3,
        "role_cpu_s": role / 1e3,
        "transition_s": (c.floor_ms + role + k * c.node_cpu_ms / cores) / 1e3,
        "deploy_s": k * c.deploy_s * c.cores / cores,
    }


def control_plane(c: Costs, t: Tree, nodes: int, k: int) -> dict[str, float]:
    """The control plane's load with ``nodes`` x ``k`` tasks in one environment."""
    total = nodes * k
    path = serial(t, nodes, k)
    every_role = path["root"] + nodes * path["node"]
    return {
        "env_s": path["env"] / 1e3,
        "root_s": path["root"] / 1e3,
        "node_role_s": path["node"] / 1e3,
        "serial_s": path["serial"] / 1e3,
        "control_cpu_s": (path["env"] + every_role + total * c.other_cpu_ms) / 1e3,
        "gcs_idle_cores": total * c.gcs_idle_ms_per_s / 1e3,
        "actors": t.actors_fixed + total * t.actors_per_task + _shards(nodes) * t.actors_per_node,
    }


def transition_s(c: Costs, t: Tree, nodes: int, k: int, cores: int) -> float:
    """floor + the control plane's serial path + the busiest node's tasks on its cores."""
    return (c.floor_ms + serial(t, nodes, k)["serial"] + k * c.node_cpu_ms / cores) / 1e3


def env_growth(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each node count measured with different task counts (``4x25`` and ``4x50``):
    the environment actor's CPU per transition (mean over the four transitions) at the
    fewest and the most tasks, their ratio, and whether it stays within
    ``ENV_GROWTH_LIMIT`` (it must not grow with the tasks when the nodes are fixed)."""
    from bench.devices import CYCLE

    by_nodes: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        by_nodes.setdefault(int(r["nodes"]), []).append(r)
    out = []
    for nodes, group in sorted(by_nodes.items()):
        few, many = min(group, key=lambda r: r["tasks"]), max(group, key=lambda r: r["tasks"])
        if few["tasks"] == many["tasks"]:
            continue
        lo, hi = (sum(mean_cpu(r, e, "env") for e in CYCLE) / len(CYCLE) for r in (few, many))
        ratio = hi / lo if lo > 0 else math.nan
        out.append(
            {
                "nodes": nodes,
                "few": few["layout"],
                "many": many["layout"],
                "few_ms": lo,
                "many_ms": hi,
                "tasks_ratio": many["tasks"] / few["tasks"],
                "ratio": ratio,
                "ok": bool(ratio <= ENV_GROWTH_LIMIT),
            }
        )
    return out
