"""The pilot-job actor: one per async node, named ``pilot:<machine_id>``.

A thin Ray shell around ``actors.pilotjob.PilotProcess``: detached, in the ``o2ctl``
namespace, pinned to its node (hard node affinity: the pilot it watches runs there) and
restarted by Ray without limit. A restarted actor resumes from the node-local launch
record before it answers anything, so it re-adopts the pilot it had (pid and process start
time) instead of starting a second one. The controller's ``FarmManager`` creates it,
polls ``status`` (state, pid, start time, jobs done, restarts and their events) and ends
it after ``stop``.

The pilot command is the controller setting ``pilot_command`` (a string split like a
shell would, without a shell, or a list); by default the demo pilot ``o2ctl-pilot`` that
is installed beside this Python.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import sys
from collections.abc import Sequence
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from actors.naming import NAMESPACE
from actors.pilotjob import PilotProcess
from occ.processes import SYSTEM_ENV

CLUSTER_ENV = "O2CTL_PILOT_CLUSTER"
"""Set in a pilot's environment to its Ray cluster's GCS address (``o2ctl down`` finds
the pilots of the cluster it stops by it)."""
MAX_ARGS = 256
MAX_ARG_CHARS = 4096


def pilot_name(machine_id: str) -> str:
    return f"pilot:{machine_id}"


def pilot_command(command: str | Sequence[str] | None) -> list[str]:
    """The argv of the pilot: ``command`` split, or the demo pilot beside this Python."""
    if command is None or command == "" or command == []:
        return [os.path.join(os.path.dirname(sys.executable), "o2ctl-pilot")]
    argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
    if not argv or len(argv) > MAX_ARGS or any(len(a) > MAX_ARG_CHARS for a in argv):
        raise ValueError(
            f"pilot_command {str(command)[:80]!r}: expected a command line of at most "
            f"{MAX_ARGS} arguments of at most {MAX_ARG_CHARS} characters"
        )
    return argv


class PilotRuntime:
    """The pilot of one node (Ray wraps it as ``PilotActor``)."""

    def __init__(
        self,
        machine_id: str,
        node_id: str,
        command: str | Sequence[str] | None,
        directory: str,
        system_id: str = "",
    ) -> None:
        self.node_id = node_id
        cluster = {CLUSTER_ENV: ray.get_runtime_context().gcs_address, SYSTEM_ENV: system_id}
        self.pilot = PilotProcess(machine_id, pilot_command(command), directory, cluster)
        # Async actors run __init__ inside their event loop: resume at once, so that a
        # restarted actor watches (or re-adopts) its pilot before anyone asks.
        self._resumed = asyncio.get_running_loop().create_task(self.pilot.resume())

    def __repr__(self) -> str:
        return f"Pilot({self.pilot.machine_id})"

    async def start(self) -> dict[str, Any]:
        await self._resumed
        return await self.pilot.start()

    async def stop(self, grace_s: float = 10.0) -> dict[str, Any]:
        await self._resumed
        return await self.pilot.stop(grace_s)

    async def status(self) -> dict[str, Any]:
        await self._resumed
        here = ray.get_runtime_context().get_node_id()  # Ray's word on where this runs
        return {
            **self.pilot.status(),
            "node_id": self.node_id,
            "ray_node_id": here,
            "actor_pid": os.getpid(),
        }


PilotActor = ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=0)(PilotRuntime)


def create_pilot_actor(
    machine_id: str,
    node_id: str,
    command: str | Sequence[str] | None,
    directory: str,
    system_id: str = "",
) -> Any:
    """The pilot actor of ``machine_id`` on node ``node_id`` (the existing one if any)."""
    return PilotActor.options(
        name=pilot_name(machine_id),
        namespace=NAMESPACE,
        lifetime="detached",
        get_if_exists=True,
        scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
    ).remote(machine_id, node_id, command, directory, system_id)


def find_pilot_actor(machine_id: str) -> Any | None:
    try:
        return ray.get_actor(pilot_name(machine_id), namespace=NAMESPACE)
    except ValueError:
        return None
