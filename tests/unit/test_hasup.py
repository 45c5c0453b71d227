"""``up --ha``'s own Redis: started durable under the state directory, found and ended by
``down`` by its data directory (Redis rewrites its environment, so no mark survives).

A real ``redis-server`` (skips, naming it, when Debian's is missing); no Ray.
"""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from o2ctl.cli import hastore, hasup
from o2ctl.config.records import open_record_store
from o2ctl.core.errors import ControlError


def test_our_redis_is_durable_refuses_a_taken_port_and_down_ends_it(tmp_path: Path) -> None:
    if hastore.redis_binary() is None:
        pytest.skip("redis-server not installed (Debian's redis-server; see .ci/packages)")
    port = hastore.free_port()
    pid = hasup.start_store(tmp_path, port, "sys1")
    try:
        env = hasup.ray_env(f"127.0.0.1:{port}", "sys1")
        assert env["RAY_REDIS_ADDRESS"] == f"127.0.0.1:{port}"
        assert env["RAY_external_storage_namespace"] == "o2ctl-sys1"
        records = open_record_store(env["O2CTL_RUNTIME_STORE"])
        records.put("nodes", "flp1", {"mode": "sync"})  # refused unless appendfsync always
        assert (tmp_path / "redis" / "appendonlydir").is_dir()
        with pytest.raises(ControlError, match="already answers"):
            hasup.start_store(tmp_path, port, "sys1")
    finally:
        ended = hasup.stop_store(tmp_path)
    assert ended == [pid]
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not hastore.answers(port)
