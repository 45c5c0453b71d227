"""The CLI while the control plane restarts after a crash: say so, wait within a deadline.

Under ``up --ha`` the head's supervisor (``supervise``) knows first: its ``status.json``
names each of the head's processes that is ``restarting``, and a GCS that does not answer
while the supervisor lives is one being started again (a system that is *gone* has no
supervisor: then the CLI refuses at once, as before). ``HeadWait`` says, once, on stderr,
"the control plane is restarting after a crash (head lost): waiting up to N s", waits for
the supervisor to have started everything again and the GCS to answer, and hands the same
``say`` and ``reason`` to ``connect``, which waits the same way for the controller that Ray
restarts (``o2ctl.sdk.restart``). Past the deadline (``O2CTL_RESTART_WAIT_S``, 90 s by
default): one error naming what was still restarting.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psutil

from o2ctl.cli import localray
from o2ctl.cli.hasup import PID_FILE, ha_dir
from o2ctl.cli.supervise import read_status
from o2ctl.core.errors import ControlError
from o2ctl.sdk.restart import message, restart_wait_s

POLL_S = 0.2
HEAD_LOST = "head lost"


class HeadWait:
    """What this machine's supervisor says of the head, and the one message saying it."""

    def __init__(self, state: Path, wait_s: float | None = None) -> None:
        self.state = state
        self.wait_s = restart_wait_s() if wait_s is None else wait_s
        self.said = False

    def say(self, text: str) -> None:
        if not self.said:
            self.said = True
            sys.stderr.write(f"o2ctl: {text}\n")
            sys.stderr.flush()

    def restarting(self) -> list[str]:
        """The head's processes the supervisor is starting again ([] when none, or no
        supervisor runs for this state directory)."""
        if not self.supervised():
            return []
        status = read_status(ha_dir(self.state))
        return sorted(n for n, c in status.items() if c.get("state") == "restarting")

    def reason(self) -> str:
        return HEAD_LOST if self.restarting() else ""

    def supervised(self) -> bool:
        try:
            pid = int((ha_dir(self.state) / PID_FILE).read_text())
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except (OSError, ValueError, psutil.Error):
            return False

    def wait_head(self, target: str) -> None:
        """Return once nothing of the head is restarting and the GCS at ``target`` answers;
        say so while waiting. Raises ``ControlError`` when the GCS does not answer and no
        supervisor will start it again, or past the deadline."""
        deadline = time.monotonic() + self.wait_s
        while True:
            left = self.restarting()
            try:
                localray.check_answers(target, timeout=POLL_S)
                answers = True
            except ControlError:
                if not self.supervised():
                    raise
                answers, left = False, left or ["gcs_server"]
            if answers and not left:
                return
            self.say(message(HEAD_LOST, self.wait_s))
            if time.monotonic() >= deadline:
                raise ControlError(
                    f"the control plane did not come back within {self.wait_s:.0f} s after a "
                    f"crash (head lost): {', '.join(left)} still restarting; see `o2ctl status` "
                    f"and {ha_dir(self.state) / 'supervisor.log'}"
                )
            time.sleep(POLL_S)
