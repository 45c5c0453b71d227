"""A workflow template's operator-facing header, read without expanding it.

AliECS answers ``GetWorkflowTemplates`` with, per workflow file, whether it is public
(``name: !public …``), its public ``description`` and the specs of its public variables:
every ``!public`` mapping ``{value, type, label, description, widget, panel, values,
index, visibleif, enabledif, rows}`` that is an entry of a ``defaults:`` or ``vars:``
block anywhere in the file (the top level or any role of it; includes and task templates
are not followed, nothing is evaluated). The GUI prefills its variables form from them.
This module reads the same header from a template's text, pure: the bounded YAML loader
(``yamlload``: size, depth, aliases) first, then one walk over the document.

What AliECS refuses, this refuses with one ``TemplateError`` naming file and line (bad
YAML, a document that is not a mapping, the same public variable declared twice); a spec
it cannot decode (a ``values`` that is not a list of scalars, an ``index`` that is not a
number) it skips, as AliECS does, and so does this, saying why in ``skipped``. Beyond
AliECS, each spec and the number of specs per template are bounded, so that an untrusted
file cannot make a reply arbitrarily large.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from o2ctl.templates.convert import to_text
from o2ctl.templates.errors import TemplateError
from o2ctl.templates.yamlload import Public, YList, YMap, load_yaml

MAX_SPECS = 1_000  # readout-dataflow, the largest real template, has ~115
MAX_TEXT = 4_096  # label, description, panel, visibleIf … of one spec
MAX_DEFAULT = 64 << 10  # a default value (a DPL command line can be long)
MAX_VALUES = 256  # allowed values of one spec
TYPES = ("string", "number", "bool", "list", "map")  # anything else is read as string
WIDGETS = ("editBox", "slider", "listBox", "dropDownBox", "comboBox", "radioButtonBox", "checkBox")
_TEXT_KEYS = {
    "label": "label",
    "description": "description",
    "panel": "panel",
    "visibleif": "visible_if",
    "enabledif": "enabled_if",
}


@dataclass(frozen=True)
class TemplateHeader:
    """What a workflow file shows operators before anything is expanded."""

    public: bool = False
    description: str = ""
    var_specs: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # "FILE:LINE: NAME: why" per dropped spec


class _Skip(ValueError):
    """A spec that cannot be decoded: dropped, as AliECS drops it."""


def read_header(text: str, origin: str) -> TemplateHeader:
    """The header of the workflow template ``text`` (read from ``origin``)."""
    doc = load_yaml(text, origin)
    if doc is None:
        return TemplateHeader()
    if not isinstance(doc, YMap):
        raise TemplateError("a workflow template must be a mapping", file=origin, line=1)
    description = doc.get("description")
    specs: dict[str, dict[str, Any]] = {}
    lines: dict[str, int] = {}
    skipped: list[str] = []
    for name, spec, source, line in _public_entries(doc, ""):
        if name in specs:
            raise TemplateError(
                f"public variable {name!r} declared twice (first on line {lines[name]})",
                file=origin,
                line=line,
                expected="each public variable declared once per workflow file",
            )
        if len(specs) >= MAX_SPECS:
            raise TemplateError(f"more than {MAX_SPECS} public variables", file=origin, line=line)
        try:
            specs[name] = {**decode_spec(spec), "source": source}
            lines[name] = line
        except _Skip as why:
            skipped.append(f"{origin}:{line}: public variable {name!r} ignored: {why}")
    return TemplateHeader(
        public=isinstance(doc.get("name"), Public),
        description=to_text(description.value)[:MAX_TEXT]
        if isinstance(description, Public)
        else "",
        var_specs=specs,
        skipped=skipped,
    )


def _public_entries(node: object, parent: str) -> Iterator[tuple[str, YMap, str, int]]:
    """``(name, spec, "defaults"|"vars", line)`` for each public spec under ``node``.

    The walk is AliECS's: an entry counts when its mapping is the value of a ``defaults``
    or ``vars`` key; a list resets the parent key; everything else is searched deeper."""
    if isinstance(node, YList):
        for item in node:
            yield from _public_entries(item, "")
    elif isinstance(node, YMap):
        for key, value in node.items():
            if parent in ("defaults", "vars") and isinstance(value, YMap) and value.public:
                yield key, value, parent, node.line_of(key)
            else:
                yield from _public_entries(value, key)


def decode_spec(spec: YMap) -> dict[str, Any]:
    """A ``!public`` mapping as the fields of AliECS's ``VarSpecMessage`` (snake_case)."""
    out: dict[str, Any] = {
        "default_value": _text(spec.get("value"), MAX_DEFAULT),
        "type": _choice(spec.get("type"), TYPES),
        "widget": _choice(spec.get("widget"), WIDGETS),
        "allowed_values": _values(spec.get("values")),
        "index": _number(spec.get("index"), "index", -(1 << 31), (1 << 31) - 1),
        "rows": _number(spec.get("rows"), "rows", 0, (1 << 32) - 1),
    }
    for key, name in _TEXT_KEYS.items():
        out[name] = _text(spec.get(key), MAX_TEXT)
    return out


def _text(value: object, limit: int) -> str:
    if isinstance(value, Public):
        value = value.value
    if isinstance(value, YMap | YList):
        raise _Skip("a list or mapping where a single value was expected")
    text = to_text(value)
    if len(text) > limit:
        raise _Skip(f"a value of {len(text)} characters (the limit is {limit})")
    return text


def _choice(value: object, known: tuple[str, ...]) -> str:
    """AliECS maps an unknown type or widget to the first (string, editBox)."""
    text = _text(value, MAX_TEXT)
    return text if text in known else known[0]


def _values(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, YList):
        raise _Skip("'values' must be a list")
    if len(value) > MAX_VALUES:
        raise _Skip(f"'values' has {len(value)} entries (the limit is {MAX_VALUES})")
    return [_text(v, MAX_TEXT) for v in value]


def _number(value: object, key: str, low: int, high: int) -> int:
    if value is None:
        return 0
    if isinstance(value, Public):
        value = value.value
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _Skip(f"{key!r} must be a whole number from {low} to {high}")
    return value
