"""One-line reasons from exceptions that crossed Ray (no remote tracebacks in messages)."""

from __future__ import annotations

from ray.exceptions import RayActorError, RayTaskError


def unwrap(exc: BaseException) -> BaseException:
    while isinstance(exc, RayTaskError) and isinstance(getattr(exc, "cause", None), Exception):
        exc = exc.cause
    return exc


def reason(exc: BaseException) -> str:
    exc = unwrap(exc)
    if isinstance(exc, RayActorError):
        return "its actor died"
    if isinstance(exc, FileNotFoundError):
        return f"command not found: {exc.filename}"
    return str(exc) or type(exc).__name__
