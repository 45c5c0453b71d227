"""The pilot logic with real processes and no Ray: launch, jobs, restart, re-adopt, stop.

Each test runs the demo pilot (``o2ctl-pilot``, short jobs) through ``PilotProcess``; the
processes carry the pilot's owner mark, so the test checks "nothing left" the way an
operator would, by the mark and by the process group.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import psutil

from actors.pilotjob import PilotProcess, group_left, marked_left, pilot_owner

PILOT = os.path.join(os.path.dirname(sys.executable), "o2ctl-pilot")


async def until(cond: object, timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = cond() if callable(cond) else cond
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}")
        await asyncio.sleep(0.05)


def pilots(machine_id: str) -> list[int]:
    """The pilot processes (not their jobs) alive with this node's mark."""
    out = []
    for pid in marked_left(pilot_owner(machine_id)):
        try:
            if "o2ctl-pilot" in " ".join(psutil.Process(pid).cmdline()):
                out.append(pid)
        except psutil.Error:
            continue
    return out


def pilot(tmp_path: Path, machine_id: str, *args: str) -> PilotProcess:
    return PilotProcess(machine_id, [PILOT, "--job-seconds", "0.4", *args], str(tmp_path))


async def test_runs_jobs_reports_them_and_stops_with_its_children(tmp_path: Path) -> None:
    p = pilot(tmp_path, "pp-run")
    st = await p.start()
    assert st["state"] == "running" and st["pid"] and st["since"]
    assert psutil.Process(st["pid"]).create_time() == st["since"]
    await until(lambda: (p.status()["jobs"] or 0) >= 2, 10, "two jobs done")
    assert len(group_left(st["pid"])) == 2, "the pilot and its running job"
    assert (await p.start())["pid"] == st["pid"], "start is idempotent"
    t0 = time.monotonic()
    done = await p.stop(grace_s=5)
    assert time.monotonic() - t0 < 2, "the demo pilot ends on SIGTERM"
    assert done["state"] == "stopped" and done["pid"] is None
    assert not marked_left(pilot_owner("pp-run")) and not group_left(st["pid"])
    assert [e["what"] for e in done["events"]] == ["started", "stopped"]
    assert done["events"][-1]["how"] == "SIGTERM"
    record = json.loads((tmp_path / "pp-run.json").read_text())
    assert record["wanted"] == "stopped" and record["pid"] == 0
    assert "job 1 done" in (tmp_path / "pp-run.log").read_text()


async def test_a_stubborn_pilot_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    p = pilot(tmp_path, "pp-stubborn", "--stubborn", "--job-seconds", "30")
    st = await p.start()
    await until(lambda: len(group_left(st["pid"])) == 2, 10, "the pilot's first job")
    t0 = time.monotonic()
    done = await p.stop(grace_s=1.0)
    took = time.monotonic() - t0
    assert 1.0 <= took < 2.0, took
    assert done["events"][-1]["how"] == "SIGKILL"
    assert not marked_left(pilot_owner("pp-stubborn"))


async def test_a_dead_pilot_is_restarted_and_the_restart_is_an_event(tmp_path: Path) -> None:
    p = pilot(tmp_path, "pp-crash")
    first = (await p.start())["pid"]
    os.kill(first, signal.SIGKILL)
    await until(lambda: p.status()["pid"] not in (None, first), 10, "a new pilot")
    st = p.status()
    assert st["restarts"] == 1 and st["state"] == "running"
    died, restarted = st["events"][-2:]
    assert died["what"] == "died" and died["how"] == "killed by SIGKILL"
    assert restarted["what"] == "restarted" and restarted["old_pid"] == first
    assert pilots("pp-crash") == [st["pid"]]
    await p.stop(grace_s=2)
    assert not marked_left(pilot_owner("pp-crash"))


async def test_a_new_incarnation_adopts_the_running_pilot(tmp_path: Path) -> None:
    old = pilot(tmp_path, "pp-adopt")
    pid = (await old.start())["pid"]
    old._watch.cancel()  # type: ignore[union-attr]  # the actor died: nobody watches
    new = pilot(tmp_path, "pp-adopt")
    await new.resume()
    st = new.status()
    assert st["pid"] == pid and st["state"] == "running"
    assert st["events"][-1] == {**st["events"][-1], "what": "adopted", "pid": pid}
    assert pilots("pp-adopt") == [pid], "adopted, not duplicated"
    await until(lambda: (new.status()["jobs"] or 0) >= 1, 10, "jobs seen by the adopter")
    os.kill(pid, signal.SIGKILL)  # an adopted pilot is watched too (not our child)
    await until(lambda: new.status()["pid"] not in (None, pid), 10, "the adopter's restart")
    assert new.status()["restarts"] == 1
    await new.stop(grace_s=2)
    assert not marked_left(pilot_owner("pp-adopt"))


async def test_resume_finishes_an_interrupted_stop_and_starts_a_lost_pilot(tmp_path: Path) -> None:
    p = pilot(tmp_path, "pp-resume")
    pid = (await p.start())["pid"]
    p._watch.cancel()  # type: ignore[union-attr]
    p.wanted = "stopped"
    await p._write_record()  # the actor died right after recording the stop
    await pilot(tmp_path, "pp-resume").resume()
    assert not marked_left(pilot_owner("pp-resume")) and not psutil.pid_exists(pid)

    lost = pilot(tmp_path, "pp-resume")
    await lost.start()
    lost._watch.cancel()  # type: ignore[union-attr]
    await lost.stop(grace_s=1)
    lost.wanted = "running"
    await lost._write_record()  # wanted running, but nothing runs
    again = pilot(tmp_path, "pp-resume")
    await again.resume()
    st = again.status()
    assert st["state"] == "running" and st["restarts"] == 1
    assert [e["what"] for e in st["events"]] == ["gone", "restarted"]
    await again.stop(grace_s=2)


async def test_a_command_that_cannot_start_fails_visibly(tmp_path: Path) -> None:
    p = PilotProcess("pp-bad", [str(tmp_path / "no-such-pilot")], str(tmp_path))
    st = await p.start()
    assert st["state"] == "failed" and "cannot start" in st["error"]
    assert (await p.stop(grace_s=1))["state"] == "stopped"


async def test_a_pilot_that_keeps_dying_is_restarted_with_back_off(tmp_path: Path) -> None:
    p = PilotProcess("pp-dies", ["/bin/sh", "-c", "exit 3"], str(tmp_path))
    await p.start()
    await until(lambda: p.status()["restarts"] >= 2, 10, "two restarts")
    died = [e for e in p.status()["events"] if e["what"] == "died"]
    assert died[0]["how"] == "exited with code 3"
    assert died[1]["restart_in"] > died[0]["restart_in"], "it backs off"
    assert (await p.stop(grace_s=1))["state"] == "stopped"
    watch = p._watch
    assert watch is not None
    await until(watch.done, 2, "the watch to end: nothing restarts the pilot any more")
