"""The farm, as placement sees it: nodes with a mode and a capacity, and where a task fits.

O² is a farm: readout nodes (FLPs) that always serve data taking and processing nodes
(EPNs) that serve either synchronous processing or, between fills, asynchronous grid work
under a pilot job. Every node is a ``FarmNode``: its ``machine_id`` (the host name unless a
label says otherwise), its Ray ``node_id``, its ``ip`` (the *physical host*: several Ray
nodes on one machine share it, so ports are allocated per ``ip``), its labels, whether it
is alive, its **mode** (``sync`` or ``async``: a node's mode starts from its ``node_class``
label and is then owned by the controller) and its total cpu (cores) and memory (MB).

A task asks for a node with a ``Request``: its role path and task class, the constraints
of its role and template, and what its template ``wants`` (cpu, memory). ``place`` answers
a node per request, all or nothing: only alive sync nodes whose attributes satisfy every
constraint and whose free capacity (total minus what is already placed there, ``Usage``)
covers the wants; among those the least loaded wins, so tasks spread. When nothing fits,
one ``NoNodeFits`` names the role, what it wants and each node with the reason it was
refused, and the async nodes that would fit (a deploy may reclaim one of them). Pure
functions over frozen values: the controller feeds them what Ray reports.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from o2ctl.core.errors import ControlError
from o2ctl.core.placement import HEAD_LABEL, PlacementError

EPSILON = 1e-9
MAX_WANT = 1e9  # a bound on cpu cores and memory MB a template may ask for
NAMES_PER_REASON = 8  # nodes named per refusal reason in a message (a farm has hundreds)


class Mode(StrEnum):
    SYNC = "sync"
    ASYNC = "async"


class FarmError(ControlError):
    """A bad mode, label or resource request."""


def parse_mode(value: object, what: str = "mode") -> Mode:
    text = str(value).strip().lower()
    try:
        return Mode(text)
    except ValueError:
        raise FarmError(f"{what} is {str(value)[:40]!r}: expected sync or async") from None


def initial_mode(labels: Mapping[str, str]) -> Mode:
    """A node's mode before the controller ever assigned it: its ``node_class`` label."""
    return parse_mode(labels.get("node_class") or "sync", "node_class label")


@dataclass(frozen=True)
class Constraint:
    """The node attribute must equal ``value`` (operator ``equals``) or merely exist."""

    attribute: str
    value: str = ""
    operator: str = "equals"

    def holds(self, node: FarmNode) -> bool:
        have = node.attribute(self.attribute)
        return have is not None if self.operator == "exists" else have == self.value

    def describe(self) -> str:
        if self.operator == "exists":
            return f"{self.attribute} exists"
        return f"{self.attribute}={self.value}"


@dataclass(frozen=True)
class FarmNode:
    machine_id: str
    node_id: str
    ip: str
    labels: Mapping[str, str] = field(default_factory=dict)
    alive: bool = True
    mode: Mode = Mode.SYNC
    cpu: float = 0.0  # cores in total
    memory: float = 0.0  # MB in total
    max_tasks: int = 0  # a site limit on tasks per node (0: none)

    @property
    def host(self) -> str:
        """The physical host: the key for port allocation."""
        return self.ip

    def attribute(self, name: str) -> str | None:
        if name == "node_class":
            return self.mode.value  # the current mode, not the label it started from
        if name in self.labels:
            return str(self.labels[name])
        if name in ("machine_id", "hostname"):
            return self.machine_id
        return None

    def with_mode(self, mode: Mode) -> FarmNode:
        return replace(self, mode=mode)


@dataclass(frozen=True)
class Request:
    role_path: str
    task_class: str = ""
    constraints: tuple[Constraint, ...] = ()
    cpu: float = 0.0
    memory: float = 0.0  # MB

    def describe(self) -> str:
        parts = [c.describe() for c in self.constraints]
        if self.cpu > 0:
            parts.append(f"cpu {self.cpu:g}")
        if self.memory > 0:
            parts.append(f"memory {self.memory:g} MB")
        return ", ".join(parts) or "nothing in particular"


def _want(wants: Mapping[str, object], key: str, role_path: str) -> float:
    raw = wants.get(key)
    if raw is None:
        return 0.0
    try:
        if isinstance(raw, bool):
            raise ValueError
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = math.nan
    if not 0.0 <= value <= MAX_WANT:
        raise FarmError(
            f"role {role_path}: wants.{key} is {str(raw)[:40]!r}: "
            f"expected a number from 0 to {MAX_WANT:g}"
        )
    return value


def _constraint(item: Any) -> Constraint:
    if isinstance(item, Constraint):
        return item
    if isinstance(item, tuple | list):
        return Constraint(str(item[0]), str(item[1]), *(str(x) for x in item[2:3]))
    return Constraint(
        str(item.attribute), str(item.value), str(getattr(item, "operator", "equals"))
    )


def request(
    role_path: str,
    task_class: str = "",
    constraints: Iterable[Any] = (),
    wants: Mapping[str, object] | None = None,
) -> Request:
    """A ``Request`` from a task's constraints (``(attribute, value)`` pairs, or objects with
    ``attribute``/``value``/``operator``) and its template's ``wants`` (cpu cores, memory MB)."""
    wants = wants or {}
    return Request(
        role_path=role_path,
        task_class=task_class,
        constraints=tuple(_constraint(c) for c in constraints),
        cpu=_want(wants, "cpu", role_path),
        memory=_want(wants, "memory", role_path),
    )


@dataclass(frozen=True)
class Usage:
    """What is placed on one node: tasks, cpu cores and memory MB."""

    tasks: int = 0
    cpu: float = 0.0
    memory: float = 0.0

    def add(self, req: Request) -> Usage:
        return Usage(self.tasks + 1, self.cpu + req.cpu, self.memory + req.memory)


def tally(placed: Iterable[tuple[str, Request]]) -> dict[str, Usage]:
    """Usage per node id from ``(node_id, request)`` pairs of what is placed."""
    out: dict[str, Usage] = {}
    for node_id, req in placed:
        out[node_id] = out.get(node_id, Usage()).add(req)
    return out


def free(node: FarmNode, used: Usage) -> tuple[float, float]:
    """Free cpu cores and memory MB of ``node`` (never below zero)."""
    return max(0.0, node.cpu - used.cpu), max(0.0, node.memory - used.memory)


def refusal(node: FarmNode, req: Request, used: Usage, accept_async: bool = False) -> str | None:
    """Why ``req`` may not go to ``node`` (None: it may)."""
    if not node.alive:
        return "dead"
    if node.mode is Mode.ASYNC and not accept_async:
        return "async"
    for c in req.constraints:
        if not c.holds(node):
            have = node.attribute(c.attribute)
            seen = f"{c.attribute}={have}" if have is not None else f"no {c.attribute}"
            return f"constraint {c.describe()} not met ({seen})"
    if node.max_tasks and used.tasks >= node.max_tasks:
        return f"at the site limit of {node.max_tasks} tasks per node"
    cpu, memory = free(node, used)
    if req.cpu > cpu + EPSILON:
        return f"not enough cpu: {cpu:g} free, {req.cpu:g} wanted"
    if req.memory > memory + EPSILON:
        return f"not enough memory: {memory:g} MB free, {req.memory:g} MB wanted"
    return None


def _load(node: FarmNode, used: Usage) -> tuple[int, float, str, str]:
    share = used.cpu / node.cpu if node.cpu > 0 else 0.0
    return (used.tasks, share, node.machine_id, node.node_id)


class NoNodeFits(PlacementError, FarmError):
    """No node may take a task; the message names each node and why it was refused."""

    def __init__(
        self,
        message: str,
        role_path: str = "",
        refusals: tuple[tuple[str, str], ...] = (),
        reclaimable: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.role_path = role_path
        self.refusals = refusals  # (machine_id, reason) for every node
        self.reclaimable = reclaimable  # async machine ids that would fit

    def __reduce__(self) -> tuple[Any, ...]:  # crosses Ray's boundary intact
        return (type(self), (str(self), self.role_path, self.refusals, self.reclaimable))


def _grouped(refusals: Sequence[tuple[str, str]]) -> str:
    by_reason: dict[str, list[str]] = {}
    for machine_id, reason in refusals:
        by_reason.setdefault(reason, []).append(machine_id)
    parts = []
    for reason, names in by_reason.items():
        shown = ", ".join(names[:NAMES_PER_REASON])
        if len(names) > NAMES_PER_REASON:
            shown += f" and {len(names) - NAMES_PER_REASON} more"
        parts.append(f"{shown}: {reason}")
    return "; ".join(parts) or "the cluster has no nodes"


def no_node_fits(
    req: Request, nodes: Sequence[FarmNode], placed: Mapping[str, Usage], reclaim: bool = False
) -> NoNodeFits:
    """The error for ``req`` finding no node, naming every node's reason."""
    refusals = tuple(
        (n.machine_id, refusal(n, req, placed.get(n.node_id, Usage())) or "fits") for n in nodes
    )
    spare = tuple(n.machine_id for n in would_fit_async(req, nodes, placed))
    what = f"role {req.role_path}" + (f" (task class {req.task_class})" if req.task_class else "")
    message = f"no node for {what}, which wants {req.describe()}: {_grouped(refusals)}"
    if spare and not reclaim:
        names = ", ".join(spare[:NAMES_PER_REASON])
        message += f". async node{'s' if len(spare) > 1 else ''} {names} would fit; use --reclaim"
    return NoNodeFits(message, req.role_path, refusals, spare)


def would_fit_async(
    req: Request, nodes: Sequence[FarmNode], placed: Mapping[str, Usage] | None = None
) -> list[FarmNode]:
    """The alive async nodes that could take ``req`` once reclaimed (least loaded first)."""
    placed = placed or {}
    fit = [
        n
        for n in nodes
        if n.mode is Mode.ASYNC
        and refusal(n, req, placed.get(n.node_id, Usage()), accept_async=True) is None
    ]
    return sorted(fit, key=lambda n: _load(n, placed.get(n.node_id, Usage())))


def place(
    requests: Sequence[Request],
    nodes: Sequence[FarmNode],
    placed: Mapping[str, Usage] | None = None,
    reclaim: bool = False,
) -> list[FarmNode]:
    """A node per request (in order), or ``NoNodeFits`` for the first that fits nowhere.

    ``placed``: usage per node id of what already runs. With ``reclaim``, a request that
    fits no sync node may take an async one (fewest distinct async nodes first); the
    caller reclaims ``to_reclaim(result)`` before starting anything.
    """
    usage = dict(placed or {})
    chosen: list[FarmNode] = []
    for req in requests:
        fit = [n for n in nodes if refusal(n, req, usage.get(n.node_id, Usage())) is None]
        fit = [n for n in fit if n.labels.get(HEAD_LABEL) != "1"] or fit  # the head: last
        if fit:
            node = min(fit, key=lambda n: _load(n, usage.get(n.node_id, Usage())))
        elif reclaim and (spare := would_fit_async(req, nodes, usage)):
            taken = {n.node_id for n in chosen}  # reclaim as few nodes as possible
            node = min(spare, key=lambda n: (n.node_id not in taken, spare.index(n)))
        else:
            raise no_node_fits(req, nodes, usage, reclaim)
        usage[node.node_id] = usage.get(node.node_id, Usage()).add(req)
        chosen.append(node)
    return chosen


def to_reclaim(chosen: Iterable[FarmNode]) -> list[str]:
    """The async machine ids among ``place``'s answer, once each, in order."""
    out: list[str] = []
    for n in chosen:
        if n.mode is Mode.ASYNC and n.machine_id not in out:
            out.append(n.machine_id)
    return out


def head_changes(nodes: Iterable[FarmNode], said: set[str]) -> list[tuple[str, FarmNode]]:
    """What to say of the head's nodes (``HEAD_LABEL``) not said yet: ``head_lost`` for a
    dead one, ``head_back`` for an alive one beside a dead one (a head started again)."""
    heads = [n for n in nodes if n.labels.get(HEAD_LABEL) == "1" and n.node_id not in said]
    lost = [("head_lost", n) for n in heads if not n.alive]
    any_dead = bool(lost) or any(
        n.labels.get(HEAD_LABEL) == "1" and not n.alive for n in nodes if n.node_id in said
    )
    back = [("head_back", n) for n in heads if n.alive and any_dead]
    return lost + back


def control_home(
    nodes: Sequence[FarmNode],
    placed: Mapping[str, Usage] | None = None,
    prefer: str = "",
    fallback: str = "",
) -> str:
    """The node id for an actor that holds a run but no one node's tasks (an environment, a
    role whose tasks span nodes): off the head (``HEAD_LABEL``), so that losing the head
    does not restart it. Among the alive sync nodes with room (under their site limit of
    tasks) that are not the head: ``prefer`` when it is one of them (a role beside its
    environment), else the least loaded; ``fallback`` (the controller's node) when none is."""
    placed = placed or {}
    probe = Request("control actor")
    fit = [
        n
        for n in nodes
        if n.labels.get(HEAD_LABEL) != "1"
        and refusal(n, probe, placed.get(n.node_id, Usage())) is None
    ]
    if any(n.node_id == prefer for n in fit):
        return prefer
    if not fit:
        return fallback
    return min(fit, key=lambda n: _load(n, placed.get(n.node_id, Usage()))).node_id
