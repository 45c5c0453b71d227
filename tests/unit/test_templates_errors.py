"""Every kind of bad template gives one TemplateError naming file, line, role and expectation."""

from __future__ import annotations

import pytest
from test_templates_support import source

from o2ctl.templates import TemplateError, expand_workflow

WF = "mem/workflows/w.yaml"


def fail(text: str, tasks: dict[str, str] | None = None, **extra: str) -> TemplateError:
    workflows = {"w": text, **extra}
    with pytest.raises(TemplateError) as caught:
        expand_workflow(source(workflows, tasks), "w", {"hosts": '["a"]'})
    return caught.value


def check(
    error: TemplateError,
    *,
    line: int | None,
    role: str | None,
    says: str,
    expected: str | None = None,
    file: str = WF,
) -> None:
    text = str(error)
    assert error.file == file, text
    assert error.line == line, text
    assert error.role == role, text
    assert says in text, text
    if expected is not None:
        assert error.expected is not None and expected in error.expected, text
    assert text.startswith(f"{file}:{line}: " if line else f"{file}: ")


def test_bad_yaml_syntax() -> None:
    error = fail("name: w\nroles:\n  - name: [unclosed\n")
    check(error, line=4, role=None, says="bad YAML")


def test_duplicate_yaml_key() -> None:
    error = fail("name: w\nroles: []\nroles: []\n")
    check(error, line=3, role=None, says="duplicate key 'roles' (first given on line 2)")


def test_unknown_yaml_tag() -> None:
    error = fail("name: w\ndefaults: {a: !secret x}\nroles: []\n")
    check(error, line=2, role=None, says="unsupported YAML tag !secret")


def test_unknown_variable() -> None:
    text = (
        "name: w\nroles:\n  - name: t\n    vars:\n      x: '{{ nope }}'\n    task: {load: simple}\n"
    )
    check(fail(text), line=5, role="w.t", says="unknown variable 'nope'")


def test_unknown_variable_in_a_task_template() -> None:
    task = "name: bad\ncommand:\n  value: 'run {{ nope }}'\n"
    text = "name: w\nroles:\n  - name: t\n    task: {load: bad}\n"
    error = fail(text, {"bad": task})
    check(error, line=3, role="w.t", says="unknown variable 'nope'", file="mem/tasks/bad.yaml")


def test_missing_task_template() -> None:
    text = "name: w\nroles:\n  - name: t\n    task: {load: nowhere}\n"
    check(fail(text), line=4, role="w.t", says="cannot read task template 'nowhere'")


def test_role_with_two_kinds_and_role_without_kind() -> None:
    text = "name: w\nroles:\n  - name: t\n    task: {load: simple}\n    roles: []\n"
    check(
        fail(text),
        line=3,
        role=None,
        says="has 2 of roles/task/call/include",
        expected="exactly one",
    )
    text = "name: w\nroles:\n  - name: t\n"
    check(fail(text), line=3, role=None, says="'t' has none of roles/task/call/include")


def test_root_must_be_an_aggregator() -> None:
    check(fail("name: w\ntask: {load: simple}\n"), line=1, role=None, says="must be an aggregator")


def test_duplicate_role_names() -> None:
    text = (
        "name: w\nroles:\n  - {name: t, task: {load: simple}}\n  - {name: t, task: {load: job}}\n"
    )
    error = fail(text)
    check(error, line=4, role="w.t", says="two roles named 't' under w", expected="unique")
    assert f"{WF}:3" in str(error)


def test_duplicates_made_by_an_iterator_and_duplicates_pruned_away() -> None:
    text = (
        "name: w\nroles:\n  - name: 't{{ i % 2 }}'\n"
        "    for: {begin: 1, end: 3, var: i}\n    task: {load: simple}\n"
    )
    check(fail(text), line=3, role="w.t1", says="two roles named 't1'")
    fine = (
        "name: w\nroles:\n  - {name: dpl, enabled: 'false', task: {load: simple}}\n"
        "  - {name: dpl, task: {load: simple}}\n"
    )
    assert len(expand_workflow(source({"w": fine}), "w").root.children) == 1


@pytest.mark.parametrize(
    ("spec", "says", "expected"),
    [
        ("{begin: 1, var: i}", "give either begin and end, or range", "or {range, var}"),
        ("{begin: 1, end: 2, range: '[1]', var: i}", "give either begin and end", None),
        ("{begin: 1, end: 2}", "bad iterator", "{begin, end, var}"),
        ("{begin: one, end: 2, var: i}", "for.begin is 'one'", "an integer"),
        ("{range: 'a,b', var: i}", "for.range is 'a,b'", "a JSON list"),
        ("{range: '{{ hosts }}x', var: i}", "for.range is", "a JSON list"),
        ("{begin: 1, end: 999999999, var: i}", "too long", None),
    ],
)
def test_bad_iterators(spec: str, says: str, expected: str | None) -> None:
    text = (
        f"name: w\nroles:\n  - name: 'p{{{{ i }}}}'\n    for: {spec}\n    task: {{load: simple}}\n"
    )
    error = fail(text)
    assert error.file == WF and error.line == 4 and says in str(error)
    if expected:
        assert error.expected is not None and expected in error.expected


def test_iterator_name_must_use_its_variable() -> None:
    text = (
        "name: w\nroles:\n  - name: p\n    for: {begin: 1, end: 2, var: i}\n    task: {load: job}\n"
    )
    check(fail(text), line=3, role=None, says="does not use its variable 'i'")


def test_include_cycle() -> None:
    a = "name: w\nroles:\n  - {name: x, include: b}\n"
    b = "name: b\nroles:\n  - {name: y, include: w}\n"
    error = fail(a, b=b)
    check(
        error,
        line=3,
        role="w.x.y",
        says="include cycle: mem/workflows/w.yaml -> mem/workflows/b.yaml -> mem/workflows/w.yaml",
        file="mem/workflows/b.yaml",
    )


def test_missing_include() -> None:
    text = "name: w\nroles:\n  - {name: x, include: '{{ \"gone\" }}'}\n"
    check(fail(text), line=3, role="w.x", says="cannot read workflow template 'gone'")


@pytest.mark.parametrize(
    ("target", "says", "expected"),
    [
        ("w.nothere:out", "w.nothere is not a role", "the full path of a task role"),
        ("w.grp:out", "w.grp is a aggregator role, not a task", None),
        ("w.src:nochan", "task w.src has no bind channel 'nochan'", "out"),
        ("::nobody", "no bind in the workflow publishes global alias 'nobody'", "published"),
        ("justtext", "is malformed", "role.path:channel"),
        ("http://x:1", "not a tcp:// or ipc:// address", None),
    ],
)
def test_unresolved_channel_targets(target: str, says: str, expected: str | None) -> None:
    text = (
        "name: w\nroles:\n  - {name: src, task: {load: simple}}\n"
        "  - name: grp\n    roles: [{name: x, task: {load: simple}}]\n"
        "  - name: dst\n    connect:\n"
        f"      - {{name: in, type: pull, target: '{target}'}}\n"
        "    task: {load: simple}\n"
    )
    check(fail(text), line=8, role="w.dst", says=says, expected=expected)


def test_connect_without_target_and_bad_channel_fields() -> None:
    base = "name: w\nroles:\n  - name: t\n    task: {load: simple}\n"
    text = base + "    connect: [{name: in, type: pull}]\n"
    check(fail(text), line=5, role="w.t", says="has no target")
    text = base + "    bind: [{name: o, type: shove}]\n"
    check(fail(text), line=5, role="w.t", says="type is 'shove'", expected="push | pull")
    text = base + "    bind: [{name: o, type: push, sndBufSize: big}]\n"
    check(
        fail(text),
        line=5,
        role="w.t",
        says="channel 'o': sndBufSize is 'big'",
        expected="an integer",
    )


def test_duplicate_global_alias() -> None:
    text = (
        "name: w\nroles:\n"
        "  - {name: a, bind: [{name: out, type: push, global: g}], task: {load: simple}}\n"
        "  - {name: b, bind: [{name: out, type: push, global: g}], task: {load: simple}}\n"
    )
    check(fail(text), line=4, role="w.b", says="global alias 'g' is already published by w.a:out")


def test_bad_task_template_fields() -> None:
    text = "name: w\nroles:\n  - name: t\n    task: {load: odd}\n"
    odd = "name: odd\ncontrol: {mode: remote}\ncommand: {value: x}\n"
    check(
        fail(text, {"odd": odd}),
        line=2,
        role="w.t",
        says="control mode 'remote'",
        expected="fairmq | direct",
        file="mem/tasks/odd.yaml",
    )
    empty = "name: odd\ncontrol: {mode: basic}\n"
    check(
        fail(text, {"odd": empty}),
        line=1,
        role="w.t",
        says="no command.value",
        file="mem/tasks/odd.yaml",
    )


def test_bad_trigger_timeout_enabled_and_name() -> None:
    base = "name: w\nroles:\n  - name: t\n"
    check(
        fail(base + "    task: {load: job, trigger: before_LUNCH}\n"),
        line=4, role="w.t", says="task.trigger is 'before_LUNCH'", expected="before_CONFIGURE",
    )  # fmt: skip
    check(
        fail(base + "    task: {load: job, timeout: soon}\n"),
        line=4, role="w.t", says="task.timeout is 'soon'", expected="a duration",
    )  # fmt: skip
    check(
        fail(base + "    enabled: maybe\n    task: {load: job}\n"),
        line=4,
        role="w.t",
        says="enabled is 'maybe'",
        expected="true or false",
    )
    check(
        fail("name: w\nroles:\n  - name: 'a:b'\n    task: {load: job}\n"),
        line=3,
        role="w.a:b",
        says="role name 'a:b'",
    )


def test_call_roles_need_a_function_and_a_trigger() -> None:
    base = "name: w\nroles:\n  - name: c\n"
    check(
        fail(base + "    call: {func: 'not a call', trigger: DESTROY}\n"),
        line=4,
        role="w.c",
        says="unexpected 'call'",
    )
    check(
        fail(base + "    call: {func: 'x', trigger: DESTROY}\n"),
        line=4,
        role="w.c",
        says="call func 'x'",
        expected="dcs.StartOfRun()",
    )
    check(
        fail(base + "    call: {func: dcs.X()}\n"), line=4, role="w.c", says="call without trigger"
    )
    check(
        fail(base + "    call: {func: dcs.X(), trigger: DESTROY, return: 'a b; rm'}\n"),
        line=4,
        role="w.c",
        says="call.return is 'a b; rm'",
        expected="a variable name",
    )


def test_helpers_needing_services_are_named() -> None:
    text = 'name: w\ndefaults:\n  a: \'{{ runtime.Get("trg", "k") }}\'\nroles: []\n'
    check(
        fail(text), line=3, role="w", says="runtime.Get('trg', 'k'): no runtime store is configured"
    )


def test_disabled_root_and_missing_workflow() -> None:
    check(
        fail("name: w\nenabled: 'false'\nroles: []\n"),
        line=1,
        role=None,
        says="the root role is disabled",
    )
    with pytest.raises(TemplateError, match="cannot read workflow template 'absent'"):
        expand_workflow(source({}), "absent")
