"""Task, role and environment states, and the pure merge that aggregates them.

A role's state is the merge of its children's (aliecs.md §2): equal states stay, ERROR
absorbs, INVARIANT is the identity, anything else is MIXED. Children that are not critical
are left out, so that their failure does not fail the parent. Deployment status merges on
its own lattice: UNDEFINED (nothing yet) < ACTIVE, INACTIVE < PARTIAL < UNDEPLOYABLE.

Both merges are commutative and associative (property-tested), so a role can fold its
children in any order, and an update from one child can be folded in incrementally.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from functools import reduce


class TaskState(StrEnum):
    """Process-level states (the OCC library's) plus aggregation pseudo-states."""

    UNKNOWN = "UNKNOWN"
    STANDBY = "STANDBY"
    CONFIGURED = "CONFIGURED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    ERROR = "ERROR"
    DONE = "DONE"
    MIXED = "MIXED"
    INVARIANT = "INVARIANT"


class DeploymentStatus(StrEnum):
    UNDEFINED = "UNDEFINED"
    INACTIVE = "INACTIVE"
    PARTIAL = "PARTIAL"
    ACTIVE = "ACTIVE"
    UNDEPLOYABLE = "UNDEPLOYABLE"


def merge_states(a: TaskState, b: TaskState) -> TaskState:
    """AliECS's ``X``: the state of a role holding two children in states ``a`` and ``b``."""
    if a == b:
        return a
    if TaskState.ERROR in (a, b):
        return TaskState.ERROR
    if a == TaskState.INVARIANT:
        return b
    if b == TaskState.INVARIANT:
        return a
    return TaskState.MIXED


def aggregate(children: Iterable[tuple[TaskState, bool]]) -> TaskState:
    """Fold ``(state, critical)`` pairs from INVARIANT, skipping non-critical children."""
    return reduce(merge_states, (s for s, critical in children if critical), TaskState.INVARIANT)


def merge_deployment(a: DeploymentStatus, b: DeploymentStatus) -> DeploymentStatus:
    """Deployment status of a role holding children with statuses ``a`` and ``b``."""
    if a == b:
        return a
    if DeploymentStatus.UNDEPLOYABLE in (a, b):
        return DeploymentStatus.UNDEPLOYABLE
    if a == DeploymentStatus.UNDEFINED:
        return b
    if b == DeploymentStatus.UNDEFINED:
        return a
    return DeploymentStatus.PARTIAL


def aggregate_deployment(children: Iterable[DeploymentStatus]) -> DeploymentStatus:
    return reduce(merge_deployment, children, DeploymentStatus.UNDEFINED)


OCC_STATES = frozenset(
    {
        TaskState.STANDBY,
        TaskState.CONFIGURED,
        TaskState.RUNNING,
        TaskState.PAUSED,
        TaskState.ERROR,
        TaskState.DONE,
    }
)


def task_state(name: str) -> TaskState:
    """Parse a state name reported by a process; anything unknown is UNKNOWN."""
    try:
        return TaskState(name.upper())
    except ValueError:
        return TaskState.UNKNOWN
