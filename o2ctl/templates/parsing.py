"""Static checks shared by workflow and task templates, done once when a file is read.

Both kinds of template declare variables (``defaults``, ``vars``) the same way: a value,
or AliECS's variable spec ``{value: …, type, label, …}`` (optionally tagged ``!public``,
then also shown to operators), and constraints as ``[{attribute, value}]``. This module
checks those shapes and the keys of each mapping, so that a misspelt key becomes a warning
and a wrong shape a ``TemplateError`` naming file and line, before anything is evaluated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from o2ctl.templates.errors import TemplateError
from o2ctl.templates.yamlload import Public, YList, YMap


@dataclass(frozen=True)
class Where:
    """A place in a template file."""

    file: str
    line: int

    def error(
        self, reason: str, *, role: str | None = None, expected: str | None = None
    ) -> TemplateError:
        return TemplateError(reason, file=self.file, line=self.line, role=role, expected=expected)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class VarBlock:
    """A ``defaults:`` or ``vars:`` block: raw values (maybe ``{{ }}``) and their lines."""

    values: Mapping[str, object] = field(default_factory=dict)
    lines: Mapping[str, int] = field(default_factory=dict)
    public: Mapping[str, Mapping[str, object]] = field(default_factory=dict)


EMPTY_VARS = VarBlock()


def where_of(doc: YMap, key: str, file: str) -> Where:
    return Where(file, doc.line_of(key))


def mapping(doc: YMap, key: str, file: str, role: str | None = None) -> YMap | None:
    """``doc[key]`` when it is a mapping, None when absent or null; else a TemplateError."""
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, YMap):
        raise where_of(doc, key, file).error(f"{key} must be a mapping", role=role)
    return value


def sequence(doc: YMap, key: str, file: str, role: str | None = None) -> YList | None:
    """``doc[key]`` when it is a list, None when absent or null; else a TemplateError."""
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, YList):
        raise where_of(doc, key, file).error(f"{key} must be a list", role=role)
    return value


def unknown_keys(doc: YMap, known: Iterable[str], what: str, file: str) -> list[str]:
    """Warnings for keys of ``doc`` that nothing reads (a typo is otherwise silent)."""
    allowed = set(known)
    return [
        f"{file}:{doc.line_of(key)}: {what}: unknown key {key!r} ignored"
        for key in doc
        if key not in allowed
    ]


def parse_vars(doc: YMap, key: str, file: str, role: str | None = None) -> VarBlock:
    """Read a ``defaults``/``vars`` block into raw values."""
    block = mapping(doc, key, file, role)
    if block is None:
        return EMPTY_VARS
    values: dict[str, object] = {}
    public: dict[str, Mapping[str, object]] = {}
    for name, raw in block.items():
        value = raw
        if isinstance(value, Public):
            public[name] = {"value": value.value}
            value = value.value
        elif isinstance(value, YMap):
            if "value" not in value:
                raise Where(file, block.line_of(name)).error(
                    f"variable {name!r} is a mapping without 'value'",
                    role=role,
                    expected="a scalar or {value: ..., type: ..., label: ...}",
                )
            if value.public:
                public[name] = dict(value)
            value = value["value"]
        if isinstance(value, YMap | YList):
            value = _plain(value)
        values[name] = value
    return VarBlock(values, dict(block.key_lines), public)


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Public):
        return value.value
    return value


def check_constraints(doc: YMap, file: str, role: str | None = None) -> YList | None:
    """``constraints:`` must be a list of ``{attribute, value[, operator]}`` mappings."""
    entries = sequence(doc, "constraints", file, role)
    for index, entry in enumerate(entries or ()):
        if not isinstance(entry, YMap) or "attribute" not in entry:
            line = entries.line_of(index) if entries is not None else doc.line
            raise Where(file, line).error(
                "a constraint must be a mapping with 'attribute'",
                role=role,
                expected="{attribute: NAME, value: VALUE}",
            )
    return entries


def check_channels(doc: YMap, key: str, file: str, role: str | None = None) -> YList | None:
    """``bind:``/``connect:`` must be lists of mappings (rendered later)."""
    entries = sequence(doc, key, file, role)
    for index, entry in enumerate(entries or ()):
        if not isinstance(entry, YMap):
            line = entries.line_of(index) if entries is not None else doc.line
            raise Where(file, line).error(
                f"a {key} entry must be a mapping", role=role, expected="{name, type, ...}"
            )
    return entries


def scalar_text(doc: YMap, key: str, file: str, role: str | None = None) -> object:
    """A scalar field (string, number or bool) or None; lists and maps are errors."""
    value = doc.get(key)
    if isinstance(value, Public):
        value = value.value
    if isinstance(value, YMap | YList):
        raise where_of(doc, key, file).error(f"{key} must be a single value", role=role)
    return value
