"""Git repositories of templates, cloned with the ``git`` command into a local cache.

A repository added by URL (``https://…``, ``git@host:org/repo.git``, ``file:///…/repo.git``
or a local path to a repository) is cloned once as a bare mirror under the cache
directory; ``refresh()`` fetches. Templates are read straight from the object store with
``git cat-file`` at the asked revision (branch, tag or commit; the repository's default
revision when the reference gives none), so several revisions can be read side by side
with no checkout and no working tree to get dirty. Every git failure becomes one
``ConfigError`` naming the repository, the git command and git's own message.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from o2ctl.config.errors import ConfigError
from o2ctl.config.refs import KIND_DIRS, TEMPLATE_SUFFIXES
from o2ctl.config.repository import ConfigRepository
from o2ctl.config.source import CommandText, TemplateKind, TemplateText

GIT_TIMEOUT_S = 120.0


class GitRepository(ConfigRepository):
    """Templates in a git repository, read from a bare mirror clone."""

    backend = "git"

    def __init__(
        self,
        url: str,
        cache_dir: Path | str,
        *,
        revision: str | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(url, name)
        self.url = url
        self._revision = revision
        digest = hashlib.sha1(url.encode()).hexdigest()[:10]
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", self.name).strip("_")[:80]
        self.clone_dir = Path(cache_dir).expanduser() / f"{slug}-{digest}"

    @property
    def default_revision(self) -> str:
        return self._revision or "HEAD"

    def ensure_cloned(self) -> None:
        """Clone the mirror if the cache has none yet (safe when two processes race)."""
        if self.clone_dir.is_dir():
            return
        self.clone_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".clone-", dir=self.clone_dir.parent)
        try:
            self._git_bytes(
                "clone", "--mirror", "--quiet", "--", self.url, tmp, cwd=Path(tmp).parent
            )
            os.rename(tmp, self.clone_dir)
        except OSError:
            if not self.clone_dir.is_dir():
                raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def refresh(self) -> None:
        """Fetch every branch and tag from the remote (clone first if needed)."""
        if not self.clone_dir.is_dir():
            self.ensure_cloned()
            return
        self._git("fetch", "--prune", "--quiet", "origin")

    def revisions(self) -> list[str]:
        """The branches and tags of the mirror, by name."""
        self.ensure_cloned()
        out = self._git("for-each-ref", "--format=%(refname:short)", "refs/heads", "refs/tags")
        return sorted(line for line in out.splitlines() if line)

    def resolve(self, revision: str | None) -> str:
        """The commit id a revision (branch, tag, commit; None: the default) names."""
        rev = revision or self.default_revision
        if rev.startswith("-") or not rev.strip():
            raise ConfigError(f"git repository {self.name}: bad revision {rev!r}")
        self.ensure_cloned()
        try:
            return self._git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").strip()
        except ConfigError:
            raise ConfigError(
                f"git repository {self.name}: unknown revision {rev!r} "
                "(no such branch, tag or commit; try `o2ctl repo refresh`)"
            ) from None

    def read_template(self, kind: TemplateKind, name: str, revision: str | None) -> TemplateText:
        commit = self.resolve(revision)
        files = self._files(kind, commit)
        for suffix in TEMPLATE_SUFFIXES:
            relpath = f"{KIND_DIRS[kind]}/{name}{suffix}"
            if relpath in files:
                data = self._git_bytes("cat-file", "blob", f"{commit}:{relpath}")
                return TemplateText(
                    name,
                    kind,
                    _decode(data, self.name, relpath),
                    f"{self.url}@{commit[:12]}:{relpath}",
                    revision=commit,
                )
        raise self.not_found(kind, name, revision)

    def read_jit(self, name: str, revision: str | None) -> CommandText | None:
        commit = self.resolve(revision)
        relpath = f"jit/{name}"
        listed = self._git("ls-tree", "--name-only", commit, "--", relpath).split()
        if relpath not in listed:
            return None
        data = self._git_bytes("cat-file", "blob", f"{commit}:{relpath}")
        origin = f"{self.url}@{commit[:12]}:{relpath}"
        return CommandText(name, _decode(data, self.name, relpath), origin, commit)

    def list_names(self, kind: TemplateKind, revision: str | None) -> list[str]:
        files = self._files(kind, self.resolve(revision))
        names = {
            Path(f).stem for f in files if any(f.endswith(suffix) for suffix in TEMPLATE_SUFFIXES)
        }
        return sorted(names)

    def _files(self, kind: TemplateKind, commit: str) -> set[str]:
        out = self._git("ls-tree", "--name-only", commit, "--", f"{KIND_DIRS[kind]}/")
        return {line for line in out.splitlines() if line}

    def _git(self, *args: str) -> str:
        return self._git_bytes(*args).decode("utf-8", "replace")

    def _git_bytes(self, *args: str, cwd: Path | None = None) -> bytes:
        env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=cwd or self.clone_dir,
                env=env,
                capture_output=True,
                stdin=subprocess.DEVNULL,
                timeout=GIT_TIMEOUT_S,
                check=False,
            )
        except FileNotFoundError as e:
            raise ConfigError(f"git repository {self.name}: the `git` command is missing") from e
        except subprocess.TimeoutExpired as e:
            raise ConfigError(
                f"git repository {self.name}: `git {args[0]}` took longer than {GIT_TIMEOUT_S:.0f}s"
            ) from e
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
            raise ConfigError(f"git repository {self.name}: `git {args[0]}` failed: {message}")
        return done.stdout


def _decode(data: bytes, repo: str, relpath: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"git repository {repo}: {relpath} is not UTF-8 text: {e}") from e


def is_git_repository(path: Path) -> bool:
    """Whether ``path`` is the top of a git repository (a working tree or a bare one)."""
    if (path / ".git").exists():
        return True
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()
