"""A DPL command's ``{{ }}`` tags resolved into shell text that a value cannot break out of.

A JIT command is a bash command line with template tags in it (``--crus {{ it }}``,
``'apricot://{{ apricot_endpoint }}/…'``, ``$(( 50 * 128 / {{ pdp_n_hbf_per_tf }} ))``).
A tag's value may come from a user, so it is written quoted for the shell context the tag
sits in, tracked by a small lexer: unquoted (and inside ``$( )``) it is single-quoted
whole (``shlex.quote``); inside single quotes a ``'`` is closed, escaped and reopened;
inside double quotes ``\\ " $ ``` are escaped; inside ``$(( ))`` only an integer is
accepted (bash evaluates names there, and their subscripts run commands). Values with a
newline or ``{{``/``}}`` are refused (DPL writes the command into the generated workflow,
which is expanded again). So a value changes one argument, never the command.

``check_pipeline`` is for commands that come whole from a variable (``dpl.Generate``): only
``o2-…`` programs joined by ``|``, and nothing the shell would expand outside single quotes.
"""

from __future__ import annotations

import itertools
import re
import shlex

from o2ctl.templates.convert import to_text
from o2ctl.templates.errors import TemplateError
from o2ctl.templates.evaluate import Env
from o2ctl.templates.fields import Tag, compile_field, value_of

_INTEGER = re.compile(r"-?[0-9]+")
_PROGRAM = re.compile(r"o2-[A-Za-z0-9_.+-]+")
_PLAIN = ("plain", "cmd", "backtick")


class ShellLexer:
    """Which quoting context each position of a bash command line is in."""

    def __init__(self, strict: bool = False) -> None:
        self.stack: list[list[object]] = [["plain", 0]]
        self.strict = strict
        self.pipes: list[int] = []  # offsets of top-level unquoted '|' (strict mode)
        self.offset = 0

    @property
    def state(self) -> str:
        return str(self.stack[-1][0])

    def refuse(self, what: str) -> None:
        raise TemplateError(
            f"a DPL command given whole may not use {what}",
            expected="o2-… programs joined by '|', arguments quoted",
        )

    def feed(self, text: str) -> None:
        i = 0
        while i < len(text):
            i += self._step(text, i)
        self.offset += len(text)

    def _step(self, text: str, i: int) -> int:
        c, state = text[i], self.state
        two, three = text[i : i + 2], text[i : i + 3]
        if state == "single":
            if c == "'":
                self.stack.pop()
            return 1
        if c == "\\" and state in ("plain", "cmd", "double", "backtick"):
            return 2
        if state == "arith":
            return self._arith(two)
        if state == "param":
            if c == "}":
                self.stack.pop()
            return 1
        if self.strict and (c in "$`" or (state == "plain" and c in ";&<>()#\n")):
            self.refuse(f"{c!r} outside single quotes")
        if three == "$((":
            self.stack.append(["arith", 0])
            return 3
        if two in ("$(", "${"):
            self.stack.append(["cmd" if two == "$(" else "param", 0])
            return 2
        if c == "`":
            self._toggle("backtick")
        elif c == '"':
            self._toggle("double")
        elif c == "'" and state != "double":
            self.stack.append(["single", 0])
        elif state == "cmd" and c in "()":
            self._paren(c)
        elif c == "|" and len(self.stack) == 1:
            self.pipes.append(self.offset + i)
        return 1

    def _toggle(self, name: str) -> None:
        if self.state == name:
            self.stack.pop()
        else:
            self.stack.append([name, 0])

    def _paren(self, c: str) -> None:
        top = self.stack[-1]
        if c == "(":
            top[1] = int(str(top[1])) + 1
        elif top[1] == 0:
            self.stack.pop()
        else:
            top[1] = int(str(top[1])) - 1

    def _arith(self, two: str) -> int:
        top = self.stack[-1]
        if two[:1] == "(":
            top[1] = int(str(top[1])) + 1
        elif two[:1] == ")":
            if top[1] == 0 and two == "))":
                self.stack.pop()
                return 2
            top[1] = int(str(top[1])) - 1
        return 1

    def quote(self, value: str, tag: str) -> str:
        """``value`` written for the current context."""
        if any(bad in value for bad in ("\n", "\r", "\0", "{{", "}}")):
            raise TemplateError(
                f"{{{{{tag}}}}} in a DPL command gives {value[:60]!r}",
                expected="a value without newlines or {{ }}",
            )
        state = self.state
        if state in _PLAIN:
            return shlex.quote(value)
        if state == "single":
            return value.replace("'", "'\\''")
        if state == "double":
            return re.sub(r'([\\"$`])', r"\\\1", value)
        if state == "arith" and _INTEGER.fullmatch(value.strip()):
            return value.strip()
        raise TemplateError(
            f"{{{{{tag}}}}} in a DPL command gives {value[:60]!r} inside {state_name(state)}",
            expected="an integer" if state == "arith" else "the tag outside ${…}",
        )


def state_name(state: str) -> str:
    return {"arith": "$(( ))", "param": "${ }"}.get(state, state)


def render_command(text: str, env: Env) -> str:
    """``text`` with its tags resolved and each value quoted for where it stands."""
    flat = text.replace("\n", " ").replace("\r", " ").strip()
    lexer = ShellLexer()
    out: list[str] = []
    for part in compile_field(flat).parts:
        if isinstance(part, Tag):
            out.append(lexer.quote(to_text(value_of(part, env)), part.source.strip()))
        else:
            lexer.feed(part)
            out.append(part)
    if len(lexer.stack) != 1:
        raise TemplateError(
            f"the DPL command ends inside {state_name(lexer.state)}: {flat[:80]!r}",
            expected="balanced quotes and parentheses",
        )
    return "".join(out)


def check_pipeline(command: str) -> None:
    """Refuse anything but ``o2-… args | o2-… args`` (see the module docstring)."""
    lexer = ShellLexer(strict=True)
    lexer.feed(command)
    if len(lexer.stack) != 1:
        lexer.refuse("unbalanced quotes")
    bounds = [-1, *lexer.pipes, len(command)]
    for start, end in itertools.pairwise(bounds):
        try:
            words = shlex.split(command[start + 1 : end])
        except ValueError:
            words = []
        if not words or not _PROGRAM.fullmatch(words[0]):
            program = words[0] if words else "(nothing)"
            lexer.refuse(f"the program {program!r} (only o2-… programs, joined by '|')")
