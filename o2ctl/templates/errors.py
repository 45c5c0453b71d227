"""The one exception of template handling, and how it learns where it happened.

Anything that goes wrong while reading or expanding templates (bad YAML, a bad expression,
an unknown variable, an unresolved channel target, an include cycle, a missing task
template) surfaces as a single ``TemplateError``. Errors are raised deep down (in the
expression evaluator, say) where the file and role are not known; each layer on the way up
fills in what it knows with ``locate`` (never overwriting a more precise value), so the
message the operator reads names the file, the line, the role path and what was expected.
"""

from __future__ import annotations

from types import TracebackType


class TemplateError(Exception):
    """A template could not be read or expanded.

    ``str(error)`` reads ``FILE:LINE: role PATH: REASON (expected EXPECTED)``; each part is
    also an attribute (``file``, ``line``, ``role``, ``reason``, ``expected``).
    """

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        line: int | None = None,
        role: str | None = None,
        expected: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.file = file
        self.line = line
        self.role = role
        self.expected = expected

    def locate(
        self, *, file: str | None = None, line: int | None = None, role: str | None = None
    ) -> TemplateError:
        """Fill in the location parts still unknown; returns ``self`` for ``raise e.locate()``."""
        if self.line is None and line is not None and (self.file is None or self.file == file):
            self.line = line
        if self.file is None and file is not None:
            self.file = file
        if self.role is None and role:
            self.role = role
        return self

    def __str__(self) -> str:
        where = ""
        if self.file is not None:
            where = self.file if self.line is None else f"{self.file}:{self.line}"
            where += ": "
        role = f"role {self.role}: " if self.role else ""
        expected = f" (expected {self.expected})" if self.expected else ""
        return f"{where}{role}{self.reason}{expected}"

    def __reduce__(self) -> tuple[object, ...]:
        kwargs = {
            "file": self.file,
            "line": self.line,
            "role": self.role,
            "expected": self.expected,
        }
        return (_rebuild, (self.reason, kwargs))


def _rebuild(reason: str, kwargs: dict[str, object]) -> TemplateError:
    error = TemplateError(reason)
    error.__dict__.update(kwargs)
    return error


class located:
    """Let a ``TemplateError`` raised inside learn this file, line and role."""

    __slots__ = ("file", "line", "role")

    def __init__(
        self, *, file: str | None = None, line: int | None = None, role: str | None = None
    ) -> None:
        self.file, self.line, self.role = file, line, role

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(error, TemplateError):
            error.locate(file=self.file, line=self.line, role=self.role)
