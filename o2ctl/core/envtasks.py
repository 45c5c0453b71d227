"""The observed task table of an environment: what an entry is, and how it is observed.

An entry is a task's durable record (``o2ctl.core.envrecord.TaskRecord``) plus the version
of the last report taken from it (reports older than that are stale). The environment
actor's entries also carry the task actor's handle and spec (``actors.transitions.common.
TaskEntry``); the rules here and in ``o2ctl.core.envmodel`` need only ``ObservedTask``, so
the model is generic over the entry type and tested with ``VersionedTask``.

The functions below are what a restarted environment learns of each task from its actor
(``actors/envrestore.py``): gone, silent, or as its process is now.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from o2ctl.core.envrecord import TaskRecord
from o2ctl.core.states import TaskState


class ObservedTask(Protocol):
    """What the model needs of a task entry (``TaskRecord``'s fields and a version)."""

    role_path: str
    task_id: str
    host: str
    node_id: str
    critical: bool
    pid: int
    state: TaskState
    error: str
    lost: str
    version: int

    @property
    def controlled(self) -> bool: ...

    def record(self) -> dict[str, Any]: ...


T = TypeVar("T", bound=ObservedTask)


@dataclass
class VersionedTask(TaskRecord):
    """A task record and the version of the last report taken from it."""

    version: int = 0


def versioned_task(raw: Mapping[str, Any]) -> VersionedTask:
    """A ``VersionedTask`` from its stored record (``make_task`` for plain models)."""
    return VersionedTask(**TaskRecord.from_record(raw))


def task_counts(entries: Iterable[ObservedTask]) -> dict[str, int]:
    """How many tasks are in each state."""
    counts: dict[str, int] = {}
    for e in entries:
        counts[e.state.value] = counts.get(e.state.value, 0) + 1
    return counts


def task_gone(entry: ObservedTask) -> None:
    """After a restart: the task's actor is gone with its node (or was ended)."""
    if not entry.lost:
        entry.lost, entry.state = entry.host or "?", TaskState.ERROR
        entry.error = f"task {entry.role_path} ({entry.task_id}): its actor is gone"


def task_silent(entry: ObservedTask) -> None:
    """After a restart: the task's actor did not answer for its snapshot."""
    entry.state = TaskState.ERROR
    entry.error = f"task {entry.role_path} ({entry.task_id}): no answer"


def task_seen(entry: ObservedTask, snap: Mapping[str, Any]) -> None:
    """After a restart: the task as its actor says it is now (its process is the truth)."""
    entry.state, entry.version = TaskState(snap["state"]), snap["version"]
    entry.pid = snap["pid"]
    entry.error = snap["error"] if entry.state == TaskState.ERROR else ""
