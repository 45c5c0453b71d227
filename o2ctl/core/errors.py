"""The root of every error o2ctl reports to an operator (SDK, CLI, control API).

Errors cross Ray's boundary and are re-raised on the caller's side as the same type, so
they are plain picklable exceptions whose message says what failed, where and why.
"""

from __future__ import annotations


class ControlError(Exception):
    """Base of every error o2ctl reports to an operator."""
