"""The workflow templates a client may create environments from, per repository.

Read from the configuration repositories the same way the controller reads them (the
``RepositoryManager`` of the state directory, or the one repository the controller was
started with), so what GetWorkflowTemplates lists is what NewEnvironment accepts. Each
comes with its header as AliECS fills it (``o2ctl.templates.varspecs``: public or not,
description, the specs of its ``!public`` variables, read from the file without expanding
it); as in AliECS, only public workflows are listed unless ``all_workflows``, and a spec
declared in a ``defaults`` block shows the site's global variable of that name (the
runtime store's ``vars``, AliECS's Apricot vars) as its default when there is one, since
that is what an environment would get. Blocking (files, git): the server calls it in a
thread.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
from typing import Any

from o2ctl.config import ConfigRepository, RepositoryManager, open_runtime_store
from o2ctl.config.errors import ConfigError
from o2ctl.templates.errors import TemplateError
from o2ctl.templates.varspecs import TemplateHeader, read_header

log = logging.getLogger("o2ctl.api")

RUNTIME_STORE_ENV = "O2CTL_RUNTIME_STORE"  # as the controller opens it
MAX_REPLY_SPEC_CHARS = 2 << 20  # var specs of one reply, under a client's 4 MB receive limit


def workflow_templates(
    repo_pattern: str = "", controller_repo: str | None = None, all_workflows: bool = True
) -> list[dict[str, Any]]:
    """``{repo, template, revision, default, description, var_specs}`` per workflow listed."""
    manager = RepositoryManager()
    if controller_repo:
        repos: list[tuple[ConfigRepository, bool]] = [(manager.lookup(controller_repo), True)]
    else:
        default = manager.default_name()
        repos = [(manager.get(e.name), e.name == default) for e in manager.entries()]
    site_vars = _site_vars()
    out: list[dict[str, Any]] = []
    budget = MAX_REPLY_SPEC_CHARS
    for repo, is_default in repos:
        if repo_pattern and not fnmatch.fnmatchcase(repo.name, repo_pattern):
            continue
        revision = repo.default_revision or ""
        for name in repo.list_templates("workflow"):
            header = _header(repo, name)
            if not (all_workflows or header.public):
                continue
            specs = _with_site_vars(header.var_specs, site_vars)
            size = len(json.dumps(specs))
            if size > budget:
                log.warning(
                    "%s/%s: var specs left out: the reply would be over its size", repo.name, name
                )
                specs, size = {}, 0
            budget -= size
            out.append(
                {
                    "repo": repo.name,
                    "template": name,
                    "revision": revision,
                    "default": is_default,
                    "description": header.description,
                    "var_specs": specs,
                }
            )
    return out


def _header(repo: ConfigRepository, name: str) -> TemplateHeader:
    """The template's header; one that cannot be read is listed with the reason as its
    description (AliECS fails the whole listing: one broken file would empty a shift crew's
    Create page), so an operator sees which file is broken and why."""
    try:
        found = repo.get_template("workflow", name)
        header = read_header(found.text, found.origin)
    except (TemplateError, ConfigError) as error:
        log.warning("workflow template %s/%s cannot be read: %s", repo.name, name, error)
        return TemplateHeader(public=True, description=f"cannot be read: {error}")
    for why in header.skipped:
        log.warning("%s", why)
    return header


def _site_vars() -> dict[str, str]:
    """The runtime store's global vars; none when it cannot be read (specs keep theirs)."""
    try:
        return dict(open_runtime_store(os.environ.get(RUNTIME_STORE_ENV) or None).global_vars())
    except (ConfigError, OSError) as error:
        log.warning("var specs without the site's global vars: %s", error)
        return {}


def _with_site_vars(
    specs: dict[str, dict[str, Any]], site_vars: dict[str, str]
) -> dict[str, dict[str, Any]]:
    return {
        name: {**spec, "default_value": site_vars[name]}
        if spec["source"] == "defaults" and name in site_vars
        else spec
        for name, spec in specs.items()
    }
