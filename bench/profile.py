"""Where the time goes: py-spy samples of the control-plane actors during a measure.

What flows through: the worker pids of the environment actor, the controller and one task
actor (from Ray's state API); one ``py-spy record --format raw`` per pid runs while the
measure does, is stopped with SIGINT, and its collapsed stacks are folded into the
functions with the most busy samples (stacks ending in a known wait are left out): by self
time, and, for o2ctl's own functions, inclusive. py-spy cannot tell a thread blocked in C
from a busy one, so the samples give shares, and psutil gives the CPU actually used. The
summary goes to stderr and to ``bench/results/profile-<label>.md``; the raw stacks stay
beside it for a flame graph.

py-spy is in the ``bench`` extra; attaching needs ptrace rights (root, or
``kernel.yama.ptrace_scope = 0``).
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import say
from bench.procs import cpu_s, live_actors
from bench.report import RESULTS
from occ.processes import owned_env

RATE_HZ = 100
TOP = 12
CLASSES = {
    "environment": "Environment",
    "controller": "Controller",
    "task": "Task",
}


def _pyspy() -> str:
    found = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    if not os.path.exists(found):
        raise RuntimeError("py-spy is not installed (pip install -e '.[bench]')")
    return found


def actor_pids(env_id: str) -> dict[str, int]:
    """Role in the control plane → worker pid, for the environment ``env_id``."""
    out: dict[str, int] = {}
    for role, cls in CLASSES.items():
        mine = [a for a in live_actors(cls) if role == "controller" or env_id in (a.name or "")]
        if mine and mine[0].pid:
            out[role] = int(mine[0].pid)
    return out


@contextmanager
def sampling(env: Any, label: str) -> Iterator[None]:
    """Sample the control-plane actors of ``env`` while the body runs."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    pids = actor_pids(env.id)
    cpu0 = {role: cpu_s([pid]) for role, pid in pids.items()}
    running: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
    for role, pid in pids.items():
        raw = RESULTS / f"profile-{label}-{role}.txt"
        argv = [
            _pyspy(),
            "record",
            "--pid",
            str(pid),
            "--rate",
            str(RATE_HZ),
            "--format",
            "raw",
            "--output",
            str(raw),
            "--nonblocking",
        ]
        out = subprocess.DEVNULL
        running[role] = (
            subprocess.Popen(argv, env=owned_env("bench"), stdout=out, stderr=out),
            raw,
        )
    try:
        yield
    finally:
        cpu = {role: cpu_s([pid]) - cpu0[role] for role, pid in pids.items()}
        for proc, _ in running.values():
            proc.send_signal(signal.SIGINT)
        for proc, _ in running.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        text = "\n\n".join(summary(role, raw, cpu[role]) for role, (_, raw) in running.items())
        (RESULTS / f"profile-{label}.md").write_text(text + "\n")
        say(f"profile written to {RESULTS / f'profile-{label}.md'}:\n{text}")


IDLE = ("Worker.main_loop", "EpollSelector.select", "Condition.wait", "Event.wait")
"""Leaves that are a thread waiting (in C, where py-spy cannot tell idle from busy)."""
OWN = ("(actors/", "(occ/", "(o2ctl/", "/actors/", "/occ/", "/o2ctl/")


def fold(raw: Path) -> tuple[Counter[str], Counter[str], int]:
    """(self samples, inclusive samples of o2ctl's own functions, total) of the busy
    stacks in a py-spy raw file (one ``frame;frame;… count`` per line)."""
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines() if raw.exists() else []:
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not stack or not count.isdigit() or frames[-1].startswith(IDLE):
            continue
        n = int(count)
        total += n
        own[_short(frames[-1])] += n
        for f in {_short(f) for f in frames if any(d in f for d in OWN)}:
            incl[f] += n
    return own, incl, total


def _short(frame: str) -> str:
    """``func (path/to/module.py:12)`` → ``func (module.py)``."""
    name, _, where = frame.partition(" (")
    return f"{name} ({os.path.basename(where.rstrip(')').rpartition(':')[0] or where)})"


def summary(role: str, raw: Path, cpu: float) -> str:
    own, incl, total = fold(raw)
    if not total:
        return f"### {role}: no busy samples (CPU used {cpu:.2f} s)"
    lines = [
        f"### {role}: CPU used {cpu:.2f} s (psutil); shares of {total} busy py-spy samples",
        "| self % | function | inclusive % | o2ctl function |",
        "|---:|---|---:|---|",
    ]
    tops = itertools.zip_longest(own.most_common(TOP), incl.most_common(TOP), fillvalue=("", 0))
    for (f1, n1), (f2, n2) in tops:
        lines.append(f"| {n1 / total:.0%} | {f1} | {n2 / total:.0%} | {f2} |")
    return "\n".join(lines)
