"""Without ``--ha``, a head that is gone is said plainly: the error names what is left.

A real process marked as this system's (``O2CTL_SYSTEM``) stands for a device whose head
went away; the message every command gives then (``status``, ``doctor``) lists it and says
``o2ctl down`` ends it. No Ray: the head is simply not there.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from o2ctl.cli import localray
from o2ctl.cli.system import client
from o2ctl.core.errors import ControlError
from occ.processes import SYSTEM_ENV, owned_env
from tests.conftest import free_port


def test_the_error_names_the_processes_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("O2CTL_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    (tmp_path / "system-id").write_text("headgone1234\n")
    address = f"127.0.0.1:{free_port()}"  # nothing listens: the head is gone
    localray.remember(address)
    device = subprocess.Popen(
        ["sleep", "600"], env=owned_env("test-device", {SYSTEM_ENV: "headgone1234"})
    )
    try:
        with pytest.raises(ControlError) as caught:
            client()
        message = str(caught.value)
        assert f"no o2ctl system answers at {address}" in message
        assert f"1 process(es) of this system left running (pids {device.pid})" in message
        assert "`o2ctl down` ends them" in message and "\n" not in message
    finally:
        device.kill()
        device.wait()
