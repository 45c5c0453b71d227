"""Test-wide fixtures: a deadline-based waiter and the no-orphan guard.

Every process o2ctl (or a test) starts carries the ``O2CTL_OWNER`` mark (see
``occ.processes``). After each test the guard waits, with a deadline, for marked processes
started during the test to be gone, and fails the test naming any survivor (then kills it,
so that one leak does not cascade into every later test). Only processes of this test run
count: each run exports a ``O2CTL_TEST_RUN`` id that every process it starts inherits
(Ray's workers and their task processes too), so two test runs on one machine never judge,
or kill, each other's processes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from occ.processes import OwnedProcess, find_owned

RUN_ENV = "O2CTL_TEST_RUN"
RUN_ID = os.environ.setdefault(RUN_ENV, uuid.uuid4().hex)
ROOT = Path(__file__).resolve().parent.parent
SHARED_WORKFLOWS = Path(
    os.environ.get("O2CTL_SHARED_WORKFLOWS") or ROOT.parent / "shared" / "controlworkflows"
)  # a worktree outside /work sets O2CTL_SHARED_WORKFLOWS


def wait_for(cond: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> object:
    """Poll ``cond`` until truthy; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}")
        time.sleep(0.02)


def ours() -> list[OwnedProcess]:
    return find_owned(env_match=(RUN_ENV, RUN_ID))


@pytest.fixture(autouse=True)
def no_leftover_processes(request: pytest.FixtureRequest) -> Iterator[None]:
    before = {p.pid for p in ours()}
    yield
    if request.node.get_closest_marker("keeps_processes"):
        return
    deadline = time.monotonic() + 15.0
    left = [p for p in ours() if p.pid not in before]
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = [p for p in ours() if p.pid not in before]
    for p in left:
        with contextlib.suppress(OSError):
            os.killpg(p.pid, signal.SIGKILL)
    assert not left, "processes left behind by the test: " + "; ".join(
        f"pid {p.pid} owner {p.owner}: {p.cmdline}" for p in left
    )


@pytest.fixture
def shared_workflows() -> Path:
    if not SHARED_WORKFLOWS.is_dir():
        pytest.skip(f"the real AliECS templates are not beside the project ({SHARED_WORKFLOWS})")
    return SHARED_WORKFLOWS


# -- one real local Ray for the whole run, with an o2ctl controller in it ----------------
# Ray starts once per test session (starting it costs seconds on CI's two cores), as a
# ``ray.cluster_utils.Cluster`` with only its head node: tests that need a farm add labelled
# nodes to this same cluster (``farm``) and remove them when done, so there is never a
# second Ray in the run. The controller gets a state directory of its own (run numbers,
# records, logs) under pytest's tmp. At the end every environment is destroyed and every
# idle task ended.

SYSTEM_CONFIG = {
    "metrics_report_interval_ms": 1000,
    # a lost node is noticed in ~1.5 s rather than Ray's default ~15 s (node-loss tests)
    "health_check_period_ms": 500,
    "health_check_failure_threshold": 3,
}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def cluster() -> Iterator[object]:
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    c = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 2,
            "_system_config": SYSTEM_CONFIG,
            "dashboard_port": free_port(),  # another Ray on this host may hold 8265
        },
    )
    c.auth_mode = os.environ.get("RAY_AUTH_MODE") or "disabled"  # type: ignore[attr-defined]
    try:
        yield c
    finally:
        if ray.is_initialized():
            ray.shutdown()
        c.shutdown()


@pytest.fixture(scope="session")
def o2(cluster: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from o2ctl.sdk import connect

    state = tmp_path_factory.mktemp("o2ctl-state")
    os.environ["O2CTL_STATE_DIR"] = str(state)
    client = connect(
        cluster.address,  # type: ignore[attr-defined]
        state_dir=str(state),
        settings={"log_dir": str(state / "logs"), "kill_grace_s": 2.0},
    )
    yield client
    client.shutdown()


class Farm:
    """Labelled Ray nodes added to the session's cluster for one test, removed after it."""

    def __init__(self, cluster: object) -> None:
        self.cluster = cluster
        self.nodes: dict[str, object] = {}

    def add(
        self, machine_id: str, node_class: str = "sync", num_cpus: int = 1, **labels: str
    ) -> object:
        import ray

        # A node speaks its head's authentication mode: ``connect`` may have turned token
        # mode on in this process since the head started (``o2ctl.sdk.session._use_local_token``),
        # and a raylet in token mode refuses the head's unauthenticated lease requests (no
        # actor could ever be scheduled on it).
        saved = os.environ.get("RAY_AUTH_MODE")
        os.environ["RAY_AUTH_MODE"] = self.cluster.auth_mode  # type: ignore[attr-defined]
        try:
            node = self.cluster.add_node(  # type: ignore[attr-defined]
                num_cpus=num_cpus,
                labels={"machine_id": machine_id, "node_class": node_class, **labels},
            )
        finally:
            if saved is None:
                os.environ.pop("RAY_AUTH_MODE", None)
            else:
                os.environ["RAY_AUTH_MODE"] = saved
        self.nodes[machine_id] = node
        wait_for(
            lambda: any(
                n["Alive"] and (n.get("Labels") or {}).get("machine_id") == machine_id
                for n in ray.nodes()
            ),
            30,
            f"node {machine_id} to join",
        )
        return node

    def remove(self, machine_id: str, allow_graceful: bool = False) -> None:
        node = self.nodes.pop(machine_id)
        self.cluster.remove_node(node, allow_graceful=allow_graceful)  # type: ignore[attr-defined]

    def close(self) -> None:
        for machine_id in list(self.nodes):
            with contextlib.suppress(Exception):
                self.remove(machine_id, allow_graceful=True)


@pytest.fixture
def farm(cluster: object, o2: object) -> Iterator[Farm]:
    f = Farm(cluster)
    try:
        yield f
    finally:
        f.close()


@pytest.fixture
def clean_o2(o2: object) -> Iterator[object]:
    """The session's client; every environment and idle task the test left is removed."""
    yield o2
    o2.shutdown()  # type: ignore[attr-defined]


@pytest.fixture
def state_dir() -> Path:
    return Path(os.environ["O2CTL_STATE_DIR"])
