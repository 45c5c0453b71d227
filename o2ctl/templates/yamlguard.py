"""Limits on what one YAML document may cost, enforced while it is read.

Templates are untrusted input. A few hundred bytes of YAML can describe billions of nodes
through anchors and aliases (an "alias bomb": nine levels of ten aliases each), and
everything downstream that walks or prints the value (rendering a variable, writing it as
JSON) pays for the expansion. So the limits are checked while the document is *composed*,
event by event, before any aliased structure is walked: the composer below counts alias
events and the number of nodes the aliases would add if expanded, and stops at the first
event over a budget. A refusal costs milliseconds and no memory.

The budgets: a document of at most ``MAX_DOCUMENT_BYTES``; at most ``MAX_ALIASES`` alias
events (the real AliECS templates in ControlWorkflows use no anchor or alias at all);
aliases adding at most ``MAX_ALIAS_NODES`` nodes in all; nesting at most ``MAX_DEPTH``
levels deep.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import Composer

MAX_DOCUMENT_BYTES = 1 << 20  # the largest ControlWorkflows template is ~82 kB
MAX_ALIASES = 32
MAX_ALIAS_NODES = 10_000
MAX_DEPTH = 200


class BudgetExceeded(yaml.MarkedYAMLError):
    """A document over one of the budgets; ``problem`` names the limit."""


def check_size(text: str) -> str | None:
    """Why ``text`` is too large to be read as a template, or None."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_DOCUMENT_BYTES:
        return (
            f"document of {size} bytes is over the limit of {MAX_DOCUMENT_BYTES} bytes "
            "for one template"
        )
    return None


class GuardedComposer(Composer):
    """PyYAML's composer (over any event source), with the budgets above.

    Every non-alias node costs 1; an alias costs what its anchored node cost when it was
    composed (aliases inside it included): the size the alias would have once expanded.
    """

    def init_guard(self) -> None:
        self.anchors: dict[Any, yaml.Node] = {}
        self.alias_count = 0
        self.alias_nodes = 0
        self.depth = 0
        self.spent = 0
        self.anchor_cost: dict[str, int] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> Any:
        events: Any = self  # the event source is the parser class this is mixed with
        event = events.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self._alias(event)
            return super().compose_node(parent, index)
        if self.depth >= MAX_DEPTH:
            raise _over(f"YAML nested deeper than {MAX_DEPTH} levels", event)
        before = self.spent
        self.spent += 1
        self.depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self.depth -= 1
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self.anchor_cost[anchor] = self.spent - before
        return node

    def _alias(self, event: yaml.AliasEvent) -> None:
        self.alias_count += 1
        if self.alias_count > MAX_ALIASES:
            raise _over(f"more than {MAX_ALIASES} YAML aliases in one template (the limit)", event)
        cost = self.anchor_cost.get(str(event.anchor), 1)
        self.alias_nodes += cost
        self.spent += cost
        if self.alias_nodes > MAX_ALIAS_NODES:
            raise _over(
                f"YAML aliases expand to more than {MAX_ALIAS_NODES} nodes "
                "(the limit for one template)",
                event,
            )


def _over(problem: str, event: Any) -> BudgetExceeded:
    return BudgetExceeded(problem=problem, problem_mark=event.start_mark)
