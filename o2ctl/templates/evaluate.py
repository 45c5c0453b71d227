"""What an expression tree means: operators, member access and calls, over plain values.

Values are Python ``str``/``int``/``float``/``bool``/``None``/``list``/``dict`` plus three
kinds of objects we expose on purpose: ``Function`` (a helper such as ``strings.ToUpper``),
``Namespace`` (``strings``, ``json``, ``config`` …) and ``RoleRef`` (what ``Parent()``,
``Up(n)`` and ``This()`` return, with ``.Name`` and ``.Path``). Member access and calls
work on those and on data maps only: there is no way from an expression to a Python
attribute, so templates are data, not code.

Variables in AliECS are strings, so comparisons are loose the way operators expect:
``x == 'true'`` holds for the boolean ``true`` and the string ``"true"``; ``a < 3`` reads a
numeric string as a number; ``+`` concatenates when either side is a string (and ``nil`` is
the empty string there, as AliECS's ``addNil`` does) and adds numbers otherwise.

Operators that can grow a value are bounded, so that a chain of variables doubling each
other cannot build a value no template needs: a string from ``+`` of at most
``MAX_TEXT`` characters, a list of at most ``MAX_ITEMS`` items, an integer of at most
``MAX_INT_BITS`` bits (AliECS computes with 64-bit integers).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from o2ctl.templates import expr
from o2ctl.templates.convert import describe, to_bool, to_number, to_text
from o2ctl.templates.errors import TemplateError

MAX_TEXT = 1 << 22
MAX_ITEMS = 100_000
MAX_INT_BITS = 256


class Env(Protocol):
    """Where names come from when an expression is evaluated."""

    def lookup(self, name: str) -> object:
        """The value of a variable, function or namespace; TemplateError when unknown."""
        ...


@dataclass(frozen=True)
class Function:
    """A helper callable from templates; ``impl`` receives the env first."""

    name: str
    impl: Callable[..., object]
    min_args: int = 0
    max_args: int | None = None
    kind_name = "function"

    def call(self, env: Env, args: list[object]) -> object:
        most = self.min_args if self.max_args is None else self.max_args
        if not self.min_args <= len(args) <= most:
            count = str(self.min_args) if most == self.min_args else f"{self.min_args}-{most}"
            raise TemplateError(f"{self.name}() takes {count} argument(s), got {len(args)}")
        return self.impl(env, *args)


@dataclass(frozen=True)
class Namespace:
    """A named group of helpers (``strings``, ``json`` …); ``missing`` serves unknown members."""

    name: str
    members: Mapping[str, Function | Namespace] = field(default_factory=dict)
    missing: Callable[[str], Function] | None = None
    kind_name = "namespace"

    def member(self, name: str) -> Function | Namespace:
        found = self.members.get(name)
        if found is not None:
            return found
        if self.missing is not None:
            return self.missing(name)
        known = ", ".join(sorted(self.members)) or "none"
        raise TemplateError(f"{self.name} has no member {name!r} (known: {known})")


@dataclass(frozen=True)
class RoleRef:
    """A role of the expanded tree as templates see it: ``.Name`` and ``.Path``."""

    Name: str
    Path: str
    kind_name = "role"


def evaluate(node: expr.Node, env: Env) -> object:
    """The value of a parsed expression."""
    try:
        return _EVAL[type(node)](node, env)
    except RecursionError:
        raise TemplateError("expression too deeply nested to evaluate") from None


def _literal(node: expr.Literal, env: Env) -> object:
    return node.value


def _name(node: expr.Name, env: Env) -> object:
    return env.lookup(node.id)


def _unary(node: expr.Unary, env: Env) -> object:
    value = evaluate(node.operand, env)
    if node.op in ("!", "not"):
        return not _truth(value, node.op)
    number = to_number(value)
    if number is None:
        raise TemplateError(f"unary {node.op} needs a number, got {describe(value)} {value!r}")
    return -number if node.op == "-" else number


def _ternary(node: expr.Ternary, env: Env) -> object:
    if _truth(evaluate(node.test, env), "?:"):
        return evaluate(node.then, env)
    return evaluate(node.otherwise, env)


def _member(node: expr.Member, env: Env) -> object:
    return member_of(evaluate(node.obj, env), node.name)


def member_of(value: object, name: str) -> object:
    """``value.name`` for the objects that have members; anything else is an error."""
    if isinstance(value, Namespace):
        return value.member(name)
    if isinstance(value, RoleRef):
        if name in ("Name", "Path"):
            return value.Name if name == "Name" else value.Path
        raise TemplateError(f"a role has .Name and .Path, not .{name}")
    if isinstance(value, dict):
        return value.get(name)
    raise TemplateError(f"a {describe(value)} has no member .{name}")


def _index(node: expr.Index, env: Env) -> object:
    value = evaluate(node.obj, env)
    key = evaluate(node.index, env)
    if isinstance(value, dict):
        return value.get(to_text(key))
    if isinstance(value, list | str):
        position = to_number(key)
        if not isinstance(position, int) or not -len(value) <= position < len(value):
            raise TemplateError(f"index {key!r} out of range for a {describe(value)}")
        return value[position]
    raise TemplateError(f"a {describe(value)} cannot be indexed")


def _call(node: expr.Call, env: Env) -> object:
    func = evaluate(node.func, env)
    if not isinstance(func, Function):
        raise TemplateError(f"a {describe(func)} is not a function")
    return func.call(env, [evaluate(arg, env) for arg in node.args])


def _list(node: expr.ListLit, env: Env) -> object:
    return [evaluate(item, env) for item in node.items]


def _map(node: expr.MapLit, env: Env) -> object:
    return {to_text(evaluate(k, env)): evaluate(v, env) for k, v in node.pairs}


def _binary(node: expr.Binary, env: Env) -> object:
    op = node.op
    left = evaluate(node.left, env)
    if op in ("&&", "and"):
        return _truth(left, op) and _truth(evaluate(node.right, env), op)
    if op in ("||", "or"):
        return _truth(left, op) or _truth(evaluate(node.right, env), op)
    if op == "??":
        return left if left is not None else evaluate(node.right, env)
    right = evaluate(node.right, env)
    handler = _BINARY.get(op)
    if handler is None:
        raise TemplateError(f"operator {op!r} is not supported in templates")
    return handler(left, right)


def _truth(value: object, op: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return to_bool(value, f"operand of {op}")
    raise TemplateError(f"operand of {op} is a {describe(value)} {value!r}", expected="a boolean")


def equals(left: object, right: object) -> bool:
    """Loose equality: same kind compares directly, otherwise as AliECS strings."""
    if type(left) is type(right) or (_is_num(left) and _is_num(right)):
        return left == right
    if left is None or right is None:
        return False
    if isinstance(left, list | dict) or isinstance(right, list | dict):
        return False
    return to_text(left) == to_text(right)


def _is_num(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _order(op: str) -> Callable[[object, object], bool]:
    def compare(left: object, right: object) -> bool:
        a: object = left
        b: object = right
        if not (isinstance(a, str) and isinstance(b, str)):
            a, b = to_number(left), to_number(right)
            if a is None or b is None:
                raise TemplateError(
                    f"cannot compare {describe(left)} {left!r} {op} {describe(right)} {right!r}"
                )
        return _ORDER[op](a, b)

    return compare


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}


def _plus(left: object, right: object) -> object:
    if isinstance(left, str) or isinstance(right, str):
        a, b = to_text(left), to_text(right)
        if len(a) + len(b) > MAX_TEXT:
            raise TemplateError(f"+ would make a string of more than {MAX_TEXT} characters")
        return a + b
    if isinstance(left, list) and isinstance(right, list):
        if len(left) + len(right) > MAX_ITEMS:
            raise TemplateError(f"+ would make a list of more than {MAX_ITEMS} items")
        return left + right
    return _arith("+", left, right)


def _arith(op: str, left: object, right: object) -> object:
    a, b = to_number(left), to_number(right)
    if a is None or b is None:
        raise TemplateError(f"{op} needs numbers, got {describe(left)} and {describe(right)}")
    try:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            if _int_bits(a) + _int_bits(b) > MAX_INT_BITS:
                raise OverflowError
            return a * b
        if op == "/":
            return a / b
        if not (isinstance(a, int) and isinstance(b, int)):
            raise TemplateError("% needs integers")
        return a % b
    except ZeroDivisionError:
        raise TemplateError(f"division by zero in {a!r} {op} {b!r}") from None
    except OverflowError:
        raise TemplateError(
            f"number too large in {op} (integers are limited to {MAX_INT_BITS} bits)"
        ) from None


def _int_bits(number: float) -> int:
    return number.bit_length() if isinstance(number, int) else 0


def _contains(container: object, item: object) -> bool:
    if isinstance(container, str):
        return to_text(item) in container
    if isinstance(container, list):
        return any(equals(element, item) for element in container)
    if isinstance(container, dict):
        return to_text(item) in container
    raise TemplateError(f"cannot look for a value inside a {describe(container)}")


def _affix(op: str) -> Callable[[object, object], bool]:
    def check(left: object, right: object) -> bool:
        if not (isinstance(left, str) and isinstance(right, str)):
            raise TemplateError(f"{op} needs strings, got {describe(left)} and {describe(right)}")
        return left.startswith(right) if op == "startsWith" else left.endswith(right)

    return check


_BINARY: dict[str, Callable[[object, object], object]] = {
    "==": equals,
    "!=": lambda a, b: not equals(a, b),
    "<": _order("<"),
    ">": _order(">"),
    "<=": _order("<="),
    ">=": _order(">="),
    "+": _plus,
    "-": lambda a, b: _arith("-", a, b),
    "*": lambda a, b: _arith("*", a, b),
    "/": lambda a, b: _arith("/", a, b),
    "%": lambda a, b: _arith("%", a, b),
    "in": lambda a, b: _contains(b, a),
    "not in": lambda a, b: not _contains(b, a),
    "contains": _contains,
    "startsWith": _affix("startsWith"),
    "endsWith": _affix("endsWith"),
}

_EVAL: dict[type, Callable[[Any, Env], object]] = {
    expr.Literal: _literal,
    expr.Name: _name,
    expr.Unary: _unary,
    expr.Binary: _binary,
    expr.Ternary: _ternary,
    expr.Member: _member,
    expr.Index: _index,
    expr.Call: _call,
    expr.ListLit: _list,
    expr.MapLit: _map,
}
