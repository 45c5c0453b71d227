"""The farm model as an operator reads it: markdown tables and sentences.

What flows through: a run's JSON (the suite's per-task costs and the farm harness's
layouts) goes through ``bench.farmmodel``'s formulas; this module turns what they give into
the tables of the README's "At farm scale" section (``farm_model``: inputs, per node, per
farm with issue 18's serial-time target) and the environment actor's growth sentences.
``python -m bench.farmtables [results.json]`` prints them.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.farmmodel import (
    ENV_GROWTH_LIMIT,
    EVENT,
    FARM_NODE_CORES,
    PER_NODE,
    RAY_ACTORS,
    RAY_NODES,
    SCENARIOS,
    SERIAL_MOONSHOT_S,
    SERIAL_TARGET_S,
    TARGET_SCENARIO,
    Costs,
    Tree,
    control_plane,
    costs_from,
    env_growth,
    model_sizes,
    node,
    transition_s,
    tree_from,
)


def growth_lines(rows: list[dict[str, Any]]) -> str:
    """``env_growth`` as sentences (empty when no two layouts share their node count)."""
    lines = []
    for g in env_growth(rows):
        verdict = (
            "does not grow ✔"
            if g["ok"]
            else f"grows ✘ (target ≤ {ENV_GROWTH_LIMIT:g}x for {g['tasks_ratio']:g}x the tasks)"
        )
        lines.append(
            f"Environment actor's CPU per transition on {g['nodes']} node(s), {g['few']} → "
            f"{g['many']} ({g['tasks_ratio']:g}x the tasks): {g['few_ms']:.1f} → "
            f"{g['many_ms']:.1f} ms, x{g['ratio']:.2f}: {verdict}."
        )
    return "\n".join(lines)


def _verdict(value_s: float) -> str:
    if value_s <= SERIAL_MOONSHOT_S:
        return f" ✔ (moonshot ≤ {SERIAL_MOONSHOT_S:g} s)"
    if value_s <= SERIAL_TARGET_S:
        return f" ✔ (≤ {SERIAL_TARGET_S:g} s)"
    return f" ✘ (≤ {SERIAL_TARGET_S:g} s)"


def tables(c: Costs, t: Tree, node_cores: int = FARM_NODE_CORES, bound: Costs | None = None) -> str:
    """The model as markdown: its inputs, per node, then per farm (``bound``: the largest
    size's costs, said beside the inputs)."""
    head = (
        f"Inputs (N = {c.n}, {c.cores} cores, {EVENT}): {c.memory_mb:.1f} MB and "
        f"{c.idle_ms_per_s:.1f} ms/s at rest per task; per transition {c.node_cpu_ms:.1f} ms "
        f"of node CPU (task actor + device) and {c.other_cpu_ms:.2f} ms of controller + GCS "
        f"CPU per task; floor {c.floor_ms:.0f} ms; cold deploy {c.deploy_s:.3f} s per task; "
        f"GCS at rest {c.gcs_idle_ms_per_s:.3f} ms/s per task; a node's raylet at rest "
        f"{c.raylet_idle_ms_per_s:.1f} ms/s."
    )
    if bound is not None and bound.n != c.n:
        head += (
            f" At N = {bound.n} on the same {bound.cores} cores, oversubscribed, a transition "
            f"cost {bound.node_cpu_ms:.1f} ms of node CPU per task: contention, the upper bound."
        )
    head += (
        f"\n\nThe control tree per {EVENT}, fitted on the farm layouts "
        f"{', '.join(t.layouts)} (CPU ms; T tasks, M nodes, k tasks per node): environment "
        f"actor {t.env_call_ms:.1f} + {t.env_task_ms:.3f}·T; root role on the control node "
        f"{t.root_call_ms:.1f} + {t.root_child_ms:.2f}·M + {t.root_task_ms:.3f}·T; a node's "
        f"role or shard {t.node_call_ms:.1f} + {t.node_task_ms:.3f}·k; Ray actors "
        f"{t.actors_fixed:.1f} + {t.actors_per_task:.2f}·T + {t.actors_per_node:.2f}·M."
    )
    rows = [
        f"| tasks per node k | memory | CPU at rest | transition CPU (tasks) | its role's "
        f"CPU | transition on {c.cores} cores | on {node_cores} cores | cold deploy on "
        f"{node_cores} cores |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for k in PER_NODE:
        here, farm = node(c, t, k, c.cores), node(c, t, k, node_cores)
        rows.append(
            f"| {k} | {here['memory_mb'] / 1024:.2f} GB | {here['idle_cores']:.2f} cores | "
            f"{here['transition_cpu_s']:.2f} s | {here['role_cpu_s'] * 1e3:.0f} ms | "
            f"{here['transition_s']:.2f} s | {farm['transition_s']:.2f} s | "
            f"{farm['deploy_s']:.1f} s |"
        )
    farm_rows = [
        "| farm | nodes | tasks | Ray actors (envelope 10,000+) | env actor | root role | "
        "busiest node's role | serial control plane per transition (target ≤ 0.5 s at "
        "200 x 20; moonshot 0.1 s) | control-plane CPU per transition | GCS at rest | "
        f"transition on {node_cores}-core nodes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    scenarios = [(f"this machine, N = {c.n}", 1, c.n), *SCENARIOS]
    for label, nodes, k in scenarios:
        total = nodes * k
        cp = control_plane(c, t, nodes, k)
        flag = " ⚠" if cp["actors"] > RAY_ACTORS or nodes > RAY_NODES else ""
        verdict = _verdict(cp["serial_s"]) if (nodes, k) == TARGET_SCENARIO else ""
        farm_rows.append(
            f"| {label} | {nodes} | {total:,} | {cp['actors']:,.0f}{flag} | "
            f"{cp['env_s'] * 1e3:.0f} ms | {cp['root_s'] * 1e3:.0f} ms | "
            f"{cp['node_role_s'] * 1e3:.0f} ms | {cp['serial_s']:.2f} s{verdict} | "
            f"{cp['control_cpu_s']:.2f} s | {cp['gcs_idle_cores']:.2f} cores | "
            f"{transition_s(c, t, nodes, k, node_cores):.2f} s |"
        )
    return "\n\n".join([head, "\n".join(rows), "\n".join(farm_rows)])


def farm_model(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The model's inputs and its tables for a run's JSON; None without enough inputs (the
    suite's sizes, and a farm run that measured its role actors)."""
    try:
        n, largest = model_sizes(doc)
        c, bound = costs_from(doc, n=n), costs_from(doc, n=largest)
        t = tree_from(doc.get("farm") or [])
    except (ValueError, KeyError, ZeroDivisionError):
        return None
    return {
        "costs": asdict(c),
        "bound": asdict(bound),
        "tree": asdict(t),
        "growth": env_growth(doc.get("farm") or []),
        "tables": tables(c, t, bound=bound),
    }


def main() -> None:
    from bench.report import RESULTS

    path = Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS / "latest.json"
    model = farm_model(json.loads(path.read_text()))
    print(model["tables"] if model else "not enough measured in that run for the model")


if __name__ == "__main__":
    main()
