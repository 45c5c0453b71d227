"""Ray's node table as farm nodes, the farm's settings and its refusal texts.

Helpers of ``actors.farm.FarmManager``: a ``ray.nodes()`` entry becomes a pure-core
``FarmNode`` (machine id from the ``machine_id`` label, else the host name; Ray's own
``ray.io/`` labels left out; memory in MB), a node's mode record gives the mode placement
sees (``effective``), and the farm's keys are split off the controller settings.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from o2ctl.core.farm import FarmError, FarmNode, Mode, initial_mode

log = logging.getLogger("o2ctl.farm")

FARM_SETTINGS = ("pilot_command", "pilot_dir", "pilot_grace_s", "farm_poll_s")
MAX_GRACE_S = 3600.0
LISTED_TASKS = 10


def split_settings(settings: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the controller's other settings, the farm's) from the controller settings."""
    given = dict(settings or {})
    farm = {k: given.pop(k) for k in FARM_SETTINGS if k in given}
    return given, farm


def check_grace(value: object) -> float:
    try:
        grace = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        grace = -1.0
    if not 0.0 <= grace <= MAX_GRACE_S:
        raise FarmError(f"grace period {str(value)[:20]}: expected 0 to {MAX_GRACE_S:g} seconds")
    return grace


def machine_of(raw: Mapping[str, Any]) -> str:
    labels = raw.get("Labels") or {}
    return str(labels.get("machine_id") or raw.get("NodeManagerHostname") or "localhost")


def label_mode(raw: Mapping[str, Any]) -> Mode:
    try:
        return initial_mode(raw.get("Labels") or {})
    except FarmError as exc:
        log.warning("node %s: %s; taking it as sync", machine_of(raw), exc)
        return Mode.SYNC


def farm_node(raw: Mapping[str, Any], mode: Mode) -> FarmNode:
    """One ``ray.nodes()`` entry as a ``FarmNode`` (Ray's own ``ray.io/`` labels left out)."""
    labels = {str(k): str(v) for k, v in (raw.get("Labels") or {}).items()}
    resources = raw.get("Resources") or {}
    return FarmNode(
        machine_id=machine_of(raw),
        node_id=str(raw["NodeID"]),
        ip=str(raw.get("NodeManagerAddress") or "127.0.0.1"),
        labels={k: v for k, v in labels.items() if not k.startswith("ray.io/")},
        alive=bool(raw.get("Alive", False)),
        mode=mode,
        cpu=float(resources.get("CPU", 0.0)),
        memory=float(resources.get("memory", 0.0)) / 2**20,
    )


def effective(record: Mapping[str, Any]) -> Mode:
    """Sync for placement only when the node is sync and nobody is making it async."""
    sync = record.get("mode") == "sync" and record.get("target") == "sync"
    return Mode.SYNC if sync else Mode.ASYNC


def describe_tasks(tasks: Sequence[Mapping[str, Any]]) -> str:
    shown = [
        f"{t.get('env_id')}: {t.get('role_path') or '?'}#{t.get('task_id')}"
        for t in tasks[:LISTED_TASKS]
    ]
    more = f" and {len(tasks) - LISTED_TASKS} more" if len(tasks) > LISTED_TASKS else ""
    return ", ".join(shown) + more
