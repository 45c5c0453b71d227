"""What Ray says about the cluster, turned into the pure core's ``NodeInfo``.

Node attributes come from Ray node labels (``machine_id``, ``machine_type``,
``node_class``); ``machine_id`` defaults to the node's host name and ``node_class`` to
``sync``. ``ray.nodes()`` is a blocking GCS call: it runs in a thread, and its answer is
cached for a few seconds.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import ray

from o2ctl.core.placement import HEAD_LABEL, NodeInfo

ATTRIBUTE_LABELS = ("machine_id", "machine_type", "node_class")


def node_info(raw: dict[str, Any]) -> NodeInfo:
    labels = raw.get("Labels") or {}
    attrs = {k: str(v) for k, v in labels.items() if k in ATTRIBUTE_LABELS}
    hostname = attrs.get("machine_id") or raw.get("NodeManagerHostname") or "localhost"
    return NodeInfo(
        node_id=raw["NodeID"],
        hostname=hostname,
        ip=raw.get("NodeManagerAddress", "127.0.0.1"),
        attributes=attrs,
        alive=bool(raw.get("Alive", raw.get("alive", False))),
    )


class NodeCache:
    def __init__(self, max_age_s: float = 5.0) -> None:
        self.max_age_s = max_age_s
        self._nodes: dict[str, NodeInfo] = {}
        self._at = 0.0

    async def get(self, fresh: bool = False) -> dict[str, NodeInfo]:
        if fresh or time.monotonic() - self._at > self.max_age_s:
            raw = await asyncio.to_thread(ray.nodes)
            self._nodes = {n.node_id: n for n in map(node_info, raw)}
            self._at = time.monotonic()
        return self._nodes


def port_is_free(port: int) -> bool:
    """Whether a TCP port can be bound on this host right now (by a server that sets
    SO_REUSEADDR, as gRPC does: connections lingering in TIME_WAIT do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def pinned(node_id: str) -> Any:
    """A scheduling strategy keeping an actor or task on ``node_id`` (the default one if
    empty); one that may move when its node is lost: ``home_options``."""
    if not node_id:
        return "DEFAULT"
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return NodeAffinitySchedulingStrategy(node_id, soft=False)


NODE_ID_LABEL = "ray.io/node-id"  # a label Ray gives every node: its own id


def home_options(
    node_id: str, restartable: bool = False, avoid_head: bool = False
) -> dict[str, Any]:
    """Actor options keeping an actor on ``node_id`` (the default node if empty). With
    ``restartable``: there while that node lives, and restarted by Ray on another when it
    is lost (a node other than the head first, with ``avoid_head``): Ray's label selector
    on the node's own id, with fallbacks. (Ray's soft node affinity, tried first, put such
    0-CPU actors on other nodes from the start while theirs was busy starting workers.)"""
    if not node_id or not restartable:
        return {"scheduling_strategy": pinned(node_id)}
    fallbacks: list[dict[str, Any]] = [{"label_selector": {}}]
    if avoid_head:
        fallbacks.insert(0, {"label_selector": {HEAD_LABEL: "!1"}})
    return {"label_selector": {NODE_ID_LABEL: node_id}, "fallback_strategy": fallbacks}


def survives_head(records_uri: str | None) -> bool:
    """Whether the control plane's records are where every node reaches them (``up --ha``:
    Redis): then its actors may be restarted by Ray on another node when theirs is lost
    (``home_options``), and they rebuild from those records."""
    return bool(records_uri) and str(records_uri).startswith("redis://")
