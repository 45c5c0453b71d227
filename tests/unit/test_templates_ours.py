"""The project's own templates in workflows/ (the default repository of o2ctl)."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest
from test_templates_support import OUR_WORKFLOWS, ROOT, DirSource

from o2ctl.plugins import Plugins
from o2ctl.templates import Constraint, IntegrationContext, expand_workflow, render_task_for_host

PIPELINE = "sampler-processors-sink"


@pytest.fixture
def ours() -> DirSource:
    return DirSource(OUR_WORKFLOWS)


def test_every_workflow_of_ours_expands_cleanly(ours: DirSource, tmp_path: Path) -> None:
    names = ours.list_templates("workflow")
    assert {PIPELINE, "direct-example", "calls-example"} <= set(names)
    builtin_plugins = IntegrationContext(**Plugins(tmp_path).integration_fields())
    for name in names:
        wf = expand_workflow(
            ours, name, builtins={"environment_id": "env1"}, integration=builtin_plugins
        )
        assert wf.warnings == (), (name, wf.warnings)
        assert wf.root.tasks()


def test_commands_are_console_scripts_of_the_project(ours: DirSource) -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for name in ours.list_templates("workflow"):
        for task in expand_workflow(ours, name).root.tasks():
            value = task.command.value
            assert value in scripts or shutil.which(value), (task.role_path, value)
            assert not task.command.shell


def test_pipeline_default_shape(ours: DirSource) -> None:
    wf = expand_workflow(ours, PIPELINE)
    assert [c.name for c in wf.root.children] == [
        "processor1", "processor2", "processor3", "processor4", "sampler", "sink"
    ]  # fmt: skip
    assert wf.detectors == ()
    sampler = wf.root.find(f"{PIPELINE}.sampler").task
    sink = wf.root.find(f"{PIPELINE}.sink").task
    assert sampler is not None and sink is not None
    assert [(b.name, b.type) for b in sampler.binds] == [("data1", "push")]
    assert [(b.name, b.type) for b in sink.binds] == [("data2", "pull")]
    assert sampler.command.value == "fairmq-ex-1-n-1-sampler" and sampler.control_mode == "fairmq"
    assert sampler.properties == {
        "severity": "info",
        "text": "Hello",
        "rate": "0",
        "max-messages": "0",
    }
    for task in wf.root.tasks():
        if task.task_class == "fairmq-ex-1-n-1-processor":
            assert [(c.name, c.type, c.target) for c in task.connects] == [
                ("data1", "pull", f"{PIPELINE}.sampler:data1"),
                ("data2", "push", f"{PIPELINE}.sink:data2"),
            ]


def test_pipeline_variables(ours: DirSource) -> None:
    wf = expand_workflow(
        ours,
        PIPELINE,
        {"nProcessors": "10", "detectors": '["TST"]', "max_messages": "50", "severity": "debug"},
    )
    assert len(wf.root.tasks()) == 12 and wf.detectors == ("TST",)
    sink = wf.root.find(f"{PIPELINE}.sink").task
    assert sink is not None and sink.properties["max-messages"] == "50"
    assert sink.properties["severity"] == "debug"
    aimed = expand_workflow(ours, PIPELINE, {f"{PIPELINE}.sampler:sampler_text": "hi"})
    sampler = aimed.root.find(f"{PIPELINE}.sampler").task
    assert sampler is not None and sampler.properties["text"] == "hi"


def test_direct_example_with_its_cleanup_hook(ours: DirSource) -> None:
    wf = expand_workflow(
        ours,
        "direct-example",
        {"nWorkers": "2", "iterations": "5"},
        builtins={"environment_id": "E7"},
    )
    workers = [t for t in wf.root.tasks() if t.task_class == "o2ctl-direct-example"]
    assert [t.role_path for t in workers] == ["direct-example.worker1", "direct-example.worker2"]
    assert all(t.control_mode == "direct" and t.trigger is None for t in workers)
    assert workers[0].command.arguments == ("--iterations", "5", "--iterate-interval", "0.01")
    assert workers[0].properties == {"environment_id": "E7"}
    cleanup = wf.root.find("direct-example.cleanup").task
    assert cleanup is not None
    assert (cleanup.control_mode, cleanup.trigger, cleanup.timeout_s, cleanup.critical) == (
        "hook",
        "DESTROY",
        10.0,
        False,
    )
    assert cleanup.command.value == "o2ctl-cleanup"
    assert cleanup.command.arguments == (
        "--root",
        "/tmp/o2ctl-direct-example",
        "--",
        "/tmp/o2ctl-direct-example/E7",
    )
    off = expand_workflow(ours, "direct-example", {"cleanup_enabled": "false"})
    assert [c.name for c in off.root.children] == ["worker1"]


def test_placement_renders_again(ours: DirSource) -> None:
    wf = expand_workflow(ours, "direct-example")
    worker = wf.root.find("direct-example.worker1").task
    assert worker is not None and worker.placement_vars == ("environment_id",)
    placed = render_task_for_host(worker, hostname="node1", extra={"environment_id": "E8"})
    assert placed.properties == {"environment_id": "E8"} and placed.placement_vars == ()
    assert placed.variables["task_hostname"] == "node1"
    assert placed.constraints == worker.constraints == ()
    assert Constraint("a", "b").operator == "equals"
