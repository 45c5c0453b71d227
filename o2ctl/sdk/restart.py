"""Waiting out a restart of the control plane, saying so, instead of failing or hanging.

After a crash the control plane comes back by itself: under ``up --ha`` a lost head's
``gcs_server`` is started again by the supervisor within a second, a new raylet joins in
seconds, and Ray restarts the controller and the Control API that were on the head on
another node once the GCS has declared the old head dead. A client arriving meanwhile
finds a controller that does not answer: its actor RESTARTING, or its node gone while the
GCS has not noticed yet (then two nodes carry the head's label, the new and the old).

``wait_ready`` sends the controller one read. When no answer comes within ``PROBE_S`` and
the control plane is restarting (``restart_reason``, from the GCS; the CLI adds what the
head's supervisor says), it says once, through ``say`` (the CLI prints it on stderr, the
SDK logs a warning), "the control plane is restarting after a crash (head lost): waiting
up to N s", and waits up to ``O2CTL_RESTART_WAIT_S`` (default 90 s) for the answer; past
that, one ``Restarting`` error naming what it waited for. A controller merely slow is
waited for as any call is (``calls.DEFAULT_TIMEOUT``), silently. Reads made afterwards
retry across a restart by themselves (``calls.read``); a command cut by a restart raises
``Restarting`` (it may have been done: never sent twice behind the caller's back).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

import ray
from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

from actors.errors import ControlError, Restarting
from actors.reasons import unwrap
from o2ctl.core.placement import HEAD_LABEL
from o2ctl.sdk.calls import DEFAULT_TIMEOUT, read

log = logging.getLogger("o2ctl.sdk")

WAIT_ENV = "O2CTL_RESTART_WAIT_S"
DEFAULT_WAIT_S = 90.0
PROBE_S = 2.0  # an answer later than this: look whether the control plane is restarting
PAUSE_S = 0.5  # between two attempts when the controller died under the read
PENDING = ("RESTARTING", "PENDING_CREATION", "DEPENDENCIES_UNREADY")


def restart_wait_s() -> float:
    """How long a client waits for a restarting control plane (``O2CTL_RESTART_WAIT_S``)."""
    try:
        value = float(os.environ.get(WAIT_ENV, DEFAULT_WAIT_S))
    except ValueError:
        return DEFAULT_WAIT_S
    return min(max(value, 0.0), 3600.0)


def restart_reason(actor_state: str, heads_alive: int) -> str:
    """Why the control plane is restarting ("" if it is not), from the controller actor's
    state in the GCS and the number of alive nodes labelled as the head."""
    if heads_alive > 1:  # a new head joined, the old one not declared dead yet
        return "head lost"
    if actor_state in PENDING:
        return f"the controller's actor is {actor_state.lower().replace('_', ' ')}"
    return ""


def message(reason: str, wait_s: float) -> str:
    return f"the control plane is restarting after a crash ({reason}): waiting up to {wait_s:.0f} s"


def actor_state(actor: Any) -> str:
    """The actor's state in the GCS ("" when it cannot be read)."""
    try:
        from ray._private import state

        info = state.actors(actor_id=actor._actor_id.hex())
        return str(info.get("State", "")) if isinstance(info, dict) else ""
    except Exception:  # another Ray version, or the GCS away for a moment
        return ""


def ray_reason(actor: Any) -> str:
    """``restart_reason`` from what the GCS says now ("" when it cannot be read)."""
    try:
        nodes: list[dict[str, Any]] = ray.nodes()  # type: ignore[no-untyped-call]
    except Exception:
        nodes = []
    heads = [n for n in nodes if n.get("Alive") and (n.get("Labels") or {}).get(HEAD_LABEL) == "1"]
    return restart_reason(actor_state(actor), len(heads))


def wait_ready(
    actor: Any,
    say: Callable[[str], object] | None = None,
    local_reason: Callable[[], str] | None = None,
    wait_s: float | None = None,
) -> None:
    """Return once the controller ``actor`` answers a read; while it is restarting, say so
    once and wait up to ``wait_s`` (``restart_wait_s()``)."""
    wait_s = restart_wait_s() if wait_s is None else wait_s
    say = say or log.warning
    deadline, said = time.monotonic() + DEFAULT_TIMEOUT, ""
    ref = read(actor.info).remote()
    while True:
        try:
            ray.get(ref, timeout=PROBE_S)
            return
        except GetTimeoutError:
            pass
        except RayTaskError as exc:
            raise unwrap(exc) from None
        except RayActorError:  # died under the read: again, once Ray has it restarting
            if actor_state(actor) == "DEAD":
                raise ControlError(
                    "the o2ctl controller is gone for good (its actor is dead): "
                    "`o2ctl up` starts it again"
                ) from None
            time.sleep(PAUSE_S)
            ref = read(actor.info).remote()
        reason = (local_reason() if local_reason else "") or ray_reason(actor)
        if reason and not said:
            said, deadline = reason, time.monotonic() + wait_s
            say(message(reason, wait_s))
        if time.monotonic() >= deadline:
            what = f"restarting after a crash ({said})" if said else "no answer"
            raise Restarting(
                f"the o2ctl control plane did not come back within "
                f"{wait_s if said else DEFAULT_TIMEOUT:.0f} s: {what}; "
                f"`o2ctl status` says what is restarting"
            )
