"""How an environment looks to a person: an HTML tree and table for notebooks.

Input is plain data (the environment's summary, tree and task table as the actors return
them); output is text. States are coloured the same way everywhere.
"""

from __future__ import annotations

import html
from typing import Any

STATE_COLOURS = {
    "RUNNING": "#1a7f37",
    "CONFIGURED": "#0969da",
    "STANDBY": "#6e7781",
    "DEPLOYED": "#8250df",
    "ERROR": "#cf222e",
    "MIXED": "#bf8700",
    "DONE": "#57606a",
    "UNKNOWN": "#57606a",
    "INVARIANT": "#57606a",
}


def _badge(state: str) -> str:
    colour = STATE_COLOURS.get(state, "#57606a")
    return f'<span style="color:{colour};font-weight:bold">[{html.escape(state)}]</span>'


def _tree_html(node: dict[str, Any]) -> str:
    label = f"{_badge(node.get('state', 'UNKNOWN'))} {html.escape(node['name'])}"
    if "task_id" in node:
        label += f" &rarr; {html.escape(node['task_id'])}"
    kids = node.get("children") or []
    if not kids:
        return f"<li>{label}</li>"
    inner = "".join(_tree_html(k) for k in kids)
    return f"<li>{label}<ul>{inner}</ul></li>"


def environment_html(
    summary: dict[str, Any], tree: dict[str, Any], tasks: list[dict[str, Any]]
) -> str:
    head = (
        f"<b>Environment {html.escape(summary['env_id'])}</b> "
        f"({html.escape(summary['workflow'])}) {_badge(summary['state'])}"
        f" run {summary.get('run_number') or '-'}"
    )
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(t.get(k, '')))}</td>"
            for k in ("task_id", "role_path", "task_class", "host", "pid")
        )
        + f"<td>{_badge(t['state'])}</td></tr>"
        for t in tasks
    )
    table = (
        "<table><tr><th>task</th><th>role</th><th>class</th><th>host</th><th>pid</th>"
        f"<th>state</th></tr>{rows}</table>"
    )
    return f"<div>{head}<ul>{_tree_html(tree)}</ul>{table}</div>"
