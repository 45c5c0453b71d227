"""Head node lost → environment usable again: SIGKILL the head's ``gcs_server`` (and its
raylet) during RUNNING on ``o2ctl up --ha --nodes flp1:sync,flp2:sync``, time until a
STOP_ACTIVITY then a START_ACTIVITY succeed (issue 21).

What flows through: a system of its own (``o2ctl up --ha`` in a private state directory on
free ports: a Redis, the supervisor, a Ray head and two farm nodes), an environment of N
tasks in RUNNING driven through the CLI (each call a process, as an operator's: a driver
that outlived the GCS is not what is measured). One kind of loss at a time, each ``runs``
times:

* ``gcs``: the head's ``gcs_server`` alone (the supervisor starts it again; the GCS reloads
  from Redis, the raylets reconnect);
* ``head``: ``gcs_server`` and the head's raylet together (a new raylet joins; the actors
  that were on the head are restarted by Ray and rebuild from the records in Redis).

The clock runs from the kill until ``env list`` answers with the environment RUNNING
(milestone ``back``), then STOP_ACTIVITY (``stopped``) and START_ACTIVITY: the sample is the
moment START_ACTIVITY returns with a new run. The devices must keep their PIDs: a change is
an error, not a figure. The target is absolute: ≤ 20 s (the raylets' window is 60 s).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import Figure, median, say

KINDS = {"gcs": ("gcs_server",), "head": ("gcs_server", "raylet")}
MEASURE = {"gcs": "crash head gcs→usable", "head": "crash head gcs+raylet→usable"}
TARGET_MS = 20_000.0
WINDOW_S = 60.0
O2CTL = os.path.join(os.path.dirname(sys.executable), "o2ctl")


class System:
    """``o2ctl up --ha --nodes …`` in a private state directory; ``close`` is ``down``."""

    def __init__(self, state: Path, nodes: str) -> None:
        self.state = state
        self.env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
        self.env["O2CTL_STATE_DIR"] = str(state)
        self("up", "--ha", "--port", str(free_port()), "--dashboard-port", str(free_port()),
             "--num-cpus", "1", "--api-port", "-1", "--nodes", nodes)  # fmt: skip

    def __call__(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run([O2CTL, *args], env=self.env, capture_output=True, text=True,
                              timeout=600, check=False)  # fmt: skip
        if check and proc.returncode != 0:
            raise RuntimeError(f"o2ctl {' '.join(args)}: {proc.stderr.strip()[-400:]}")
        return proc.stdout if proc.returncode == 0 else ""

    def json(self, *args: str, check: bool = True) -> Any:
        out = self(*args, "-o", "json", check=check)
        return json.loads(out) if out else None

    def head(self) -> dict[str, Any]:
        """What the supervisor of ``up --ha`` says it watches (its ``status.json``)."""
        status: dict[str, Any] = json.loads((self.state / "ha" / "status.json").read_text())
        return status

    def close(self) -> None:
        self("down", check=False)


def _devices(system: System, env_id: str) -> dict[str, int]:
    shown = system.json("env", "show", env_id, "--tasks")
    return {t["task_id"]: int(t["pid"]) for t in shown["tasks"]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def one_loss(system: System, env_id: str, kind: str) -> dict[str, float]:
    before, run = _devices(system, env_id), system.json("env", "show", env_id)["summary"]
    head = system.head()
    t0 = time.perf_counter()
    for name in KINDS[kind]:
        os.kill(head[name]["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 2 * WINDOW_S
    while [(e["env_id"], e["state"]) for e in system.json("env", "list", check=False) or []] != [
        (env_id, "RUNNING")
    ]:
        if time.monotonic() > deadline:
            raise RuntimeError(f"after losing {kind}, {env_id} not back in {2 * WINDOW_S:.0f}s")
        time.sleep(0.2)
    marks = {"back_ms": (time.perf_counter() - t0) * 1e3}
    if _devices(system, env_id) != before:
        raise RuntimeError(f"losing the head ({kind}) changed device processes of {env_id}")
    system("env", "control", env_id, "-e", "STOP_ACTIVITY")
    marks["stopped_ms"] = (time.perf_counter() - t0) * 1e3
    system("env", "control", env_id, "-e", "START_ACTIVITY")
    marks["usable_ms"] = (time.perf_counter() - t0) * 1e3
    after = system.json("env", "show", env_id)["summary"]["run_number"]
    if not after > run["run_number"]:
        raise RuntimeError(f"START_ACTIVITY after losing the head gave run {after}")
    return marks


def measure(n: int, runs: int, nodes: str = "flp1:sync,flp2:sync") -> list[Figure]:
    """``runs`` losses of each kind on an environment of ``n`` tasks; the system is gone
    after, and ``doctor`` must be clean."""
    out: dict[str, list[dict[str, float]]] = {k: [] for k in KINDS}
    with tempfile.TemporaryDirectory(prefix="o2ctl-bench-ha-") as tmp:
        system = System(Path(tmp) / "state", nodes)
        try:
            made = system.json("env", "create", "-w", "sampler-processors-sink",
                               "-e", f"nProcessors={max(1, n - 2)}")  # fmt: skip
            system("env", "control", made["env_id"], "-e", "START_ACTIVITY")
            for kind in KINDS:
                for i in range(runs):
                    marks = one_loss(system, made["env_id"], kind)
                    out[kind].append(marks)
                    say(f"head loss {kind} {i + 1}/{runs}: usable after {marks['usable_ms']:.0f}ms"
                        f" (load {os.getloadavg()[0]:.1f})")  # fmt: skip
            if (doctor := system.json("doctor", check=False)) is None or doctor["count"]:
                raise RuntimeError(f"doctor after the head losses: {doctor}")
        finally:
            system.close()
    return figures(n, out)


def figures(n: int, runs: dict[str, list[dict[str, float]]]) -> list[Figure]:
    out = []
    for kind, marks in runs.items():
        notes = {k: median([m[k] for m in marks]) for k in ("back_ms", "stopped_ms")}
        notes["window_ms"] = WINDOW_S * 1e3
        samples = [m["usable_ms"] for m in marks]
        out.append(Figure(MEASURE[kind], n, "ms", samples, limit=TARGET_MS, absolute=True,
                          notes=notes))  # fmt: skip
    return out


def main() -> None:
    from bench.report import print_table

    for figure in (found := measure(int(os.environ.get("HEADLOSS_N", "4")), 1)):
        say(f"{figure.measure}: {median(figure.samples):.0f} ms")
    print_table(found, "headloss")


if __name__ == "__main__":
    main()
