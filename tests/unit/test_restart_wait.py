"""Clients while the control plane restarts (issue 21): the reason, the message, and the
CLI's wait on the head's supervisor (``o2ctl.cli.waitback``), with a real listening socket
as the GCS and this test's own process standing for the supervisor (its pid file): no Ray."""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path

import pytest

from o2ctl.cli.waitback import HeadWait
from o2ctl.core.errors import ControlError
from o2ctl.sdk.restart import WAIT_ENV, message, restart_reason, restart_wait_s


def test_restart_reason_says_head_lost_or_the_controller_state() -> None:
    assert restart_reason("ALIVE", 1) == ""
    assert restart_reason("ALIVE", 2) == "head lost"  # the old head not declared dead yet
    assert restart_reason("RESTARTING", 1) == "the controller's actor is restarting"
    assert restart_reason("PENDING_CREATION", 0) == "the controller's actor is pending creation"
    assert restart_reason("DEAD", 1) == ""  # gone for good is not restarting
    said = message("head lost", 90)
    assert said == ("the control plane is restarting after a crash (head lost): waiting up to 90 s")


def test_restart_wait_comes_from_the_environment_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(WAIT_ENV, "12")
    assert restart_wait_s() == 12
    monkeypatch.setenv(WAIT_ENV, "1e9")
    assert restart_wait_s() == 3600
    monkeypatch.setenv(WAIT_ENV, "soon")
    assert restart_wait_s() == 90


def _head(state: Path, supervisor: int | None, **children: str) -> None:
    ha = state / "ha"
    ha.mkdir(parents=True, exist_ok=True)
    if supervisor is not None:
        (ha / "supervisor.pid").write_text(str(supervisor))
    status = {name: {"state": st, "pid": 1, "restarts": 1} for name, st in children.items()}
    (ha / "status.json").write_text(json.dumps(status))


@pytest.fixture
def gcs() -> object:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield f"127.0.0.1:{listener.getsockname()[1]}"


def _closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def test_a_head_restarting_is_said_once_and_waited_for(
    tmp_path: Path, gcs: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _head(tmp_path, os.getpid(), gcs_server="running", raylet="restarting")
    wait = HeadWait(tmp_path, wait_s=60)
    assert wait.reason() == "head lost"
    back = threading.Timer(0.6, _head, (tmp_path, os.getpid()), {"raylet": "running"})
    back.start()
    try:
        wait.wait_head(gcs)
    finally:
        back.cancel()
    assert wait.reason() == ""
    err = capsys.readouterr().err
    assert err.count("restarting after a crash (head lost): waiting up to 60 s") == 1, err


def test_a_head_that_does_not_come_back_is_one_error_naming_it(tmp_path: Path, gcs: str) -> None:
    _head(tmp_path, os.getpid(), raylet="restarting")
    with pytest.raises(ControlError, match=r"within 0 s .*raylet still restarting"):
        HeadWait(tmp_path, wait_s=0.3).wait_head(gcs)


def test_a_gcs_silent_with_its_supervisor_alive_is_restarting(tmp_path: Path) -> None:
    _head(tmp_path, os.getpid(), gcs_server="running")  # the supervisor has not seen it yet
    with pytest.raises(ControlError, match="gcs_server still restarting"):
        HeadWait(tmp_path, wait_s=0.3).wait_head(_closed_port())


def test_a_gcs_silent_without_a_supervisor_is_refused_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _head(tmp_path, None, gcs_server="restarting")  # a status left by a system gone
    wait = HeadWait(tmp_path, wait_s=60)
    assert wait.reason() == ""
    with pytest.raises(ControlError, match="no o2ctl system answers"):
        wait.wait_head(_closed_port())
    assert capsys.readouterr().err == ""


def test_rays_messages_to_the_cli_go_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    """A node "marked dead" during a head loss must not land in ``-o json``'s stdout."""
    import ray._private.worker as ray_worker

    from o2ctl.cli.localray import keep_stdout_clean

    before = ray_worker.print_to_stdstream
    try:
        keep_stdout_clean()
        keep_stdout_clean()  # once is enough: not wrapped twice
        said = {"lines": ["node marked dead"], "pid": "raylet", "is_err": False}
        ray_worker.print_to_stdstream(said, ignore_prefix=False)
        out, err = capsys.readouterr()
        assert out == "" and err.count("node marked dead") == 1, (out, err)
    finally:
        ray_worker.print_to_stdstream = before
