"""The benchmark report: statistics, targets, the table, growth fits, py-spy folding."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench.common import Figure, spread
from bench.profile import fold
from bench.report import fit, scaling, table


def test_spread_is_deciles_from_ten_samples_and_min_max_below() -> None:
    assert spread([3.0, 1.0, 2.0]) == (1.0, 3.0)
    lo, hi = spread([float(i) for i in range(1, 12)])
    assert 1.0 < lo < 2.5 and 9.5 < hi < 11.0


def test_ratio_target_pass_and_miss() -> None:
    ok = Figure("CONFIGURE", 100, "ms", [100.0, 110.0, 120.0], floor=100.0, limit=1.2)
    assert ok.ratio == pytest.approx(1.1) and ok.passed and ok.miss_by is None
    bad = Figure("CONFIGURE", 100, "ms", [150.0], floor=100.0, limit=1.2)
    assert bad.passed is False and bad.miss_by == pytest.approx(0.25)


def test_absolute_target_and_no_target() -> None:
    fast = Figure("failure", 10, "ms", [400.0, 450.0], limit=500.0, absolute=True)
    assert fast.passed and fast.ratio is None
    slow = Figure("failure", 10, "ms", [900.0], limit=500.0, absolute=True)
    assert slow.miss_by == pytest.approx(0.8)
    assert Figure("expand", 1000, "ms", [1.0], floor=0.5).passed is None


def test_table_has_one_row_per_figure_with_its_verdict() -> None:
    figs = [
        Figure("deploy cold", 10, "s", [2.0, 3.0], floor=2.0, floor_label="launch", limit=1.2),
        Figure("memory/task", 10, "MB", [70.0], floor=66.0, floor_label="bare", limit=1.1),
    ]
    lines = table(figs).splitlines()
    assert len(lines) == 4
    assert "MISS +4%" in lines[2] and "2.50 s" in lines[2]
    assert "pass" in lines[3] and "70.0 MB" in lines[3]


def test_fit_gives_slope_and_exponent() -> None:
    slope, k = fit([10, 100], [1.0, 10.0])
    assert slope == pytest.approx(0.1) and k == pytest.approx(1.0)
    assert math.isnan(fit([10, 20], [0.0, 1.0])[1])
    rows = scaling([Figure("RESET", n, "ms", [n * 2.0], floor=n * 1.0) for n in (10, 50, 100)])
    assert rows[0]["slope"] == pytest.approx(2.0) and rows[0]["floor_slope"] == pytest.approx(1.0)


def test_fold_leaves_idle_stacks_out_and_counts_own_functions(tmp_path: Path) -> None:
    raw = tmp_path / "p.txt"
    raw.write_text(
        "main (default_worker.py:1);Worker.main_loop (ray/_private/worker.py:9) 50\n"
        "run (asyncio/events.py:80);fan_out (actors/transitions/common.py:5);"
        "ActorHandle._actor_method_call (ray/actor.py:2578) 30\n"
        "run (asyncio/events.py:80);encode_json (occ/wire.py:3) 10\n"
    )
    own, incl, total = fold(raw)
    assert total == 40
    assert own["ActorHandle._actor_method_call (actor.py)"] == 30
    assert incl["fan_out (common.py)"] == 30 and incl["encode_json (wire.py)"] == 10
    assert not any("main_loop" in k for k in own)
