"""The README's two benchmark sections, regenerated from a run's JSON.

What flows through: ``bench/results/latest.json`` (or a given file). Out come the
Benchmarks section (the run's tables from ``bench.report``, the farm harness's table,
and a line of the run's facts: machine, load average before and after, duration, the
command that produced it) and the At farm scale section (the ``cluster_utils`` check and
``bench.farmtables``). ``update_readme`` replaces what stands between the markers
``<!-- bench:results -->``/``<!-- /bench:results -->`` and ``<!-- bench:farm -->``/
``<!-- /bench:farm -->`` in README.md, and nothing else.

    python -m bench.readme [FILE] [--readme]   # print; --readme: also write the README
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from bench.common import ROOT, median
from bench.report import (
    RESULTS,
    cpu_table,
    figures_of,
    floors_table,
    fmt,
    load,
    scaling,
    scaling_table,
    table,
)

README = ROOT / "README.md"
MARKERS = {"results": "bench:results", "farm": "bench:farm"}


FARM_PARTS = ("env", "controller", "gcs", "raylet head", "raylets nodes", "task actors", "devices")


def _node_role_parts(row: dict[str, Any]) -> list[tuple[str, str]]:
    """(machine, CPU group) of each worker node's role actors in a farm layout."""
    from bench.farmmodel import ROLES

    return [(m, ROLES + m) for m in sorted(row.get("tasks_per_node") or {})]


def _cpu(row: dict[str, Any], event: str, part: str) -> float:
    from bench.farmmodel import mean_cpu

    return mean_cpu(row, event, part)


def farm_table(rows: list[dict[str, Any]]) -> str:
    """The farm harness: each layout's deploy and transitions, the CPU of every part (the
    role actors on the control node and on the busiest node among them), then per layout
    and transition the time, the environment actor's CPU and the role actors' by node, and
    the check that the environment's CPU does not grow with the tasks on fixed nodes."""
    from bench.devices import CYCLE
    from bench.farmmodel import HEAD_ROLES
    from bench.farmtables import growth_lines

    parts = ("env", "roles head", "roles busiest node", *FARM_PARTS[1:])
    out = [
        "| layout | tasks | Ray actors of the env | deploy cold | first CONFIGURE | "
        + " | ".join(CYCLE)
        + " | CPU per transition: "
        + " / ".join(parts)
        + " | at rest (ms/s): env / roles / "
        + " / ".join(FARM_PARTS[1:5])
        + " |",
        "|---|---:|---:|---:|---:|" + "---:|" * len(CYCLE) + "---|---|",
    ]
    for r in rows:
        walls = [fmt(median(r["transition_ms"][e]), "ms") for e in CYCLE]

        def mean(part: str, r: dict[str, Any] = r) -> float:
            return sum(_cpu(r, e, part) for e in CYCLE) / len(CYCLE)

        cpu = {p: mean(p) for p in FARM_PARTS}
        cpu["roles head"] = mean(HEAD_ROLES)
        cpu["roles busiest node"] = max((mean(g) for _, g in _node_role_parts(r)), default=0.0)
        idle = r["idle_ms_per_s"]
        roles_idle = sum(v for k, v in idle.items() if k.startswith("roles "))
        first = r.get("first_configure_ms")
        out.append(
            f"| {r['layout']} | {r['tasks']} | {r['actors']} | {fmt(r['deploy_s'], 's')} | "
            + (fmt(first, "ms") if first else "—")
            + " | "
            + " | ".join(walls)
            + " | "
            + " / ".join(f"{cpu[p]:.0f}" for p in parts)
            + " | "
            + " / ".join(
                f"{v:.1f}"
                for v in [idle.get("env", 0.0), roles_idle]
                + [idle.get(p, 0.0) for p in FARM_PARTS[1:5]]
            )
            + " |"
        )
    text = "\n".join(out) + (
        "\n\n(CPU per transition: ms, mean of the four transitions' means; head = the "
        "control plane's node, nodes = the worker nodes' raylets together; roles = role "
        "actors and their node shards; first CONFIGURE: the first after the deploy, in which "
        "the root role makes its shards)"
    )
    per = [
        "| layout | transition | time | env actor CPU | role actors' CPU on the control node "
        "| role actors' CPU per node |",
        "|---|---|---:|---:|---:|---|",
    ]
    for r in rows:
        nodes = _node_role_parts(r)
        for e in CYCLE:
            each = [_cpu(r, e, g) for _, g in nodes]
            by_node = (
                " / ".join(f"{m} {v:.1f}" for (m, _), v in zip(nodes, each, strict=True))
                if len(nodes) <= 4
                else f"mean {sum(each) / len(each):.1f}, max {max(each):.1f} ({len(each)} nodes)"
            )
            per.append(
                f"| {r['layout']} | {e} | {fmt(median(r['transition_ms'][e]), 'ms')} | "
                f"{_cpu(r, e, 'env'):.1f} | {_cpu(r, e, HEAD_ROLES):.1f} | {by_node or '—'} |"
            )
    text += "\n\n" + "\n".join(per) + "\n\n(CPU: ms, mean over the cycles)"
    growth = growth_lines(rows)
    return text + ("\n\n" + growth if growth else "")


def machine_line(meta: dict[str, Any]) -> str:
    """The run's facts: when, where, on what, how loaded, how long, by which command."""
    m = meta.get("machine") or {}

    def load(key: str) -> str:
        return "/".join(f"{x:.1f}" for x in meta.get(key) or [])

    return (
        f"{meta['date']}, {meta['host']}: {meta['cpus']} cores"
        + (f" ({m['cpu_model']})" if m.get("cpu_model") else "")
        + (f", {m['memory_gb']:.1f} GB RAM" if m.get("memory_gb") else "")
        + (
            f" (Ray's memory resource {m['ray_memory_gb']:.1f} GB)"
            if m.get("ray_memory_gb")
            else ""
        )
        + (f", {m['system']}" if m.get("system") else "")
        + f"; load average (1/5/15 min) {load('load_before')} before, "
        f"{load('load_after')} after; {meta['duration_s'] / 60:.1f} min; Ray {meta['ray']}, "
        f"Python {meta['python']}" + (f"; `{meta['command']}`" if meta.get("command") else "")
    )


def render_main(doc: dict[str, Any]) -> str:
    """The Benchmarks section: tables, the growth, the CPU split, the run's facts."""
    figures, meta = figures_of(doc), doc["meta"]
    return "\n\n".join(
        [
            table(figures),
            floors_table(figures),
            scaling_table(scaling(figures)),
            cpu_table(figures),
            machine_line(meta),
            *(f"WARNING {w}" for w in meta.get("warnings", [])),
            *(f"FAILED {e}" for e in meta.get("errors", [])),
        ]
    )


def render_farm(doc: dict[str, Any]) -> str:
    """The At farm scale section: the cluster_utils check and the model."""
    parts = []
    if doc.get("farm"):
        parts.append(farm_table(doc["farm"]))
    from bench.farmtables import farm_model

    model = farm_model(doc) or doc.get("farm_model")  # the model of this code, from the run
    parts.append(
        model["tables"]
        if model
        else "(no model: the run measured too little, or its farm layouts did not measure "
        "the role actors)"
    )
    return "\n\n".join(parts)


def render(doc: dict[str, Any]) -> str:
    """Everything ``bench.run_all`` prints."""
    return render_main(doc) + "\n\n## At farm scale\n\n" + render_farm(doc)


def update_readme(main: str, farm: str, path: Path = README) -> None:
    """Write both sections between their markers; an error if a marker is missing."""
    text = path.read_text()
    for key, body in (("results", main), ("farm", farm)):
        begin, end = f"<!-- {MARKERS[key]} -->", f"<!-- /{MARKERS[key]} -->"
        if begin not in text or end not in text:
            raise ValueError(f"{path}: markers {begin} … {end} not found")
        head, _, rest = text.partition(begin)
        _, _, tail = rest.partition(end)
        text = f"{head}{begin}\n{body}\n{end}{tail}"
    path.write_text(text)


def main() -> None:
    from bench.plot import plot

    args = [a for a in sys.argv[1:] if a != "--readme"]
    path = Path(args[0]) if args else RESULTS / "latest.json"
    doc = load(path)
    print(render(doc))
    plot(figures_of(doc), path.with_name("scaling.png"))
    if "--readme" in sys.argv[1:]:
        update_readme(render_main(doc), render_farm(doc))


if __name__ == "__main__":
    main()
