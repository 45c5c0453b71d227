"""Template fields: text with ``{{ expression }}`` tags, rendered against an ``Env``.

A field that is exactly one tag (``"{{ nProcessors }}"``) yields the expression's value
with its type (an integer, a list, a boolean); a field mixing text and tags yields a string,
each tag written the AliECS way (``to_text``). Non-string YAML values (``4``, ``true``)
are fields without tags and come back unchanged. As in AliECS (fasttemplate), a tag ends at
the first ``}}`` after its ``{{``; an unterminated tag is an error. Compiled fields are
cached by text, so an iterator stamping out a thousand roles parses each field once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from o2ctl.templates import expr
from o2ctl.templates.convert import describe, to_text
from o2ctl.templates.errors import TemplateError
from o2ctl.templates.evaluate import Env, Function, Namespace, RoleRef, evaluate

OPEN, CLOSE = "{{", "}}"


@dataclass(frozen=True, slots=True)
class Tag:
    """One ``{{ … }}`` of a field: its source text and parsed expression."""

    source: str
    node: expr.Node


@dataclass(frozen=True, slots=True)
class Compiled:
    """A field split into literal text pieces and tags."""

    parts: tuple[str | Tag, ...]
    whole: Tag | None  # set when the field is exactly one tag


@lru_cache(maxsize=16384)
def compile_field(text: str) -> Compiled:
    """Split ``text`` into text and tags, parsing each tag's expression."""
    parts: list[str | Tag] = []
    pos = 0
    while True:
        start = text.find(OPEN, pos)
        if start < 0:
            break
        end = text.find(CLOSE, start + len(OPEN))
        if end < 0:
            raise TemplateError(f"unterminated {OPEN} in {text!r}", expected=f"a closing {CLOSE}")
        if start > pos:
            parts.append(text[pos:start])
        source = text[start + len(OPEN) : end]
        parts.append(Tag(source, expr.parse(source)))
        pos = end + len(CLOSE)
    if pos < len(text):
        parts.append(text[pos:])
    stripped = [p for p in parts if not (isinstance(p, str) and not p.strip())]
    whole = stripped[0] if len(stripped) == 1 and isinstance(stripped[0], Tag) else None
    return Compiled(tuple(parts), whole)


def has_tags(value: object) -> bool:
    """Whether a value is a string holding at least one ``{{``."""
    return isinstance(value, str) and OPEN in value


def render(value: object, env: Env) -> object:
    """The value of a field: typed when it is one whole tag, a string when mixed."""
    if not isinstance(value, str) or OPEN not in value:
        return value
    compiled = compile_field(value)
    if compiled.whole is not None:
        return _value_of(compiled.whole, env)
    pieces: list[str] = []
    for part in compiled.parts:
        pieces.append(part if isinstance(part, str) else to_text(_value_of(part, env)))
    return "".join(pieces)


def render_text(value: object, env: Env) -> str:
    """A field rendered and written as a string."""
    return to_text(render(value, env))


def value_of(tag: Tag, env: Env) -> object:
    """The value of one tag (an error names the tag)."""
    return _value_of(tag, env)


def _value_of(tag: Tag, env: Env) -> object:
    try:
        result = evaluate(tag.node, env)
    except TemplateError as error:
        if "{{" not in error.reason:
            error.reason = f"in {{{{{tag.source}}}}}: {error.reason}"
        raise
    if isinstance(result, Function | Namespace | RoleRef):
        raise TemplateError(
            f"{{{{{tag.source}}}}} yields a {describe(result)}, not a value",
            expected="a string, number, boolean or list (call the function, or use .Path)",
        )
    return result


def names_used(text: str) -> set[str]:
    """Every name read by the tags of ``text`` (variables, functions, namespaces)."""
    names: set[str] = set()
    for part in compile_field(text).parts:
        if isinstance(part, Tag):
            names |= expr.names_in(part.node)
    return names
