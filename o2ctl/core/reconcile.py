"""The smallest change from what runs to what should run: one diff for modify and recovery.

An environment holds what it should be (its target: workflow, variables, excluded role
paths) apart from what runs (its task table). ``env modify`` changes the target, expands it
again, and asks ``diff`` what that means task by task, comparing each task's
**configuration** — what its process was started with (task class, command line) and what
it was last configured with (the CONFIGURE key-values: properties and ``chans.*``):

- **added**: in the target, not running: taken from the idle pool or launched, wired to
  its running peers, brought to the environment's state;
- **removed**: running, not in the target: stopped and returned to the pool (or ended);
- **changed**: both, with CONFIGURE key-values that differ: reconfigured in place (same
  process), the keys that differ named; or, when the process itself must change (another
  task class or command line), **restarted** — which a running run cannot absorb;
- **untouched**: identical: no call at all.

Pure data in, a ``Plan`` out; the environment actor applies it (``actors/transitions/
modify.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TaskConfig:
    """What a task is: its process (class and command) and its CONFIGURE key-values."""

    task_class: str
    command: str
    args: Mapping[str, str] = field(default_factory=dict)
    modify_running: bool = True  # may it be changed while the environment is RUNNING


@dataclass
class Plan:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)  # path -> keys that differ
    restart: dict[str, str] = field(default_factory=dict)  # path -> why its process changes
    untouched: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.restart)

    def touched(self) -> list[str]:
        return sorted({*self.added, *self.removed, *self.changed, *self.restart})

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": sorted(self.added),
            "removed": sorted(self.removed),
            "changed": {p: sorted(k) for p, k in sorted(self.changed.items())},
            "restarted": dict(sorted(self.restart.items())),
            "untouched": len(self.untouched),
        }


def diff_args(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """The keys whose values differ, appeared or vanished."""
    return sorted(k for k in {*old, *new} if old.get(k) != new.get(k))


def diff(running: Mapping[str, TaskConfig], wanted: Mapping[str, TaskConfig]) -> Plan:
    """What must happen, task by task, for ``running`` to become ``wanted`` (by role path)."""
    plan = Plan()
    for path in sorted(wanted):
        if path not in running:
            plan.added.append(path)
            continue
        now, want = running[path], wanted[path]
        if now.task_class != want.task_class:
            plan.restart[path] = f"task class {now.task_class} -> {want.task_class}"
        elif now.command != want.command:
            plan.restart[path] = "its command line changes"
        elif keys := diff_args(now.args, want.args):
            plan.changed[path] = keys
        else:
            plan.untouched.append(path)
    plan.removed = sorted(p for p in running if p not in wanted)
    return plan


def blocked_while_running(
    plan: Plan, running: Mapping[str, TaskConfig], wanted: Mapping[str, TaskConfig]
) -> list[str]:
    """Sentences naming each change a RUNNING environment cannot take without a new run:
    a process that must restart, or a task whose template forbids changing it running."""
    out = [f"{p}: {why} (its process must restart)" for p, why in sorted(plan.restart.items())]
    for p in plan.touched():
        cfg = wanted.get(p) or running.get(p)
        if cfg is not None and not cfg.modify_running and p not in plan.restart:
            out.append(f"{p}: its template does not allow changes while RUNNING")
    return out
