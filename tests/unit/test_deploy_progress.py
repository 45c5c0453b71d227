"""A deploy's deployment timeout counts from its last progress (plain asyncio, no Ray):
a slow deploy that keeps moving is never cut; one that stalls fails its pending tasks by
name-able reason, and a destroy's cancellation still goes through as a cancellation."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from actors.transitions.deployprogress import DeployProgress, Stalled


async def up_after(seconds: float, value: Any) -> Any:
    await asyncio.sleep(seconds)
    return value


async def never() -> None:
    await asyncio.Event().wait()


async def test_a_deploy_that_keeps_moving_outlives_its_timeout() -> None:
    seen: list[dict[str, int]] = []
    progress = DeployProgress(seen.append, 6, timeout_s=0.3)
    # six tasks, one every 0.15 s: 0.9 s in all, three times the timeout
    results = await progress.gather([up_after(0.15 * (i + 1), i) for i in range(6)])
    assert results == list(range(6))
    assert seen[-1] == {"done": 6, "failed": 0, "total": 6}


async def test_a_stalled_deploy_fails_what_is_pending_and_keeps_what_came_up() -> None:
    seen: list[dict[str, int]] = []
    progress = DeployProgress(seen.append, 3, timeout_s=0.3)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    results = await asyncio.wait_for(
        progress.gather([up_after(0.05, "a"), never(), up_after(0.1, "b")]), 5
    )
    took = loop.time() - t0
    assert results[0] == "a" and results[2] == "b"
    assert isinstance(results[1], Stalled)
    assert "no task of this deploy came up for 0.3s" in str(results[1])
    assert "(the deployment timeout)" in str(results[1])
    assert 0.35 <= took < 2.0, "0.3 s after the last task came up, not from the start"
    assert seen[-1] == {"done": 2, "failed": 1, "total": 3}


async def test_a_failure_is_progress_and_is_returned() -> None:
    async def fails() -> None:
        await asyncio.sleep(0.05)
        raise RuntimeError("process exited with 1")

    progress = DeployProgress(lambda _: None, 2, timeout_s=5)
    results = await progress.gather([fails(), up_after(0.1, "ok")])
    assert isinstance(results[0], RuntimeError) and results[1] == "ok"


async def test_cancelling_the_deploy_cancels_every_start() -> None:
    started: list[asyncio.Task[None]] = []
    both = asyncio.Event()

    async def tracked() -> None:
        started.append(asyncio.current_task())  # type: ignore[arg-type]
        if len(started) == 2:
            both.set()
        await never()

    progress = DeployProgress(lambda _: None, 2, timeout_s=60)
    deploy = asyncio.create_task(progress.gather([tracked(), tracked()]))
    await asyncio.wait_for(both.wait(), 5)
    deploy.cancel()
    with pytest.raises(asyncio.CancelledError):
        await deploy
    await asyncio.sleep(0)
    assert all(t.cancelled() for t in started), "no start left running after a destroy"
