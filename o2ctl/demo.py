"""The demo: the example pipeline through its whole lifecycle on a local Ray.

sampler → N processors → sink (FairMQ-style devices moving real messages over ZeroMQ),
created (DEPLOY + CONFIGURE), started, stopped, started again with a new run number,
stopped, destroyed, with the sink's count checked after each run and no process left. This
is the README's main command (``o2ctl demo``).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PIPELINE = "sampler-processors-sink"


def _count(path: Path) -> int:
    try:
        return int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def run_demo(processors: int = 4, seconds: float = 2.0, say: Callable[[str], None] = print) -> int:
    import ray

    from o2ctl.sdk import connect

    with tempfile.TemporaryDirectory(prefix="o2ctl-demo-") as tmp:
        state = Path(tmp)
        count_file = state / "sink.count"
        t0 = time.perf_counter()
        client = connect(state_dir=str(state), settings={"log_dir": str(state / "logs")})
        say(f"local Ray and controller up in {time.perf_counter() - t0:.1f}s")
        try:
            t = time.perf_counter()
            env = client.create_environment(
                PIPELINE, vars={"nProcessors": str(processors), "sink_count_file": str(count_file)}
            )
            say(
                f"environment {env.id} created ({len(env.tasks)} tasks) in "
                f"{time.perf_counter() - t:.1f}s: {env.state}"
            )
            for run in (1, 2):
                t = time.perf_counter()
                env.start()
                say(f"run {env.run_number} started in {time.perf_counter() - t:.2f}s: {env.state}")
                time.sleep(seconds)
                t = time.perf_counter()
                env.stop()
                got = _count(count_file)
                say(
                    f"run {run} stopped in {time.perf_counter() - t:.2f}s; "
                    f"sink received {got} messages"
                )
                if got <= 0:
                    raise SystemExit("the sink received nothing: data did not flow")
            env.destroy()
            say("environment destroyed")
        finally:
            client.shutdown()
            ray.shutdown()
    return 0
