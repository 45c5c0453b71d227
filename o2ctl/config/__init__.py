"""Configuration repositories (templates) and the runtime store (the system's own records).

Templates are read through ``TemplateSource`` (``source``), implemented by
``ConfigRepository`` and its backends: ``FileRepository`` (``file://DIR``, the default),
``GitRepository`` (cloned with ``git``, revisions honoured) and ``ConsulRepository``
(``consul://HOST:PORT/PREFIX``). ``RepositoryManager`` remembers several repositories
and resolves AliECS-style references across them. ``RuntimeStore`` keeps run numbers,
runtime values and the global variable layers, in files or in Consul.

Imported lazily (PEP 562): a process that needs one module of the package (a task actor's
worker writes its launch records with ``durable``) does not pay for the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from o2ctl.config.consul_repo import ConsulRepository
    from o2ctl.config.durable import STATE_DIR_ENV, state_dir
    from o2ctl.config.errors import ConfigError
    from o2ctl.config.file_repo import FileRepository
    from o2ctl.config.git_repo import GitRepository
    from o2ctl.config.manager import REPO_ENV, RepoEntry, RepositoryManager, builtin_repository_uri
    from o2ctl.config.refs import TemplateRef, parse_ref, repo_id
    from o2ctl.config.repository import ConfigRepository
    from o2ctl.config.runtime import FileRuntimeStore, RuntimeStore
    from o2ctl.config.runtime_consul import ConsulRuntimeStore
    from o2ctl.config.scoped import ScopedSource
    from o2ctl.config.source import TemplateKind, TemplateNotFound, TemplateSource, TemplateText
    from o2ctl.config.uri import open_repository, open_runtime_store

_WHERE = {
    "ConsulRepository": "consul_repo",
    "STATE_DIR_ENV": "durable",
    "state_dir": "durable",
    "ConfigError": "errors",
    "FileRepository": "file_repo",
    "GitRepository": "git_repo",
    "REPO_ENV": "manager",
    "RepoEntry": "manager",
    "RepositoryManager": "manager",
    "builtin_repository_uri": "manager",
    "TemplateRef": "refs",
    "parse_ref": "refs",
    "repo_id": "refs",
    "ConfigRepository": "repository",
    "FileRuntimeStore": "runtime",
    "RuntimeStore": "runtime",
    "ConsulRuntimeStore": "runtime_consul",
    "ScopedSource": "scoped",
    "TemplateKind": "source",
    "TemplateNotFound": "source",
    "TemplateSource": "source",
    "TemplateText": "source",
    "open_repository": "uri",
    "open_runtime_store": "uri",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "REPO_ENV",
    "STATE_DIR_ENV",
    "ConfigError",
    "ConfigRepository",
    "ConsulRepository",
    "ConsulRuntimeStore",
    "FileRepository",
    "FileRuntimeStore",
    "GitRepository",
    "RepoEntry",
    "RepositoryManager",
    "RuntimeStore",
    "ScopedSource",
    "TemplateKind",
    "TemplateNotFound",
    "TemplateRef",
    "TemplateSource",
    "TemplateText",
    "builtin_repository_uri",
    "open_repository",
    "open_runtime_store",
    "parse_ref",
    "repo_id",
    "state_dir",
]
