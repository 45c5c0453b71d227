"""At farm scale, checked on this machine: the same N tasks on 1 node, and on m nodes.

What flows through: a ``ray.cluster_utils.Cluster`` of its own (the suite's single-node Ray
is closed by then), whose head node carries only the control plane (the controller, the
environment and role actors, Ray's GCS: its share of Ray's ``memory`` resource is less than
one task wants, so placement puts no task there, as a farm keeps its control machines
apart), and worker nodes labelled ``machine_id=bench-nodeI`` added as the layouts ask
(``1x100``: one node with 100 tasks; ``4x25``: four nodes with 25 each; layouts run in
order of their node count, adding nodes, never removing one). For each layout, one cold
deploy of the same workflow (placement spreads it evenly: checked), one CONFIGURE and
RESET to warm up (timed apart: the root role makes its shard on each other node then),
transition cycles timed at the SDK with the CPU of every part (environment actor, the role
actors and shards by node — the head's, each worker node's —, controller, GCS, the head's
raylet and the worker nodes' raylets, task actors, devices), and what the control plane
costs at rest with the environment CONFIGURED. Every node shares this machine's cores, so
this tells what more nodes cost the control plane, not what they add in power.

The transitions go down the role tree: the environment makes one call to the root role;
a role drives its direct tasks on its own node, one shard of itself on each other node
holding its direct tasks, and its sub-roles. The example workflow is flat (every task a
direct child of the root), so with several nodes the root role sits on the head and drives
one shard per node; on one node the root role sits on that node and drives every task. The
role actors and shards (named ``<env id>:<path>`` and ``<env id>:<path>@<node id>``) are
found with their worker pids and nodes in Ray's actor table, asked at this cluster's own
GCS address.

Two layouts with the same nodes and more tasks (``4x25`` and ``4x50``) check that the
environment actor's CPU per transition does not grow with the tasks (``bench.farmmodel.
env_growth``). A layout that would not fit this machine's memory (``fits``: ~75 MB per
task, plus each node's Ray daemons and the control plane) is left out, and said so.

``bench.farmmodel`` turns these and the suite's per-task costs into a model of a farm.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import deploy, transitions
from bench.common import Repeats, close, controller, elapsed, median, say
from bench.devices import CYCLE
from bench.procs import control_pids, count_actors, cpu_s, raylets_by_node

# 4x50 (200 tasks, ~15 GB) fits a 24 GB machine: the suite's own N = 200 ran on one.
DEFAULT_LAYOUTS = "1x100,4x25,4x50,10x10"
QUICK_LAYOUTS = "1x20,4x5,4x10,10x2"
TINY_LAYOUTS = "1x4,2x2"
HEAD_CPUS = 2
HEAD_MEMORY_MB = 64  # below one task's wants (24 + 55 MB): no task is placed on the head
NODE_CPUS = 2  # logical: a task wants 0.005 of a core
CONTROL = ("env", "controller", "gcs", "raylet head")
TASK_MB = 75.0  # a task's actor + device (the suite's memory/task)
NODE_MB = 300.0  # a worker node's own Ray processes (raylet, agents)
CONTROL_MB = 1500.0  # the head: GCS, raylet, dashboard, controller, environment, roles
HEAD_ROLES = "roles head"  # the CPU group of the role actors on the control node
ROLES = "roles "  # … and of those on each worker node: "roles <machine id>"


@dataclass(frozen=True)
class Layout:
    nodes: int
    per_node: int

    @property
    def total(self) -> int:
        return self.nodes * self.per_node

    @property
    def label(self) -> str:
        return f"{self.nodes}x{self.per_node}"

    @staticmethod
    def parse(text: str) -> list[Layout]:
        """``"1x100,4x25"`` → layouts; ``""``/``none`` → none."""
        if not text or text.strip().lower() == "none":
            return []
        out = []
        for item in text.split(","):
            nodes, _, per_node = item.strip().lower().partition("x")
            layout = Layout(int(nodes), int(per_node))
            if layout.nodes < 1 or layout.total < 3:
                raise ValueError(f"layout {item!r}: at least 1 node and 3 tasks in all")
            out.append(layout)
        return out


@dataclass
class LayoutResult:
    layout: str
    nodes: int
    tasks: int
    deploy_s: float
    tasks_per_node: dict[str, int]
    actors: int  # Ray actors the environment added (its own, its roles', its tasks')
    transition_ms: dict[str, list[float]]  # event → SDK wall per cycle
    cpu_ms: dict[str, dict[str, float]]  # event → part → median CPU ms per transition
    idle_ms_per_s: dict[str, float]  # part → CPU at rest, environment CONFIGURED
    notes: dict[str, Any] = field(default_factory=dict)
    cpu_samples_ms: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    role_actors: dict[str, str] = field(default_factory=dict)  # role/shard name → machine
    first_configure_ms: float = 0.0  # the warm-up CONFIGURE (shards made on first need)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@contextmanager
def farm_session() -> Iterator[tuple[Any, Any]]:
    """(cluster, client): a head node carrying only the control plane; gone at the end."""
    import ray
    from ray.cluster_utils import Cluster

    from actors import naming

    with (
        tempfile.TemporaryDirectory(prefix="o2ctl-bench-farm-") as tmp,
        redirect_stdout(sys.stderr),
    ):
        t0 = time.perf_counter()
        # the dashboard, as on the suite's own Ray: Ray's state API (actors, pids) needs it
        head = {
            "num_cpus": HEAD_CPUS,
            "memory": HEAD_MEMORY_MB * 2**20,
            "include_dashboard": True,
            "dashboard_port": _free_port(),  # another Ray on this machine may hold 8265
        }
        cluster = Cluster(initialize_head=True, head_node_args=head)
        client = None
        try:
            ray.init(
                address=cluster.address,
                namespace=naming.NAMESPACE,
                logging_level=logging.WARNING,
                log_to_driver=False,
            )
            client = controller(Path(tmp))
            say(f"farm: cluster head and controller up in {elapsed(t0):.1f}s")
            yield cluster, client
        finally:
            close(client)
            cluster.shutdown()  # type: ignore[no-untyped-call]


def add_node(cluster: Any, client: Any, index: int) -> str:
    """One more worker node, labelled; returns once the controller sees it."""
    machine_id = f"bench-node{index}"
    cluster.add_node(num_cpus=NODE_CPUS, labels={"machine_id": machine_id, "node_class": "sync"})
    deadline = time.monotonic() + 60
    while not any(r["machine_id"] == machine_id and r["alive"] for r in client.nodes()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"farm: node {machine_id} not seen by the controller in 60s")
        time.sleep(0.2)
    return machine_id


def _spread(client: Any, env: Any, layout: Layout) -> dict[str, int]:
    names = {r["node_id"]: r["machine_id"] for r in client.nodes()}
    counts: dict[str, int] = {}
    for t in env.tasks:
        machine = names.get(t["node_id"], t["node_id"])
        counts[machine] = counts.get(machine, 0) + 1
    if sorted(counts.values()) != [layout.per_node] * layout.nodes:
        raise RuntimeError(f"farm {layout.label}: tasks placed {counts}, not evenly")
    return counts


def memory_need_mb(layout: Layout) -> float:
    """What a layout needs of this machine's memory, all nodes being on it."""
    return layout.total * TASK_MB + layout.nodes * NODE_MB + CONTROL_MB


def fits(
    layouts: list[Layout], available_mb: float | None = None
) -> tuple[list[Layout], list[str]]:
    """The layouts that fit the memory available now (``available_mb``: psutil's), and a
    sentence for each one left out. Every node of ``cluster_utils`` claims the machine's
    memory for itself, so Ray's admission would not stop a layout too big: this does."""
    if available_mb is None:
        import psutil

        available_mb = psutil.virtual_memory().available / 2**20
    keep, why = [], []
    for lay in layouts:
        need = memory_need_mb(lay)
        if need <= available_mb:
            keep.append(lay)
        else:
            why.append(
                f"farm {lay.label} left out: it needs ~{need / 1024:.1f} GB ({lay.total} tasks "
                f"x {TASK_MB:.0f} MB, {lay.nodes} nodes' Ray processes, the control plane), "
                f"{available_mb / 1024:.1f} GB are available"
            )
    return keep, why


def role_actors(env_id: str) -> list[tuple[str, int, str]]:
    """(name, worker pid, node id) of the environment's live role actors and shards, from
    Ray's actor table at this cluster's GCS address (task actors' names carry a ``#``)."""
    import ray
    from ray.util.state import list_actors

    address = ray.get_runtime_context().gcs_address
    alive: list[Any] = [("state", "=", "ALIVE")]
    found = list_actors(
        address=address, filters=alive, detail=True, limit=10_000, raise_on_missing_output=False
    )
    prefix = f"{env_id}:"
    return [
        (str(a.name), int(a.pid), str(a.node_id))
        for a in found
        if a.name and a.name.startswith(prefix) and "#" not in a.name and a.pid
    ]


def _groups(client: Any, env: Any) -> tuple[dict[str, list[int]], dict[str, str]]:
    """The parts of ``control_pids``, with the head's raylet apart from the nodes' ones and
    the role actors by node; and each role actor's machine."""
    import ray

    groups = control_pids(env)
    by_node = raylets_by_node()
    head = ray.get_runtime_context().get_node_id()
    groups["raylet head"] = [pid for node, pid in by_node.items() if node == head]
    groups["raylets nodes"] = [pid for node, pid in by_node.items() if node != head]
    del groups["raylets"]
    machines = {r["node_id"]: r["machine_id"] for r in client.nodes()}
    roles = role_actors(env.id)
    if not roles:
        raise RuntimeError(f"farm: no role actor of environment {env.id} in Ray's actor table")
    groups[HEAD_ROLES] = []
    where = {}
    for name, pid, node in roles:
        key = HEAD_ROLES if node == head else ROLES + machines.get(node, node)
        groups.setdefault(key, []).append(pid)
        where[name] = key.removeprefix(ROLES)
    return groups, where


def idle_ms_per_s(groups: dict[str, list[int]], window_s: float) -> dict[str, float]:
    before = {name: cpu_s(pids) for name, pids in groups.items()}
    time.sleep(window_s)  # the window is the measure
    return {name: (cpu_s(pids) - before[name]) * 1e3 / window_s for name, pids in groups.items()}


def measure_layout(client: Any, layout: Layout, repeats: Repeats) -> LayoutResult:
    """One cold deploy of the layout, transition cycles, the control plane at rest."""
    client.clean_tasks()
    runs = deploy.Deploys()
    say(f"farm {layout.label}: cold deploy of {layout.total} tasks")
    before = count_actors()
    env = deploy.create(client, layout.total, runs)
    try:
        spread = _spread(client, env, layout)
        t0 = time.perf_counter()
        env.configure()  # warm-up: the root role makes its shards here
        first_ms = elapsed(t0) * 1e3
        env.reset()
        actors = count_actors() - before
        groups, where = _groups(client, env)
        timed = transitions.measure(env, repeats.transitions, groups)
        env.configure()
        idle = idle_ms_per_s(groups, repeats.idle_window_s)
    finally:
        env.destroy()
        client.clean_tasks()
    return LayoutResult(
        layout.label,
        layout.nodes,
        layout.total,
        runs.sdk_s[0],
        spread,
        actors,
        {e: [s * 1e3 for s in timed.sdk[e]] for e in CYCLE},
        {e: {part: median(v) for part, v in timed.cpu_ms[e].items()} for e in CYCLE},
        idle,
        {"env_deploy_s": runs.deploy_s[0]},
        timed.cpu_ms,
        where,
        first_ms,
    )


def measure(
    layouts: list[Layout], repeats: Repeats, errors: list[str] | None = None
) -> list[LayoutResult]:
    """Every layout on one cluster, nodes added as the layouts need them. A layout that
    fails is said in ``errors`` (raised when none is given) and the next one still runs:
    one stalled layout must not lose the others' figures."""
    out: list[LayoutResult] = []
    with farm_session() as (cluster, client):
        nodes = 0
        for layout in sorted(layouts, key=lambda lay: lay.nodes):
            while nodes < layout.nodes:
                nodes += 1
                add_node(cluster, client, nodes)
            try:
                out.append(measure_layout(client, layout, repeats))
            except Exception as exc:
                if errors is None:
                    raise
                errors.append(f"farm {layout.label}: {type(exc).__name__}: {exc}")
                say(f"farm {layout.label} FAILED (the other layouts go on): {errors[-1]}")
    return out


def main() -> None:
    import json

    from bench.common import base_parser, repeats_of
    from bench.readme import farm_table

    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--farm", default=None, help=f"layouts, default {DEFAULT_LAYOUTS}")
    options = parser.parse_args()
    default = TINY_LAYOUTS if options.tiny else QUICK_LAYOUTS if options.quick else DEFAULT_LAYOUTS
    layouts, left_out = fits(Layout.parse(options.farm or default))
    for why in left_out:
        say(f"WARNING {why}")
    results = measure(layouts, repeats_of(options))
    print(farm_table([r.to_dict() for r in results]))
    print(json.dumps([r.to_dict() for r in results], indent=1), file=sys.stderr)


if __name__ == "__main__":
    main()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
