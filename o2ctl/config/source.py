"""The contract between templates and the configuration repositories that hold them.

Template expansion (``o2ctl.templates``) reads workflow and task templates through
``TemplateSource`` only; each backend (``file://``, git, ``consul://``) implements it. A
template reference is ``name``, ``name@revision`` or ``repo/path/name@revision`` (AliECS
style); the backend resolves it and returns the text together with an ``origin`` string
(file path or Consul key) that errors quote, so that a ``TemplateError`` can name the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

TemplateKind = Literal["workflow", "task"]


@dataclass(frozen=True)
class TemplateText:
    """One template as stored: its YAML text and where it came from."""

    name: str
    kind: TemplateKind
    text: str
    origin: str  # e.g. "/path/to/workflows/foo.yaml" or "consul://host:8500/o2/workflows/foo.yaml"
    revision: str | None = None


@dataclass(frozen=True)
class CommandText:
    """A DPL command of a repository's ``jit/`` directory: its text and where it came from."""

    name: str
    text: str
    origin: str
    revision: str | None = None


class TemplateNotFound(LookupError):
    """No template of that kind and name in the repository (message names what was looked for)."""


@runtime_checkable
class TemplateSource(Protocol):
    """Where templates are read from."""

    def get_template(self, kind: TemplateKind, ref: str) -> TemplateText:
        """Resolve ``ref`` (``name``, ``name@rev`` or ``repo/.../name@rev``) to its text."""
        ...

    def list_templates(self, kind: TemplateKind) -> list[str]:
        """Names of the templates of that kind, sorted."""
        ...
