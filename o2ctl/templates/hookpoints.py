"""Hook points of an expanded tree: where each hook task and each call role is triggered.

A trigger is written ``name`` or ``name±weight`` (``before_CONFIGURE``, ``enter_RUNNING+10``,
``START_ACTIVITY-5``); names match without regard to case, the weight is 0 when absent.
``index_points`` reads every trigger of a role tree once, so that the runtime
(``actors/hooks.py`` runs the points, ``actors/calls.py`` collects calls at their
``await`` point) looks a point up instead of walking the tree at each one. Plain data in,
plain data out: it lives with the templates, below the actors that use it.
"""

from __future__ import annotations

import re

from o2ctl.templates.model import CallSpec, RoleNode, TaskSpec

Points = dict[str, dict[int, tuple[list[TaskSpec], list[tuple[str, CallSpec]]]]]
"""Hook point (lower case) → weight → (hook task specs, [(role path, call spec)])."""

_POINT = re.compile(r"^\s*([A-Za-z_]+?)\s*([+-]\d+)?\s*$")


def split_trigger(trigger: str) -> tuple[str, int]:
    """``"enter_RUNNING+10"`` → ``("enter_running", 10)``; a malformed one is its own name."""
    m = _POINT.match(trigger)
    if not m:
        return trigger.strip().lower(), 0
    return m.group(1).lower(), int(m.group(2) or 0)


def index_points(root: RoleNode) -> Points:
    """Every triggered hook task and call role of the tree under ``root``, by point."""
    points: Points = {}
    for node in root.walk():
        if node.call is not None and node.call.trigger:
            name, weight = split_trigger(node.call.trigger)
            points.setdefault(name, {}).setdefault(weight, ([], []))[1].append(
                (node.path, node.call)
            )
        elif node.task is not None and node.task.trigger:
            name, weight = split_trigger(node.task.trigger)
            points.setdefault(name, {}).setdefault(weight, ([], []))[0].append(node.task)
    return points
