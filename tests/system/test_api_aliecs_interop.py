"""A client generated from AliECS's own proto files, unchanged, against o2ctl's API.

Runs only when ``O2CTL_ALIECS_PROTOS`` names a directory holding AliECS's
``o2control.proto``, ``events.proto`` and ``common.proto`` (directly or under ``protos/``,
as AliECS imports them); none of AliECS's files is part of the project. They are compiled
into a temporary directory and the client runs in a process of its own (its messages have
the same full names as o2ctl's, so they cannot share one protobuf pool): it reads the
framework, repositories and detectors, drives an environment through a run, and follows
an automatic environment's stream to its end. It prints what it saw as JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from o2ctl.demo import PIPELINE

pytestmark = pytest.mark.ray
PROTOS_ENV = "O2CTL_ALIECS_PROTOS"
NAMES = ("o2control.proto", "events.proto", "common.proto")

CLIENT = """
import json, sys
sys.path.insert(0, sys.argv[1])
import grpc
from protos import o2control_pb2 as pb, o2control_pb2_grpc as rpc, events_pb2 as ev
address, token, workflow = sys.argv[2:5]
auth = (("authorization", "Bearer " + token),)
stub = rpc.ControlStub(grpc.insecure_channel(address))
call = lambda m, r, t=240: getattr(stub, m)(r, metadata=auth, timeout=t)
Op = pb.ControlEnvironmentRequest.Optype
out = {"state": call("GetFrameworkInfo", pb.GetFrameworkInfoRequest()).state}
out["repos"] = [r.name for r in call("ListRepos", pb.ListReposRequest()).repos]
out["detectors"] = list(call("GetAvailableDetectors", pb.Empty()).detectors)
one = {"nProcessors": "1"}
env = call("NewEnvironment", pb.NewEnvironmentRequest(workflowTemplate=workflow, vars=one))
env = env.environment
start = call("ControlEnvironment", pb.ControlEnvironmentRequest(id=env.id, type=Op.START_ACTIVITY))
got = call("GetEnvironment", pb.GetEnvironmentRequest(id=env.id)).environment
stop = call("ControlEnvironment", pb.ControlEnvironmentRequest(id=env.id, type=Op.STOP_ACTIVITY))
call("DestroyEnvironment", pb.DestroyEnvironmentRequest(id=env.id))
out["run"] = [start.state, start.currentRunNumber, got.currentRunNumber, len(got.tasks), stop.state]
call("NewAutoEnvironment", pb.NewAutoEnvironmentRequest(
    workflowTemplate=workflow, id="interop", vars={**one, "auto_stop_timeout": "1s"}))
seen = []
for e in stub.Subscribe(pb.SubscribeRequest(id="interop"), metadata=auth, timeout=240):
    x = e.environmentEvent
    if x.transition and x.transitionStatus == ev.DONE_OK:
        seen.append(x.transition)
    last = [x.state, x.message]
out["auto"] = {"transitions": seen, "last": last}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def aliecs_stubs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get(PROTOS_ENV)
    if not given:
        pytest.skip(f"set {PROTOS_ENV} to a directory of AliECS's protos to run this test")
    from grpc_tools import protoc

    root = Path(given)
    src = tmp_path_factory.mktemp("aliecs-src")
    out = tmp_path_factory.mktemp("aliecs-stubs")
    (src / "protos").mkdir()
    for name in NAMES:
        found = root / name if (root / name).exists() else root / "protos" / name
        shutil.copy(found, src / "protos" / name)
    args = ["protoc", f"-I{src}", f"--python_out={out}", f"--grpc_python_out={out}"]
    assert protoc.main([*args, *(str(src / "protos" / n) for n in NAMES)]) == 0
    return out


@pytest.fixture(scope="module")
def api(o2: Any) -> Iterator[tuple[str, str]]:
    from o2ctl.api.serve import start_api, stop_api

    address, token = start_api()
    yield address, token
    stop_api()


def test_a_client_from_aliecs_protos_works_unchanged(
    aliecs_stubs: Path, clean_o2: Any, api: tuple[str, str]
) -> None:
    address, token = api
    done = subprocess.run(
        [sys.executable, "-c", CLIENT, str(aliecs_stubs), address, token, PIPELINE],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["state"] == "CONNECTED" and seen["repos"] and "TPC" in seen["detectors"]
    state, run, read_run, tasks, stopped = seen["run"]
    assert (state, stopped, tasks) == ("RUNNING", "CONFIGURED", 3) and run == read_run > 0
    for t in ("DEPLOY", "CONFIGURE", "START_ACTIVITY", "STOP_ACTIVITY", "RESET"):
        assert t in seen["auto"]["transitions"], t
    assert seen["auto"]["last"] == ["DONE", "environment teardown complete"]
