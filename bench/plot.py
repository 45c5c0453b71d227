"""The scaling plot of a run: each measure against N, with its floor and spread.

What flows through: the ``Figure`` rows of a run (``bench.report``); out comes
``bench/results/scaling.png``, one panel per kind of measure and the ratios to the floors.
matplotlib is in the ``bench`` extra; without it there is no plot and nothing fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.common import Figure
from bench.crash import MEASURE
from bench.report import RESULTS, series_of

CRASHES = tuple(MEASURE.values())


def plot(figures: list[Figure], path: Path = RESULTS / "scaling.png") -> Path | None:
    """Each measure against N with its floor; None if matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    series = series_of(figures)
    panels = [
        ("transitions (ms)", ["CONFIGURE", "START_ACTIVITY", "STOP_ACTIVITY", "RESET"]),
        ("deploy (s)", ["deploy cold", "deploy warm"]),
        ("memory per task (MB)", ["memory/task"]),
        ("CPU at rest per task (ms/s)", ["idle CPU/task"]),
        ("failure → ERROR at the SDK (ms)", ["failure→ERROR"]),
        ("control-plane crash → usable again (ms)", list(CRASHES)),
        ("modify: add k tasks in RUNNING (s)", ["modify add k"]),
        ("expansion (ms, N = processors)", [m for m in series if m.startswith("expand")]),
    ]
    fig, axes = plt.subplots(3, 3, figsize=(18, 12))
    for ax, (title, names) in zip(axes.flat, panels, strict=False):
        _panel(ax, title, [(m, series[m]) for m in names if m in series])
    axes.flat[1].set_yscale("log")  # cold and warm deploys are orders of magnitude apart
    for ax in axes.flat[len(panels) : len(axes.flat) - 1]:
        ax.axis("off")
    _ratios(axes.flat[-1], series)
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
    ax.axhline(1.5, color="grey", ls=":", lw=1)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
