"""Reaching an o2ctl system: ``connect`` joins a Ray cluster (or starts a local one) and
finds the controller actor in it (or starts it), with what joining needs on the way: this
machine's Ray token, and a working directory kept out of the workers' import path.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ray

from actors import naming
from actors.errors import ControlError
from o2ctl.sdk.calls import call, read
from o2ctl.sdk.client import Client
from o2ctl.sdk.restart import wait_ready


def _use_local_token() -> None:
    """Send this machine's Ray token when joining an existing cluster.

    ``ray start`` turns token authentication on whenever ``~/.ray/auth_token`` exists, but
    a client joining it only sends the token when ``RAY_AUTH_MODE=token`` is set (seen with
    Ray 2.60): without this, ``o2ctl`` commands could not reach an ``o2ctl up`` cluster.
    """
    if "RAY_AUTH_MODE" in os.environ or not (Path.home() / ".ray" / "auth_token").exists():
        return
    try:  # Ray's own switch also refreshes its already-loaded config
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available,
        )

        quiet = logging.getLogger("ray._private.authentication.authentication_token_setup")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # it would warn that it did what we asked
        try:
            maybe_enable_token_auth_if_token_available(warn_if_disabled=False)
        finally:
            quiet.setLevel(level)
    except ImportError:  # another Ray version: the variable alone, for what it is worth
        os.environ["RAY_AUTH_MODE"] = "token"


@contextlib.contextmanager
def _neutral_cwd(enabled: bool) -> Iterator[None]:
    """While Ray starts its job: the working directory is an empty one of ours."""
    if not enabled:
        yield
        return
    from o2ctl.config import state_dir

    here, neutral = os.getcwd(), state_dir() / "ray-cwd"
    neutral.mkdir(parents=True, exist_ok=True)
    os.chdir(neutral)
    try:
        yield
    finally:
        os.chdir(here)


def _controller(
    create: bool,
    state_dir: str | None,
    repo: str | None,
    settings: dict[str, Any] | None,
    on_restart: Callable[[str], object] | None = None,
    restart_reason: Callable[[], str] | None = None,
) -> Any:
    try:
        found = ray.get_actor(naming.CONTROLLER, namespace=naming.NAMESPACE)
    except ValueError:
        if not create:
            raise ControlError(
                "no o2ctl controller is running in this Ray cluster (start one with `o2ctl up`)"
            ) from None
    else:  # restarting after a crash: say so and wait (o2ctl.sdk.restart)
        wait_ready(found, on_restart, restart_reason)
        return found
    from actors.cluster import home_options, survives_head
    from actors.controller import ControllerActor

    soft = survives_head(os.environ.get("O2CTL_RUNTIME_STORE"))  # up --ha: may leave the head
    actor = ControllerActor.options(
        name=naming.CONTROLLER,
        namespace=naming.NAMESPACE,
        lifetime="detached",
        get_if_exists=True,
        **home_options(ray.get_runtime_context().get_node_id(), restartable=soft),
    ).remote(state_dir, repo, settings)
    call(read(actor.info).remote(), timeout=120)
    return actor


def connect(
    address: str | None = None,
    *,
    start: bool = True,
    state_dir: str | None = None,
    repo: str | None = None,
    settings: dict[str, Any] | None = None,
    num_cpus: int | None = None,
    isolate_cwd: bool = False,
    on_restart: Callable[[str], object] | None = None,
    restart_reason: Callable[[], str] | None = None,
    **ray_options: Any,
) -> Client:
    """Reach the o2ctl system at ``address`` (``auto``, ``ray://…``), or start a local one.

    ``isolate_cwd``: keep this process's working directory out of the workers' import path
    (Ray adds it; the CLI, run from anywhere, must not let ``/tmp/something`` shadow a
    package in the controller it starts). A notebook keeps Ray's behaviour by default.

    A controller restarting after a crash (the head lost under ``up --ha``) is waited for,
    within ``O2CTL_RESTART_WAIT_S``, after saying so once: through ``on_restart`` (default
    a warning logged), ``restart_reason`` adding what the caller knows of it ("" if
    nothing; ``o2ctl.sdk.restart``)."""
    if not ray.is_initialized():
        address = address or os.environ.get("O2CTL_RAY_ADDRESS") or os.environ.get("RAY_ADDRESS")
        kwargs: dict[str, Any] = {
            "namespace": naming.NAMESPACE,
            "logging_level": "ERROR",
            "log_to_driver": False,
        }
        with _neutral_cwd(isolate_cwd):
            if address:
                _use_local_token()
                ray.init(address=address, **kwargs)
            elif start:
                ray.init(address="local", num_cpus=num_cpus, **kwargs, **ray_options)
            else:
                ray.init(address="auto", **kwargs)
    return Client(_controller(start, state_dir, repo, settings, on_restart, restart_reason))
