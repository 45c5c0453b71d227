"""At farm scale, checked on this machine: the same N tasks on 1 node, and on m nodes.

What flows through: a ``ray.cluster_utils.Cluster`` of its own (the suite's single-node Ray
is closed by then), whose head node carries only the control plane (the controller, the
environment and role actors, Ray's GCS: its share of Ray's ``memory`` resource is less than
one task wants, so placement puts no task there, as a farm keeps its control machines
apart), and worker nodes labelled ``machine_id=bench-nodeI`` added as the layouts ask
(``1x100``: one node with 100 tasks; ``4x25``: four nodes with 25 each; layouts run in
order of their node count, adding nodes, never removing one). For each layout, one cold
deploy of the same workflow (placement spreads it evenly: checked), transition cycles
timed at the SDK with the CPU of every part (environment actor, controller, GCS, the
head's raylet and the worker nodes' raylets, task actors, devices), and what the control
plane costs at rest with the environment CONFIGURED. Every node shares this machine's
cores, so this tells what more nodes cost the control plane, not what they add in power.

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

DEFAULT_LAYOUTS = "1x100,4x25"
QUICK_LAYOUTS = "1x20,4x5"
TINY_LAYOUTS = "1x4,2x2"
HEAD_CPUS = 2
HEAD_MEMORY_MB = 64  # below one task's wants (24 + 55 MB): no task is placed on the head
NODE_CPUS = 2  # logical: a task wants 0.005 of a core
CONTROL = ("env", "controller", "gcs", "raylet head")


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


def _groups(env: Any) -> dict[str, list[int]]:
    """The parts of ``control_pids``, with the head's raylet apart from the nodes' ones."""
    import ray

    groups = control_pids(env)
    by_node = raylets_by_node()
    head = ray.get_runtime_context().get_node_id()
    groups["raylet head"] = [pid for node, pid in by_node.items() if node == head]
    groups["raylets nodes"] = [pid for node, pid in by_node.items() if node != head]
    del groups["raylets"]
    return groups


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
        spread, actors = _spread(client, env, layout), count_actors() - before
        groups = _groups(env)
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
    )


def measure(layouts: list[Layout], repeats: Repeats) -> list[LayoutResult]:
    """Every layout on one cluster, nodes added as the layouts need them."""
    out: list[LayoutResult] = []
    with farm_session() as (cluster, client):
        nodes = 0
        for layout in sorted(layouts, key=lambda lay: lay.nodes):
            while nodes < layout.nodes:
                nodes += 1
                add_node(cluster, client, nodes)
            out.append(measure_layout(client, layout, repeats))
    return out


def main() -> None:
    import json

    from bench.common import base_parser, repeats_of
    from bench.readme import farm_table

    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--farm", default=None, help=f"layouts, default {DEFAULT_LAYOUTS}")
    options = parser.parse_args()
    default = TINY_LAYOUTS if options.tiny else DEFAULT_LAYOUTS
    results = measure(Layout.parse(options.farm or default), repeats_of(options))
    print(farm_table([r.to_dict() for r in results]))
    print(json.dumps([r.to_dict() for r in results], indent=1), file=sys.stderr)


if __name__ == "__main__":
    main()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
