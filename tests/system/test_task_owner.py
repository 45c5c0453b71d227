"""A task drives only its own process (issue 9 point 5), at the ``TaskRuntime`` level.

``actors.task.TaskRuntime`` is plain Python for ``launch``, ``adopt`` and ``_check_owner``,
so these tests need no Ray: real processes, real gRPC on 127.0.0.1. The "foreign" process
is one of our FairMQ devices started by the test under an owner mark that is not the
task's (another o2ctl system on the same host, as far as the task can tell). The task's
own process in the adoption cases is a ``sleep`` marked as the task's, named by a launch
record written with ``actors.launchrec.write`` as a task actor would have left it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, TypeVar

import psutil
import pytest

from actors import launchrec
from actors.errors import PortTaken
from actors.naming import process_owner
from actors.task import TaskRuntime
from actors.taskproc import LaunchRequest
from o2ctl.core.launch import plan_launch
from o2ctl.core.states import TaskState
from o2ctl.demo import PIPELINE
from occ.processes import find_owned, owned_env, spawn, terminate
from tests.conftest import wait_for
from tests.system.test_fairmq_launch import BIN, PROCESSOR, Launched, Launcher, free_port, launching

T = TypeVar("T")


@pytest.fixture
async def foreign(tmp_path: Path) -> AsyncIterator[Launched]:
    """A FairMQ device of someone else's, answering OCC on a port of its own."""
    async with launching(tmp_path) as launcher:
        device = await start_foreign(launcher)
        yield device


async def start_foreign(launcher: Launcher) -> Launched:
    device = await launcher.start(PROCESSOR, "foreign", "OCClite")
    control = device.controller()
    try:
        assert await control.wait_ready(15) == "STANDBY"
    finally:
        await control.close()
    return device


async def foreign_state(device: Launched) -> str:
    control = device.controller()
    try:
        return await control.get_state(5)
    finally:
        await control.close()


async def until(cond: Callable[[], T], timeout: float, what: str) -> T:
    """``tests.conftest.wait_for`` for a coroutine: the event loop keeps running."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := cond()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}")
        await asyncio.sleep(0.02)
    return value


def request(task_id: str, port: int, log: Path) -> LaunchRequest:
    """What deploy would send for a FairMQ processor on ``port``."""
    plan = plan_launch(
        role_path="owner.processor",
        task_id=task_id,
        control_mode="fairmq",
        value=str(BIN / PROCESSOR),
        control_port=port,
    )
    return LaunchRequest(
        task_id=task_id,
        task_class="fairmq-ex-1-n-1-processor",
        role_path="owner.processor",
        env_id="e-owner",
        control_mode="fairmq",
        argv=plan.argv,
        env=dict(plan.env),
        flavour=plan.flavour,
        controlled=True,
        control_port=port,
        log_path=str(log),
        host="localhost",
        start_timeout_s=10.0,
    )


@pytest.fixture
async def own_sleep() -> AsyncIterator[tuple[str, int]]:
    """(task id, pid): a process of ours, marked as that task's, ended at the end."""
    task_id = uuid.uuid4().hex[:12]
    proc = await spawn(["sleep", "120"], owner=process_owner(task_id))
    try:
        yield task_id, proc.pid
    finally:
        await terminate(proc.pid, grace_s=1.0, process=proc)


async def test_a_foreign_listener_on_the_control_port_starts_nothing(
    foreign: Launched, tmp_path: Path
) -> None:
    task_id = uuid.uuid4().hex[:12]
    rt = TaskRuntime(task_id, "localhost", str(tmp_path / "state"))
    with pytest.raises(PortTaken) as err:
        await asyncio.wait_for(rt.launch(request(task_id, foreign.port, tmp_path / "t.log")), 20)
    assert err.value.port == foreign.port
    assert f"control port {foreign.port} is already in use" in str(err.value)
    assert not find_owned(process_owner(task_id)), "no process was started"
    assert rt.pid == 0 and launchrec.read(rt.state_dir, task_id) is None
    assert await foreign_state(foreign) == "STANDBY", "the foreign device was not driven"
    assert foreign.proc.returncode is None


async def test_a_foreign_process_answering_while_ours_starts_is_left_alone(
    tmp_path: Path,
) -> None:
    """The port was free when checked, but another process answers on it first: ``launch``
    raises ``PortTaken`` (deploy takes another port), ends its own process and sends
    nothing to the other one."""
    task_id, port = uuid.uuid4().hex[:12], free_port()
    req = replace(request(task_id, port, tmp_path / "t.log"), argv=("sleep", "120"))
    rt = TaskRuntime(task_id, "localhost", str(tmp_path / "state"))
    launch = asyncio.ensure_future(asyncio.wait_for(rt.launch(req), 30))
    async with launching(tmp_path) as launcher:
        mine = await until(lambda: find_owned(process_owner(task_id)), 10, "our process")
        device = await launcher.start(PROCESSOR, "foreign", "OCClite", port=port)
        with pytest.raises(PortTaken) as err:
            await launch
        assert "answers for another process" in str(err.value), err.value
        assert f"pid {device.proc.pid}" in str(err.value)
        assert not find_owned(process_owner(task_id)), "our process is ended"
        assert not psutil.pid_exists(mine[0].pid)
        assert await foreign_state(device) == "STANDBY", "no event reached the other process"
        assert device.proc.returncode is None


async def test_an_adopted_port_answered_by_another_process_is_an_error(
    foreign: Launched, own_sleep: tuple[str, int], tmp_path: Path
) -> None:
    task_id, pid = own_sleep
    state = str(tmp_path / "state")
    started = launchrec.start_time(pid)
    assert started is not None
    req = request(task_id, foreign.port, tmp_path / "t.log")
    launchrec.write(
        state,
        launchrec.LaunchRecord(task_id, asdict(req), pid, started, role_path=req.role_path),
    )
    rt = TaskRuntime(task_id, "localhost", state)
    assert await asyncio.wait_for(rt.adopt(), 20)
    assert rt.state == TaskState.ERROR
    assert "answers for another process" in rt.error, rt.error
    assert f"pid {foreign.proc.pid}" in rt.error and f"not ours (pid {pid})" in rt.error
    # nothing is sent to the foreign device, not even when the task is ended
    state_now, _, why = await rt.transition("CONFIGURE", {}, 5.0)
    assert (state_now, why) == ("ERROR", f"{rt._who()}: cannot CONFIGURE: no control channel")
    assert await asyncio.wait_for(rt.terminate(grace_s=1.0), 20) in ("SIGTERM", "SIGINT")
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert await foreign_state(foreign) == "STANDBY" and foreign.proc.returncode is None


async def test_a_reused_pid_is_never_adopted_nor_signalled(
    own_sleep: tuple[str, int], tmp_path: Path
) -> None:
    task_id, pid = own_sleep
    state = str(tmp_path / "state")
    started = launchrec.start_time(pid)
    assert started is not None
    req = request(task_id, free_port(), tmp_path / "t.log")
    earlier = started - 30.0  # the record's process started before: this pid was reused
    launchrec.write(
        state,
        launchrec.LaunchRecord(task_id, asdict(req), pid, earlier, role_path=req.role_path),
    )
    rt = TaskRuntime(task_id, "localhost", state)
    assert await asyncio.wait_for(rt.adopt(), 20)
    assert rt.state == TaskState.ERROR and f"(pid {pid}) is gone" in rt.error, rt.error
    assert launchrec.read(state, task_id) is None, "the stale record is dropped"
    await asyncio.wait_for(rt.terminate(grace_s=1.0), 20)
    assert psutil.Process(pid).status() != psutil.STATUS_ZOMBIE, "the pid's new owner lives on"
    assert os.getpgid(pid) == pid


async def test_a_task_ended_before_its_launch_starts_nothing(tmp_path: Path) -> None:
    """Ray runs an async actor's calls unordered: a destroy's ``terminate`` may run before
    the deploy's ``launch`` sent earlier, and the actor is killed right after it."""
    task_id = uuid.uuid4().hex[:12]
    rt = TaskRuntime(task_id, "localhost", str(tmp_path / "state"))
    assert await asyncio.wait_for(rt.terminate(grace_s=1.0), 10) == "gone"
    with pytest.raises(RuntimeError, match="ended before its process was started"):
        await asyncio.wait_for(rt.launch(request(task_id, free_port(), tmp_path / "t.log")), 10)
    assert not find_owned(process_owner(task_id)) and rt.pid == 0
    assert launchrec.read(rt.state_dir, task_id) is None


@pytest.mark.ray
def test_recover_takes_another_port_when_its_own_was_taken(clean_o2: Any, tmp_path: Path) -> None:
    """A device dies; before RECOVER, another process takes its control port: the new
    process gets another port, and the other one is never driven."""
    env = clean_o2.create_environment(PIPELINE, vars={"nProcessors": "1"})
    victim = next(t for t in env.tasks if t["role_path"].endswith("processor1"))
    os.kill(victim["pid"], signal.SIGKILL)
    wait_for(lambda: env.state == "ERROR", 15, "the environment to go to ERROR")
    log = tmp_path / "foreign.log"
    argv = [str(BIN / PROCESSOR), "--id", "foreign", "-S", "/opt/occ/lib", "-P", "OCClite"]
    argv += ["--color", "false", "--control-port", str(victim["control_port"])]
    with open(log, "wb") as out:
        other = subprocess.Popen(
            argv, stdout=out, stderr=out, env=owned_env("test-foreign"), start_new_session=True
        )
    try:
        wait_for(lambda: "listening on" in log.read_text(), 15, "the other process to listen")
        assert env.recover() == "DEPLOYED"
        again = next(t for t in env.tasks if t["role_path"] == victim["role_path"])
        assert again["control_port"] != victim["control_port"] and again["state"] == "STANDBY"
        assert env.configure() == "CONFIGURED" and other.poll() is None
        assert "[STATE]" not in log.read_text(), "the other process was never driven"
    finally:
        other.terminate()
        other.wait(10)
        env.destroy(force=True)
