"""System tests: one real local Ray for the whole run, one o2ctl controller in it.

Ray starts once per test session (starting it costs seconds on CI's two cores). The
controller gets a state directory of its own (run numbers, logs) under pytest's tmp. At the
end every environment is destroyed and every idle task ended, so that the no-orphan guard
of the top-level conftest holds for the session too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def o2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    ray = pytest.importorskip("ray")
    from o2ctl.sdk import connect

    state = tmp_path_factory.mktemp("o2ctl-state")
    os.environ["O2CTL_STATE_DIR"] = str(state)
    client = connect(
        state_dir=str(state),
        settings={"log_dir": str(state / "logs"), "kill_grace_s": 2.0},
        num_cpus=2,
    )
    yield client
    try:
        client.shutdown()
    finally:
        ray.shutdown()


@pytest.fixture
def clean_o2(o2: object) -> Iterator[object]:
    """The session's client; every environment and idle task the test left is removed."""
    yield o2
    o2.shutdown()  # type: ignore[attr-defined]


@pytest.fixture
def state_dir() -> Path:
    return Path(os.environ["O2CTL_STATE_DIR"])
