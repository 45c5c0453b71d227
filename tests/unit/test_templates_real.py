"""The four real AliECS workflows of ../shared/controlworkflows, read as they are."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
from test_templates_support import DirSource

from o2ctl.templates import (
    Constraint,
    ExpandedWorkflow,
    IntegrationContext,
    TemplateError,
    expand_workflow,
)

HOSTS = '["flp001","flp002"]'


@pytest.fixture
def real(shared_workflows: Path) -> DirSource:
    return DirSource(shared_workflows)


def test_fairmq_tutorial_expands_with_every_connect_resolved(real: DirSource) -> None:
    wf = expand_workflow(real, "fairmq-ex-1-n-1")
    names = [child.name for child in wf.root.children]
    assert names == ["processor1", "processor2", "processor3", "processor4", "sampler", "sink"]
    for i in range(1, 5):
        task = wf.root.find(f"fairmq-ex-1-n-1.processor{i}").task
        assert task is not None and task.task_class == "fairmq-ex-1-n-1-processor"
        targets = {c.name: c.target for c in task.connects}
        assert targets == {
            "data1": "fairmq-ex-1-n-1.sampler:data1",
            "data2": "fairmq-ex-1-n-1.sink:data2",
        }
        assert [(c.type, c.snd_buf_size, c.rate_logging) for c in task.connects] == [
            ("pull", 1000, 0),
            ("push", 1000, 0),
        ]
    sampler = wf.root.find("fairmq-ex-1-n-1.sampler").task
    assert sampler is not None and sampler.control_mode == "fairmq"
    assert [(b.name, b.type, b.method) for b in sampler.binds] == [("data1", "push", "bind")]
    assert sampler.properties == {"severity": "trace", "color": "false"}
    assert sampler.command.shell and sampler.command.user == "flp"
    assert sampler.command.value.endswith("fairmq-ex-1-n-1-sampler")
    assert sampler.wants == {"cpu": 0.001, "memory": 8.0}
    assert wf.warnings == ()


def test_fairmq_tutorial_processor_count_is_a_variable(real: DirSource) -> None:
    wf = expand_workflow(real, "fairmq-ex-1-n-1", {"nProcessors": "7"})
    assert len(wf.root.tasks()) == 9
    assert wf.root.find("fairmq-ex-1-n-1.processor7").locals == {"it": "7"}


def test_resources_cleanup_gives_one_subtree_per_host(real: DirSource) -> None:
    wf = expand_workflow(real, "resources-cleanup", {"hosts": HOSTS})
    assert [c.path for c in wf.root.children] == [
        "resources-cleanup.host-flp001",
        "resources-cleanup.host-flp002",
    ]
    for host in ("flp001", "flp002"):
        subtree = wf.root.find(f"resources-cleanup.host-{host}")
        assert subtree.constraints == (Constraint("machine_id", host),)
        tasks = {t.task_class: t for t in subtree.tasks()}
        assert set(tasks) == {"fairmq-shmmonitor", "o2-roc-cleanup"}
        for task in tasks.values():
            assert task.constraints == (Constraint("machine_id", host),)
            assert task.control_mode == "basic" and task.timeout_s == 10.0
        assert tasks["o2-roc-cleanup"].command.user == "root"
        shm = tasks["fairmq-shmmonitor"].command
        assert shm.value == "source /etc/profile.d/o2.sh && fairmq-shmmonitor"
        assert shm.arguments == ("-c", "-s", "default")


def test_resources_cleanup_enabled_flags_prune_roles(real: DirSource) -> None:
    wf = expand_workflow(
        real, "resources-cleanup", {"hosts": HOSTS, "roc_cleanup_enabled": "false"}
    )
    assert {t.task_class for t in wf.root.tasks()} == {"fairmq-shmmonitor"}
    empty = expand_workflow(real, "resources-cleanup", {"hosts": "[]"})
    assert empty.root.children == () and "empty tree" in " ".join(empty.warnings)


def test_minimal_dpl_alone_names_the_alias_it_lacks(real: DirSource) -> None:
    with pytest.raises(TemplateError) as caught:
        expand_workflow(real, "minimal-dpl", {"it": "flp001"})
    error = caught.value
    assert error.role == "minimal-dpl.readout-proxy"
    assert error.file is not None and error.file.endswith("minimal-dpl.yaml") and error.line == 27
    assert "'readout-proxy-flp001'" in str(error) and "downstream-flp001" in str(error)


def test_minimal_dpl_resolves_global_aliases_with_a_provided_input(real: DirSource) -> None:
    outside = {"readout-proxy-flp001": "ipc:///tmp/stf-builder-dpl-pipe-0"}
    wf = expand_workflow(
        real,
        "minimal-dpl",
        {"it": "flp001", "detector": "TST"},
        integration=IntegrationContext(global_channels=outside),
    )
    assert wf.global_channels == {"downstream-flp001": "minimal-dpl.dpl-output-proxy:downstream"}
    proxy = wf.root.find("minimal-dpl.readout-proxy").task
    assert proxy is not None
    connects = {c.name: c for c in proxy.connects}
    assert connects["readout-proxy"].target == "ipc:///tmp/stf-builder-dpl-pipe-0"
    assert connects["readout-proxy"].global_alias == "readout-proxy-flp001"
    assert connects["readout-proxy"].transport == "shmem"
    assert (
        connects["from_internal-dpl-clock_to_readout-proxy"].target
        == "minimal-dpl.internal-dpl-clock:from_internal-dpl-clock_to_readout-proxy"
    )
    output = wf.root.find("minimal-dpl.dpl-output-proxy").task
    assert output is not None and "O2_DETECTOR=TST" in output.command.env
    assert "x:TST/RAWDATA" in output.command.value


def test_readout_dataflow_expands_for_a_host_list(real: DirSource) -> None:
    wf = expand_workflow(real, "readout-dataflow", {"hosts": HOSTS})
    assert [c.name for c in wf.root.children] == ["host-flp001", "host-flp002"]
    host = wf.root.find("readout-dataflow.host-flp001")
    assert {n.path.split(".", 2)[-1] for n in host.walk() if n.task} == {
        "readout",
        "data-distribution.stfb",
        "data-distribution.stfs",
        "fairmq-shmcleanup",
        "fairmq-shmmonitor",
    }
    stfb = wf.root.find("readout-dataflow.host-flp001.data-distribution.stfb").task
    assert stfb is not None
    assert [c.target for c in stfb.connects] == ["readout-dataflow.host-flp001.readout:readout"]
    hook = wf.root.find("readout-dataflow.host-flp001.fairmq-shmcleanup").task
    assert hook is not None and hook.control_mode == "hook"
    assert (hook.trigger, hook.critical, hook.timeout_s) == ("before_DEPLOY", False, 30.0)
    readout = wf.root.find("readout-dataflow.host-flp001.readout").task
    assert readout is not None and readout.control_mode == "direct"
    assert readout.command.arguments == (
        "consul-ini://localhost:8500/o2/components/readout/PHYSICS/any/readout-stfb-flp001",
    )
    assert wf.public_vars["dd_enabled"]["label"] == "Data Distribution (FLP)"
    assert wf.variables["ddsched_enabled"] == "false"
    assert any("inventory.DetectorForHost" in w for w in wf.warnings)


def test_readout_dataflow_with_an_inventory_and_minimal_dpl(real: DirSource) -> None:
    inventory = IntegrationContext(inventory={"flp001": "TST", "flp002": "ITS"})
    wf = expand_workflow(
        real,
        "readout-dataflow",
        {"hosts": HOSTS, "minimal_dpl_enabled": "true"},
        builtins={"environment_id": "2oDvieFrVTi"},
        integration=inventory,
    )
    assert wf.detectors == ("ITS", "TST")
    assert wf.global_channels == {
        f"{alias}-{host}": f"readout-dataflow.host-{host}.data-distribution-dpl.{where}"
        for host in ("flp001", "flp002")
        for alias, where in (
            ("readout-proxy", "stfb:dpl-chan"),
            ("downstream", "dpl.dpl-output-proxy:downstream"),
        )
    }
    base = "readout-dataflow.host-flp002.data-distribution-dpl"
    proxy = wf.root.find(f"{base}.dpl.readout-proxy").task
    assert proxy is not None
    assert {c.target for c in proxy.connects} == {
        f"{base}.dpl.internal-dpl-clock:from_internal-dpl-clock_to_readout-proxy",
        f"{base}.stfb:dpl-chan",
    }
    stfs = wf.root.find(f"{base}.stfs").task
    assert stfs is not None and stfs.connects[0].target == f"{base}.dpl.dpl-output-proxy:downstream"
    assert "O2_PARTITION=2oDvieFrVTi" in stfs.command.env and "O2_DETECTOR=ITS" in stfs.command.env
    its = wf.root.find("readout-dataflow.host-flp002.its-cru-enable").task
    assert its is not None and its.trigger == "DESTROY"


def test_readout_dataflow_integration_calls_become_warnings(real: DirSource) -> None:
    wf = expand_workflow(
        real,
        "readout-dataflow",
        {"hosts": '["flp001"]', "dcs_enabled": "true", "bookkeeping_enabled": "true"},
    )
    calls = dict(wf.root.calls())
    sor = calls["readout-dataflow.dcs.sor"]
    assert (sor.integration, sor.method, sor.trigger) == (
        "dcs",
        "StartOfRun",
        "before_START_ACTIVITY+100",
    )
    assert sor.timeout_s == 140.0 and sor.critical
    pfr = calls["readout-dataflow.dcs.pfr"]
    assert pfr.await_trigger == "after_CONFIGURE-1" and not pfr.critical
    assert "readout-dataflow.bookkeeping.startrun" not in calls  # consuming kafka: disabled
    warned = [w for w in wf.warnings if "which is not installed" in w]
    assert any("'dcs'" in w for w in warned) and any("'bookkeeping'" in w for w in warned)
    quiet = expand_workflow(
        real,
        "readout-dataflow",
        {"hosts": '["flp001"]', "dcs_enabled": "true"},
        integration=IntegrationContext(integrations=frozenset({"dcs"})),
    )
    assert not [w for w in quiet.warnings if "which is not installed" in w]


def test_readout_dataflow_reports_missing_services_by_name(real: DirSource) -> None:
    with pytest.raises(TemplateError) as caught:
        expand_workflow(real, "readout-dataflow", {"hosts": '["flp001"]', "epn_enabled": "true"})
    assert "odc.GenerateEPNTopologyFullname()" in str(caught.value)
    assert caught.value.file is not None and caught.value.file.endswith("readout-dataflow.yaml")
    with pytest.raises(TemplateError, match=r"dpl\.GenerateFromUri\(\) needs the DPL"):
        expand_workflow(
            real,
            "readout-dataflow",
            {"hosts": '["flp001"]', "qc_remote_enabled": "true", "its_qc_remote_workflow": "x"},
            integration=IntegrationContext(inventory={"flp001": "ITS"}),
        )


def test_expanded_workflow_is_json_and_pickle_friendly(real: DirSource) -> None:
    wf = expand_workflow(real, "readout-dataflow", {"hosts": HOSTS})
    data = json.loads(json.dumps(wf.to_dict()))
    assert data["root"]["children"][0]["name"] == "host-flp001"
    copy = pickle.loads(pickle.dumps(wf))
    assert isinstance(copy, ExpandedWorkflow) and copy.root == wf.root
