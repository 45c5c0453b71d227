"""The quickstart notebook, executed as a user would, against the test session's Ray.

The kernel is a separate process: it reaches the running system through
``O2CTL_RAY_ADDRESS`` (the session's Ray), creates, runs and destroys an environment, and
the environment's HTML rendering must show the tree with its states.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.ray

NOTEBOOK = ROOT / "o2ctl" / "examples" / "quickstart.ipynb"


def test_quickstart_notebook_runs_and_renders_the_tree(o2: Any) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    import ray

    nb = nbformat.read(NOTEBOOK, as_version=4)
    env = dict(os.environ, O2CTL_RAY_ADDRESS=ray.get_runtime_context().gcs_address)
    old = dict(os.environ)
    os.environ.update(env)  # the kernel inherits the environment of its launcher
    try:
        nbclient.NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    html = [
        out["data"]["text/html"]
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if "text/html" in out.get("data", {})
    ]
    assert html, "the environment cell rendered no HTML"
    page = html[0]
    assert "[RUNNING]" in page
    for role in ("sampler", "sink", "processor1", "processor2"):
        assert role in page
    assert o2.environments() == [], "the notebook destroyed its environment"
