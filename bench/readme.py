"""The README's two benchmark sections, regenerated from a run's JSON.

What flows through: ``bench/results/latest.json`` (or a given file). Out come the
Benchmarks section (the run's tables from ``bench.report``, the farm harness's table,
and a line of the run's facts: machine, load average before and after, duration, the
command that produced it) and the At farm scale section (the ``cluster_utils`` check and
``bench.farmmodel``'s tables). ``update_readme`` replaces what stands between the markers
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


def farm_table(rows: list[dict[str, Any]]) -> str:
    """The farm harness: each layout's deploy and transitions, and the CPU of every part."""
    from bench.devices import CYCLE

    out = [
        "| layout | tasks | Ray actors of the env | deploy cold | "
        + " | ".join(CYCLE)
        + " | CPU per transition: "
        + " / ".join(FARM_PARTS)
        + " | at rest (ms/s): "
        + " / ".join(FARM_PARTS[:5])
        + " |",
        "|---|---:|---:|---:|" + "---:|" * len(CYCLE) + "---|---|",
    ]
    for r in rows:
        walls = [fmt(median(r["transition_ms"][e]), "ms") for e in CYCLE]
        cpu = {p: sum(r["cpu_ms"][e].get(p, 0.0) for e in CYCLE) / len(CYCLE) for p in FARM_PARTS}
        idle = r["idle_ms_per_s"]
        out.append(
            f"| {r['layout']} | {r['tasks']} | {r['actors']} | {fmt(r['deploy_s'], 's')} | "
            + " | ".join(walls)
            + " | "
            + " / ".join(f"{cpu[p]:.0f}" for p in FARM_PARTS)
            + " | "
            + " / ".join(f"{idle.get(p, 0.0):.1f}" for p in FARM_PARTS[:5])
            + " |"
        )
    return "\n".join(out) + (
        "\n\n(CPU per transition: ms, mean of the four transitions' medians; head = the "
        "control plane's node, nodes = the worker nodes' raylets together)"
    )


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
    from bench.farmmodel import farm_model

    model = farm_model(doc) or doc.get("farm_model")  # the model of this code, from the run
    parts.append(model["tables"] if model else "(no model: the run measured too little)")
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
