"""The errors the configuration layer raises, and how a missing template is described.

Two kinds of failure leave this package: ``TemplateNotFound`` (from ``source``) when a
reference names nothing, and ``ConfigError`` for everything else: a URI we cannot open, a
bad revision, a git or Consul failure, a corrupt state file. Each message names the
repository (or file, or key) and says what was expected, so the CLI can print it as is.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from o2ctl.config.source import TemplateKind, TemplateNotFound

_LIST_AT_MOST = 8


class ConfigError(Exception):
    """A repository or runtime store could not do what was asked; the message says which and why."""


def template_not_found(
    kind: TemplateKind,
    name: str,
    repo: str,
    known: Sequence[str],
    looked_for: str,
) -> TemplateNotFound:
    """A ``TemplateNotFound`` naming what was looked for, where, and what exists nearby."""
    message = f"no {kind} template {name!r} in repository {repo} (looked for {looked_for})"
    close = difflib.get_close_matches(name, known, n=5, cutoff=0.6)
    if close:
        message += "; did you mean: " + ", ".join(close)
    elif known:
        shown = ", ".join(known[:_LIST_AT_MOST])
        more = len(known) - _LIST_AT_MOST
        message += f"; it has: {shown}" + (f" (+{more} more)" if more > 0 else "")
    else:
        message += f"; it has no {kind} templates"
    return TemplateNotFound(message)


class StoreDown(ConfigError):
    """The durable store (Redis, Consul) cannot be reached: nothing was written, and no
    change may be acknowledged until it answers again. The message names the store."""
