"""The Python SDK: what an operator uses from a notebook or a script.

``connect()`` reaches a running o2ctl system (a Ray cluster with the controller actor in
it) or starts a local one; ``Client.create_environment`` returns an ``Environment`` handle
whose methods map one-to-one on the environment's transitions. Every call waits with a
deadline and raises one clear ``ControlError`` (never a Ray traceback); ``a*`` variants
are awaitable for asyncio code. In Jupyter an environment renders as a coloured tree of
``[STATE] role → task`` and a task table.

``session`` reaches the system (``connect``), ``client`` is the ``Client``,
``environment`` the ``Environment``, ``calls`` the one way every call waits and fails.
"""

from __future__ import annotations

from actors.errors import ControlError
from o2ctl.core.envfsm import TransitionRefused
from o2ctl.sdk.calls import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT
from o2ctl.sdk.calls import READ_RETRIES as READ_RETRIES
from o2ctl.sdk.calls import RESTARTING as RESTARTING
from o2ctl.sdk.calls import acall as acall
from o2ctl.sdk.calls import call as call
from o2ctl.sdk.calls import read as read
from o2ctl.sdk.client import Client
from o2ctl.sdk.environment import Environment
from o2ctl.sdk.session import connect

__all__ = ["Client", "ControlError", "Environment", "TransitionRefused", "connect"]
