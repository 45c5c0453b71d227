"""AliECS workflow and task templates: read them as they are, expand them into a role tree.

Entry points: ``expand_workflow`` (a workflow reference, user vars and the caller's
context in; an ``ExpandedWorkflow`` with its ``RoleNode`` tree out) and
``render_task_for_host`` (re-render a task's command once its host is known). Everything
wrong in a template is a ``TemplateError`` naming file, line, role path and expectation.
Pure code: no Ray, no gRPC.
"""

from o2ctl.templates.errors import TemplateError
from o2ctl.templates.expand import SITE_DEFAULTS, expand_workflow
from o2ctl.templates.helpers import IntegrationContext
from o2ctl.templates.model import (
    CallSpec,
    ChannelSpec,
    CommandSpec,
    Constraint,
    ExpandedWorkflow,
    RoleNode,
    TaskSpec,
)
from o2ctl.templates.tasktemplate import render_task_for_host

__all__ = [
    "SITE_DEFAULTS",
    "CallSpec",
    "ChannelSpec",
    "CommandSpec",
    "Constraint",
    "ExpandedWorkflow",
    "IntegrationContext",
    "RoleNode",
    "TaskSpec",
    "TemplateError",
    "expand_workflow",
    "render_task_for_host",
]
