"""The workflow templates a client may create environments from, per repository.

Read from the configuration repositories the same way the controller reads them (the
``RepositoryManager`` of the state directory, or the one repository the controller was
started with), so what GetWorkflowTemplates lists is what NewEnvironment accepts. Blocking
(files, git): the server calls it in a thread.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from o2ctl.config import ConfigRepository, RepositoryManager


def workflow_templates(
    repo_pattern: str = "", controller_repo: str | None = None
) -> list[dict[str, Any]]:
    """``{repo, template, revision, default}`` for each workflow template found."""
    manager = RepositoryManager()
    if controller_repo:
        repos: list[tuple[ConfigRepository, bool]] = [(manager.lookup(controller_repo), True)]
    else:
        default = manager.default_name()
        repos = [(manager.get(e.name), e.name == default) for e in manager.entries()]
    out: list[dict[str, Any]] = []
    for repo, is_default in repos:
        if repo_pattern and not fnmatch.fnmatchcase(repo.name, repo_pattern):
            continue
        revision = repo.default_revision or ""
        out += [
            {"repo": repo.name, "template": name, "revision": revision, "default": is_default}
            for name in repo.list_templates("workflow")
        ]
    return out
