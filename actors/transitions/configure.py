"""CONFIGURE: assign ports and channels, push every task its configuration, all at once.

What flows through: each controlled task's bind and connect channels and its host. The
controller reserves one port per TCP bind on that host (releasing what the task held
before, so a reconfigured or reused task gets fresh ports and leaks none); ``wire``
(pure, ``o2ctl.core.wiring``) resolves every connect target to the address its bind peer
got and builds the FairMQ ``chans.*`` keys; each task receives its own properties plus
those keys as CONFIGURE arguments. A connect that names no bound channel fails here,
before any process is touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from actors.errors import TransitionFailed
from actors.transitions.common import fan_out, raise_if_failed
from o2ctl.core.occevents import OccEvent
from o2ctl.core.wiring import WiringError, WiringInput, wire

if TYPE_CHECKING:
    from actors.environment import EnvironmentRuntime


def _tcp_binds(spec: Any) -> list[str]:
    out = []
    for ch in spec.binds:
        target = getattr(ch, "target", None) or ""
        if target.startswith(("tcp://", "ipc://")) or (ch.addressing or "tcp") == "ipc":
            continue
        out.append(f"chan:{ch.name}")
    return out


def tcp_purposes(spec: Any) -> list[str]:
    return _tcp_binds(spec)


def configuration(
    env: EnvironmentRuntime,
    tasks: list[Any],
    ports: Mapping[str, Mapping[str, int]],
    what: str = "CONFIGURE",
    publish: bool = True,
) -> dict[str, dict[str, str]]:
    """Every task's CONFIGURE key-values (its properties and ``chans.*``), by role path.

    ``tasks`` are entries with ``role_path``, ``task_id``, ``node_id``, ``ip`` and ``spec``
    (all the environment's controlled tasks: a connect may target any of their binds);
    ``ports[task_id][purpose]`` their bind ports. A port not known yet (a task still to be
    placed, in a dry run) reads as a placeholder, so that whoever connects to it shows as
    changed. ``publish``: record the bound addresses as the environment's channels."""

    def port_of(host: str, owner: str, purpose: str) -> int | str:
        return ports.get(owner, {}).get(purpose, f"<{owner}:{purpose}>")

    inputs = [
        WiringInput(e.role_path, e.task_id, e.node_id, e.ip, e.spec.binds, e.spec.connects)
        for e in tasks
    ]
    try:
        wiring = wire(
            inputs,
            port_of,  # type: ignore[arg-type]
            env_id=env.env_id,
            global_channels=env.workflow.global_channels,
        )
    except WiringError as exc:
        raise TransitionFailed(f"{what} of environment {env.env_id}: {exc}") from None
    if publish:
        env.channels = wiring.bound
    return {
        e.role_path: {
            **{k: str(v) for k, v in e.spec.properties.items()},
            **wiring.chans.get(e.role_path, {}),
        }
        for e in tasks
    }


async def configure(env: EnvironmentRuntime) -> None:
    tasks = [e for e in env.tasks.values() if e.controlled]
    need = {e.task_id: (e.ip, _tcp_binds(e.spec)) for e in tasks}
    ports: dict[str, dict[str, int]] = await env.controller.allocate_channel_ports.remote(need)
    for e in tasks:
        e.ports = dict(ports.get(e.task_id, {}))
    args = configuration(env, tasks, ports)
    failures = await fan_out(env, OccEvent.CONFIGURE, args, per_task_args=True)
    raise_if_failed(env, "CONFIGURE", failures)
