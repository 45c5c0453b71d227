"""What every benchmark shares: the figure record, its statistics, the o2ctl session.

A ``Figure`` is one row of the final table: what was measured at which size N, every
sample, the floor it is judged against and the target (a ratio to the floor, or an
absolute limit). Statistics are the median and a spread (p10-p90 with ten samples or
more, min-max below that, since a handful of runs has no meaningful deciles).

``o2ctl_session`` is the one local Ray of a run: it marks every process it (and Ray's
workers, and their task processes) starts with a run id in the environment, and at the
end destroys every environment, ends every idle task, shuts Ray down and checks that no
process of this run is left, killing and naming any survivor.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from occ.processes import find_owned

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = "sampler-processors-sink"
RUN_ENV = "O2CTL_BENCH_RUN"
RUN_ID = os.environ.setdefault(RUN_ENV, uuid.uuid4().hex)
FULL_SIZES = (10, 50, 100, 200)
QUICK_SIZES = (10, 50)
TINY_SIZES = (3,)
SAMPLER_RATE_HZ = 100
"""Messages per second the sampler sends while RUNNING, in the runtime's environments and
in the floors' devices alike: a small fixed data rate, so that what is measured is the
cost of control, not of data (flat out, the devices' CPU swamps two cores at N = 100)."""


def workflow_vars(n: int) -> dict[str, str]:
    """The user variables of an environment of ``n`` tasks (sampler + processors + sink)."""
    if n < 3:
        raise ValueError(f"an environment of {WORKFLOW} has at least 3 tasks, not {n}")
    return {"nProcessors": str(n - 2), "sampler_rate": str(SAMPLER_RATE_HZ)}


@dataclass
class Figure:
    """One measure at one size, with its floor and target."""

    measure: str
    n: int
    unit: str  # "s", "ms" or "MB"
    samples: list[float]
    floor: float | None = None  # the floor's median, same unit
    floor_label: str = ""
    limit: float | None = None  # the target: ratio ≤ limit, or median ≤ limit if absolute
    absolute: bool = False
    notes: dict[str, Any] = field(default_factory=dict)
    missing: str = ""  # why there is no sample (a measure not available yet)

    @staticmethod
    def unavailable(measure: str, n: int, unit: str, why: str) -> Figure:
        """A row saying why a measure could not be taken (not a crash of the suite)."""
        return Figure(measure, n, unit, [], missing=why)

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else math.nan

    @property
    def spread(self) -> tuple[float, float]:
        return spread(self.samples) if self.samples else (math.nan, math.nan)

    @property
    def ratio(self) -> float | None:
        if self.floor is None or self.floor <= 0 or not self.samples:
            return None
        return self.median / self.floor

    @property
    def passed(self) -> bool | None:
        if self.limit is None or not self.samples:
            return None
        if self.absolute:
            return self.median <= self.limit
        ratio = self.ratio
        return None if ratio is None else ratio <= self.limit

    @property
    def miss_by(self) -> float | None:
        """How far over the target, as a fraction of the target (0.25: 25 % over)."""
        if self.passed is not False or self.limit is None:
            return None
        value = self.median if self.absolute else self.ratio
        return None if value is None else value / self.limit - 1

    def to_dict(self) -> dict[str, Any]:
        lo, hi = self.spread
        return {
            **asdict(self),
            "median": self.median if self.samples else None,
            "spread": [lo, hi] if self.samples else None,
            "spread_kind": spread_kind(self.samples),
            "ratio": self.ratio,
            "passed": self.passed,
            "miss_by": self.miss_by,
        }


def spread_kind(samples: list[float]) -> str:
    return "p10-p90" if len(samples) >= 10 else "min-max"


def spread(samples: list[float]) -> tuple[float, float]:
    if len(samples) >= 10:
        deciles = statistics.quantiles(samples, n=10, method="inclusive")
        return deciles[0], deciles[-1]
    return min(samples), max(samples)


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def ms(seconds: list[float]) -> list[float]:
    return [s * 1e3 for s in seconds]


def elapsed(t0: float) -> float:
    return time.perf_counter() - t0


def say(message: str) -> None:
    """Progress on stderr, so that stdout carries only the table."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Repeats:
    """How many times each measure runs (``--quick`` lowers them all, ``--tiny`` to one)."""

    transitions: int = 7
    deploy_cold: int = 3
    deploy_warm: int = 5
    failure: int = 5
    actor_rounds: int = 21
    crash: int = 5  # per kind of control-plane crash
    modify: int = 3
    idle_window_s: float = 5.0  # how long CPU at rest is watched

    @staticmethod
    def of(quick: bool, tiny: bool = False) -> Repeats:
        if tiny:  # every measure once, to prove the suite runs (CI), never to read numbers
            return Repeats(1, 1, 1, 1, 1, crash=1, modify=1, idle_window_s=0.5)
        if quick:
            return Repeats(
                transitions=3, deploy_cold=2, deploy_warm=3, failure=3, actor_rounds=11, crash=3
            )
        return Repeats()

    def cold_at(self, n: int) -> int:
        """Cold deploys (and their floors) cost minutes at N = 200: fewer of them there."""
        return min(self.deploy_cold, 2) if n >= 200 else self.deploy_cold


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="N = 10, 50 and few repeats")
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="N = 3, every measure once: proves the suite runs, its numbers mean nothing",
    )
    parser.add_argument("--sizes", default=None, help="environment sizes N (tasks), e.g. 10,50")
    return parser


def int_list(text: str | None) -> list[int]:
    """``"10,50"`` → ``[10, 50]``; empty or ``none`` → ``[]``."""
    if not text or text.strip().lower() == "none":
        return []
    return [int(s) for s in text.split(",") if s.strip()]


def sizes_of(options: argparse.Namespace) -> list[int]:
    if options.sizes:
        return int_list(options.sizes)
    if getattr(options, "tiny", False):
        return list(TINY_SIZES)
    return list(QUICK_SIZES if options.quick else FULL_SIZES)


def repeats_of(options: argparse.Namespace) -> Repeats:
    return Repeats.of(options.quick, getattr(options, "tiny", False))


def leftovers() -> list[str]:
    """Processes of this run still alive (marked by o2ctl or by the benchmarks)."""
    return [
        f"pid {p.pid} ({p.owner}): {p.cmdline[:80]}"
        for p in find_owned(env_match=(RUN_ENV, RUN_ID))
    ]


def kill_leftovers() -> list[str]:
    found = find_owned(env_match=(RUN_ENV, RUN_ID))
    for p in found:
        for kill in (os.killpg, os.kill):
            try:
                kill(p.pid, signal.SIGKILL)
                break
            except OSError:
                continue
    return [f"pid {p.pid} ({p.owner})" for p in found]


@contextmanager
def o2ctl_session(workdir: Path | None = None) -> Iterator[Any]:
    """A local Ray with the o2ctl controller; everything is gone when it closes."""
    import ray

    from actors import naming

    # Ray prints the raylet's warnings on the driver's stdout: keep stdout for results.
    with tempfile.TemporaryDirectory(prefix="o2ctl-bench-") as tmp, redirect_stdout(sys.stderr):
        t0 = time.perf_counter()
        # A new local Ray of our own, even if another one was started on this machine
        # (``ray.init()`` alone would join it): then ``connect`` finds Ray up and uses it.
        ray.init(
            address="local",
            num_cpus=2,
            namespace=naming.NAMESPACE,
            logging_level=logging.WARNING,
            log_to_driver=False,
        )
        client = None
        try:
            client = controller(workdir or Path(tmp))
            say(f"local Ray and controller up in {elapsed(t0):.1f}s")
            yield client
        finally:
            close(client)


def controller(state: Path) -> Any:
    """The o2ctl controller on the Ray this process is connected to, state under ``state``;
    a SIGTERM (Ray's own handler would abort) ends the run through ``close``."""
    from o2ctl.sdk import connect

    client = connect(
        num_cpus=2,
        state_dir=str(state),
        settings={"log_dir": str(state / "logs"), "kill_grace_s": 2.0},
    )
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    return client


def close(client: Any | None) -> None:
    """Every environment and idle task ended, Ray left, no process of this run alive."""
    import ray

    if client is not None:
        try:
            client.shutdown()
        except Exception as exc:  # Ray itself may be gone: still end every process
            say(f"shutdown of the control system failed: {exc}")
    ray.shutdown()
    killed = _wait_for_no_leftovers(15.0)
    if killed:
        say("killed processes left behind: " + "; ".join(killed))


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _wait_for_no_leftovers(timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    while leftovers() and time.monotonic() < deadline:
        time.sleep(0.2)
    return kill_leftovers()
