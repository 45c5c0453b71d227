"""Switching role subtrees off and on: the expanded tree minus the excluded role paths.

A detector leaving or joining a running environment is a subtree excluded from (or included
back into) its target. ``exclude`` removes each named subtree from an expanded tree, as
AliECS prunes a role whose ``enabled`` is false: an aggregator left with no child is
removed too. A path that names no role of the tree is an error listing what is there, so
an operator's typo never silently changes nothing. Pure: frozen trees in, a new one out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from o2ctl.templates.model import RoleNode


class UnknownRole(ValueError):
    """A role path that is not in the workflow."""


def check_paths(root: RoleNode, paths: Iterable[str]) -> list[str]:
    """The paths, each checked to name a role of ``root`` (not the root itself)."""
    known = {n.path for n in root.walk()}
    out = []
    for p in paths:
        p = p.strip()
        if p == root.path:
            raise UnknownRole(f"role {p!r} is the workflow's root: it cannot be excluded")
        if p not in known:
            near = sorted(k for k in known if k != root.path)[:12]
            raise UnknownRole(
                f"no role {p!r} in workflow {root.name} (roles: {', '.join(near)}"
                + (" …)" if len(known) > 13 else ")")
            )
        out.append(p)
    return out


def exclude(root: RoleNode, paths: Iterable[str]) -> RoleNode:
    """``root`` without the subtrees at ``paths`` (which must exist: ``check_paths``)."""
    gone = set(paths)
    if not gone:
        return root

    def keep(node: RoleNode) -> RoleNode | None:
        if node.path in gone:
            return None
        if not node.children:
            return node
        kids = tuple(k for k in (keep(c) for c in node.children) if k is not None)
        if not kids and node is not root:
            return None  # an aggregator with nothing left disables itself
        return replace(node, children=kids)

    return keep(root) or replace(root, children=())
