"""AliECS's Control API contract, driven end to end with raw stubs of the project's protos.

A client of its own (``o2ctl.api._gen`` stubs, not ``ApiClient``) talks to the API actor
over real gRPC on 127.0.0.1, the way an AliECS client does: it creates an environment and
drives it through START_ACTIVITY and STOP_ACTIVITY reading state, run number, tasks and
transition times; runs automatic environments to their end (devices that send
END_OF_STREAM by themselves; a short ``auto_stop_timeout``) following the stream named by
the request's subscription id; creates one asynchronously; and lists and changes the
template repositories, detectors and integrated services. Processes are real devices.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc
import pytest

from o2ctl.api._gen import events_pb2 as ev
from o2ctl.api._gen import o2control_pb2 as pb
from o2ctl.api._gen import o2control_pb2_grpc as pb_grpc
from o2ctl.demo import PIPELINE

pytestmark = pytest.mark.ray
Op = pb.ControlEnvironmentRequest.Optype
ONE = {"nProcessors": "1"}  # the pipeline with 3 tasks


@pytest.fixture(scope="module")
def api(o2: Any) -> Iterator[tuple[str, str]]:
    from o2ctl.api.serve import start_api, stop_api

    address, token = start_api()
    yield address, token
    stop_api()


class Client:
    """Raw stubs and the token: what a client generated from the protos holds."""

    def __init__(self, channel: grpc.Channel, token: str) -> None:
        self.stub = pb_grpc.ControlStub(channel)
        self.auth = (("authorization", f"Bearer {token}"),)

    def __call__(self, method: str, request: Any, timeout: float = 60) -> Any:
        return getattr(self.stub, method)(request, metadata=self.auth, timeout=timeout)

    def stream(self, request: pb.SubscribeRequest, timeout: float) -> list[ev.Event]:
        """Every event of a subscription until the server ends it (or the deadline)."""
        return list(self.stub.Subscribe(request, metadata=self.auth, timeout=timeout))


@pytest.fixture
def client(api: tuple[str, str]) -> Iterator[Client]:
    address, token = api
    with grpc.insecure_channel(address) as channel:
        yield Client(channel, token)


def refused(call: Any, *args: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call(*args)
    return info.value


def transitions(events: list[ev.Event]) -> list[tuple[str, str, str]]:
    return [
        (e.environmentEvent.transition, ev.OpStatus.Name(e.environmentEvent.transitionStatus),
         e.environmentEvent.transitionStep)
        for e in events
        if e.environmentEvent.transition
    ]  # fmt: skip


def test_an_environment_driven_through_a_run(clean_o2: Any, client: Client) -> None:
    seq = client("GetFrameworkInfo", pb.GetFrameworkInfoRequest()).lastEventSeq
    before_ms = time.time() * 1000
    created = client(
        "NewEnvironment", pb.NewEnvironmentRequest(workflowTemplate=PIPELINE, vars=ONE), 300
    ).environment
    env_id = created.id
    assert created.state == "CONFIGURED" and created.numberOfTasks == 3
    assert before_ms - 1000 <= created.createdWhen <= time.time() * 1000

    started = client(
        "ControlEnvironment", pb.ControlEnvironmentRequest(id=env_id, type=Op.START_ACTIVITY)
    )
    assert (started.state, started.currentRunNumber > 0) == ("RUNNING", True)
    assert started.startOfTransition <= started.endOfTransition <= started.timestamp
    assert started.transitionDuration == started.endOfTransition - started.startOfTransition
    got = client("GetEnvironment", pb.GetEnvironmentRequest(id=env_id, showWorkflowTree=True))
    info = got.environment
    assert (info.state, info.currentRunNumber) == ("RUNNING", started.currentRunNumber)
    assert {t.state for t in info.tasks} == {"RUNNING"} and info.numberOfActiveTasks == 3
    assert sorted(got.workflow.taskIds) == sorted(t.taskId for t in info.tasks)
    assert info.vars["nProcessors"] == "1" and got.workflow.vars == info.vars
    listed = client("GetEnvironments", pb.GetEnvironmentsRequest(showTaskInfos=True))
    (mine,) = [e for e in listed.environments if e.id == env_id]
    assert len(mine.tasks) == 3 and listed.timestamp > 0

    stopped = client(
        "ControlEnvironment", pb.ControlEnvironmentRequest(id=env_id, type=Op.STOP_ACTIVITY)
    )
    assert (stopped.state, stopped.currentRunNumber) == ("CONFIGURED", 0)
    assert stopped.lastRunNumber == started.currentRunNumber

    request = pb.SubscribeRequest(id="contract-test", envId=env_id, after=seq)
    seen: list[ev.Event] = []
    for e in client.stub.Subscribe(request, metadata=client.auth, timeout=30):
        seen.append(e)
        if transitions([e])[-1:] == [("STOP_ACTIVITY", "DONE_OK", "after_STOP_ACTIVITY")]:
            break
    steps = transitions(seen)
    assert ("START_ACTIVITY", "STARTED", "before_START_ACTIVITY") in steps
    assert ("START_ACTIVITY", "DONE_OK", "after_START_ACTIVITY") in steps
    running = [e.environmentEvent for e in seen if e.environmentEvent.state == "RUNNING"]
    assert running and {e.runNumber for e in running} == {started.currentRunNumber}
    tasks = [e.taskEvent for e in seen if e.WhichOneof("Payload") == "taskEvent"]
    assert {t.path for t in tasks} == {t.name for t in info.tasks}
    assert all(t.taskid and t.environmentId == env_id for t in tasks)
    assert any(e.roleEvent.rolePath and e.roleEvent.environmentId == env_id for e in seen)
    assert all(e.timestamp > 0 and e.timestampNano // 1_000_000 == e.timestamp for e in seen)

    modify = pb.ModifyEnvironmentRequest(id=env_id)
    modify.operations.add(type=pb.EnvironmentOperation.REMOVE_ROLE, roleName=f"{PIPELINE}.sink")
    err = refused(client, "ModifyEnvironment", modify)  # o2ctl's modify: exclude the sink
    assert err.code() == grpc.StatusCode.ABORTED and "not a bound channel" in err.details()
    after = client("GetEnvironment", pb.GetEnvironmentRequest(id=env_id)).environment
    assert (after.state, len(after.tasks)) == ("CONFIGURED", 3)  # nothing half done

    reply = client("DestroyEnvironment", pb.DestroyEnvironmentRequest(id=env_id), 120)
    assert len(reply.cleanupTasksReply.killedTasks) == 3


def auto_run(
    client: Client, sub_id: str, workflow: str, vars: dict[str, str], first: bool = False
) -> list[ev.Event]:
    """``first``: Subscribe before NewAutoEnvironment, as AliECS's coconut does (the server
    waits for the subscription; it must then stream that environment only and end)."""
    request = pb.NewAutoEnvironmentRequest(workflowTemplate=workflow, vars=vars, id=sub_id)
    if first:
        with ThreadPoolExecutor(1) as pool:
            subscribed = pool.submit(client.stream, pb.SubscribeRequest(id=sub_id), 240)
            assert client("NewAutoEnvironment", request).timestamp > 0
            events = subscribed.result()
    else:
        assert client("NewAutoEnvironment", request).timestamp > 0
        events = client.stream(pb.SubscribeRequest(id=sub_id), timeout=240)
    last = events[-1].environmentEvent
    assert (last.state, last.message) == ("DONE", "environment teardown complete")
    env_ids = {e.environmentEvent.environmentId for e in events if e.environmentEvent.environmentId}
    assert len(env_ids) == 1, env_ids
    listed = client("GetEnvironments", pb.GetEnvironmentsRequest()).environments
    assert env_ids.isdisjoint(e.id for e in listed)  # destroyed
    steps = transitions(events)
    for name in ("DEPLOY", "CONFIGURE", "START_ACTIVITY", "STOP_ACTIVITY", "RESET"):
        assert (name, "DONE_OK", f"after_{name}") in steps, name
    assert not [e for e in events if e.environmentEvent.state == "ERROR"]
    return events


def test_an_automatic_environment_ends_when_every_device_sent_end_of_stream(
    clean_o2: Any, client: Client
) -> None:
    events = auto_run(
        client,
        "eos-run",
        "direct-example",
        {"nWorkers": "2", "iterations": "150", "cleanup_enabled": "false"},
    )
    eos = {e.taskEvent.path for e in events if e.taskEvent.deviceEvent == "END_OF_STREAM"}
    assert {p.rsplit(".", 1)[-1] for p in eos} == {"worker1", "worker2"}
    messages = [e.environmentEvent.message for e in events]
    assert "stopping the run: every task sent END_OF_STREAM (2)" in messages


def test_an_automatic_environment_stops_after_its_auto_stop_timeout(
    clean_o2: Any, client: Client
) -> None:
    events = auto_run(client, "timed-run", PIPELINE, {**ONE, "auto_stop_timeout": "2s"}, first=True)
    messages = [e.environmentEvent.message for e in events]
    assert "stopping the run: auto_stop_timeout of 2s passed" in messages
    at = {
        (e.environmentEvent.transition, e.environmentEvent.transitionStatus): e.timestamp
        for e in events
    }
    ran_ms = at[("STOP_ACTIVITY", ev.STARTED)] - at[("START_ACTIVITY", ev.DONE_OK)]
    assert 2000 <= ran_ms < 30_000


def test_an_asynchronous_environment_answers_its_id_at_once(clean_o2: Any, client: Client) -> None:
    seq = client("GetFrameworkInfo", pb.GetFrameworkInfoRequest()).lastEventSeq
    request = pb.NewEnvironmentRequest(workflowTemplate=PIPELINE, vars=ONE)
    reply = client("NewEnvironmentAsync", request)
    env_id = reply.environment.id
    assert reply.environment.state == "PENDING" and len(env_id) == 11
    request = pb.SubscribeRequest(id="async", envId=env_id, after=seq)
    for e in client.stub.Subscribe(request, metadata=client.auth, timeout=120):
        if transitions([e])[-1:] == [("CONFIGURE", "DONE_OK", "after_CONFIGURE")]:
            break
    got = client("GetEnvironment", pb.GetEnvironmentRequest(id=env_id)).environment
    assert got.state == "CONFIGURED"
    client("DestroyEnvironment", pb.DestroyEnvironmentRequest(id=env_id), 120)

    bad = client("NewEnvironmentAsync", pb.NewEnvironmentRequest(workflowTemplate="no-such-wf"))
    request = pb.SubscribeRequest(id="async", envId=bad.environment.id, after=seq)
    for e in client.stub.Subscribe(request, metadata=client.auth, timeout=60):
        if e.environmentEvent.state == "ERROR":
            assert e.environmentEvent.message == "cannot create new environment"
            assert "no-such-wf" in e.environmentEvent.error
            break


def git_repo(root: Path) -> Path:
    """A git repository of one workflow, with a second branch."""
    work = root / "templates"
    (work / "workflows").mkdir(parents=True)
    (work / "workflows" / "one.yaml").write_text("name: one\nroles: []\n")
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"}  # fmt: skip
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-qm", "one"],
                 ["branch", "other"]):  # fmt: skip
        subprocess.run(["git", "-C", str(work), *args], check=True, env=env)
    return work


def test_repositories_detectors_and_services(
    client: Client, tmp_path: Path, state_dir: Path
) -> None:
    from o2ctl.config import RepositoryManager

    repos = client("ListRepos", pb.ListReposRequest()).repos
    assert [r.default for r in repos].count(True) == 1
    added = client("AddRepo", pb.AddRepoRequest(name=f"file://{git_repo(tmp_path)}"))
    assert added.newDefaultRevision == "HEAD" and "HEAD" in added.info
    try:
        listed = client("ListRepos", pb.ListReposRequest(getRevisions=True)).repos
        index = len(listed) - 1
        assert {"main", "other"} <= set(listed[index].revisions)
        client(
            "SetRepoDefaultRevision",
            pb.SetRepoDefaultRevisionRequest(index=index, revision="other"),
        )
        client("SetDefaultRepo", pb.SetDefaultRepoRequest(index=index))
        client("RefreshRepos", pb.RefreshReposRequest(index=-1))
        client("SetGlobalDefaultRevision", pb.SetGlobalDefaultRevisionRequest(revision="main"))
        now = client("ListRepos", pb.ListReposRequest())
        assert (now.repos[index].default, now.repos[index].defaultRevision) == (True, "other")
        assert now.globalDefaultRevision == "main"
        err = refused(
            client,
            "SetRepoDefaultRevision",
            pb.SetRepoDefaultRevisionRequest(index=index, revision="nope"),
        )
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "nope" in err.details()
        err = refused(client, "RemoveRepo", pb.RemoveRepoRequest(index=99))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "out of range" in err.details()
        removed = client("RemoveRepo", pb.RemoveRepoRequest(index=index))
        assert removed.newDefaultRepo == listed[0].name
    finally:
        RepositoryManager(state_dir).set_global_revision(None)
    assert len(client("ListRepos", pb.ListReposRequest()).repos) == len(repos)

    free = client("GetAvailableDetectors", pb.Empty()).detectors
    active = client("GetActiveDetectors", pb.Empty()).detectors
    assert "TPC" in free and not set(free) & set(active)
    info = client("GetFrameworkInfo", pb.GetFrameworkInfoRequest())
    assert list(info.availableDetectors) == list(free) and info.timestamp > 0
    services = client("GetIntegratedServices", pb.Empty()).services
    assert {"testplugin", "bookkeeping"} <= set(services)
    assert services["testplugin"].enabled and services["testplugin"].connectionState == "READY"
    err = refused(client, "Teardown", pb.TeardownRequest(reason="test"))
    assert err.code() == grpc.StatusCode.UNIMPLEMENTED


def test_workflow_templates_carry_their_var_specs(client: Client) -> None:
    """As the GUI asks (no flags: public workflows only), each with its description and the
    specs of its ``!public`` variables, read from our ``workflows/`` repository."""
    listed = client("GetWorkflowTemplates", pb.GetWorkflowTemplatesRequest()).workflowTemplates
    by = {t.template: t for t in listed}
    assert {PIPELINE, "direct-example", "calls-example"} <= set(by)
    pipeline = by[PIPELINE]
    assert "nProcessors processors" in pipeline.description
    n = pipeline.varSpecMap["nProcessors"]
    assert (n.defaultValue, n.type, n.label) == ("4", pb.VarSpecMessage.number, "Processors")
    severity = pipeline.varSpecMap["severity"]
    assert severity.widget == pb.VarSpecMessage.dropDownBox and severity.defaultValue == "info"
    assert "debug" in severity.allowedValues and severity.index == 1
    assert by["direct-example"].varSpecMap["nWorkers"].defaultValue == "1"
