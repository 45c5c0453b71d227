"""The ``{{ }}`` expression language: parsing, operators, helpers, fields."""

from __future__ import annotations

import pytest
from test_templates_support import Env

from o2ctl.templates import TemplateError
from o2ctl.templates.evaluate import evaluate
from o2ctl.templates.expr import Binary, Call, Member, Name, Ternary, Unary, parse
from o2ctl.templates.fields import render
from o2ctl.templates.helpers import IntegrationContext


def value(text: str, **variables: object) -> object:
    return evaluate(parse(text), Env(**variables))


def test_precedence_follows_expr() -> None:
    assert parse("!a == b") == Binary("==", Unary("!", Name("a")), Name("b"))
    assert parse("a || b && c") == Binary("||", Name("a"), Binary("&&", Name("b"), Name("c")))
    assert value("1 + 2 * 3") == 7 and value("(1 + 2) * 3") == 9 and value("-2 + 5") == 3
    assert parse("a ? b : c ? d : e") == Ternary(
        Name("a"), Name("b"), Ternary(Name("c"), Name("d"), Name("e"))
    )
    assert parse("strings.ToUpper(x)") == Call(Member(Name("strings"), "ToUpper"), (Name("x"),))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("'a' + \"b\" + `c\\n`", "abc\\n"),
        ("'tab\\there'", "tab\there"),
        ("0x1F + 1", 32),
        ("1.5 * 2", 3.0),
        ("7 % 4", 3),
        ("7 / 2", 3.5),
        ("nil ?? 'fallback'", "fallback"),
        ("[1, 'a'][1]", "a"),
        ("{a: 1, 'b': 2}.b", 2),
        ("len('four') + len([1, 2])", 6),
        ("true and not false", True),
        ("'MCH' in ['ITS', 'MCH']", True),
        ("'TPC' not in ['ITS']", True),
        ("'flp001' startsWith 'flp' && 'x.yaml' endsWith '.yaml'", True),
    ],
)
def test_literals_and_operators(text: str, expected: object) -> None:
    assert value(text) == expected


def test_string_variables_compare_the_aliecs_way() -> None:
    assert value("flag == 'true'", flag=True) and value("flag == 'true'", flag="true")
    assert value("n == 4", n="4") and value("n > 2", n="4") and value("n >= 4.0", n=4)
    assert value("'10' < '9'")  # two strings compare as text, as in expr
    assert value("x + 1", x="4") == "41"  # + on a string concatenates
    assert value("x - 1", x="4") == 3  # other arithmetic reads numeric strings
    assert value("'a' + nil + 'b'") == "ab"  # AliECS's addNil
    assert value("detectors contains 'ITS'", detectors='["ITS","TPC"]')
    assert not value("[1] == '[1]'")


def test_ternary_and_logic_short_circuit() -> None:
    assert value("false && missing()") is False
    assert value("true || missing()") is True
    assert value("x == 'true' ? odc.Anything() : 'no'", x="false") == "no"


def test_helpers() -> None:
    assert value("strings.ToLower(strings.TrimSpace('  ITS '))") == "its"
    assert value("strings.IsFalsy('none') && strings.IsTruthy(' Yes ')")
    assert value("strings.Atoi('12') + 1") == 13 and value("strings.Itoa(5)") == "5"
    assert value("json.Marshal(json.Sort(json.Unmarshal(d)))", d='["TPC","ITS"]') == '["ITS","TPC"]'
    assert value("util.SuffixInRange('flp012', 'flp', '1', '20')") == "true"
    assert value("util.SuffixInRange('flp099', 'flp', 1, 20)") == "false"
    assert len(str(value("uid.New()"))) == 12 and value("uid.New()") != value("uid.New()")
    env = {"dpl_workflow": "none", "its_dpl_workflow": "its-qc", "tpc_dpl_workflow": " "}
    assert value("util.PrefixedOverride('dpl_workflow', 'its')", **env) == "its-qc"
    assert value("util.PrefixedOverride('dpl_workflow', 'tpc')", **env) == ""
    assert value("util.PrefixedOverride('x', 'y')", x="base") == "base"


def test_inventory_without_backend_is_neutral_and_warns() -> None:
    env = Env()
    assert evaluate(parse("inventory.DetectorForHost('flp001')"), env) == ""
    assert evaluate(parse("inventory.DetectorsForHosts('[\"flp001\"]')"), env) == "[]"
    assert len(env.warnings) == 2
    env.integration = IntegrationContext(inventory={"a": "TPC", "b": "ITS", "c": "TPC"})
    env.variables["h"] = '["a","b","c"]'
    assert evaluate(parse("inventory.DetectorsForHosts(h)"), env) == '["ITS","TPC"]'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("missing_var", "unknown variable 'missing_var'"),
        ("strings.__class__", "strings has no member '__class__'"),
        ("'abc'.upper()", "a string has no member .upper"),
        ("x.__dict__", "a number has no member"),
        ("strings()", "a namespace is not a function"),
        ("(1)(2)", "only functions can be called"),
        ("strings.ToUpper()", "strings.ToUpper() takes 1 argument(s), got 0"),
        ("1 / 0", "division by zero"),
        ("'a' && true", "operand of &&"),
        ("1 < 'x'", "cannot compare"),
        ("[1][5]", "out of range"),
        ("'a' matches 'b'", "not supported"),
        ("config.Get('a/b')", "config.Get('a/b'): no configuration store"),
        ("dcs.StartOfRun()", "dcs.StartOfRun() needs the integration plugin 'dcs'"),
        ("dpl.Generate('o2-x')", "dpl.Generate() needs the DPL workflow generator"),
        ("util.Dump('x', '/tmp/x')", "util.Dump writes files"),
        ("json.Unmarshal('{')", "not JSON"),
        ("'unterminated", "unexpected character"),
        ("a +", "unexpected 'end of expression'"),
        ("(a", "expected ')'"),
        ("a b", "unexpected 'b'"),
        ("'\\q'", "unknown escape"),
        ("#", "unexpected character '#'"),
        ("(" * 150 + "1" + ")" * 150, "nested deeper than"),
    ],
)
def test_errors_are_template_errors_that_say_what(text: str, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        value(text, x=1)
    assert message in str(caught.value)


def test_fields_keep_the_type_of_a_whole_expression() -> None:
    env = Env(n=4, flag=True, hosts=["a", "b"], name="proc")
    assert render("{{ n }}", env) == 4
    assert render("  {{ flag }} ", env) is True
    assert render("{{ hosts }}", env) == ["a", "b"]
    assert render("{{ name }}-{{ n }}", env) == "proc-4"
    assert render("hosts={{ hosts }} on={{ flag }}", env) == 'hosts=["a","b"] on=true'
    assert render(12, env) == 12 and render("no tags", env) == "no tags"
    assert render("{{ 'a}' }}", env) == "a}"  # a tag ends at the first }} after {{


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("{{ n ", "unterminated {{"),
        ("{{ }}", "empty expression"),
        ("{{ strings }}", "yields a namespace, not a value"),
        ("x {{ strings.ToUpper }}", "yields a function"),
    ],
)
def test_field_errors(field: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message.replace("{", r"\{")):
        render(field, Env(n=1))
