"""Conversions between template values and the types fields need, AliECS style.

AliECS keeps every variable as a string and formats expression results with Go's ``%v``
(``true``, ``4``, ``["a","b"]``); fields then parse what they need (``enabled`` a boolean,
``begin``/``end`` integers, ``range`` a JSON list, ``timeout`` a Go duration). Here values
keep their YAML or expression type until a field asks, and these functions do the asking:
``to_text`` is the one way anything becomes a string, the others parse or raise a
``TemplateError`` that says what was expected.
"""

from __future__ import annotations

import json
import math
import re

from o2ctl.templates.errors import TemplateError

_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
_DURATION_PART = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


_CONTAINERS = (list, tuple, dict)


def to_text(value: object) -> str:
    """The string form of a template value (Go ``%v`` for scalars, compact JSON for lists)."""
    if type(value) is str:
        return value
    if isinstance(value, str):
        return str(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, _CONTAINERS):
        try:
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        except (TypeError, ValueError) as error:
            raise TemplateError(f"cannot write {value!r} as JSON: {error}") from None
    raise TemplateError(
        f"a {describe(value)} is not a value", expected="a string, number, boolean or list"
    )


def _float_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)


def describe(value: object) -> str:
    """A short name of a value's type for error messages."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "map"
    return getattr(value, "kind_name", type(value).__name__)


def to_bool(value: object, what: str, *, default: bool | None = None) -> bool:
    """Parse a boolean field (``true``/``false`` and Go's ``strconv.ParseBool`` spellings)."""
    if isinstance(value, bool):
        return value
    if value is None or (isinstance(value, str) and not value.strip()):
        if default is not None:
            return default
    elif isinstance(value, str):
        text = value.strip()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    elif isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise TemplateError(f"{what} is {value!r}", expected="true or false")


def to_int(value: object, what: str) -> int:
    """Parse an integer field (a YAML integer or a string of digits)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip(), 10)
        except ValueError:
            pass
    raise TemplateError(f"{what} is {value!r}", expected="an integer")


def to_float(value: object, what: str) -> float:
    """Parse a number field (cpu, memory)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise TemplateError(f"{what} is {value!r}", expected="a number")


def to_duration(value: object, what: str) -> float:
    """Parse a Go duration (``10s``, ``1m30s``, ``500ms``) in seconds; a bare number is seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        sign = -1.0 if text.startswith("-") else 1.0
        body = text.lstrip("+-")
        if body == "0":
            return 0.0
        parts = _DURATION_PART.findall(body)
        if parts and "".join(n + u for n, u in parts) == body:
            return sign * sum(float(n) * _DURATION_UNIT[u] for n, u in parts)
        try:
            return sign * float(body)
        except ValueError:
            pass
    raise TemplateError(f"{what} is {value!r}", expected="a duration such as 10s, 1m or 500ms")


def to_list(value: object, what: str) -> list[object]:
    """Parse a list field: a YAML/expression list or a string holding a JSON list."""
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, list):
            return parsed
    raise TemplateError(f"{what} is {value!r}", expected='a JSON list such as ["a", "b"]')


def to_number(value: object) -> int | float | None:
    """A number from a number or a numeric string (arithmetic on string variables), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text, 10)
        except ValueError:
            pass
        try:
            return float(text)
        except ValueError:
            return None
    return None
