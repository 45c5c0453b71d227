"""Metrics reach Ray's Prometheus export (what the dashboard and Grafana read) during a run."""

from __future__ import annotations

import re
import urllib.request
from typing import Any

import pytest

from o2ctl.demo import PIPELINE
from tests.conftest import wait_for

pytestmark = pytest.mark.ray


def scrape() -> str:
    import ray

    node = next(n for n in ray.nodes() if n["Alive"])
    url = f"http://{node['NodeManagerAddress']}:{node['MetricsExportPort']}/metrics"
    with urllib.request.urlopen(url, timeout=5) as reply:
        return str(reply.read().decode())


def test_environment_metrics_are_exported(clean_o2: Any) -> None:
    env = clean_o2.create_environment(PIPELINE, vars={"nProcessors": "1"})
    env.start()
    running = re.compile(
        r'o2ctl_environment_state\{[^}]*env_id="' + env.id + r'"[^}]*state="RUNNING"[^}]*\} 1'
    )
    text = str(
        wait_for(
            lambda: (t := scrape()) and running.search(t) and t,
            60,
            "the RUNNING state in Ray's metrics export",
        )
    )
    assert re.search(
        r'o2ctl_environment_tasks\{[^}]*env_id="' + env.id + r'"[^}]*state="RUNNING"[^}]*\} 3', text
    )
    assert re.search(r'o2ctl_environment_run_number\{[^}]*env_id="' + env.id + r'"', text)
    assert "o2ctl_transition_duration_seconds_bucket" in text
    env.stop()
    env.destroy()
