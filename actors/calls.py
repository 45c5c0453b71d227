"""Call roles at run time: the plugin runner actor, and each environment's book of calls.

What flows through: at a hook point the environment starts the calls triggered there
(``CallBook.start``); each becomes an asyncio task that sends one ``CallRequest`` (the func
as written, the call role's variables with the run number, the deadline) to the plugin
runner and awaits its answer with a timeout. The runner is one named, detached, threaded
actor (``o2ctl-plugins`` in namespace ``o2ctl``, created on first use on the controller's
node, where the state directory is): it runs each call in a thread with its deadline
(``o2ctl.plugins.invoke``), so a plugin never blocks an environment's event loop. A call
is collected (``CallBook.collect``) at its ``await`` point (by default its trigger), which
may be a later point of the same transition. Calls still pending when a new transition
begins, when one is cancelled, or at DESTROY are abandoned: nobody waits for them any more
(the runner's thread ends at its deadline) and an event says so.

Every call publishes events of kind ``call``: STARTED, then DONE_OK or DONE_ERROR with the
error, its func, and whether the failure is ``fatal`` (critical) or a ``warning``.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from actors import naming
from actors.reasons import reason
from o2ctl.core.events import Event
from o2ctl.plugins import PluginError, installed
from o2ctl.plugins.invoke import CallRequest, CallResult, run_call
from o2ctl.templates import CallSpec
from o2ctl.templates.hookpoints import Points, split_trigger

if TYPE_CHECKING:
    from actors.environment import EnvironmentRuntime

RUNNER = "o2ctl-plugins"
ANSWER_GRACE_S = 5.0
"""How much longer than a call's own timeout the environment waits for the runner."""


class PluginRunner:
    """Runs plugin calls, each in a thread with its deadline (Ray runs this actor threaded)."""

    def __init__(self, state_dir: str) -> None:
        self.state_dir = Path(state_dir)

    def __repr__(self) -> str:
        return "PluginRunner"

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            plugins = installed(self.state_dir)
        except PluginError as exc:
            return CallResult(False, f"the plugins cannot be loaded: {exc}").to_dict()
        return run_call(plugins, CallRequest(**request)).to_dict()

    def describe(self) -> list[dict[str, Any]]:
        return installed(self.state_dir).describe()


PluginRunnerActor = ray.remote(  # type: ignore[call-overload]
    num_cpus=0, max_concurrency=64, max_restarts=-1
)(PluginRunner)

_runner: Any = None


async def runner(env: EnvironmentRuntime) -> Any:
    """The plugin runner, created on the controller's node on first use."""
    global _runner
    if _runner is None:
        info = await env.controller.info.remote()
        state = info.get("state_dir")
        if not state:
            raise PluginError("the controller does not say where its state directory is")
        options: dict[str, Any] = dict(
            name=RUNNER, namespace=naming.NAMESPACE, lifetime="detached", get_if_exists=True
        )
        if info.get("node_id"):
            options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(
                info["node_id"], soft=False
            )
        _runner = await asyncio.to_thread(
            lambda: PluginRunnerActor.options(**options).remote(str(state))
        )
    return _runner


@dataclass
class Started:
    """A call started at its trigger, to be collected at its await point."""

    path: str
    spec: CallSpec
    await_point: tuple[str, int]
    task: asyncio.Task[str]


class CallBook:
    """One environment's calls in flight and its hook point index."""

    def __init__(self) -> None:
        self.pending: list[Started] = []
        self.points: Points | None = None  # filled by actors.hooks on first use

    def start(self, env: EnvironmentRuntime, path: str, spec: CallSpec) -> None:
        task = asyncio.create_task(_call(env, path, spec, request(env, path, spec)))
        point = split_trigger(spec.await_trigger or spec.trigger)
        self.pending.append(Started(path, spec, point, task))

    def awaiting(self, point: str) -> set[int]:
        """The weights at which calls wait to be collected at ``point``."""
        name = point.lower()
        return {s.await_point[1] for s in self.pending if s.await_point[0] == name}

    async def collect(self, point: str, weight: int) -> list[tuple[Started, str]]:
        """Wait for the calls whose await point is ``point`` at ``weight``: (call, error)."""
        due = [s for s in self.pending if s.await_point == (point.lower(), weight)]
        self.pending = [s for s in self.pending if s not in due]
        errors = await asyncio.gather(*(s.task for s in due))
        return list(zip(due, errors, strict=True))

    def abandon(self, env: EnvironmentRuntime, why: str) -> None:
        """Stop waiting for every pending call; the ones still running are reported."""
        left, self.pending = self.pending, []
        for s in left:
            if s.task.done():
                continue
            s.task.cancel()
            env.publish(
                Event(
                    "call",
                    env.env_id,
                    path=s.path,
                    event=s.spec.await_trigger or s.spec.trigger,
                    status="DONE_ERROR",
                    error=f"abandoned: {why}",
                    detail={**_detail(s.spec), "severity": "warning"},
                )
            )


def request(env: EnvironmentRuntime, path: str, spec: CallSpec) -> dict[str, Any]:
    """What the runner needs for one call (plain data)."""
    current, last = env.model.run_number, env.model.last_run_number
    variables = {**env.workflow.variables, **spec.variables, **env.model.call_variables(path)}
    variables["environment_id"] = env.env_id
    variables.setdefault("run_type", str(env.user_vars.get("run_type", env.settings.run_type)))
    if current is not None:
        run = str(current)
        variables.update(run_number=run, runNumber=run, run_start_time_ms=str(env.run_start_ms))
    if last is not None:
        variables["last_run_number"] = str(last)
    return {
        "env_id": env.env_id,
        "workflow": env.workflow.workflow,
        "role_path": path,
        "func": spec.func,
        "trigger": spec.trigger,
        "critical": spec.critical,
        "state": env.fsm.state.value,
        "run_number": current,
        "variables": variables,
        "timeout_s": spec.timeout_s,
        "detectors": tuple(env.detectors),
    }


def _detail(spec: CallSpec) -> dict[str, Any]:
    return {
        "func": spec.func,
        "critical": spec.critical,
        "trigger": spec.trigger,
        "await": spec.await_trigger or spec.trigger,
    }


async def _call(env: EnvironmentRuntime, path: str, spec: CallSpec, req: dict[str, Any]) -> str:
    """Make one call through the runner; returns "" or the reason it failed."""
    global _runner
    detail = _detail(spec)
    env.publish(
        Event("call", env.env_id, path=path, event=spec.trigger, status="STARTED", detail=detail)
    )
    wait = spec.timeout_s + ANSWER_GRACE_S
    output = ""
    try:
        handle = await runner(env)
        result = await asyncio.wait_for(handle.run.remote(req), wait)
        error, output = str(result["error"]), str(result["output"])
    except TimeoutError:
        error = f"no answer from the plugin runner within {wait:g}s"
    except Exception as exc:
        _runner = None  # it may be gone: the next call looks it up again
        error = f"the plugin runner failed: {reason(exc)}"
    if error:
        detail["severity"] = "fatal" if spec.critical else "warning"
    elif spec.return_var:
        env.model.call_returned(path, spec.return_var, output)
    with contextlib.suppress(Exception):
        env.publish(
            Event(
                "call",
                env.env_id,
                path=path,
                event=spec.trigger,
                status="DONE_ERROR" if error else "DONE_OK",
                error=error,
                detail={**detail, "output": output},
            )
        )
    return error
