"""How the SDK talks to the control plane's actors: one deadline, one kind of error.

``call`` is ``ray.get`` with a deadline that re-raises the actor's own error (a
``ControlError``) without Ray's wrapping, and says that the control plane is restarting
when the actor died under the call; ``acall`` is the same for asyncio code. ``read`` marks
a read-only method, retried across its actor's restart (a command never is: it may have
been done). ``follow_events`` streams an actor's event log.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import ray
from ray.exceptions import RayActorError, RayTaskError

from actors.errors import ControlError, Restarting
from actors.reasons import unwrap

DEFAULT_TIMEOUT = 600.0


RESTARTING = (
    "the o2ctl control plane is restarting after a crash (the controller, or this "
    "environment's actor); the call was not confirmed: try again in a few seconds"
)
READ_RETRIES = 5
"""Reads are retried across an actor's restart (they change nothing); commands are not."""


def call(ref: Any, timeout: float = DEFAULT_TIMEOUT) -> Any:
    """``ray.get`` with a deadline, re-raising the actor's own error without Ray's wrapping."""
    try:
        return ray.get(ref, timeout=timeout)
    except RayTaskError as exc:
        raise unwrap(exc) from None
    except RayActorError:
        raise Restarting(RESTARTING) from None
    except ray.exceptions.GetTimeoutError:
        raise ControlError(f"no answer from the control system within {timeout:.0f}s") from None


async def acall(ref: Any, timeout: float = DEFAULT_TIMEOUT) -> Any:
    try:
        return await asyncio.wait_for(ref, timeout)
    except RayTaskError as exc:
        raise unwrap(exc) from None
    except RayActorError:
        raise Restarting(RESTARTING) from None
    except TimeoutError:
        raise ControlError(f"no answer from the control system within {timeout:.0f}s") from None


def read(method: Any) -> Any:
    """A read-only actor method, retried across a restart of its actor."""
    return method.options(max_task_retries=READ_RETRIES)


def follow_events(actor: Any, after: int, timeout: float | None) -> Iterator[dict[str, Any]]:
    """The events of ``actor`` after ``after``, as they come (ends after ``timeout`` idle s)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while deadline is None or time.monotonic() < deadline:
        wait = 5.0 if deadline is None else max(0.05, min(5.0, deadline - time.monotonic()))
        batch = call(read(actor.wait_events).remote(after, wait))
        for ev in batch["events"]:
            yield ev
            if deadline is not None:
                deadline = time.monotonic() + timeout  # type: ignore[operator]
        after = batch["last_seq"]
