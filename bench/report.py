"""The results: the markdown tables of a run, and its JSON.

What flows through: every ``Figure`` of a run, the farm harness's layouts and the farm
model. Out come the table printed on stdout (rows: measure x N; columns: median, spread,
floor, ratio, target, pass/miss and a note saying where the time or the memory goes), each
transition against its four floors, the scaling table (least-squares slope per task, and
the exponent k of median ∝ N^k between the smallest and largest N, for each figure and its
floor) and the CPU split; ``bench/results/latest.json`` keeps it all. Markdown, so that
``bench.readme`` puts it in the README as it is.
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


def fmt(value: float, unit: str) -> str:
    if math.isnan(value):
        return "—"
    if unit == "s":
        return f"{value:.2f} s"
    if unit in ("MB", "ms/s"):
        return f"{value:.1f} {unit}"
    return f"{value:.0f} ms" if value >= 100 else f"{value:.1f} ms"


def _target(f: Figure) -> str:
    if f.limit is None:
        return "—"
    return f"≤ {fmt(f.limit, f.unit)}" if f.absolute else f"≤ {f.limit:g}x {f.floor_label}"


def _result(f: Figure) -> str:
    if f.passed is None:
        return "—"
    over = (f.miss_by or 0) * 100
    return "pass" if f.passed else f"MISS +{over:.0f}%" if over >= 1 else f"MISS +{over:.1f}%"


def _note(f: Figure) -> str:
    n = f.notes
    if f.missing:
        return f.missing
    if "grpc_ratio" in n:
        beside = (
            f"; beside {f.n} idle actors {fmt(n['grpc_idle_floor'], 'ms')}, "
            f"x{n['grpc_idle_ratio']:.2f} of it"
            if n.get("grpc_idle_ratio")
            else ""
        )
        design = (
            f"design floor {fmt(n['design_floor'], 'ms')}, x{n['design_ratio']:.2f} of it; "
            if n.get("design_ratio")
            else ""
        )
        return (
            f"{design}gRPC floor {fmt(n['grpc_floor'], 'ms')}, x{n['grpc_ratio']:.2f} of "
            f"it{beside}; inside the env {fmt(n['env_ms'], 'ms')}"
        )
    if "back_ms" in n:
        return (
            f"restarted actor answers +{n['back_ms']:.0f} ms, STOP_ACTIVITY done "
            f"+{n['stopped_ms']:.0f} ms, START_ACTIVITY done (the figure)"
        )
    if "from_pool_s" in n:
        return (
            f"k = {n['k']} launched; from the idle pool {fmt(n['from_pool_s'], 's')} "
            f"({n['reused_from_pool']} reused), remove {fmt(n['remove_s'], 's')}; floor "
            f"deploy + CONFIGURE + START of {n['k']}: {fmt(n['floor_running_s'], 's')}"
        )
    if "env_deploy_s" in n:
        text = (
            f"env actor up at +{fmt(n['before_median_s'], 's')}, then its own "
            f"DEPLOY {fmt(n['env_deploy_median_s'], 's')}"
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
        if f.missing:
            rows.append(f"| {f.measure} | {f.n} | — | — | — | — | — | — | {f.missing} |")
            continue
        floor = "—" if f.floor is None else f"{fmt(f.floor, f.unit)} ({f.floor_label})"
        ratio = "—" if f.ratio is None else f"{f.ratio:.2f}"
        rows.append(
            f"| {f.measure} | {f.n} | {fmt(f.median, f.unit)} | "
            f"{fmt(lo, f.unit)}-{fmt(hi, f.unit)} | {floor} | {ratio} | "
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


def series_of(figures: list[Figure]) -> dict[str, list[Figure]]:
    out: dict[str, list[Figure]] = {}
    for f in figures:
        if f.samples:
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
    for measure, series in series_of(figures).items():
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
            f"{fmt(r['floor_slope'], unit)} | {r['floor_exponent']:.2f}"
            if "floor_slope" in r
            else "— | —"
        )
        lines.append(
            f"| {r['measure']} | {','.join(map(str, r['sizes']))} | "
            f"{fmt(r['slope'], unit)} | {r['exponent']:.2f} | {floor} |"
        )
    return "\n".join(lines)


def floors_table(figures: Iterable[Figure]) -> str:
    """Each transition against its four floors: design, actor, gRPC, gRPC beside N idle
    actors."""
    rows = [
        "| transition | N | o2ctl | design floor | actor floor | gRPC floor | gRPC floor "
        "beside N idle actors | ratio to design | ratio to actor | ratio to gRPC | ratio to "
        "gRPC beside idle actors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for f in figures:
        n = f.notes
        if "grpc_floor" not in n or not f.samples:
            continue
        beside, design = n.get("grpc_idle_floor"), n.get("design_floor")
        cells = [
            fmt(f.median, "ms"),
            "—" if design is None else fmt(design, "ms"),
            fmt(f.floor or math.nan, "ms"),
            fmt(n["grpc_floor"], "ms"),
            "—" if beside is None else fmt(beside, "ms"),
            _ratio(n.get("design_ratio"), n.get("design_limit")),
            _ratio(f.ratio, f.limit),
            _ratio(n.get("grpc_ratio"), n.get("grpc_limit")),
            _ratio(n.get("grpc_idle_ratio"), None),
        ]
        rows.append(f"| {f.measure} | {f.n} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _ratio(value: float | None, limit: float | None) -> str:
    if value is None:
        return "—"
    verdict = "" if limit is None else (" ✔" if value <= limit else f" ✘ (≤ {limit:g})")
    return f"{value:.2f}x{verdict}"


CPU_PARTS = ("env", "controller", "gcs", "raylets", "task actors", "devices")


def cpu_table(figures: Iterable[Figure]) -> str:
    """Where a transition's time goes: wall, inside the environment, CPU per part."""
    rows = [
        "| transition | N | SDK wall | in env | CPU env | CPU controller | CPU GCS | CPU "
        "raylets | CPU task actors | CPU devices | gRPC floor wall | floor CPU client | "
        "floor CPU devices |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for f in figures:
        n = f.notes
        if "cpu_split_ms" not in n or not f.samples:
            continue
        c, fc = n["cpu_split_ms"], n["floor_cpu_split_ms"]
        cells = [
            f.median,
            n["env_ms"],
            *(c.get(part, 0) for part in CPU_PARTS),
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


def load(path: Path) -> dict[str, Any]:
    """A results file written by ``write_json``."""
    return dict(json.loads(path.read_text()))


def figures_of(doc: dict[str, Any]) -> list[Figure]:
    names = set(Figure.__dataclass_fields__)
    return [Figure(**{k: v for k, v in f.items() if k in names}) for f in doc["figures"]]
