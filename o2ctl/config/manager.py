"""Several template repositories by name, one of them the default; reference resolution.

The manager keeps the repositories an operator added (``o2ctl repo add|remove|default``)
in ``repos.json`` under the state directory, written atomically under a lock. One
repository is built in and always present: the project's own ``workflows/`` directory (or
``$O2CTL_REPO``); it is the default until another is made default.

References resolve as in AliECS: ``name`` → the default repository,
``github.com/org/repo/tasks/name@rev`` → that repository at that revision. Templates a
workflow loads or includes resolve relative to the repository (and revision) the
workflow came from: ``source_for`` returns a ``ScopedSource`` anchored there.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NoReturn

from o2ctl.config.durable import atomic_write, locked, state_dir
from o2ctl.config.errors import ConfigError
from o2ctl.config.git_repo import GitRepository
from o2ctl.config.refs import parse_ref, repo_id
from o2ctl.config.repository import ConfigRepository
from o2ctl.config.scoped import ScopedSource
from o2ctl.config.uri import open_repository

REPO_ENV = "O2CTL_REPO"


def builtin_repository_uri() -> str:
    """``$O2CTL_REPO``, else the project's own ``workflows/`` directory."""
    return os.environ.get(REPO_ENV) or str(Path(__file__).resolve().parents[2] / "workflows")


@dataclass(frozen=True)
class RepoEntry:
    """One repository as remembered in the state file."""

    name: str
    uri: str
    revision: str | None = None


class RepositoryManager:
    """The known repositories and the default one."""

    def __init__(self, directory: Path | None = None, builtin_uri: str | None = None) -> None:
        self.directory = directory if directory is not None else state_dir()
        self.cache_dir = self.directory / "repos"
        self._state = self.directory / "repos.json"
        self._lock = self.directory / "repos.lock"
        self._builtin_uri = builtin_uri or builtin_repository_uri()
        self._open: dict[str, ConfigRepository] = {}

    def builtin(self) -> RepoEntry:
        return RepoEntry(repo_id(self._builtin_uri), self._builtin_uri)

    def entries(self) -> list[RepoEntry]:
        """The built-in repository first, then the added ones in the order they were added."""
        return [self.builtin(), *self._load()[1]]

    def default_name(self) -> str:
        default, added = self._load()
        return default if default in {e.name for e in added} else self.builtin().name

    def add(
        self,
        uri: str,
        *,
        name: str | None = None,
        revision: str | None = None,
        default: bool = False,
    ) -> ConfigRepository:
        """Open (for git: clone) ``uri`` and remember it; a name already known is an error."""
        repo = open_repository(uri, cache_dir=self.cache_dir, name=name, revision=revision)
        if isinstance(repo, GitRepository):
            repo.ensure_cloned()
        entry = RepoEntry(repo.name, uri, revision)
        with locked(self._lock):
            current, added = self._load()
            if self._find(repo.name, [self.builtin(), *added]) is not None:
                raise ConfigError(f"repository {repo.name} is already known (uri {uri})")
            self._save(repo.name if default else current, [*added, entry])
        return repo

    def remove(self, name: str) -> RepoEntry:
        """Forget an added repository (the built-in one stays; a removed default falls back)."""
        with locked(self._lock):
            current, added = self._load()
            entry = self._find(name, added)
            if entry is None and self._find(name, [self.builtin()]):
                raise ConfigError(f"repository {name!r} is the built-in one; it cannot be removed")
            if entry is None:
                self._raise_unknown(name, "remove")
            self._save(None if current == entry.name else current, [e for e in added if e != entry])
        return entry

    def set_default(self, name: str) -> RepoEntry:
        with locked(self._lock):
            _, added = self._load()
            entry = self._find(name, [self.builtin(), *added])
            if entry is None:
                self._raise_unknown(name, "make default")
            self._save(entry.name, added)
        return entry

    def set_revision(self, name: str, revision: str | None) -> RepoEntry:
        """Make ``revision`` the default revision of an added repository (git ones only)."""
        with locked(self._lock):
            current, added = self._load()
            entry = self._find(name, added)
            if entry is None:
                self._raise_unknown(name, "set the revision of")
            repo = open_repository(entry.uri, cache_dir=self.cache_dir, name=entry.name)
            if not isinstance(repo, GitRepository):
                raise ConfigError(f"repository {entry.name} ({repo.backend}) has no revisions")
            if revision:
                repo.resolve(revision)  # an unknown revision is refused here, nothing saved
            new = RepoEntry(entry.name, entry.uri, revision or None)
            self._save(current, [new if e == entry else e for e in added])
        self._open.pop(entry.name, None)
        return new

    def global_revision(self) -> str | None:
        """The revision of git repositories that name none of their own (None: HEAD)."""
        return self._load_raw().get("global_revision") or None

    def set_global_revision(self, revision: str | None) -> None:
        with locked(self._lock):
            current, added = self._load()
            self._save(current, added, revision or None)
        self._open.clear()

    def refresh(self, name: str | None = None) -> list[str]:
        """Refresh one repository (or all); returns the names refreshed."""
        names = [self.get(name).name] if name else [e.name for e in self.entries()]
        for each in names:
            self.get(each).refresh()
        return names

    def get(self, name: str | None = None) -> ConfigRepository:
        """A known repository by name (None: the default)."""
        wanted = name or self.default_name()
        entry = self._find(wanted, self.entries())
        if entry is None:
            self._raise_unknown(wanted, "use")
        if entry.name not in self._open:
            repo = open_repository(
                entry.uri, cache_dir=self.cache_dir, name=entry.name, revision=entry.revision
            )
            fallback = None if entry.revision else self.global_revision()
            if fallback and isinstance(repo, GitRepository):
                repo = open_repository(
                    entry.uri, cache_dir=self.cache_dir, name=entry.name, revision=fallback
                )
            self._open[entry.name] = repo
        return self._open[entry.name]

    def lookup(self, name_or_uri: str) -> ConfigRepository:
        """A known repository by name, else the repository the URI designates (not remembered)."""
        if self._find(name_or_uri, self.entries()) is not None:
            return self.get(name_or_uri)
        return open_repository(name_or_uri, cache_dir=self.cache_dir)

    def source_for(
        self, workflow_ref: str, repo: ConfigRepository | None = None
    ) -> tuple[ScopedSource, str]:
        """The source to expand ``workflow_ref`` with, and the reference to give it.

        The source is anchored at the workflow's repository and revision, so that its bare
        ``load:``/``include:`` references are read from there.
        """
        parsed = parse_ref(workflow_ref)
        if parsed.repo and (repo is None or not repo.answers_to(parsed.repo)):
            home = self.get(parsed.repo)
        else:
            home = repo or self.get()
        revision = parsed.revision or home.default_revision
        return ScopedSource(home, revision, self.get), parsed.name

    def _find(self, name: str, entries: list[RepoEntry]) -> RepoEntry | None:
        wanted = repo_id(name)
        for entry in entries:
            if name == entry.name or wanted in (repo_id(entry.name), repo_id(entry.uri)):
                return entry
        return None

    def _raise_unknown(self, name: str, action: str) -> NoReturn:
        known = ", ".join(e.name for e in self.entries())
        raise ConfigError(f"cannot {action} repository {name!r}: not known; known: {known}")

    def _load_raw(self) -> dict[str, Any]:
        try:
            raw = json.loads(self._state.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            raise ConfigError(f"repository list {self._state} is unreadable: {e}") from e
        if not isinstance(raw, dict):
            raise ConfigError(f"repository list {self._state} is unreadable: not an object")
        return raw

    def _load(self) -> tuple[str | None, list[RepoEntry]]:
        raw = self._load_raw()
        try:
            entries = [RepoEntry(**item) for item in raw.get("repositories", [])]
            return raw.get("default"), entries
        except (ValueError, TypeError, AttributeError) as e:
            raise ConfigError(f"repository list {self._state} is unreadable: {e}") from e

    def _save(
        self, default: str | None, entries: list[RepoEntry], global_revision: Any = ...
    ) -> None:
        if global_revision is ...:
            global_revision = self._load_raw().get("global_revision")
        data: dict[str, Any] = {"default": default, "repositories": [asdict(e) for e in entries]}
        if global_revision:
            data["global_revision"] = global_revision
        atomic_write(self._state, json.dumps(data, indent=2) + "\n")
