"""The results: one markdown table, the growth with N, the JSON and the plot.

What flows through: every ``Figure`` of a run. Out come the table printed on stdout (rows:
measure x N; columns: median, spread, floor, ratio, target, pass/miss and a note saying
where the time or the memory goes), the scaling table (least-squares slope per task, and
the exponent k of median ∝ N^k between the smallest and largest N, for each figure and
its floor), ``bench/results/latest.json`` and ``bench/results/scaling.png``. Markdown, so
that the README section is a paste of the output.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench.common import ROOT, Figure

RESULTS = ROOT / "bench" / "results"


def _num(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.2f} s"
    if unit in ("MB", "ms/s"):
        return f"{value:.1f} {unit}"
    return f"{value:.0f} ms" if value >= 100 else f"{value:.1f} ms"


def _target(f: Figure) -> str:
    if f.limit is None:
        return "—"
    return f"≤ {_num(f.limit, f.unit)}" if f.absolute else f"≤ {f.limit:g}x {f.floor_label}"


def _result(f: Figure) -> str:
    if f.passed is None:
        return "—"
    over = (f.miss_by or 0) * 100
    return "pass" if f.passed else f"MISS +{over:.0f}%" if over >= 1 else f"MISS +{over:.1f}%"


def _note(f: Figure) -> str:
    n = f.notes
    if "grpc_ratio" in n:
        return (
            f"gRPC floor {_num(n['grpc_floor'], 'ms')}, x{n['grpc_ratio']:.2f} of it; "
            f"inside the env {_num(n['env_ms'], 'ms')}"
        )
    if "env_deploy_s" in n:
        text = (
            f"env actor up at +{_num(n['before_median_s'], 's')}, then its own "
            f"DEPLOY {_num(n['env_deploy_median_s'], 's')}"
        )
        if "last_worker_s" in n:
            text += (
                f"; task workers born +{n['first_worker_s']:.1f}..{n['last_worker_s']:.1f} s, "
                f"last device +{n['last_device_s']:.1f} s, each device "
                f"{n['device_after_worker_s']:.1f} s after its worker; CPU task actors "
                f"{n['cpu_task_actors_s']:.0f} s + devices {n['cpu_devices_s']:.0f} s (floor: "
                f"bare actors {n['floor_cpu_actors_s']:.0f} s + devices "
                f"{n['floor_cpu_devices_s']:.0f} s)"
            )
        return text
    if "actor_mb" in n:
        return (
            f"actor {n['actor_mb']:.1f} + device {n['device_mb']:.1f} (floor "
            f"{n['floor_actor_mb']:.1f} + {n['floor_device_mb']:.1f})"
        )
    if "actor_ms_per_s" in n:
        return (
            f"actor {n['actor_ms_per_s']:.1f} + device {n['device_ms_per_s']:.1f} (floor "
            f"{n['floor_actor_ms_per_s']:.1f} + {n['floor_device_ms_per_s']:.1f})"
        )
    if "env_error_ms" in n:
        steps = [
            ("task ERROR", "task_error_ms"),
            ("role ERROR", "role_error_ms"),
            ("GO_ERROR", "go_error_started_ms"),
            ("env ERROR", "env_error_ms"),
        ]
        return ", ".join(f"{label} +{n[k]:.0f}" for label, k in steps if k in n) + " ms"
    if "us_per_task" in n:
        return f"{n['us_per_task']:.0f} µs/task; N = processors"
    return ""


def table(figures: Iterable[Figure]) -> str:
    rows = [
        "| measure | N | median | spread | floor | ratio | target | result | note |",
        "|---|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for f in figures:
        lo, hi = f.spread
        floor = "—" if f.floor is None else f"{_num(f.floor, f.unit)} ({f.floor_label})"
        ratio = "—" if f.ratio is None else f"{f.ratio:.2f}"
        rows.append(
            f"| {f.measure} | {f.n} | {_num(f.median, f.unit)} | "
            f"{_num(lo, f.unit)}-{_num(hi, f.unit)} | {floor} | {ratio} | "
            f"{_target(f)} | {_result(f)} | {_note(f)} |"
        )
    return "\n".join(rows)


def print_table(figures: list[Figure], name: str) -> None:
    """What a module run alone ends with: its table on stdout, its JSON beside the others."""
    print(table(figures))
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "load": os.getloadavg(),
    }
    write_json(figures, meta, {}, RESULTS / f"{name}.json")


def _series(figures: list[Figure]) -> dict[str, list[Figure]]:
    out: dict[str, list[Figure]] = {}
    for f in figures:
        out.setdefault(f.measure, []).append(f)
    return {k: sorted(v, key=lambda f: f.n) for k, v in out.items()}


def fit(ns: list[int], ys: list[float]) -> tuple[float, float]:
    """(least-squares slope per unit of N, exponent k of y ∝ N^k from the end points)."""
    mean_n, mean_y = sum(ns) / len(ns), sum(ys) / len(ys)
    var = sum((n - mean_n) ** 2 for n in ns)
    slope = sum((n - mean_n) * (y - mean_y) for n, y in zip(ns, ys, strict=True)) / var
    k = math.log(ys[-1] / ys[0]) / math.log(ns[-1] / ns[0]) if ys[0] > 0 < ys[-1] else math.nan
    return slope, k


def scaling(figures: list[Figure]) -> list[dict[str, Any]]:
    out = []
    for measure, series in _series(figures).items():
        if len(series) < 2:
            continue
        ns = [f.n for f in series]
        row: dict[str, Any] = {"measure": measure, "unit": series[0].unit, "sizes": ns}
        row["slope"], row["exponent"] = fit(ns, [f.median for f in series])
        if all(f.floor for f in series) and series[0].floor_label != "cold":
            row["floor_slope"], row["floor_exponent"] = fit(ns, [f.floor or 0 for f in series])
        out.append(row)
    return out


def scaling_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| measure | N | slope per task | growth N^k | floor slope | floor N^k |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        unit = r["unit"]
        floor = (
            f"{_num(r['floor_slope'], unit)} | {r['floor_exponent']:.2f}"
            if "floor_slope" in r
            else "— | —"
        )
        lines.append(
            f"| {r['measure']} | {','.join(map(str, r['sizes']))} | "
            f"{_num(r['slope'], unit)} | {r['exponent']:.2f} | {floor} |"
        )
    return "\n".join(lines)


def cpu_table(figures: Iterable[Figure]) -> str:
    """Where a transition's time goes: wall, inside the environment, CPU per part."""
    rows = [
        "| transition | N | SDK wall | in env | CPU env | CPU controller | CPU task actors "
        "| CPU devices | gRPC floor wall | floor CPU client | floor CPU devices |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for f in figures:
        n = f.notes
        if "cpu_split_ms" not in n:
            continue
        c, fc = n["cpu_split_ms"], n["floor_cpu_split_ms"]
        cells = [
            f.median,
            n["env_ms"],
            c.get("env", 0),
            c.get("controller", 0),
            c.get("task actors", 0),
            c.get("devices", 0),
            n["grpc_floor"],
            fc.get("client", 0),
            fc.get("devices", 0),
        ]
        rows.append(f"| {f.measure} | {f.n} | " + " | ".join(f"{x:.0f}" for x in cells) + " |")
    return "\n".join(rows) + "\n\n(all in ms; CPU = user + system of those processes)"


def write_json(
    figures: list[Figure],
    meta: dict[str, Any],
    extra: dict[str, Any],
    path: Path = RESULTS / "latest.json",
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "meta": meta,
        "figures": [f.to_dict() for f in figures],
        "scaling": scaling(figures),
        **extra,
    }
    path.write_text(json.dumps(doc, indent=1, default=str))
    return path


def plot(figures: list[Figure], path: Path = RESULTS / "scaling.png") -> Path | None:
    """Each measure against N with its floor; None if matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    series = _series(figures)
    panels = [
        ("transitions (ms)", ["CONFIGURE", "START_ACTIVITY", "STOP_ACTIVITY", "RESET"]),
        ("deploy (s)", ["deploy cold", "deploy warm"]),
        ("memory per task (MB)", ["memory/task"]),
        ("CPU at rest per task (ms/s)", ["idle CPU/task"]),
        ("failure → ERROR at the SDK (ms)", ["failure→ERROR"]),
        ("expansion (ms, N = processors)", [m for m in series if m.startswith("expand")]),
    ]
    fig, axes = plt.subplots(2, 4, figsize=(20, 8.5))
    for ax, (title, names) in zip(axes.flat, panels, strict=False):
        _panel(ax, title, [(m, series[m]) for m in names if m in series])
    axes.flat[1].set_yscale("log")  # cold and warm deploys are orders of magnitude apart
    for ax in axes.flat[len(panels) : len(axes.flat) - 1]:
        ax.axis("off")
    _ratios(axes.flat[7], series)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _panel(ax: Any, title: str, lines: list[tuple[str, list[Figure]]]) -> None:
    ax.set_title(title)
    ax.set_xlabel("N")
    for name, fs in lines:
        ns = [f.n for f in fs]
        drawn = ax.plot(ns, [f.median for f in fs], "o-", label=name)
        ax.fill_between(
            ns,
            [f.spread[0] for f in fs],
            [f.spread[1] for f in fs],
            color=drawn[0].get_color(),
            alpha=0.15,
        )
        if all(f.floor for f in fs) and fs[0].floor_label != "cold":
            ax.plot(
                ns,
                [f.floor for f in fs],
                "x--",
                color=drawn[0].get_color(),
                label=f"{name} floor ({fs[0].floor_label})",
            )
    if lines:
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)


def _ratios(ax: Any, series: dict[str, list[Figure]]) -> None:
    ax.set_title("ratio to the floor")
    ax.set_xlabel("N")
    for name, fs in series.items():
        if name.startswith("expand") or not all(f.ratio for f in fs):
            continue
        ax.plot([f.n for f in fs], [f.ratio for f in fs], "o-", label=name)
    ax.axhline(1.2, color="grey", ls=":", lw=1)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)


def load(path: Path) -> tuple[list[Figure], dict[str, Any]]:
    """The figures and the meta of a results file written by ``write_json``."""
    doc = json.loads(path.read_text())
    names = set(Figure.__dataclass_fields__)
    return [Figure(**{k: v for k, v in f.items() if k in names}) for f in doc["figures"]], doc[
        "meta"
    ]


def render(figures: list[Figure], meta: dict[str, Any]) -> str:
    """Everything ``bench.run_all`` prints: the table, the growth, the CPU split, the run."""
    return "\n\n".join(
        [
            table(figures),
            scaling_table(scaling(figures)),
            cpu_table(figures),
            f"{meta['date']}, {meta['host']}: {meta['cpus']} cores, load average "
            f"{meta['load_before'][0]:.1f} before / {meta['load_after'][0]:.1f} after; "
            f"{meta['duration_s'] / 60:.1f} min; Ray {meta['ray']}, Python {meta['python']}",
            *(f"FAILED {e}" for e in meta.get("errors", [])),
        ]
    )


def main() -> None:
    """Tables and plot of a results file again: ``python -m bench.report [FILE]``."""
    import sys

    path = Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS / "latest.json"
    figures, meta = load(path)
    print(render(figures, meta))
    plot(figures, path.with_name("scaling.png"))


if __name__ == "__main__":
    main()
