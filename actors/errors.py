"""Errors the control plane raises to its callers (SDK, CLI, control API).

They cross Ray's boundary (Ray re-raises them on the caller's side as the same type), so
they are plain picklable exceptions with a message that says what failed, where and why.
"""

from __future__ import annotations

from o2ctl.core.errors import ControlError, DetectorBusy, EnvironmentBusy, TransitionRefused


class TransitionFailed(ControlError):
    """A transition reached some tasks but not all; the message lists each failure."""

    def __init__(self, message: str, failures: list[str] | None = None) -> None:
        super().__init__(message)
        self.failures = failures or []


class TransitionCancelled(TransitionFailed):
    """A critical hook task or call failed before the transition's own step: the
    transition did not happen and the environment's state is unchanged (no GO_ERROR)."""


class DeployFailed(ControlError):
    """Tasks could not be placed or started; nothing was left behind."""


__all__ = ["ControlError", "DetectorBusy", "EnvironmentBusy", "TransitionRefused"]


class NotFound(ControlError):
    """No environment, task or role with that id or path."""


class PortTaken(ControlError):
    """A task's control port is held, or answered, by a process that is not the task's."""

    def __init__(self, port: int, message: str) -> None:
        super().__init__(message)
        self.port = port

    def __reduce__(self) -> tuple[type[PortTaken], tuple[int, str]]:
        return (PortTaken, (self.port, str(self)))


class Restarting(ControlError):
    """An actor of the control plane is restarting after a crash; the next call works."""


class AdmissionRefused(ControlError):
    """An environment (or a change to one) does not fit: nothing was started."""


class ModifyRefused(ControlError):
    """A modify that could not be made: the environment is exactly as it was."""
