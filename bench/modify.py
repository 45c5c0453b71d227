"""Modify: add k tasks to a RUNNING environment of N, against a deploy of k tasks.

What flows through: an environment of N tasks (sampler, N - 2 processors, sink) is
started; ``env.modify(vars=...)`` raises ``nProcessors`` by k (the SDK's handle → the
controller → the environment actor, which re-expands the workflow, diffs it against the
running tree and brings the k new processors to RUNNING, wired to the running sampler and
sink, with the run's own number); then lowers it back by k (the k tasks go to the idle
pool), adds them again (now from the pool) and removes them again. Timed: each SDK call
until it returns. Checked after each: N + k (or N) tasks, all RUNNING, the same run
number, and the N tasks that were there keep their processes (no redeploy).

Floor, measured in the same run beside the running environment: a cold deploy of an
environment of k tasks (``create_environment(auto_configure=False)``), the least that
bringing k new tasks into existence costs; its CONFIGURE + START_ACTIVITY are kept in the
notes, since a modify in RUNNING also brings its tasks to RUNNING.

While ``o2ctl.sdk.Environment.modify`` does not exist (issue 11 in progress), the measure
is reported as not available, not as a failure of the suite.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from bench.common import WORKFLOW, Figure, elapsed, median, say, workflow_vars

MEASURE = "modify add k"
DEFAULT_K = 5
MIN_K = 3  # the floor is an environment of k tasks: sampler, sink, k - 2 processors


def missing() -> str:
    """Why the measure cannot run with this SDK ("" when it can)."""
    from o2ctl.sdk import Environment

    if callable(getattr(Environment, "modify", None)):
        return ""
    return "not available: o2ctl.sdk.Environment.modify does not exist yet (issue 11)"


@dataclass
class Measured:
    k: int
    add_s: list[float] = field(default_factory=list)  # k new processes launched
    add_pool_s: list[float] = field(default_factory=list)  # k tasks from the idle pool
    remove_s: list[float] = field(default_factory=list)
    reused: list[int] = field(default_factory=list)  # of the k pool adds, how many reused
    floor_deploy_s: list[float] = field(default_factory=list)
    floor_running_s: list[float] = field(default_factory=list)  # deploy + CONFIGURE + START


def floor(client: Any, k: int, runs: int, into: Measured) -> None:
    """Cold deploys of a k-task environment, then CONFIGURE and START, then gone."""
    for _ in range(runs):
        client.clean_tasks()
        t0 = time.perf_counter()
        env = client.create_environment(WORKFLOW, vars=workflow_vars(k), auto_configure=False)
        into.floor_deploy_s.append(elapsed(t0))
        env.configure()
        env.start()
        into.floor_running_s.append(elapsed(t0))
        env.stop()
        env.destroy()


def _pids(env: Any) -> dict[str, int]:
    return {t["task_id"]: int(t["pid"]) for t in env.tasks}


def _modify(env: Any, total: int, run: int, kept: dict[str, int]) -> tuple[float, list[Any]]:
    """Modify ``env`` to ``total`` tasks; the time it took and the task table after it."""
    t0 = time.perf_counter()
    env.modify(vars=workflow_vars(total))
    took = elapsed(t0)
    tasks, summary = env.tasks, env.summary()
    states = {t["state"] for t in tasks}
    if len(tasks) != total or states != {"RUNNING"} or summary["state"] != "RUNNING":
        raise RuntimeError(
            f"modify to {total} tasks left {len(tasks)} tasks in {sorted(states)}, "
            f"environment {summary['state']}"
        )
    if summary["run_number"] != run:
        raise RuntimeError(f"modify changed the run number {run} → {summary['run_number']}")
    pids = {t["task_id"]: int(t["pid"]) for t in tasks}
    if any(pids.get(task) != pid for task, pid in kept.items()):
        raise RuntimeError("modify restarted or removed tasks that were already running")
    return took, tasks


def measure(client: Any, env: Any, n: int, k: int, runs: int) -> Measured:
    """``runs`` rounds of +k (launched), -k, +k (from the pool), -k; DEPLOYED in and out."""
    out = Measured(k)
    say(f"N={n}: modify floor, {runs} deploys of {k} tasks")
    floor(client, k, runs, out)
    env.configure()
    env.start()
    run, kept = env.run_number, _pids(env)
    for i in range(runs):
        client.clean_tasks()  # the first add launches new processes, as the floor does
        took, _ = _modify(env, n + k, run, kept)
        out.add_s.append(took)
        out.remove_s.append(_modify(env, n, run, kept)[0])
        took, tasks = _modify(env, n + k, run, kept)
        out.add_pool_s.append(took)
        out.reused.append(sum(1 for t in tasks if t["task_id"] not in kept and t["reused"]))
        _modify(env, n, run, kept)
        say(f"N={n}: modify {i + 1}/{runs}: +{k} in {out.add_s[-1]:.2f}s ({took:.2f}s from pool)")
    client.clean_tasks()
    env.stop()
    env.reset()
    return out


def figure(n: int, m: Measured) -> Figure:
    return Figure(
        MEASURE,
        n,
        "s",
        m.add_s,
        median(m.floor_deploy_s),
        f"deploy of {m.k}",
        notes={
            "k": m.k,
            "from_pool_s": median(m.add_pool_s),
            "remove_s": median(m.remove_s),
            "reused_from_pool": min(m.reused),
            "floor_running_s": median(m.floor_running_s),
            "floor_samples": m.floor_deploy_s,
        },
    )


def main() -> None:
    from bench import deploy
    from bench.common import base_parser, o2ctl_session, repeats_of, sizes_of
    from bench.report import print_table

    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=DEFAULT_K, help="tasks added (at least 3)")
    options = parser.parse_args()
    if options.k < MIN_K:
        parser.error(f"--k {options.k}: at least {MIN_K}")
    repeats = repeats_of(options)
    out: list[Figure] = []
    with o2ctl_session() as client:
        for n in sizes_of(options):
            if why := missing():
                out.append(Figure.unavailable(MEASURE, n, "s", why))
                continue
            env = deploy.create(client, n)
            out.append(figure(n, measure(client, env, n, options.k, repeats.modify)))
            env.destroy()
    print_table(out, "modify")


if __name__ == "__main__":
    main()
