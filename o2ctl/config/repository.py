"""``ConfigRepository``: the one interface every template backend implements.

A repository holds workflow templates under ``workflows/`` and task templates under
``tasks/`` (files for ``file://`` and git, keys for Consul). The base class does what is
common to all backends: it parses a reference (``name``, ``name@rev``,
``REPO/tasks/name@rev``), refuses one aimed at another repository or at the wrong kind,
and builds the ``TemplateNotFound`` message from what the backend lists. A backend only
reads one template (``read_template``) and lists names (``list_names``); that keeps the
contract test suite meaningful, since all the shared behaviour is exercised on each.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from o2ctl.config.errors import ConfigError, template_not_found
from o2ctl.config.refs import KIND_DIRS, check_name, parse_ref, repo_id, template_relpath
from o2ctl.config.source import CommandText, TemplateKind, TemplateText


class ConfigRepository(ABC):
    """A store of workflow and task templates; implements ``TemplateSource``."""

    backend: ClassVar[str]

    def __init__(self, uri: str, name: str | None = None) -> None:
        self.uri = uri
        self.name = name or repo_id(uri)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.uri!r}, name={self.name!r})"

    @property
    def default_revision(self) -> str | None:
        """The revision read when a reference gives none (None: the backend has no revisions)."""
        return None

    def get_template(self, kind: TemplateKind, ref: str) -> TemplateText:
        """Resolve ``ref`` in this repository (a reference to another repository is refused)."""
        parsed = parse_ref(ref)
        if parsed.repo is not None and not self.answers_to(parsed.repo):
            raise ConfigError(
                f"template reference {ref!r} names repository {parsed.repo!r}, "
                f"but it was looked up in repository {self.name}"
            )
        if parsed.kind_dir is not None and parsed.kind_dir != KIND_DIRS[kind]:
            raise ConfigError(
                f"template reference {ref!r} points into {parsed.kind_dir}/, "
                f"but a {kind} template (under {KIND_DIRS[kind]}/) was expected"
            )
        check_name(kind, parsed.name, self.name)
        return self.read_template(kind, parsed.name, parsed.revision)

    def get_jit_command(self, name: str, revision: str | None = None) -> CommandText | None:
        """The DPL command in ``jit/NAME`` (None when there is no such file)."""
        check_name("jit command", name, self.name)
        return self.read_jit(name, revision)

    def read_jit(self, name: str, revision: str | None) -> CommandText | None:
        """Backends holding ``jit/`` files override this; the others hold none."""
        return None

    def list_templates(self, kind: TemplateKind) -> list[str]:
        """Names of the templates of that kind at the default revision, sorted."""
        return self.list_names(kind, None)

    def answers_to(self, repo: str) -> bool:
        """Whether a reference's repository part designates this repository."""
        wanted = repo_id(repo)
        return wanted in (self.name, repo_id(self.uri))

    def refresh(self) -> None:  # noqa: B027 - most backends read live and have nothing to do
        """Bring a cached copy up to date (git fetches; other backends read live)."""

    def describe(self) -> dict[str, str | None]:
        """What ``repo list`` shows."""
        return {
            "name": self.name,
            "uri": self.uri,
            "backend": self.backend,
            "revision": self.default_revision,
        }

    @abstractmethod
    def read_template(self, kind: TemplateKind, name: str, revision: str | None) -> TemplateText:
        """The template ``name`` of that kind at ``revision`` (None: the default one)."""

    @abstractmethod
    def list_names(self, kind: TemplateKind, revision: str | None) -> list[str]:
        """Names of the templates of that kind at ``revision``, sorted."""

    def not_found(self, kind: TemplateKind, name: str, revision: str | None = None) -> Exception:
        """The ``TemplateNotFound`` for ``name``, listing what exists nearby."""
        where = self.name if revision is None else f"{self.name}@{revision}"
        return template_not_found(
            kind, name, where, self.list_names(kind, revision), template_relpath(kind, name)
        )

    def no_revisions(self, name: str, revision: str) -> ConfigError:
        """The error for ``name@revision`` on a backend without revisions."""
        return ConfigError(
            f"repository {self.name} ({self.backend}) has no revisions: cannot read "
            f"{name}@{revision}; add a git repository to use revisions"
        )
