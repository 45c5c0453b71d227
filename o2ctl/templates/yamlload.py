"""YAML text in, plain containers that remember their line numbers out.

Templates are read with the YAML 1.2 core schema (as AliECS's Go YAML library does):
``yes``/``no``/``on`` stay strings, ``010`` is ten, dates stay text. Mappings come back as
``YMap`` and sequences as ``YList``: ordinary ``dict``/``list`` that also carry the line of
each key and item, so that a ``TemplateError`` raised much later can still name the line.
The ``!public`` tag of AliECS (variables shown in the operator GUI, either a scalar or a
``{value, type, label, ...}`` mapping) is accepted and marked on the result; any other
custom tag is an error. Duplicate keys, recursive aliases and absurd nesting are errors too,
never a hang or a silent last-one-wins. What one document may cost (its size, its aliases
and what they expand to, its depth) is bounded while it is composed (``yamlguard``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import yaml

from o2ctl.templates.errors import TemplateError
from o2ctl.templates.yamlguard import MAX_DEPTH, BudgetExceeded, GuardedComposer, check_size

PUBLIC_TAG = "!public"
_STD = "tag:yaml.org,2002:"

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(GuardedComposer, _Base):  # type: ignore[misc]
    """A loader resolving plain scalars with the YAML 1.2 core schema, composing in budget.

    libyaml (when present) still scans and parses; the composition is PyYAML's own, in
    Python, so that every alias event is counted before the next one is read.
    """

    def __init__(self, text: str) -> None:
        _Base.__init__(self, text)
        self.init_guard()

    yaml_implicit_resolvers: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {}


def _resolver(tag: str, pattern: str, first: list[str]) -> None:
    _Loader.add_implicit_resolver(_STD + tag, re.compile(pattern, re.X), first)


_resolver("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF"))
_resolver("null", r"^(?:~|null|Null|NULL|)$", [*"~nN", ""])
_resolver("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789"))
_resolver(
    "float",
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
    list("-+0123456789."),
)


class YMap(dict[str, Any]):
    """A YAML mapping with line numbers (1-based) of itself and of each key."""

    __slots__ = ("key_lines", "line", "public")

    def __init__(self, line: int, public: bool = False) -> None:
        super().__init__()
        self.line = line
        self.public = public
        self.key_lines: dict[str, int] = {}

    def line_of(self, key: str) -> int:
        """The line of ``key`` (or of the mapping when the key is absent)."""
        return self.key_lines.get(key, self.line)


class YList(list[Any]):
    """A YAML sequence with line numbers (1-based) of itself and of each item."""

    __slots__ = ("item_lines", "line")

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []

    def line_of(self, index: int) -> int:
        """The line of item ``index``."""
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


class Public:
    """A ``!public`` scalar: the value, flagged as shown to operators."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value


def load_yaml(text: str, origin: str) -> object:
    """Parse one YAML document; errors name ``origin`` and the line."""
    return _load_cached(text, origin)


@lru_cache(maxsize=256)
def _load_cached(text: str, origin: str) -> object:
    too_big = check_size(text)
    if too_big:
        raise TemplateError(too_big, file=origin)
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except BudgetExceeded as error:
        line = error.problem_mark.line + 1 if error.problem_mark is not None else None
        raise TemplateError(str(error.problem), file=origin, line=line) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = f"bad YAML: {error.problem or error.context}"
        raise TemplateError(reason, file=origin, line=line) from None
    except (yaml.YAMLError, ValueError, RecursionError, MemoryError) as error:
        raise TemplateError(f"bad YAML: {error}", file=origin) from None
    if node is None:
        return None
    return _Converter(origin).convert(node, 0)


class _Converter:
    """Turns composed YAML nodes into YMap/YList/scalars, once per node."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.done: dict[int, object] = {}
        self.active: set[int] = set()

    def fail(self, node: yaml.Node, reason: str) -> TemplateError:
        return TemplateError(reason, file=self.origin, line=node.start_mark.line + 1)

    def convert(self, node: yaml.Node, depth: int) -> object:
        key = id(node)
        if key in self.done:
            return self.done[key]
        if key in self.active:
            raise self.fail(node, "recursive YAML alias")
        if depth > MAX_DEPTH:
            raise self.fail(node, f"YAML nested deeper than {MAX_DEPTH} levels")
        self.active.add(key)
        try:
            value = self._convert(node, depth)
        finally:
            self.active.discard(key)
        self.done[key] = value
        return value

    def _convert(self, node: yaml.Node, depth: int) -> object:
        tag = node.tag
        public = tag == PUBLIC_TAG
        if isinstance(node, yaml.MappingNode):
            if not public and tag != _STD + "map":
                raise self.fail(node, f"unsupported YAML tag {tag} on a mapping")
            return self._mapping(node, depth, public)
        if isinstance(node, yaml.SequenceNode):
            if tag != _STD + "seq":
                raise self.fail(node, f"unsupported YAML tag {tag} on a sequence")
            return self._sequence(node, depth)
        if public:
            implicit = _Loader.resolve(_Loader, yaml.ScalarNode, node.value, (True, False))
            return Public(self._scalar(node, implicit))
        return self._scalar(node, tag)

    def _mapping(self, node: yaml.MappingNode, depth: int, public: bool) -> YMap:
        result = YMap(node.start_mark.line + 1, public)
        for key_node, value_node in node.value:
            key = self.convert(key_node, depth + 1)
            if isinstance(key, Public):
                key = key.value
            if not isinstance(key, str | int | float | bool) or isinstance(key, bool):
                raise self.fail(key_node, f"a mapping key must be a string, not {key!r}")
            name = str(key)
            if name in result:
                first = result.key_lines[name]
                raise self.fail(key_node, f"duplicate key {name!r} (first given on line {first})")
            result[name] = self.convert(value_node, depth + 1)
            result.key_lines[name] = key_node.start_mark.line + 1
        return result

    def _sequence(self, node: yaml.SequenceNode, depth: int) -> YList:
        result = YList(node.start_mark.line + 1)
        for item in node.value:
            result.append(self.convert(item, depth + 1))
            result.item_lines.append(item.start_mark.line + 1)
        return result

    def _scalar(self, node: yaml.Node, tag: str) -> object:
        text: str = node.value
        try:
            if tag == _STD + "str":
                return text
            if tag == _STD + "null":
                return None
            if tag == _STD + "bool":
                return text.lower() == "true"
            if tag == _STD + "int":
                return _parse_int(text)
            if tag == _STD + "float":
                return _parse_float(text)
        except ValueError:
            raise self.fail(node, f"bad {tag.rsplit(':', 1)[-1]} scalar {text[:40]!r}") from None
        raise self.fail(node, f"unsupported YAML tag {tag}")


def _parse_int(text: str) -> int:
    body = text.lstrip("+-")
    sign = -1 if text.startswith("-") else 1
    if body.startswith("0x"):
        return sign * int(body[2:], 16)
    if body.startswith("0o"):
        return sign * int(body[2:], 8)
    return sign * int(body, 10)


def _parse_float(text: str) -> float:
    lowered = text.lower()
    if lowered.endswith(".inf"):
        return float("-inf") if lowered.startswith("-") else float("inf")
    if lowered == ".nan":
        return float("nan")
    return float(text)
