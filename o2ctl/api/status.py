"""Which gRPC status code an error of the control plane becomes, in one table.

Errors reach the API server from the controller and environment actors, through Ray (which
wraps them; ``unwrap`` gets the original back). Each is answered with one status code and
its own one-line message, never a traceback. The code follows from the error's type, most
specific first (a workflow that cannot be expanded is ``InvalidWorkflow``: INVALID_ARGUMENT);
a plain ``ControlError`` gets the code the RPC names as its usual cause.
"""

from __future__ import annotations

import grpc
from ray.exceptions import RayActorError

from actors.errors import (
    DeployFailed,
    DetectorBusy,
    EnvironmentBusy,
    NotFound,
    TransitionFailed,
    TransitionRefused,
)
from actors.reasons import reason, unwrap
from o2ctl.config.errors import ConfigError
from o2ctl.config.source import TemplateNotFound
from o2ctl.core.errors import ControlError, InvalidWorkflow
from o2ctl.templates.errors import TemplateError


class BadRequest(ControlError):
    """A request the API itself finds malformed (an empty id, an empty template name)."""


# Most specific first: the first class the error is an instance of decides.
CODES: tuple[tuple[type[BaseException], grpc.StatusCode], ...] = (
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (BadRequest, grpc.StatusCode.INVALID_ARGUMENT),
    (TransitionRefused, grpc.StatusCode.FAILED_PRECONDITION),
    (EnvironmentBusy, grpc.StatusCode.FAILED_PRECONDITION),
    (DetectorBusy, grpc.StatusCode.FAILED_PRECONDITION),
    (TransitionFailed, grpc.StatusCode.ABORTED),
    (DeployFailed, grpc.StatusCode.ABORTED),
    (InvalidWorkflow, grpc.StatusCode.INVALID_ARGUMENT),
    (TemplateNotFound, grpc.StatusCode.INVALID_ARGUMENT),
    (TemplateError, grpc.StatusCode.INVALID_ARGUMENT),
    (ConfigError, grpc.StatusCode.INVALID_ARGUMENT),
    (TimeoutError, grpc.StatusCode.DEADLINE_EXCEEDED),
    (RayActorError, grpc.StatusCode.UNAVAILABLE),
)


def status_of(
    exc: BaseException, plain: grpc.StatusCode = grpc.StatusCode.FAILED_PRECONDITION
) -> tuple[grpc.StatusCode, str]:
    """The status code and one-line message for ``exc``; ``plain`` for a bare ControlError."""
    exc = unwrap(exc)
    message = reason(exc).splitlines()[0] if reason(exc) else type(exc).__name__
    for kind, code in CODES:
        if isinstance(exc, kind):
            if isinstance(exc, RayActorError):
                message = f"the control system did not answer: {message}"
            return code, message
    if isinstance(exc, ControlError):
        return plain, message
    return grpc.StatusCode.INTERNAL, f"{type(exc).__name__}: {message}"
