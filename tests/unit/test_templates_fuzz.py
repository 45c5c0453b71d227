"""Random templates and expressions never raise anything but TemplateError (hypothesis).

``O2CTL_FUZZ_EXAMPLES=5000`` runs a longer search than the default.
"""

from __future__ import annotations

import os

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_templates_support import SIMPLE_TASK, DictSource, Env

from o2ctl.templates import ExpandedWorkflow, TemplateError, expand_workflow
from o2ctl.templates.fields import render

FUZZ = settings(
    max_examples=int(os.environ.get("O2CTL_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)

KEYS = [
    "name", "roles", "task", "load", "for", "begin", "end", "range", "var", "enabled",
    "defaults", "vars", "connect", "bind", "target", "type", "include", "call", "func",
    "trigger", "timeout", "critical", "constraints", "attribute", "value", "global",
    "rateLogging", "command", "control", "mode", "properties", "wants", "cpu", "arguments",
]  # fmt: skip
SCALARS = [
    "w", "t", "simple", "x{{ it }}", "{{ it }}", "{{ n }}", "{{ hosts }}", "1", "3", "-1",
    "true", "false", "push", "pull", "::g", "w.t:out", "{{ Parent().Path }}.t:out",
    "{{ Up(2).Path }}", "{{ This().Name }}", "DESTROY", "dcs.X()", "10s", '["a","b"]',
    "{{", "}}", "{{ 1/0 }}", "{{ nope }}", "{{ strings.ToUpper(it) }}", "", "it", "n", "w",
]  # fmt: skip
TOKENS = [
    "a", "b", "1", "0", "2.5", "'s'", '"t"', "`r`", "true", "nil", "(", ")", "[", "]", "{", "}",
    ",", ":", "?", ".", "!", "not", "in", "contains", "&&", "||", "==", "!=", "<", ">=", "+",
    "-", "*", "/", "%", "??", "len", "strings", "ToUpper", "json", "Unmarshal", "Marshal",
    "util", "PrefixedOverride", "Parent", "Up", "This", "Path", "uid", "New", "config", "Get",
    "inventory", "DetectorForHost", "odc", "X", "matches", "startsWith", "'\\u0041'", "0x1f",
]  # fmt: skip

scalar = st.one_of(
    st.sampled_from(SCALARS), st.integers(-3, 5), st.booleans(), st.none(), st.text(max_size=8)
)
node = st.recursive(
    scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    ),
    max_leaves=30,
)


def expands_or_template_error(text: str, tasks: dict[str, str] | None = None) -> None:
    texts = {("workflow", "w"): text, ("task", "simple"): SIMPLE_TASK}
    texts.update({("task", k): v for k, v in (tasks or {}).items()})
    try:
        result = expand_workflow(DictSource(texts), "w", {"n": "2", "hosts": '["a"]'})
    except TemplateError as error:
        assert str(error)
    else:
        assert isinstance(result, ExpandedWorkflow)
        result.to_dict()


@FUZZ
@given(st.text(max_size=300))
def test_random_text(text: str) -> None:
    expands_or_template_error(text)


@FUZZ
@given(st.dictionaries(st.sampled_from(KEYS), node, max_size=6))
def test_random_yaml_structures(doc: dict[str, object]) -> None:
    doc.setdefault("name", "w")
    expands_or_template_error(yaml.safe_dump(doc))


@FUZZ
@given(st.lists(st.dictionaries(st.sampled_from(KEYS), node, max_size=5), max_size=4), node)
def test_random_roles_and_task_templates(roles: list[dict[str, object]], task: object) -> None:
    for role in roles:
        role.setdefault("name", "r")
    workflow = {"name": "w", "defaults": {"it": "1"}, "roles": roles}
    expands_or_template_error(yaml.safe_dump(workflow), {"t": yaml.safe_dump(task)})


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=12))
def test_random_expressions(tokens: list[str]) -> None:
    try:
        render("{{ " + " ".join(tokens) + " }}", Env(a="x", b=2))
    except TemplateError as error:
        assert str(error)


@FUZZ
@given(st.text(max_size=60))
def test_random_fields(text: str) -> None:
    try:
        render(text, Env(a="x", b=2))
    except TemplateError as error:
        assert str(error)
