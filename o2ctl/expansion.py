"""Expanding a workflow the way an environment sees it: one function for the CLI and the controller.

The variable stack is the site's: the runtime store's global defaults and vars under the
templates' own, the system's built-ins (``environment_id`` …), and the user's variables on
top; ``runtime.Get`` reads the store's runtime values; the installed integration plugins
(``o2ctl.plugins``) give call roles their signatures and expressions their helpers; the
configuration store (``o2ctl.config.kvstore``: ``$O2CTL_CONFIG_STORE``, else
``$O2CTL_STATE_DIR/config``) answers ``inventory.*`` from its hardware inventory; and the
``dpl.*`` helpers get a DPL generator (``o2ctl.config.jit``) for the workflow's repository
and revision, its cache in the state directory, its settings from the environment.
``o2ctl template expand`` (dry run) and the controller (create) call this same function,
so what an operator previews is what gets deployed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from o2ctl.config import ConfigRepository, RepositoryManager, RuntimeStore, state_dir
from o2ctl.config.inventory import Inventory
from o2ctl.config.jit import JitGenerator, JitSettings
from o2ctl.config.kvstore import open_config_store
from o2ctl.plugins import installed
from o2ctl.templates import ExpandedWorkflow, IntegrationContext, expand_workflow
from o2ctl.templates.budget import DEFAULT_BUDGET, Budget


def expand_for_environment(
    repos: RepositoryManager,
    store: RuntimeStore,
    workflow: str,
    user_vars: Mapping[str, str],
    *,
    repo: ConfigRepository | None = None,
    builtins: Mapping[str, Any] | None = None,
    budget: Budget = DEFAULT_BUDGET,
) -> ExpandedWorkflow:
    source, name = repos.source_for(workflow, repo)
    runtime = store.show().get("runtime")
    plugins = installed()
    state = state_dir()
    config = open_config_store(state=state)
    dpl = JitGenerator(
        source.home,
        source.revision,
        JitSettings.from_env(state),
        config,
        deadline=time.monotonic() + budget.seconds,
    )
    return expand_workflow(
        source,
        name,
        dict(user_vars),
        builtins={**store.global_defaults(), **(builtins or {})},
        global_vars=store.global_vars(),
        integration=IntegrationContext(
            runtime=runtime if isinstance(runtime, dict) else None,
            inventory=Inventory(config) if config is not None else None,
            dpl=dpl,
            **plugins.integration_fields(),
        ),
        budget=budget,
    )
