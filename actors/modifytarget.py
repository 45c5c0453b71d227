"""A modify's new target, worked out by the controller before the environment applies it.

The environment keeps what it was created from (workflow, repository, user variables,
excluded role paths). A modify merges the change into that: variables set, role paths
excluded or included back. The workflow is expanded again (in the expansion worker, as at
create), the paths are checked against the full tree (a path that names no role, or an
include of what is not excluded, is refused naming it), the excluded subtrees are pruned,
and detectors the change brings in are locked (one environment per detector, refused
naming the holder) before anything happens; they are released if the modify fails.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from actors.errors import ControlError
from actors.expansion import expand_for_controller
from actors.transitions.modify import Target
from o2ctl.core.errors import InvalidWorkflow
from o2ctl.templates.model import parse_detectors
from o2ctl.templates.prune import UnknownRole, check_paths, exclude

if TYPE_CHECKING:
    from actors.controller import ControllerRuntime

MAX_PATHS = 1000
USER_VAR_WARNINGS = "user vars "
"""The expansion's warnings about the user's variables (a role path or a name it does not
know): a modify says them as a create does."""


async def new_target(
    ctrl: ControllerRuntime,
    env_id: str,
    summary: dict[str, Any],
    user_vars: dict[str, str],
    excluded_now: list[str],
    included_now: list[str],
) -> tuple[Target, list[str]]:
    """The target and the detectors newly locked for it."""
    if len(excluded_now) + len(included_now) > MAX_PATHS:
        raise ControlError(f"at most {MAX_PATHS} role paths per modify")
    both = set(excluded_now) & set(included_now)
    if both:
        raise ControlError(f"role paths both excluded and included: {', '.join(sorted(both))}")
    was = list(summary.get("excluded") or [])
    not_excluded = [p for p in included_now if p not in was]
    if not_excluded:
        raise ControlError(
            f"environment {env_id}: cannot include {', '.join(not_excluded)}: not excluded "
            f"(excluded now: {', '.join(was) or 'none'})"
        )
    variables = {**summary["user_vars"], **{str(k): str(v) for k, v in user_vars.items()}}
    try:
        ref = summary.get("workflow_ref") or summary["workflow"]
        expanded = await expand_for_controller(ctrl, ref, variables, env_id)
        check_paths(expanded.root, excluded_now)
    except UnknownRole as exc:
        raise ControlError(f"environment {env_id}: {exc}") from None
    except Exception as exc:
        raise InvalidWorkflow(str(exc)) from None
    known = {n.path for n in expanded.root.walk()}
    excluded = sorted(p for p in {*was, *excluded_now} - set(included_now) if p in known)
    workflow = replace(expanded, root=exclude(expanded.root, excluded))
    detectors = parse_detectors(expanded.variables.get("detectors"))
    locked = ctrl.detectors.lock(env_id, detectors)  # refused naming the holder: none locked
    warned = [w for w in expanded.warnings if w.startswith(USER_VAR_WARNINGS)]
    return Target(workflow, variables, excluded, detectors, warned), locked
