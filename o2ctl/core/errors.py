"""The root of every error o2ctl reports to an operator (SDK, CLI, control API).

Errors cross Ray's boundary and are re-raised on the caller's side as the same type, so
they are plain picklable exceptions whose message says what failed, where and why.
"""

from __future__ import annotations


class ControlError(Exception):
    """Base of every error o2ctl reports to an operator."""


class TransitionRefused(ControlError):
    """An event that the state machine does not allow from the current state."""


class InvalidWorkflow(ControlError):
    """The workflow could not be expanded (template, variable or repository error); the
    message is the template error's own, naming file, line and role."""


class EnvironmentBusy(ControlError):
    """A transition is already in flight for this environment."""


class DetectorBusy(ControlError):
    """A detector is already in another environment."""
