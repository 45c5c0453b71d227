"""From a URI to a backend: ``open_repository`` and ``open_runtime_store``.

Accepted repository URIs:

- ``file://DIR`` or a plain directory: a ``FileRepository`` read live;
- ``consul://HOST[:PORT]/PREFIX``: a ``ConsulRepository``;
- ``https://…``, ``http://…``, ``ssh://…``, ``git://…``, ``git@host:org/repo.git``,
  ``file:///…/repo.git``, a local path to the top of a git repository, or a bare
  AliECS-style ``github.com/org/repo``: a ``GitRepository`` cloned into the cache. A git
  URI may end in ``@REVISION`` to pick the default revision.

Anything else is a ``ConfigError`` listing what is accepted.
"""

from __future__ import annotations

import re
from pathlib import Path

from o2ctl.config.consul_kv import parse_consul_uri
from o2ctl.config.consul_repo import ConsulRepository
from o2ctl.config.durable import state_dir
from o2ctl.config.errors import ConfigError
from o2ctl.config.file_repo import FileRepository
from o2ctl.config.git_repo import GitRepository, is_git_repository
from o2ctl.config.repository import ConfigRepository
from o2ctl.config.runtime import FileRuntimeStore, RuntimeStore
from o2ctl.config.runtime_consul import ConsulRuntimeStore

GIT_SCHEMES = ("https", "http", "ssh", "git")
ACCEPTED = (
    "file://DIR, consul://HOST:PORT/PREFIX, https://… / ssh://… / git@host:org/repo.git "
    "(git), file:///…/repo.git, or a local directory"
)
_SCP = re.compile(r"[\w.\-]+@[\w.\-]+:(?!//)")


def open_repository(
    uri: str,
    *,
    cache_dir: Path | None = None,
    name: str | None = None,
    revision: str | None = None,
) -> ConfigRepository:
    """The repository a URI designates (git ones are cloned into ``cache_dir`` if needed)."""
    text = uri.strip()
    if not text:
        raise ConfigError(f"empty repository URI; expected {ACCEPTED}")
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme == "consul":
        host, port, prefix = parse_consul_uri(text)
        return _no_revision(ConsulRepository(host, port, prefix, name), revision)
    if scheme == "file":
        path = Path(text[len("file://") :])
        if path.suffix != ".git" and not is_git_repository(path):
            return _no_revision(FileRepository(path, name), revision)
        return _git(text, cache_dir, name, revision)
    if scheme in GIT_SCHEMES or _SCP.match(text):
        return _git(text, cache_dir, name, revision)
    if scheme:
        raise ConfigError(
            f"unknown repository URI scheme {scheme!r} in {uri!r}; expected {ACCEPTED}"
        )
    return _open_path(text, cache_dir, name, revision)


def _open_path(
    text: str, cache_dir: Path | None, name: str | None, revision: str | None
) -> ConfigRepository:
    base, rev = split_revision(text)
    path = Path(base).expanduser()
    if path.exists():
        path = path.resolve()
        if is_git_repository(path):
            return _git(str(path), cache_dir, name, rev or revision)
        if path.is_dir():
            return _no_revision(FileRepository(path, name), rev or revision)
    elif re.match(r"[\w\-]+(\.[\w\-]+)+/", base):  # github.com/org/repo, as AliECS spells it
        return _git(f"https://{text}", cache_dir, name, revision)
    raise ConfigError(f"repository {text!r}: no such directory; expected {ACCEPTED}")


def _git(uri: str, cache_dir: Path | None, name: str | None, revision: str | None) -> GitRepository:
    url, rev = split_revision(uri)
    if rev and revision and rev != revision:
        raise ConfigError(
            f"git repository {uri!r}: revision given twice ({rev!r} and {revision!r})"
        )
    return GitRepository(
        url, cache_dir or state_dir() / "repos", revision=rev or revision, name=name
    )


def _no_revision(repo: ConfigRepository, revision: str | None) -> ConfigRepository:
    if revision:
        raise ConfigError(
            f"repository {repo.name} ({repo.backend}) has no revisions; cannot use @{revision}"
        )
    return repo


def split_revision(uri: str) -> tuple[str, str | None]:
    """``URI@REV`` → (URI, REV); an ``@`` in the user part (``git@host:…``) is not a revision."""
    if "://" in uri:
        after_scheme = uri.index("://") + 3
        path_start = uri.find("/", after_scheme)
    elif _SCP.match(uri):
        path_start = uri.index(":")
    else:
        path_start = 0
    at = uri.rfind("@")
    if path_start < 0 or at <= path_start:
        return uri, None
    return uri[:at], uri[at + 1 :] or None


def open_runtime_store(uri: str | None = None) -> RuntimeStore:
    """``None``/``file://DIR``/a directory → ``FileRuntimeStore``; ``consul://…`` → Consul;
    ``redis://…`` → Redis (``runtime_redis``)."""
    if not uri:
        return FileRuntimeStore()
    if uri.startswith("consul://"):
        host, port, prefix = parse_consul_uri(uri)
        return ConsulRuntimeStore(host, port, prefix)
    if uri.startswith("redis://"):
        from o2ctl.config.redis_kv import parse_redis_uri
        from o2ctl.config.runtime_redis import RedisRuntimeStore

        return RedisRuntimeStore(*parse_redis_uri(uri))
    if "://" in uri and not uri.startswith("file://"):
        raise ConfigError(
            f"unknown runtime store URI {uri!r}; expected file://DIR, consul://… or redis://…"
        )
    return FileRuntimeStore(Path(uri.removeprefix("file://")).expanduser())
