"""The expression language inside ``{{ … }}``: tokens in, a small syntax tree out.

AliECS evaluates template expressions with the Go ``expr`` library; this module reads the
same language (the part real templates use and a little more): literals (``'a'``, ``"b"``,
```raw```, ``42``, ``0x1F``, ``1.5``, ``true``, ``false``, ``nil``), variables, ``[a, b]``
and ``{k: v}`` literals, member access ``a.b``, indexing ``a[i]``, calls ``f(x)``, unary
``! not - +``, binary ``* / % + - == != < > <= >= in, not in, contains, startsWith,
endsWith, && and || or ??`` and the ternary ``a ? b : c``, with ``expr``'s precedences.

Parsing is recursive descent with precedence climbing and yields plain node objects; the
nodes carry no behaviour (``evaluate.py`` gives them meaning), and nothing here ever hands
text to Python's ``eval``. A parsed expression is cached by its text: the same few
expressions are evaluated thousands of times when an iterator expands.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from o2ctl.templates.errors import TemplateError

MAX_DEPTH = 100

BINARY = {
    "||": 10, "or": 10, "&&": 15, "and": 15,
    "==": 20, "!=": 20, "<": 20, ">": 20, "<=": 20, ">=": 20,
    "in": 20, "not in": 20, "contains": 20, "startsWith": 20, "endsWith": 20, "matches": 20,
    "+": 30, "-": 30, "*": 60, "/": 60, "%": 60, "??": 500,
}  # fmt: skip
UNARY = {"!": 50, "not": 50, "-": 90, "+": 90}
WORD_OPERATORS = frozenset({"and", "or", "not", "in", "contains", "startsWith", "endsWith"})
WORD_OPERATORS |= {"matches"}
CONSTANTS: dict[str, object] = {"true": True, "false": False, "nil": None}

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
    |(?P<num>0[xX][0-9a-fA-F]+|(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
    |(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
    |(?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
    |(?P<op>==|!=|<=|>=|&&|\|\||\?\?|[()\[\]{},:?.!<>+\-*/%])""",
    re.X | re.S,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "/": "/", "0": "\0"}
_ESCAPES |= {"a": "\a", "b": "\b", "f": "\f", "v": "\v"}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)", re.S)
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Literal:
    value: object


@dataclass(frozen=True, slots=True)
class Name:
    id: str


@dataclass(frozen=True, slots=True)
class Unary:
    op: str
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Ternary:
    test: Node
    then: Node
    otherwise: Node


@dataclass(frozen=True, slots=True)
class Member:
    obj: Node
    name: str


@dataclass(frozen=True, slots=True)
class Index:
    obj: Node
    index: Node


@dataclass(frozen=True, slots=True)
class Call:
    func: Node
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class ListLit:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class MapLit:
    pairs: tuple[tuple[Node, Node], ...]


Node = Literal | Name | Unary | Binary | Ternary | Member | Index | Call | ListLit | MapLit


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # num, str, name, op, end
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    """Split an expression into tokens; anything unrecognised is a TemplateError."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise _error(text, pos, f"unexpected character {text[pos]!r}")
        kind = match.lastgroup or "op"
        if kind != "ws":
            value = match.group()
            if kind == "name" and value in WORD_OPERATORS:
                kind = "op"
            tokens.append(Token(kind, value, pos))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


@lru_cache(maxsize=8192)
def parse(text: str) -> Node:
    """Parse one expression (the text between ``{{`` and ``}}``)."""
    if not text.strip():
        raise TemplateError("empty expression {{ }}", expected="an expression")
    return _Parser(text).parse_all()


def _error(text: str, pos: int, reason: str) -> TemplateError:
    return TemplateError(f"in expression {{{{{text}}}}} at column {pos + 1}: {reason}")


def unquote(token: str) -> str:
    """The value of a string literal token (Go escapes; backquotes are raw)."""
    body = token[1:-1]
    if token[0] == "`":
        return body

    def escape(match: re.Match[str]) -> str:
        code = match.group(1)
        if len(code) > 1:
            return chr(int(code[1:], 16))
        if code not in _ESCAPES:
            raise TemplateError(f"unknown escape \\{code} in string {token}")
        return _ESCAPES[code]

    return _ESCAPE.sub(escape, body)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0
        self.depth = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.pos]

    def fail(self, reason: str) -> TemplateError:
        return _error(self.text, self.current.pos, reason)

    def is_op(self, *ops: str) -> bool:
        token = self.current
        return token.kind == "op" and token.text in ops

    def expect(self, op: str) -> None:
        if not self.is_op(op):
            found = self.current.text or "the end"
            raise self.fail(f"expected {op!r}, found {found!r}")
        self.pos += 1

    def parse_all(self) -> Node:
        node = self.expression(0)
        if self.current.kind != "end":
            raise self.fail(f"unexpected {self.current.text!r}")
        return node

    def expression(self, precedence: int) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"expression nested deeper than {MAX_DEPTH} levels")
        try:
            left = self.unary_or_postfix()
            while True:
                op = self.binary_operator()
                if op is None or BINARY[op] < precedence:
                    break
                self.pos += 2 if op == "not in" else 1
                left = Binary(op, left, self.expression(BINARY[op] + 1))
            if precedence == 0 and self.is_op("?"):
                self.pos += 1
                then = self.expression(0)
                self.expect(":")
                left = Ternary(left, then, self.expression(0))
            return left
        finally:
            self.depth -= 1

    def binary_operator(self) -> str | None:
        token = self.current
        if token.kind != "op":
            return None
        if token.text == "not":
            following = self.tokens[self.pos + 1]
            return "not in" if following.kind == "op" and following.text == "in" else None
        return token.text if token.text in BINARY else None

    def unary_or_postfix(self) -> Node:
        token = self.current
        if token.kind == "op" and token.text in UNARY:
            self.pos += 1
            return Unary(token.text, self.expression(UNARY[token.text]))
        return self.postfix(self.primary())

    def primary(self) -> Node:
        token = self.current
        self.pos += 1
        if token.kind == "num":
            return Literal(_number(token.text))
        if token.kind == "str":
            return Literal(unquote(token.text))
        if token.kind == "name":
            return Literal(CONSTANTS[token.text]) if token.text in CONSTANTS else Name(token.text)
        if token.kind == "op" and token.text == "(":
            node = self.expression(0)
            self.expect(")")
            return node
        if token.kind == "op" and token.text == "[":
            return ListLit(tuple(self.items("]", self.expression_item)))
        if token.kind == "op" and token.text == "{":
            return MapLit(tuple(self.items("}", self.pair)))
        self.pos -= 1
        raise self.fail(f"unexpected {token.text or 'end of expression'!r}")

    def expression_item(self) -> Node:
        return self.expression(0)

    def pair(self) -> tuple[Node, Node]:
        token = self.current
        if token.kind in ("name", "str", "num"):
            self.pos += 1
            key: Node = Literal(unquote(token.text) if token.kind == "str" else token.text)
        else:
            raise self.fail("expected a map key")
        self.expect(":")
        return key, self.expression(0)

    def items(self, closing: str, item: Callable[[], _T]) -> list[_T]:
        result: list[_T] = []
        while not self.is_op(closing):
            if result:
                self.expect(",")
                if self.is_op(closing):
                    break
            result.append(item())
        self.pos += 1
        return result

    def postfix(self, node: Node) -> Node:
        while True:
            if self.is_op("."):
                self.pos += 1
                if self.current.kind != "name":
                    raise self.fail("expected a name after '.'")
                node = Member(node, self.current.text)
                self.pos += 1
            elif self.is_op("("):
                if not isinstance(node, Name | Member):
                    raise self.fail("only functions can be called")
                self.pos += 1
                node = Call(node, tuple(self.items(")", self.expression_item)))
            elif self.is_op("["):
                self.pos += 1
                index = self.expression(0)
                self.expect("]")
                node = Index(node, index)
            else:
                return node


def _number(text: str) -> int | float:
    try:
        if text[:2] in ("0x", "0X"):
            return int(text[2:], 16)
        if any(c in text for c in ".eE"):
            return float(text)
        return int(text, 10)
    except ValueError:
        raise TemplateError(f"bad number {text[:40]!r}") from None


def names_in(node: Node) -> set[str]:
    """The variable names an expression reads (to check an iterator's name uses its variable)."""
    found: set[str] = set()
    stack: list[object] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Name):
            found.add(item.id)
        elif isinstance(item, tuple):
            stack.extend(item)
        elif hasattr(item, "__slots__") and not isinstance(item, Literal):
            stack.extend(getattr(item, slot) for slot in item.__slots__)
    return found
