"""What the console's pages show, shaped from the API's dicts (``ApiClient`` answers).

An environment row (state, run number, detectors, tasks per state, since when in this
state), the transition buttons of one environment (every event, the legal ones enabled,
the others disabled with the reason, the destructive ones asking first), the detectors
held by environments, the variable fields of the Create page (from the template's var
specs) and the variables a create sends. Pure: dicts in, dicts out.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from o2ctl.render import STATE_COLOURS

BUTTONS = (
    ("CONFIGURE", "Configure"),
    ("START_ACTIVITY", "Start"),
    ("STOP_ACTIVITY", "Stop"),
    ("RESET", "Reset"),
    ("EXIT", "Exit"),
    ("GO_ERROR", "Go to error"),
    ("RECOVER", "Recover"),
)
DESTRUCTIVE = {"STOP_ACTIVITY", "RESET", "EXIT", "GO_ERROR", "DESTROY"}
MAX_VARS = 200
MAX_VAR_CHARS = 4096


def tasks_by_state(tasks: list[dict[str, Any]]) -> dict[str, int]:
    return dict(sorted(Counter(str(t.get("state") or "UNKNOWN") for t in tasks).items()))


def env_row(
    summary: dict[str, Any], tasks: list[dict[str, Any]], since: float | None
) -> dict[str, Any]:
    """One line of the environments list."""
    return {
        "env_id": summary["env_id"],
        "workflow": summary["workflow"],
        "state": summary["state"],
        "busy": summary.get("busy"),
        "run_number": summary.get("run_number"),
        "detectors": summary.get("detectors") or [],
        "tasks": summary.get("tasks", len(tasks)),
        "tasks_by_state": tasks_by_state(tasks),
        "since": since if since is not None else summary.get("created"),
        "last_error": summary.get("last_error") or "",
    }


def buttons(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Every transition, enabled when the API says it is legal now, else with the reason."""
    state, busy = summary["state"], summary.get("busy")
    legal = set(summary.get("allowed_events") or ())
    out = []
    for event, label in BUTTONS:
        why = ""
        if busy:
            why = f"busy with {busy}"
        elif event not in legal:
            allowed = ", ".join(sorted(legal)) or "none"
            why = f"{event} is not allowed in state {state} (allowed: {allowed})"
        out.append(_button(event, label, why))
    why_not = f"busy with {busy}" if busy else ""
    if not why_not and state == "RUNNING":
        why_not = "stop the run first (STOP_ACTIVITY): a RUNNING environment is not destroyed"
    out.append(_button("DESTROY", "Destroy", why_not))
    return out


def _button(event: str, label: str, why: str) -> dict[str, Any]:
    return {
        "event": event,
        "label": label,
        "enabled": not why,
        "why": why,
        "confirm": event in DESTRUCTIVE,
    }


def locks(info: dict[str, Any]) -> dict[str, str]:
    """Detector -> the environment holding it (``ApiClient.info()["detectors"]``)."""
    return {str(k): str(v) for k, v in (info.get("detectors") or {}).items()}


def create_vars(vars_: Any, detectors: Any) -> dict[str, str]:
    """The variables of a create, checked for shape and size (the API checks the rest)."""
    if not isinstance(vars_, dict) or not all(isinstance(k, str) for k in vars_):
        raise ValueError("variables must be an object of name: value")
    if len(vars_) > MAX_VARS:
        raise ValueError(f"at most {MAX_VARS} variables")
    out = {k.strip(): str(v) for k, v in vars_.items() if k.strip()}
    if any(len(k) + len(v) > MAX_VAR_CHARS for k, v in out.items()):
        raise ValueError(f"a variable is longer than {MAX_VAR_CHARS} characters")
    if detectors:
        if not isinstance(detectors, list) or not all(isinstance(d, str) for d in detectors):
            raise ValueError("detectors must be a list of names")
        out["detectors"] = json.dumps([d.strip() for d in detectors if d.strip()])
    return out


def template_choice(t: dict[str, Any]) -> dict[str, Any]:
    """A template of the Create page: its variable fields grouped by panel, in the
    template's order (index, then name), prefilled with the defaults, labelled, hinted, a
    choice where values are given. The page sends only what the user changed, so the others
    keep the template's own precedence (a role's ``vars`` still beats a default)."""
    specs = t.get("var_specs") or {}
    fields = [
        {
            "name": name,
            "default": s["default_value"],
            "label": s["label"] or name,
            "hint": s["description"],
            "type": s["type"],
            "values": s["allowed_values"] or (["true", "false"] if s["type"] == "bool" else []),
            "panel": s["panel"],
        }
        for name, s in sorted(specs.items(), key=lambda kv: (kv[1]["panel"], kv[1]["index"], kv[0]))
    ]
    keep = ("repo", "template", "revision", "default", "description")
    return {**{k: t.get(k) for k in keep}, "vars": fields}


def names(value: Any, what: str) -> list[str]:
    """A list of role paths or detector names from a request body."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} must be a list of names")
    return [v.strip() for v in value if v.strip()][:MAX_VARS]


def meta() -> dict[str, Any]:
    """What every page needs once: the state colours (as the CLI's)."""
    return {"colours": STATE_COLOURS}
