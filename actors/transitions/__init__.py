"""The environment's transitions, one module per transition with logic (like AliECS's
``transition_<event>.go``), looked up in one registry by event.

Each entry is ``async (env, **kwargs) -> None``; it raises ``TransitionFailed`` (or
``DeployFailed``) with sentences naming each failed task. The state machine itself is
``o2ctl.core.envfsm``: the environment fires the event only after its entry succeeded.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from actors.transitions.activity import start_activity, stop_activity
from actors.transitions.configure import configure
from actors.transitions.deploy import deploy
from actors.transitions.recover import recover
from actors.transitions.simple import exit_, go_error, reset
from o2ctl.core.envfsm import EnvEvent

Transition = Callable[..., Awaitable[None]]

TRANSITIONS: dict[EnvEvent, Transition] = {
    EnvEvent.DEPLOY: deploy,
    EnvEvent.CONFIGURE: configure,
    EnvEvent.START_ACTIVITY: start_activity,
    EnvEvent.STOP_ACTIVITY: stop_activity,
    EnvEvent.RESET: reset,
    EnvEvent.EXIT: exit_,
    EnvEvent.GO_ERROR: go_error,
    EnvEvent.RECOVER: recover,
}

__all__ = ["TRANSITIONS", "Any", "Transition"]
