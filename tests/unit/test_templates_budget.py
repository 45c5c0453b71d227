"""Templates are untrusted: what one document and one expansion may cost is bounded.

The alias bombs are refused while the YAML is composed (milliseconds, no memory); an
expansion over its role, time or memory budget stops with a TemplateError naming the file
and the limit; operators that grow values are bounded; an iterator that yields no role is
a warning, one with a negative count an error.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_templates_support import source

from o2ctl.templates import TemplateError, expand_workflow
from o2ctl.templates.budget import Budget, address_space_limit
from o2ctl.templates.yamlguard import MAX_ALIASES, MAX_DOCUMENT_BYTES
from o2ctl.templates.yamlload import load_yaml

TASK = {"t": "name: t\ncontrol: {mode: basic}\ncommand: {value: 'true', shell: false}\n"}
ROLES = "roles:\n  - name: one\n    task:\n      load: t\n"


def alias_bomb() -> str:
    """The issue's bomb: nine levels of anchors, ten aliases each, in ``defaults``."""
    lines = ["name: w", "description: an alias bomb", "defaults:", '  a0: &a0 "xxxxxxxxxxx"']
    for i in range(1, 10):
        lines.append(f"  a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n" + ROLES


def nested_bomb() -> str:
    """The same, each level's anchor defined inside the next level's sequence."""
    inner = '&n0 "xxxxxxxxxx"'
    for i in range(1, 10):
        inner = f"&n{i} [{inner}" + "".join(f",*n{i - 1}" for _ in range(9)) + "]"
    return f"name: w\ndefaults:\n  v: {inner}\n" + ROLES


def doubling_bomb() -> str:
    """Few aliases (within the count), each doubling: 2**16 nodes once expanded."""
    lines = ["name: w", "defaults:", "  d0: &d0 [x, y]"]
    lines += [f"  d{i}: &d{i} [*d{i - 1}, *d{i - 1}]" for i in range(1, 16)]
    return "\n".join(lines) + "\n" + ROLES


@pytest.fixture
def measured() -> Iterator[dict[str, float]]:
    got: dict[str, float] = {}
    tracemalloc.start()
    started = time.perf_counter()
    yield got
    got["seconds"] = time.perf_counter() - started
    got["peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    assert got["seconds"] < 1.0, got
    assert got["peak_mb"] < 20, got


@pytest.mark.parametrize(
    ("text", "says", "line"),
    [
        (alias_bomb(), f"more than {MAX_ALIASES} YAML aliases", 8),
        (nested_bomb(), f"more than {MAX_ALIASES} YAML aliases", 3),
        (doubling_bomb(), "YAML aliases expand to more than 10000 nodes", 14),
    ],
    ids=["nine-levels-of-ten", "nested-anchors", "doubling"],
)
def test_alias_bombs_are_refused_while_composing(
    text: str, says: str, line: int, measured: dict[str, float]
) -> None:
    assert 380 < len(text.encode()) < 700
    with pytest.raises(TemplateError) as caught:
        expand_workflow(source({"w": text}, TASK), "w")
    error = caught.value
    assert error.file == "mem/workflows/w.yaml" and error.line == line, str(error)
    assert says in str(error) and "limit" in str(error)


def test_a_few_aliases_still_work() -> None:
    doc = load_yaml("base: &b {type: push, transport: zeromq}\nother: *b\nlist: [*b, *b]\n", "f")
    assert isinstance(doc, dict)
    assert doc["other"] == {"type": "push", "transport": "zeromq"} and doc["list"][1] is doc["base"]


def test_a_document_over_the_size_limit_is_refused_unread() -> None:
    text = "name: w\ndescription: '" + "x" * MAX_DOCUMENT_BYTES + "'\n"
    with pytest.raises(TemplateError, match=f"over the limit of {MAX_DOCUMENT_BYTES} bytes"):
        load_yaml(text, "big.yaml")


def test_deep_nesting_is_refused_with_its_line() -> None:
    text = "a:\n" + "".join("  " * i + "- \n" for i in range(1, 300))
    with pytest.raises(TemplateError, match="nested deeper than 200 levels") as caught:
        load_yaml(text, "deep.yaml")
    assert caught.value.file == "deep.yaml" and caught.value.line is not None


def test_the_real_templates_load_within_the_budgets(shared_workflows: Path) -> None:
    for path in sorted(shared_workflows.rglob("*.yaml")):
        assert load_yaml(path.read_text(), str(path)) is not None


ITERATOR = """
name: w
defaults:
  n: 10
roles:
  - name: "r{{ i }}"
    for: {begin: 1, end: "{{ n }}", var: i}
    task: {load: t}
"""


def expand(budget: Budget, **user: str) -> object:
    return expand_workflow(source({"w": ITERATOR}, TASK), "w", user, budget=budget)


def test_over_the_role_budget_names_file_role_and_limit() -> None:
    with pytest.raises(TemplateError) as caught:
        expand(Budget(roles=50), n="100")
    text = str(caught.value)
    assert "more than 50 roles" in text and caught.value.file == "mem/workflows/w.yaml"
    assert caught.value.role == "w.r50"


def test_over_the_time_budget_names_file_and_limit() -> None:
    started = time.perf_counter()
    with pytest.raises(TemplateError) as caught:
        expand(Budget(seconds=0.2), n="99999")
    assert time.perf_counter() - started < 5
    assert "took more than 0.2 s" in str(caught.value)
    assert caught.value.file == "mem/workflows/w.yaml"


def test_over_the_memory_budget_names_file_and_limit() -> None:
    with pytest.raises(TemplateError) as caught:
        expand(Budget(memory_mb=10), n="99999")
    assert "used more than 10 MB of memory" in str(caught.value)
    assert caught.value.file == "mem/workflows/w.yaml"


def test_a_hard_memory_cap_turns_into_a_template_error() -> None:
    budget = Budget(memory_mb=64)
    with address_space_limit(budget), pytest.raises(TemplateError) as caught:
        expand_workflow(
            source({"w": "name: w\ndefaults:\n  big: x\n" + ROLES}, TASK),
            "w",
            builtins={"huge": ["y" * 1_000_000] * 1000},  # written as JSON: ~1 GB
            budget=budget,
        )
    assert "ran out of memory" in str(caught.value) and "64 MB" in str(caught.value)


def test_within_budget_expands_as_before() -> None:
    tree = expand(Budget(roles=20), n="10")
    assert len(tree.root.children) == 10  # type: ignore[attr-defined]


def nested(seed: str, step: str, levels: int = 40) -> str:
    """Roles nested ``levels`` deep, each level's ``vars: {s: STEP}`` over its parent's."""
    text, indent = f"name: w\ndefaults:\n  s: {seed}\nroles:\n", "  "
    for level in range(levels):
        text += f'{indent}- name: l{level}\n{indent}  vars: {{s: "{step}"}}\n'
        text += f"{indent}  roles:\n"
        indent += "    "
    return text + f"{indent}- name: one\n{indent}  task: {{load: t}}\n"


def test_doubling_strings_stop_at_the_text_limit() -> None:
    text = nested('"xxxxxxxxxxxxxxxx"', "{{ s + s }}")
    with pytest.raises(TemplateError, match="string of more than 4194304 characters"):
        expand_workflow(source({"w": text}, TASK), "w")


def test_squaring_numbers_stop_at_the_integer_limit() -> None:
    with pytest.raises(TemplateError, match="integers are limited to 256 bits"):
        expand_workflow(source({"w": nested("99999", "{{ s * s }}")}, TASK), "w")


def test_an_empty_iterator_is_a_warning_naming_file_line_and_role() -> None:
    tree = expand(Budget(), n="0")
    assert tree.root.children == ()  # type: ignore[attr-defined]
    (warning,) = [w for w in tree.warnings if "yields no role" in w]  # type: ignore[attr-defined]
    assert warning.startswith("mem/workflows/w.yaml:7: iterator role 'r{{ i }}' under w")
    assert "(begin 1, end 0)" in warning


def test_an_iterator_with_a_negative_count_is_an_error() -> None:
    with pytest.raises(TemplateError) as caught:
        expand(Budget(), n="-1")
    assert "iterator 1..-1 has a negative count (-1)" in str(caught.value)
    assert caught.value.file == "mem/workflows/w.yaml" and caught.value.line == 7


def test_an_empty_range_is_a_warning() -> None:
    text = ITERATOR.replace('{begin: 1, end: "{{ n }}", var: i}', '{range: "[]", var: i}')
    tree = expand_workflow(source({"w": text}, TASK), "w")
    assert any("yields no role (range [])" in w for w in tree.warnings)
