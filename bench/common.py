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


def workflow_vars(n: int) -> dict[str, str]:
    """The user variables of an environment of ``n`` tasks (sampler + processors + sink)."""
    if n < 3:
        raise ValueError(f"an environment of {WORKFLOW} has at least 3 tasks, not {n}")
    return {"nProcessors": str(n - 2)}


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

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def spread(self) -> tuple[float, float]:
        return spread(self.samples)

    @property
    def ratio(self) -> float | None:
        if self.floor is None or self.floor <= 0:
            return None
        return self.median / self.floor

    @property
    def passed(self) -> bool | None:
        if self.limit is None:
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
            "median": self.median,
            "spread": [lo, hi],
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
    """How many times each measure runs (``--quick`` lowers them all)."""

    transitions: int = 7
    deploy_cold: int = 3
    deploy_warm: int = 5
    failure: int = 5
    actor_rounds: int = 21

    @staticmethod
    def of(quick: bool) -> Repeats:
        if quick:
            return Repeats(transitions=3, deploy_cold=2, deploy_warm=3, failure=3, actor_rounds=11)
        return Repeats()

    def cold_at(self, n: int) -> int:
        """Cold deploys (and their floors) cost minutes at N = 200: fewer of them there."""
        return min(self.deploy_cold, 2) if n >= 200 else self.deploy_cold


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="N = 10, 50 and few repeats")
    parser.add_argument("--sizes", default=None, help="environment sizes N (tasks), e.g. 10,50")
    return parser


def sizes_of(options: argparse.Namespace) -> list[int]:
    if options.sizes:
        return [int(s) for s in options.sizes.split(",") if s.strip()]
    return list(QUICK_SIZES if options.quick else FULL_SIZES)


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
    from o2ctl.sdk import connect

    # Ray prints the raylet's warnings on the driver's stdout: keep stdout for results.
    with tempfile.TemporaryDirectory(prefix="o2ctl-bench-") as tmp, redirect_stdout(sys.stderr):
        state = workdir or Path(tmp)
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
        client = connect(
            num_cpus=2,
            state_dir=str(state),
            settings={"log_dir": str(state / "logs"), "kill_grace_s": 2.0},
        )
        say(f"local Ray and controller up in {elapsed(t0):.1f}s")
        # A SIGTERM (Ray's own handler would abort) ends the run through the clean-up below.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        try:
            yield client
        finally:
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
