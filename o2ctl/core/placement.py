"""Which node a task runs on: constraints against node attributes.

Nodes carry attributes (AliECS's Mesos attributes): ``machine_id`` (the host name unless a
label says otherwise), ``machine_type``, and our ``node_class`` (``sync`` runs control-system
tasks, ``async`` runs pilot jobs and is only borrowed). A task may go to a node when every
constraint of its role and template holds there. Among the nodes that fit, the least
loaded sync node wins, so tasks spread evenly. Pure functions: the controller feeds them
what Ray reports about the cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol


class ConstraintLike(Protocol):
    @property
    def attribute(self) -> str: ...

    @property
    def value(self) -> str: ...


@dataclass(frozen=True)
class NodeInfo:
    node_id: str
    hostname: str
    ip: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    alive: bool = True

    @property
    def node_class(self) -> str:
        return self.attributes.get("node_class", "sync")

    def attribute(self, name: str) -> str | None:
        if name in self.attributes:
            return self.attributes[name]
        if name in ("machine_id", "hostname"):
            return self.hostname
        return None


HEAD_LABEL = "o2ctl_head"
"""The label ``up --ha`` gives the head (and a raylet joined in its place): a node whose
loss the run must survive, so no task goes there while another node fits."""


class PlacementError(RuntimeError):
    """No node satisfies a task's constraints."""


def satisfies(node: NodeInfo, constraints: Iterable[ConstraintLike]) -> bool:
    return all(node.attribute(c.attribute) == str(c.value) for c in constraints)


def choose_node(
    what: str,
    constraints: Sequence[ConstraintLike],
    nodes: Sequence[NodeInfo],
    load: Mapping[str, int] | None = None,
    node_class: str = "sync",
) -> NodeInfo:
    """The node for ``what`` (a role path), or a PlacementError saying why none fits."""
    load = load or {}
    fitting = [
        n for n in nodes if n.alive and n.node_class == node_class and satisfies(n, constraints)
    ]
    if not fitting:
        wanted = ", ".join(f"{c.attribute}={c.value}" for c in constraints) or "no constraints"
        have = "; ".join(
            f"{n.hostname}({n.node_class}{', dead' if not n.alive else ''})" for n in nodes
        )
        raise PlacementError(
            f"no {node_class} node for {what}: wants {wanted}; nodes: {have or 'none'}"
        )
    off_head = [n for n in fitting if n.attribute(HEAD_LABEL) != "1"] or fitting
    return min(off_head, key=lambda n: (load.get(n.node_id, 0), n.hostname, n.node_id))
