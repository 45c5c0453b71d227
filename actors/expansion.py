"""Workflow expansion for the controller, in a worker process of its own.

Templates are untrusted input, and expanding one is the only step of ``create`` whose cost
the user chooses (iterators, variables; a 573-byte alias bomb once grew the controller to
6.5 GB). So the controller never expands in its own process: ``expand_for_controller``
runs ``o2ctl.expansion.expand_for_environment`` as a Ray task on the controller's node
(the state directory and its repositories are there), with no CPU reserved (so a full
cluster cannot delay it), under the expansion ``Budget`` (roles, seconds, memory) plus a
hard address-space cap on the worker, and a deadline of its own: past the budget's time
and ``GRACE_S``, the worker is killed (``ray.cancel(force=True)``) and the caller gets a
``TemplateError``. Whatever happens in there, the controller only waits on a reference.

The expansion's warnings (an iterator that yields no role, an integration not configured)
are published as the environment's first events, so that whoever follows the event log
(``o2ctl env create``, a Control API subscriber) sees them.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from actors.reasons import unwrap
from o2ctl.config.durable import STATE_DIR_ENV
from o2ctl.core.events import Event
from o2ctl.templates import ExpandedWorkflow, TemplateError
from o2ctl.templates.budget import DEFAULT_BUDGET, Budget

GRACE_S = 15.0  # beyond the budget's own time check: for a step stuck in one C call
RUNTIME_STORE_ENV = "O2CTL_RUNTIME_STORE"


@ray.remote(num_cpus=0, max_retries=0)
def _expand_task(
    state_dir: str | None,
    runtime_uri: str | None,
    repo_uri: str | None,
    workflow: str,
    user_vars: dict[str, str],
    builtins: dict[str, Any],
    budget: Budget,
) -> ExpandedWorkflow:
    """In the worker: the controller's expansion, with a hard memory cap on this process."""
    from o2ctl.config import RepositoryManager, open_runtime_store
    from o2ctl.expansion import expand_for_environment
    from o2ctl.templates.budget import address_space_limit

    if state_dir:
        os.environ[STATE_DIR_ENV] = state_dir  # the controller's, as RepositoryManager reads it
    with address_space_limit(budget):
        repos = RepositoryManager()
        return expand_for_environment(
            repos,
            open_runtime_store(runtime_uri),
            workflow,
            user_vars,
            repo=repos.lookup(repo_uri) if repo_uri else None,
            builtins=builtins,
            budget=budget,
        )


async def expand_for_controller(
    controller: Any,
    workflow: str,
    user_vars: dict[str, str],
    env_id: str,
    budget: Budget = DEFAULT_BUDGET,
    deadline_s: float | None = None,
) -> ExpandedWorkflow:
    """Expand ``workflow`` for environment ``env_id`` away from ``controller``'s process.

    ``controller`` is the ``ControllerRuntime`` (its ``repo_uri``, node and event log are
    used). Raises what the expansion raised (``TemplateError``, ``TemplateNotFound``,
    ``ConfigError``), or a ``TemplateError`` when the worker overran its deadline
    (``deadline_s``, by default the budget's seconds and ``GRACE_S``) or died.
    """
    ref = _expand_task.options(
        scheduling_strategy=NodeAffinitySchedulingStrategy(controller._local_node, soft=False),
        name=f"expand:{workflow}",
    ).remote(
        os.environ.get(STATE_DIR_ENV),
        os.environ.get(RUNTIME_STORE_ENV),
        controller.repo_uri,
        workflow,
        user_vars,
        {"environment_id": env_id},
        budget,
    )
    deadline = budget.seconds + GRACE_S if deadline_s is None else deadline_s
    try:
        expanded: ExpandedWorkflow = await asyncio.wait_for(_await(ref), deadline)
    except TimeoutError:
        ray.cancel(ref, force=True)
        raise TemplateError(
            f"expansion took more than {deadline:g} s and was stopped (the limit of one "
            f"expansion: {budget.describe()})",
            file=workflow,
        ) from None
    except (
        ray.exceptions.WorkerCrashedError,
        ray.exceptions.TaskCancelledError,
        ray.exceptions.OutOfMemoryError,
    ) as exc:
        raise TemplateError(
            f"expansion stopped: its worker process died ({type(exc).__name__}; the limit of "
            f"one expansion: {budget.describe()})",
            file=workflow,
        ) from None
    except ray.exceptions.RayTaskError as exc:
        raise unwrap(exc) from None
    for warning in expanded.warnings:
        controller.events.append(
            Event(
                "environment",
                env_id,
                detail={"warning": warning, "workflow": workflow},
            )
        )
    return expanded


async def _await(ref: Any) -> Any:
    return await ref
