"""The supervisor of ``up --ha``: what it watches is started again, and nothing is left.

Real processes: the supervisor runs as its own process (as ``up --ha`` runs it) over a real
``redis-server`` (adopted, as the Redis ``up`` started) and a plain child; each is
SIGKILLed and must come back with a new pid, Redis with every record it acknowledged.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from o2ctl.cli.hastore import redis_command, wait_answers
from o2ctl.cli.supervise import Child, Supervisor, read_status
from o2ctl.config.records import open_record_store
from occ.processes import owned_env
from tests.conftest import wait_for
from tests.redisserver import RedisServer

DEADLINE_S = 30.0  # a restart takes ~0.1 s alone; the machine is shared with other Rays


def test_each_child_killed_comes_back_and_redis_keeps_its_records(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path / "redis").start()
    assert redis.proc is not None
    sleeper = subprocess.Popen(["sleep", "600"], env=owned_env("test-sleeper"))
    spec = [
        {"name": "redis", "pid": redis.proc.pid,
         "argv": redis_command(redis.binary, redis.port, redis.data_dir)},
        {"name": "sleeper", "pid": sleeper.pid, "argv": ["sleep", "600"]},
    ]  # fmt: skip
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    sup = subprocess.Popen(
        [sys.executable, "-m", "o2ctl.cli.supervise", str(tmp_path / "spec.json")],
        env=owned_env("test-supervisor"),
    )
    records = open_record_store(redis.uri())
    try:
        wait_for(lambda: read_status(tmp_path), DEADLINE_S, "the supervisor's status")
        records.put("environments", "e1", {"state": "RUNNING", "run": 7})
        redis.proc.kill()
        redis.proc.wait()
        sleeper.kill()
        sleeper.wait()
        status = wait_for(
            lambda: (
                (s := read_status(tmp_path))
                and all(c["restarts"] == 1 and c["state"] == "running" for c in s.values())
                and s
            ),
            DEADLINE_S,
            "both children started again",
        )
        assert isinstance(status, dict)
        assert status["redis"]["pid"] != redis.proc.pid
        assert status["sleeper"]["pid"] != sleeper.pid
        assert wait_answers(redis.port, DEADLINE_S)
        assert records.get("environments", "e1") == {"state": "RUNNING", "run": 7}
        assert "redis (pid" in (tmp_path / "supervisor.log").read_text()
    finally:
        sup.send_signal(signal.SIGTERM)
        assert sup.wait(timeout=DEADLINE_S) == 0
        for child in read_status(tmp_path).values():  # down's job: the supervisor leaves them
            if child["pid"]:
                with_pid = psutil.Process(child["pid"]) if psutil.pid_exists(child["pid"]) else None
                if with_pid is not None:
                    with_pid.kill()
                    with_pid.wait(10)
        redis.proc = None


def test_a_child_that_keeps_dying_is_paused_and_said_restarting(tmp_path: Path) -> None:
    child = Child(name="flaky", argv=["false"], pid=None)
    child.state = "running"
    supervisor = Supervisor([child], tmp_path)
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        supervisor.step()
        time.sleep(0.02)
    wait_for(lambda: child._proc is None or child._proc.poll() is not None, 10, "the last try")
    supervisor.step()
    assert 2 <= child.restarts <= 5, child.restarts  # 0.25, 0.5, 1 s pauses: never a busy loop
    assert read_status(tmp_path)["flaky"]["state"] == "restarting"
    assert os.path.getsize(tmp_path / "supervisor.log") > 0


def test_a_oneshot_start_never_blocks_the_others(tmp_path: Path) -> None:
    """Like the head's raylet (``ray start`` returns, leaving the raylet): the new process is
    found by its command line; while its start runs, the other children are still seen to."""
    spawn = "import subprocess; subprocess.Popen(['sleep', '600.25'], start_new_session=True)"
    first = subprocess.Popen(["sleep", "600.25"], start_new_session=True)
    slow = [sys.executable, "-c", f"import time; {spawn}; time.sleep(3)"]
    node = Child(name="node", argv=slow, pid=first.pid, oneshot=True, match="sleep 600.25",
                 match_name="sleep")  # fmt: skip
    other = Child(name="other", argv=["sleep", "600.5"], pid=None, state="restarting")
    supervisor = Supervisor([node, other], tmp_path)
    found: list[int] = []
    try:
        first.kill()
        first.wait()
        supervisor.step()
        assert node.state == "restarting" and node._launcher is not None
        assert other.state == "running"  # started in the same pass, not after the oneshot
        wait_for(lambda: supervisor.step() or node.state == "running", DEADLINE_S, "the node")
        assert node.pid != first.pid and psutil.Process(node.pid).name() == "sleep"
        found = [node.pid or 0, other.pid or 0]
        assert read_status(tmp_path)["node"]["restarts"] == 1
    finally:
        for pid in found:
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).kill()
        if other._proc is not None:
            other._proc.kill()
            other._proc.wait()
