"""The demo: the example pipeline through its whole lifecycle on a local Ray.

sampler → N processors → sink (FairMQ-style devices moving real messages over ZeroMQ),
created (DEPLOY + CONFIGURE), started, stopped, started again with a new run number,
stopped, destroyed, with the sink's count checked after each run and no process left. This
is the README's main command (``o2ctl demo``).

With ``--nodes flp1:sync,flp2:sync,epn1:async`` it runs on a private development farm (a
``ray.cluster_utils.Cluster``: the head and one labelled Ray node per entry, all on this
machine): async nodes get their pilot job, the pipeline's tasks spread over the sync nodes
(each task's node is shown), and at the end the async nodes are reclaimed.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

PIPELINE = "sampler-processors-sink"
Say = Callable[[str], None]


def _count(path: Path) -> int:
    try:
        return int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


@contextlib.contextmanager
def _farm(nodes: Sequence[tuple[str, str]]) -> Iterator[str | None]:
    """A private Ray cluster with one labelled node per entry (None: a plain local Ray)."""
    if not nodes:
        yield None
        return
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2})
    try:
        for machine_id, mode in nodes:  # before connecting: they speak the head's auth mode
            cluster.add_node(num_cpus=1, labels={"machine_id": machine_id, "node_class": mode})
        cluster.wait_for_nodes()
        yield cluster.address
    finally:
        ray.shutdown()  # the driver first: a cluster refuses to remove the node it is on
        cluster.shutdown()  # type: ignore[no-untyped-call]


def _wait(what: str, cond: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := cond()):
        if time.monotonic() > deadline:
            raise SystemExit(f"the demo farm is not ready: no {what} after {timeout:.0f}s")
        time.sleep(0.2)
    return value


def _show_farm(client: Any, nodes: Sequence[tuple[str, str]], say: Say) -> None:
    wanted = {m for m, _ in nodes}
    pilots = {m for m, mode in nodes if mode == "async"}

    def ready() -> list[dict[str, Any]] | None:
        rows: list[dict[str, Any]] = client.nodes()
        seen = {r["machine_id"]: r for r in rows if r["alive"]}
        if wanted <= set(seen) and all(seen[m]["pilot"] for m in pilots):
            return rows
        return None

    for r in _wait("node list with every node and pilot", ready):
        pilot = r["pilot"]
        extra = f"  pilot pid {pilot['pid']} {pilot['state']}" if pilot else ""
        say(f"  node {r['machine_id']:<12} {r['node_class']:<6}{extra}")


def _reclaim(client: Any, nodes: Sequence[tuple[str, str]], say: Say) -> None:
    for machine_id, mode in nodes:
        if mode == "async":
            done = client.assign_node(machine_id, "sync", grace_s=2.0)
            say(f"node {machine_id} reclaimed: pilot ended by {done['how']} in {done['took_s']}s")


def run_demo(
    processors: int = 4,
    seconds: float = 2.0,
    say: Say = print,
    nodes: Sequence[tuple[str, str]] = (),
) -> int:
    import ray

    from o2ctl.sdk import connect

    with tempfile.TemporaryDirectory(prefix="o2ctl-demo-") as tmp, _farm(nodes) as address:
        state = Path(tmp)
        count_file = state / "sink.count"
        t0 = time.perf_counter()
        client = connect(
            address,
            state_dir=str(state),
            settings={"log_dir": str(state / "logs")},
            isolate_cwd=True,
        )
        say(f"local Ray and controller up in {time.perf_counter() - t0:.1f}s")
        try:
            if nodes:
                _show_farm(client, nodes, say)
            t = time.perf_counter()
            env = client.create_environment(
                PIPELINE, vars={"nProcessors": str(processors), "sink_count_file": str(count_file)}
            )
            say(
                f"environment {env.id} created ({len(env.tasks)} tasks) in "
                f"{time.perf_counter() - t:.1f}s: {env.state}"
            )
            if nodes:
                for task in sorted(env.tasks, key=lambda t: t["role_path"]):
                    say(f"  {task['role_path']} → node {task['host']}")
            for run in (1, 2):
                t = time.perf_counter()
                env.start()
                say(f"run {env.run_number} started in {time.perf_counter() - t:.2f}s: {env.state}")
                time.sleep(seconds)
                t = time.perf_counter()
                env.stop()
                got = _count(count_file)
                say(
                    f"run {run} stopped in {time.perf_counter() - t:.2f}s; "
                    f"sink received {got} messages"
                )
                if got <= 0:
                    raise SystemExit("the sink received nothing: data did not flow")
            env.destroy()
            say("environment destroyed")
        finally:
            with contextlib.suppress(Exception):
                _reclaim(client, nodes, say)
            client.shutdown()
            ray.shutdown()
    return 0
