"""``dpl.Generate``, ``dpl.GenerateFromUri`` and ``dpl.GenerateFromUriOrFallbackToTemplate``.

As in AliECS: the helper takes a DPL command (given whole, or read from the repository's
``jit/NAME``), resolves its template tags in the calling role's variables (each value
quoted for its place in the shell line: ``shellcmd``), and asks the DPL generator for the
workflow it makes; the helper's value is that workflow's name (``jit-<hash>``), which an
``include:`` then reads like any other template. The generator itself (naming, cache,
running the command) is a port, ``DplGenerator``, given by the caller in the
``IntegrationContext`` (``o2ctl.config.jit`` implements it): this layer runs nothing. A
command given whole must be a pipeline of ``o2-…`` programs; a ``jit/`` file is the
repository's own and may use the shell freely (``$(consul kv get …)``).
"""

from __future__ import annotations

from typing import Protocol

from o2ctl.config.source import CommandText, TemplateKind, TemplateText
from o2ctl.templates.convert import to_text
from o2ctl.templates.errors import TemplateError
from o2ctl.templates.evaluate import Function
from o2ctl.templates.helpers import HelperEnv
from o2ctl.templates.shellcmd import check_pipeline, render_command


class DplGenerator(Protocol):
    """What the ``dpl`` helpers need from the caller (``o2ctl.config.jit.JitGenerator``)."""

    runs: int
    warnings: list[str]

    def command(self, name: str) -> CommandText | None:
        """The repository's ``jit/NAME`` command, or None when there is no such file."""
        ...

    def generate(self, command: str, env_vars: str) -> str:
        """The generated workflow's name (runs the command unless cached); raises on failure."""
        ...

    def template(self, kind: TemplateKind, name: str) -> TemplateText | None:
        """A generated workflow or task template, None for names it did not generate."""
        ...


def _generator(env: HelperEnv, function: str) -> DplGenerator:
    port = env.integration.dpl
    if port is None:
        raise TemplateError(
            f"dpl.{function}() needs the DPL workflow generator, which this caller does not "
            "provide (o2ctl.expansion gives it to environments and `template expand`)"
        )
    return port


def _not_none(function: str, value: object) -> str:
    text = to_text(value).strip()
    if not text or text == "none":
        raise TemplateError(f"dpl.{function}(): the DPL command is {text or 'empty'!r}")
    return text


def _run(env: HelperEnv, port: DplGenerator, command: str, label: str) -> str:
    env_vars = to_text(env.stack_get("jit_env_vars") or "")
    try:
        name = port.generate(command, "" if env_vars == "none" else env_vars)
    except TemplateError:
        raise
    except Exception as error:  # the generator's JitError / ConfigError, one line
        detector = to_text(env.stack_get("detector") or "")
        for_detector = f" (detector {detector})" if detector else ""
        raise TemplateError(f"JIT {label}{for_detector}: {error}") from None
    for warning in port.warnings:
        env.warn(warning)
    port.warnings.clear()
    return name


def generate(env: HelperEnv, command: object) -> str:
    """``dpl.Generate(cmd)``: the workflow generated from a command given whole."""
    port = _generator(env, "Generate")
    resolved = render_command(_not_none("Generate", command), env)
    check_pipeline(resolved)
    return _run(env, port, resolved, "dpl.Generate")


def _from_uri(env: HelperEnv, uri: object, fallback: bool) -> str:
    function = "GenerateFromUriOrFallbackToTemplate" if fallback else "GenerateFromUri"
    name = _not_none(function, uri)
    port = _generator(env, function)
    try:
        found = port.command(name)
    except Exception as error:  # a bad name, a repository that cannot be read
        raise TemplateError(f"dpl.{function}({name!r}): {error}") from None
    if found is None:
        if fallback:
            return name
        raise TemplateError(
            f"dpl.{function}({name!r}): the repository has no jit/{name}",
            expected="a file of the repository's jit/ directory",
        )
    try:
        resolved = render_command(found.text, env)
    except TemplateError as error:
        error.reason = f"jit/{name}: {error.reason}"
        raise
    return _run(env, port, resolved, f"jit/{name}")


def generate_from_uri(env: HelperEnv, uri: object) -> str:
    """``dpl.GenerateFromUri(name)``: the workflow generated from ``jit/NAME``."""
    return _from_uri(env, uri, fallback=False)


def generate_or_template(env: HelperEnv, uri: object) -> str:
    """``dpl.GenerateFromUriOrFallbackToTemplate(name)``: as above, or the workflow ``NAME``
    itself when the repository has no ``jit/NAME``."""
    return _from_uri(env, uri, fallback=True)


FUNCTIONS = {
    "Generate": Function("dpl.Generate", generate, 1),
    "GenerateFromUri": Function("dpl.GenerateFromUri", generate_from_uri, 1),
    "GenerateFromUriOrFallbackToTemplate": Function(
        "dpl.GenerateFromUriOrFallbackToTemplate", generate_or_template, 1
    ),
}
