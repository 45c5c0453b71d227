"""Start and stop the Control API from Python (the SDK side; the CLI's ``up`` can call it).

``start_api`` reaches the running o2ctl system (``o2ctl.sdk.connect``), then creates the
API actor, or gets the one already running, pinned to this machine's node so that the
default 127.0.0.1 binding is reachable from here, and waits until it serves. Under
``up --ha`` (the controller's records in Redis) the pinning is soft, Ray restarts it, and
its port and token are chosen here, so that a restarted API serves where it served. It
answers with the address and the token a client sends (``Authorization: Bearer <token>``).
"""

from __future__ import annotations

from typing import Any

import ray

from actors import naming
from actors.cluster import home_options, survives_head
from actors.errors import ControlError
from o2ctl.config.durable import state_dir

API_ACTOR = "o2ctl-api"
START_TIMEOUT_S = 60.0


def free_port(host: str) -> int:
    """A port free on ``host`` now: the API binds it next and, under ``--ha``, again after
    each restart."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def start_api(
    host: str = "127.0.0.1",
    port: int = 0,
    token: str | None = None,
    tls_cert: str | None = None,
    tls_key: str | None = None,
) -> tuple[str, str]:
    """Serve the Control API (or find it served); returns ``(address, token)``."""
    from o2ctl.api.actor import ControlApiActor
    from o2ctl.api.auth import new_token
    from o2ctl.sdk import call, connect

    system = connect(start=False)
    ha = survives_head(system.info().get("records"))
    fixed_token, fixed_port = token, port  # (an API already serving keeps its own)
    if ha:  # restarted by Ray (the head lost): the same port and token, known beforehand
        fixed_token, fixed_port = token or new_token(), port or free_port(host)
    actor: Any = ControlApiActor.options(
        name=API_ACTOR,
        namespace=naming.NAMESPACE,
        lifetime="detached",
        get_if_exists=True,
        max_restarts=-1 if ha else 0,
        **home_options(ray.get_runtime_context().get_node_id(), restartable=ha),
    ).remote(system.controller, host, fixed_port, fixed_token, tls_cert, tls_key, str(state_dir()))
    info: dict[str, Any] = call(actor.start.remote(), timeout=START_TIMEOUT_S)
    if token and info["token"] != token:
        raise ControlError(
            f"a Control API already serves on {info['address']} with another "
            "token: stop it first (o2ctl.api.serve.stop_api)"
        )
    if port and not info["address"].endswith(f":{port}"):
        raise ControlError(
            f"a Control API already serves on {info['address']}, not on port "
            f"{port}: stop it first (o2ctl.api.serve.stop_api)"
        )
    return str(info["address"]), str(info["token"])


def stop_api() -> bool:
    """Stop the Control API if one runs; True when one was stopped."""
    return stop_served(API_ACTOR)


def stop_served(name: str) -> bool:
    """Stop the serving actor ``name`` (the API, the console) if it runs: its ``stop``, then
    the actor; True when one was stopped."""
    from o2ctl.sdk import call

    try:
        actor = ray.get_actor(name, namespace=naming.NAMESPACE)
    except ValueError:
        return False
    try:
        call(actor.stop.remote(), timeout=START_TIMEOUT_S)
    finally:
        ray.kill(actor)
    return True
