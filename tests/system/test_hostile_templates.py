"""Hostile templates against a running controller: refused fast, the controller unharmed.

The alias bombs of issue 14 (nine levels of anchors, ten aliases each, in ``defaults``; and
the same with the anchors nested) are created through the SDK, as ``o2ctl env create`` and
the Control API do. Each create must be refused within 5 s naming the limit, while the
controller keeps answering (polled throughout) and its resident memory (read with psutil
from the controller's pid) stays within 100 MB of where it was. The expansion runs in a
worker process; its deadline is checked too (the worker is killed, nothing is left).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psutil
import pytest
import ray

from o2ctl.demo import PIPELINE
from tests.conftest import ROOT, wait_for

pytestmark = pytest.mark.ray

ROLES = "roles:\n  - name: one\n    task:\n      load: fairmq-ex-1-n-1-sink\n"


def alias_bomb() -> str:
    lines = ["name: bomb", "defaults:"]
    lines.append('  a0: &a0 "xxxxxxx"')
    for i in range(1, 10):
        lines.append(f"  a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n" + ROLES


def nested_bomb() -> str:
    inner = '&n0 "xxxxxxxxxx"'
    for i in range(1, 10):
        inner = f"&n{i} [{inner}" + "".join(f",*n{i - 1}" for _ in range(9)) + "]"
    return f"name: nested\ndefaults:\n  v: {inner}\n" + ROLES


@pytest.fixture
def bomb_repo(tmp_path: Path) -> Iterator[str]:
    from o2ctl.config import RepositoryManager

    repo = tmp_path / "bombs"
    shutil.copytree(ROOT / "workflows" / "tasks", repo / "tasks")
    (repo / "workflows").mkdir()
    (repo / "workflows" / "bomb.yaml").write_text(alias_bomb())
    (repo / "workflows" / "nested.yaml").write_text(nested_bomb())
    assert len(alias_bomb().encode()) == 573
    manager = RepositoryManager()
    manager.add(str(repo), name="bombs")
    yield "bombs"
    manager.remove("bombs")


def controller_process(o2: Any) -> psutil.Process:
    pid = ray.get(o2.controller.__ray_call__.remote(lambda self: os.getpid()), timeout=30)
    return psutil.Process(pid)


class Watch:
    """Polls the controller (info, with a 2 s deadline) and its RSS until stopped."""

    def __init__(self, o2: Any, proc: psutil.Process) -> None:
        self.o2, self.proc = o2, proc
        self.before = proc.memory_info().rss
        self.peak = self.before
        self.slowest = 0.0
        self.answers = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            t0 = time.monotonic()
            ray.get(self.o2.controller.info.remote(), timeout=2.0)
            self.slowest = max(self.slowest, time.monotonic() - t0)
            self.answers += 1
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.05)

    def __enter__(self) -> Watch:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


@pytest.mark.parametrize("workflow", ["bomb", "nested"])
def test_alias_bombs_are_refused_and_the_controller_is_unharmed(
    clean_o2: Any, bomb_repo: str, workflow: str
) -> None:
    from o2ctl.sdk import ControlError

    proc = controller_process(clean_o2)
    with Watch(clean_o2, proc) as watch:
        started = time.monotonic()
        with pytest.raises(ControlError) as caught:
            clean_o2.create_environment(f"{bomb_repo}/workflows/{workflow}")
        took = time.monotonic() - started
        wait_for(lambda: watch.answers >= 3, 10, "the controller to answer during the test")
    message = str(caught.value)
    assert f"{workflow}.yaml:" in message and "YAML aliases" in message and "limit" in message
    assert took < 5.0, f"refused after {took:.1f}s"
    grown = (watch.peak - watch.before) / 1e6
    assert grown < 100, f"controller RSS grew by {grown:.0f} MB"
    assert watch.slowest < 2.0 and watch.thread.is_alive() is False
    assert clean_o2.environments() == []
    print(
        f"{workflow}: refused in {took * 1000:.0f} ms; controller RSS "
        f"{watch.before / 1e6:.0f} MB -> peak {watch.peak / 1e6:.0f} MB; "
        f"{watch.answers} answers, slowest {watch.slowest * 1000:.0f} ms"
    )


def test_an_expansion_past_its_deadline_is_stopped(o2: Any) -> None:
    from actors.expansion import expand_for_controller
    from o2ctl.core.events import EventLog
    from o2ctl.templates import TemplateError

    controller = SimpleNamespace(
        _local_node=ray.get_runtime_context().get_node_id(), repo_uri=None, events=EventLog()
    )
    started = time.monotonic()
    with pytest.raises(TemplateError, match=r"took more than 0\.5 s and was stopped"):
        asyncio.run(
            expand_for_controller(
                controller, PIPELINE, {"nProcessors": "99999"}, "env", deadline_s=0.5
            )
        )
    assert time.monotonic() - started < 5


def test_an_empty_iterator_deploys_with_a_warning_event(clean_o2: Any) -> None:
    from o2ctl.sdk import ControlError

    cursor = ray.get(clean_o2.controller.last_event_seq.remote(), timeout=30)
    env = clean_o2.create_environment(PIPELINE, vars={"nProcessors": "0"}, auto_configure=False)
    assert sorted(t["role_path"].rsplit(".", 1)[1] for t in env.tasks) == ["sampler", "sink"]
    warnings = [
        e
        for e in clean_o2.events(after=cursor, timeout=0.5)
        if e["env_id"] == env.id and (e.get("detail") or {}).get("warning")
    ]
    assert (
        len(warnings) == 1 and "yields no role (begin 1, end 0)" in warnings[0]["detail"]["warning"]
    )
    with pytest.raises(ControlError, match=r"iterator 1\.\.-1 has a negative count"):
        clean_o2.create_environment(PIPELINE, vars={"nProcessors": "-1"})
