"""A development farm from the CLI, as the README's "Farm" section has a user try it.

``o2ctl up --nodes …`` starts a Ray of its own (free ports, beside the test session's) with
one extra labelled node per entry; node commands run as separate processes against it;
``o2ctl down`` stops the head, the extra nodes and the pilots. ``up`` tells how to sign in
to the dashboard, and the test follows that instruction.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from typing import Any

import psutil
import pytest

from o2ctl.cli.devfarm import token_auth
from tests.conftest import wait_for
from tests.e2e.conftest import O2CTL, free_port

pytestmark = pytest.mark.ray


def ray_processes(port: int, session: str) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        line = " ".join(p.info["cmdline"] or [])
        if f"--gcs_server_port={port}" in line or (session and session in line):
            found.append(p)
    return found


def pilots(machine_id: str, jobs: bool = False) -> list[int]:
    """The pilot processes of ``machine_id`` (with ``jobs``: its jobs too)."""
    out = []
    for p in psutil.process_iter(["pid"]):
        try:
            ours = p.environ().get("O2CTL_OWNER") == f"o2ctl-pilot/{machine_id}"
            if ours and (jobs or "o2ctl-pilot" in " ".join(p.cmdline())):
                out.append(p.pid)
        except psutil.Error:
            continue
    return out


def dashboard(url: str, token: str | None = None) -> int:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


@pytest.mark.timeout(600)
def test_up_with_nodes_assign_and_down(cli: Any, tmp_path: Any) -> None:
    port, dash = free_port(6500), free_port(8500)
    tag = f"{int(time.time() * 1000) % 100000}"
    flp, epn = f"flp{tag}", f"epn{tag}"
    nodes = f"{flp}:sync,{epn}:async"
    up = cli(
        "up",
        "--port",
        str(port),
        "--dashboard-port",
        str(dash),
        "--num-cpus",
        "1",
        "--api-port",
        "-1",
        "--nodes",
        nodes,
    ).stdout
    assert f"farm nodes: {flp} (sync), {epn} (async)" in up
    session = json.loads((tmp_path / "state" / "cluster.json").read_text())["session"]
    assert session

    def listed() -> dict[str, Any]:
        return {r["machine_id"]: r for r in json.loads(cli("node", "list", "-o", "json").stdout)}

    rows = wait_for(
        lambda: (r := listed()) and (r.get(epn) or {}).get("pilot") and r, 30, "the pilot"
    )
    assert len(rows) == 3 and rows[flp]["node_class"] == "sync" and rows[flp]["pilot"] is None  # type: ignore[arg-type]
    assert rows[epn]["labels"] == {"machine_id": epn, "node_class": "async"}  # type: ignore[index]
    assert pilots(epn) == [rows[epn]["pilot"]["pid"]]  # type: ignore[index]
    text = cli("node", "list").stdout
    assert re.search(rf"{epn}\s+async\s+yes", text) and "pid " in text

    back = cli("node", "assign", epn, "sync", "--grace", "2").stdout
    assert back.startswith(f"{epn} is sync: SIGTERM") and not pilots(epn, jobs=True)
    again = json.loads(cli("node", "assign", epn, "async", "-o", "json").stdout)
    assert again["node_class"] == "async" and pilots(epn) == [again["pilot"]["pid"]]
    refused = cli("node", "assign", epn, "gpu", expect=2)
    assert "'gpu' is not one of 'sync', 'async'" in refused.stderr

    url = f"http://127.0.0.1:{dash}/api/cluster_status"
    if token_auth():
        assert "`" in up and "get-auth-token` prints" in up
        command = re.search(r"paste what `([^`]+)` prints", up)
        assert command, up
        assert dashboard(url) == 401, "without the token the dashboard refuses"
        token = subprocess.run(command.group(1).split(), capture_output=True, text=True, check=True)
        assert dashboard(url, token.stdout.strip()) == 200, "with it, it answers"
    else:
        assert f"Ray dashboard at http://127.0.0.1:{dash}" in up and dashboard(url) == 200

    down = cli("down").stdout
    assert "stopped" in down
    assert not ray_processes(port, session), "head, extra nodes and their agents are gone"
    assert not pilots(epn, jobs=True), "the pilot outlived Ray"


def test_bad_nodes_are_a_usage_error_and_start_nothing(cli: Any, tmp_path: Any) -> None:
    for bad, said in (
        ("flp1:gpu", "--nodes mode of flp1 is 'gpu': expected sync or async"),
        ("flp1,flp1", "--nodes names flp1 twice"),
        ("../x", "--nodes entry '../x': expected MACHINE_ID"),
    ):
        got = cli("up", "--nodes", bad, expect=2)
        assert said in got.stderr, got.stderr
    assert not (tmp_path / "state" / "cluster.json").exists()


@pytest.mark.timeout(600)
def test_demo_on_a_private_farm_shows_where_each_task_runs(tmp_path: Any) -> None:
    proc = subprocess.run(
        [
            O2CTL,
            "demo",
            "--nodes",
            "dflp1:sync,dflp2:sync,depn1:async",
            "-n",
            "2",
            "--seconds",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp_path,
    )
    said = proc.stdout + proc.stderr
    assert re.search(r"node depn1\s+async\s+pilot pid \d+ running", said), said
    hosts = re.findall(r"→ node (\S+)", said)
    assert len(hosts) == 4 and "depn1" not in hosts and {"dflp1", "dflp2"} <= set(hosts)
    assert "node depn1 reclaimed: pilot ended by SIGTERM" in said
    assert proc.returncode == 0, said
