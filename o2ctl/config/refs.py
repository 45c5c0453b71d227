"""Template references and repository identities, AliECS style.

A workflow loads a task with ``load: NAME`` and includes a sub-workflow with
``include: NAME``; either may be qualified as ``NAME@REVISION`` or fully as
``REPO/tasks/NAME@REVISION`` (``github.com/AliceO2Group/ControlWorkflows/tasks/foo@dev``).
``parse_ref`` splits such a string; ``repo_id`` turns any repository URI into the identity
used in those references (scheme, user and ``.git`` dropped), so that a reference can be
matched against the repositories the manager knows whatever spelling was used to add them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from o2ctl.config.errors import ConfigError
from o2ctl.config.source import TemplateKind

KIND_DIRS: dict[TemplateKind, str] = {"workflow": "workflows", "task": "tasks"}
"""The directory (or key level) holding each kind of template in every backend."""

TEMPLATE_SUFFIXES = (".yaml", ".yml")

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+\-]*")


@dataclass(frozen=True)
class TemplateRef:
    """A parsed template reference."""

    name: str
    revision: str | None = None
    repo: str | None = None  # None: the repository in scope
    kind_dir: str | None = None  # "workflows" / "tasks" when the reference spelt it


def parse_ref(ref: str) -> TemplateRef:
    """Split ``[REPO/][workflows|tasks/]NAME[.yaml][@REVISION]`` into its parts."""
    text = ref.strip()
    path, sep, revision = text.partition("@")
    if not path or (sep and not revision):
        raise ConfigError(f"bad template reference {ref!r}: expected [repo/kind/]name[@revision]")
    scheme, _, rest = path.rpartition("://")
    lead = f"{scheme}://" if scheme else "/" if rest.startswith("/") else ""
    parts = [p for p in rest.split("/") if p]
    if not parts:
        raise ConfigError(f"bad template reference {ref!r}: it names no template")
    name = _strip_suffix(parts[-1])
    kind_dir: str | None = None
    head = parts[:-1]
    if head and head[-1] in KIND_DIRS.values():
        kind_dir = head.pop()
    repo = lead + "/".join(head) if head else None
    return TemplateRef(name=name, revision=revision or None, repo=repo, kind_dir=kind_dir)


def format_ref(name: str, revision: str | None) -> str:
    """``name`` or ``name@revision``."""
    return f"{name}@{revision}" if revision else name


def check_name(kind: str, name: str, repo: str) -> None:
    """Refuse names that could escape the template directory or are not file names."""
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"bad {kind} template name {name!r} for repository {repo}: expected letters, digits, "
            "'_', '-', '.', '+' (no path separators)"
        )


def template_relpath(kind: TemplateKind, name: str, suffix: str = ".yaml") -> str:
    """Where a template lives in every repository: ``workflows/NAME.yaml``, ``tasks/NAME.yaml``."""
    return f"{KIND_DIRS[kind]}/{name}{suffix}"


def _strip_suffix(name: str) -> str:
    for suffix in TEMPLATE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def repo_id(uri: str) -> str:
    """The identity of a repository as references spell it.

    ``https://github.com/A/B.git``, ``git@github.com:A/B.git`` and ``github.com/A/B`` all give
    ``github.com/A/B``; ``file:///x/y`` and ``/x/y`` give ``/x/y``; ``consul://h:8500/o2``
    gives ``consul://h:8500/o2`` (kept whole: it is not a path).
    """
    text = uri.strip()
    if text.startswith("consul://"):
        return text.rstrip("/")
    scp = re.fullmatch(r"[\w.\-]+@([\w.\-]+):(?!//)(.*)", text)
    if scp:
        text = f"{scp.group(1)}/{scp.group(2)}"
    elif text.startswith("file://"):
        text = text[len("file://") :]
    elif "://" in text:
        text = text.split("://", 1)[1]
        host, _, rest = text.partition("/")
        text = f"{host.rpartition('@')[2]}/{rest}"
    text = text.rstrip("/")
    return text.removesuffix(".git").rstrip("/") or "/"
